// pbxwalld's community blocklists ([[blocklists]]): each list is read from its file or fetched
// from its URL on a thread of its own, every `refresh`, and replaces the content of its sets
// (list_<name>_4/_6, list_<name>_nets4/_nets6) in one transaction. A fetch that fails or does
// not look like a list keeps the last good content; that content is also kept on disk, so a
// restart while the feed is down applies it at once. Addresses that must stay open (trusted,
// trunks, validated sources) are left out; networks never reach trusted networks or trunks
// through the rule order.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/time.h"
#include "blocklist/blocklist.h"
#include "daemon/block_listing.h"
#include "ruleset/ruleset.h"

namespace asio {
class io_context;
}

namespace pbxwall::daemon {

class Firewall;

// Loads the configuration file at `path` and reads its [[blocklists]]; errors as text.
Result<std::vector<blocklist::Source>, std::string> load_blocklist_sources(const std::string& path);

class BlocklistFeeds {
 public:
  using Log = std::function<void(int priority, const std::string& text)>;

  // `firewall` and `clock` must outlive the feeds. `cache_dir` keeps each list's last good copy.
  BlocklistFeeds(asio::io_context& io, Firewall& firewall, const Clock& clock, std::string cache_dir,
                 std::vector<blocklist::Source> sources, Log log = {});
  ~BlocklistFeeds();
  BlocklistFeeds(const BlocklistFeeds&) = delete;
  BlocklistFeeds& operator=(const BlocklistFeeds&) = delete;

  // Takes the last good copies from the cache: the sets the next table carries.
  void load_cache();
  // Reads or fetches every list now (at start, and on `pbxwall reload`); each is then read
  // again every `refresh`.
  void fetch_all();
  // Whether the feeds are those of `sources`, in that order.
  bool reads(const std::vector<blocklist::Source>& sources) const;

  // What the lists' sets hold, for rendering the table anew.
  std::vector<ruleset::ListContent> kernel_content() const;
  // "blocklists" in status, overview and metrics answers.
  void extend(const std::string& cmd, const nlohmann::json& request, nlohmann::json& answer) const;
  nlohmann::json status_json() const;
  // Each list's entries, for `list blocked`; valid until the feeds change.
  std::vector<BlockSection> block_sections() const;

 private:
  struct Feed;
  struct Worker;
  void fetch(std::size_t i);
  void fetched(std::size_t i, Result<blocklist::Parsed> parsed, TimePoint asked);
  void schedule(std::size_t i, Duration after);
  std::string cache_path(const Feed& f) const;

  asio::io_context& io_;
  Firewall& firewall_;
  const Clock& clock_;
  std::string cache_dir_;
  Log log_;
  std::vector<std::unique_ptr<Feed>> feeds_;
  std::unique_ptr<Worker> worker_;
  std::shared_ptr<bool> alive_;
};

}  // namespace pbxwall::daemon
