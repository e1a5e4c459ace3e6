#include "packets/recording_set_updater.h"

namespace pbxwall::packets {

Status<std::string> RecordingSetUpdater::commit() {
  if (pending_.empty()) return {};
  auto queued = std::move(pending_);
  pending_.clear();
  if (!fail_next.empty()) {
    std::string error = std::move(fail_next);
    fail_next.clear();
    return fail(std::move(error));
  }
  Batch batch;
  for (auto& [key, element] : queued) {
    if (element) {
      contents_[key] = *element;
      batch.added.push_back(std::move(*element));
    } else {
      contents_.erase(key);
      batch.removed.push_back(key);
    }
  }
  commits.push_back(std::move(batch));
  return {};
}

void RecordingSetUpdater::lose(const std::string& name) {
  std::erase_if(contents_, [&](const auto& entry) { return name.empty() || entry.first.set_name() == name; });
}

}  // namespace pbxwall::packets
