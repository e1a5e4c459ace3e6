#include "packets/retrying_set_updater.h"

namespace pbxwall::packets {

void RetryingSetUpdater::add(const SetElement& element) { queued_[element.key] = element; }

void RetryingSetUpdater::remove(const SetKey& key) { queued_[key] = std::nullopt; }

Status<std::string> RetryingSetUpdater::commit() {
  if (queued_.empty() && owed_.empty()) return {};
  // The owed changes first, so a newer change of the same key supersedes them.
  std::map<SetKey, Change> batch = std::move(owed_);
  owed_.clear();
  for (auto& [key, change] : queued_) batch[key] = std::move(change);
  queued_.clear();
  for (const auto& [key, change] : batch) {
    if (change) inner_.add(*change);
    else inner_.remove(key);
  }
  auto st = inner_.commit();
  if (!st.ok()) {
    ++stats_.failed_commits;
    last_error_ = st.error();
    owed_ = std::move(batch);
    return st;
  }
  last_error_.reset();
  return {};
}

Status<std::string> RetryingSetUpdater::retry() {
  if (owed_.empty()) return {};
  ++stats_.retries;
  std::map<SetKey, Change> fresh = std::move(queued_);  // a retry between add() and commit() keeps them queued
  queued_.clear();
  auto st = commit();
  queued_ = std::move(fresh);
  if (st.ok()) ++stats_.retried_ok;
  return st;
}

}  // namespace pbxwall::packets
