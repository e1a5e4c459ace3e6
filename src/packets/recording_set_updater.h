// A SetUpdater that records what it is asked to do, for tests of code that drives the sets
// (the daemon). Behaves like the kernel would for the queue: a later add/remove of a key in
// the same tick supersedes the earlier one.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "packets/set_updater.h"

namespace pbxwall::packets {

class RecordingSetUpdater final : public SetUpdater {
 public:
  struct Batch {
    std::vector<SetElement> added;  // in key order
    std::vector<SetKey> removed;    // in key order
  };

  void add(const SetElement& element) override { pending_[element.key] = element; }
  void remove(const SetKey& key) override { pending_[key] = std::nullopt; }
  Status<std::string> commit() override;
  std::size_t pending() const override { return pending_.size(); }

  // Keys with their last added element, as the kernel set would hold them after the recorded
  // commits (timeouts are not simulated).
  const std::map<SetKey, SetElement>& contents() const { return contents_; }

  // Another program removed the elements of set `name` ("blocked4"; "" for every set) from
  // the kernel: they go from contents() without a commit.
  void lose(const std::string& name);

  std::vector<Batch> commits;  // successful commits, in order (empty ones not recorded)
  std::string fail_next;       // non-empty: the next non-empty commit fails with this error

 private:
  std::map<SetKey, std::optional<SetElement>> pending_;
  std::map<SetKey, SetElement> contents_;
};

}  // namespace pbxwall::packets
