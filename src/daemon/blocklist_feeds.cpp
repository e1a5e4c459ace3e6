#include "daemon/blocklist_feeds.h"

#include <httplib.h>

#include <algorithm>
#include <asio.hpp>
#include <filesystem>
#include <map>

#include "base/file_text.h"
#include "daemon/daemon_config.h"
#include "daemon/firewall.h"
#include "daemon/job_thread.h"
#include "daemon/time_json.h"
#include "model/model.h"

namespace pbxwall::daemon {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxBody = 64u << 20;      // 64 MiB: a few million lines
constexpr std::size_t kMaxApibanPages = 4'000;   // 250 addresses a page: a million addresses
constexpr const char* kUserAgent = "pbxwall-blocklist/1";

struct Url {
  std::string origin;  // "https://host:port"
  std::string path;    // "/list.txt", at least "/"
};

Url split(const std::string& url) {
  const auto scheme_end = url.find("://");
  const auto path_at = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (path_at == std::string::npos) return {url, "/"};
  return {url.substr(0, path_at), url.substr(path_at)};
}

// One GET; `accept` says which statuses carry a body worth reading.
Result<std::string> get(const std::string& url, const std::function<bool(int)>& accept) {
  const auto [origin, path] = split(url);
  httplib::Client client(origin);
  client.set_connection_timeout(std::chrono::seconds(10));
  client.set_read_timeout(std::chrono::seconds(60));
  client.set_follow_location(true);
  client.set_default_headers({{"User-Agent", kUserAgent}});
  std::string body;
  bool too_big = false;
  auto r = client.Get(path, [&](const char* data, std::size_t n) {
    if (body.size() + n > kMaxBody) {
      too_big = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (too_big) return fail("the answer is larger than " + std::to_string(kMaxBody >> 20) + " MiB");
  if (!r) return fail(httplib::to_string(r.error()));
  if (!accept(r->status)) return fail("HTTP " + std::to_string(r->status));
  return body;
}

// The whole list, read and parsed on the fetching thread.
Result<blocklist::Parsed> fetch_list(const blocklist::Source& s) {
  if (s.format == blocklist::Format::plain) {
    auto text = s.file.empty() ? get(s.url, [](int status) { return status == 200; }) : read_file_text(s.file, kMaxBody);
    if (!text.ok()) return fail(text.error());
    return blocklist::parse_plain(*text);
  }
  blocklist::Parsed out;
  if (!s.file.empty()) {  // one saved page
    auto text = read_file_text(s.file, kMaxBody);
    if (!text.ok()) return fail(text.error());
    auto page = blocklist::parse_apiban_page(*text);
    if (!page.ok()) return fail(page.error());
    out.entries = std::move(page->entries);
    out.bad_lines = page->bad_entries;
    out.lines_read = out.entries.size() + out.bad_lines;
    return out;
  }
  // APIBan answers the last page ("no new bans", ID "none") with 400.
  const std::string base = s.url + (s.key.empty() ? "" : "/" + s.key) + "/banned/";
  std::string id(blocklist::kApibanFirstId);
  for (std::size_t pages = 0; pages < kMaxApibanPages; ++pages) {
    auto text = get(base + id, [](int status) { return status == 200 || status == 400; });
    if (!text.ok()) return fail("page " + std::to_string(pages + 1) + ": " + text.error());
    auto page = blocklist::parse_apiban_page(*text);
    if (!page.ok()) return fail("page " + std::to_string(pages + 1) + ": " + page.error());
    out.bad_lines += page->bad_entries;
    out.lines_read += page->entries.size() + page->bad_entries;
    out.entries.insert(out.entries.end(), page->entries.begin(), page->entries.end());
    if (!page->next_id) return out;
    if (*page->next_id == id) return fail("APIBan sent the same ID " + id + " again");
    id = *page->next_id;
  }
  return fail("more than " + std::to_string(kMaxApibanPages) + " pages");
}

}  // namespace

Result<std::vector<blocklist::Source>, std::string> load_blocklist_sources(const std::string& path) {
  return load_section<std::vector<blocklist::Source>>(path, blocklist::sources_from_toml);
}

struct BlocklistFeeds::Feed {
  blocklist::Source source;
  ruleset::ListContent content;  // what the sets hold
  std::optional<TimePoint> last_ok, last_try;
  std::string error;  // empty while the last fetch worked
  std::uint64_t fetches = 0, failures = 0, kernel_failures = 0;
  std::size_t spared = 0, skipped = 0;
  std::map<std::string, std::size_t> spared_by_reason;  // of the last good fetch, by Firewall::spare_kind
  bool in_flight = false;
  std::unique_ptr<asio::steady_timer> timer;
};

struct FetchState {};
struct BlocklistFeeds::Worker : JobThread<FetchState> {
  Worker() : JobThread<FetchState>([] { return FetchState{}; }) {}
};

BlocklistFeeds::BlocklistFeeds(asio::io_context& io, Firewall& firewall, const Clock& clock, std::string cache_dir,
                               std::vector<blocklist::Source> sources, Log log)
    : io_(io),
      firewall_(firewall),
      clock_(clock),
      cache_dir_(std::move(cache_dir)),
      log_(std::move(log)),
      alive_(std::make_shared<bool>(true)) {
  for (auto& s : sources) {
    auto f = std::make_unique<Feed>();
    f->content.name = s.name;
    f->source = std::move(s);
    f->timer = std::make_unique<asio::steady_timer>(io_);
    feeds_.push_back(std::move(f));
  }
  worker_ = std::make_unique<Worker>();
}

BlocklistFeeds::~BlocklistFeeds() {
  *alive_ = false;
  for (auto& f : feeds_) f->timer->cancel();
  worker_.reset();
}

bool BlocklistFeeds::reads(const std::vector<blocklist::Source>& sources) const {
  return std::equal(feeds_.begin(), feeds_.end(), sources.begin(), sources.end(),
                    [](const auto& f, const blocklist::Source& s) { return f->source == s; });
}

std::string BlocklistFeeds::cache_path(const Feed& f) const {
  return (std::filesystem::path(cache_dir_) / (f.source.name + ".list")).string();
}

void BlocklistFeeds::load_cache() {
  std::error_code ec;
  std::filesystem::create_directories(cache_dir_, ec);
  for (auto& f : feeds_) {
    // The last good copy: plain text whatever the list's format.
    auto text = read_file_text(cache_path(*f), kMaxBody);
    if (text.ok()) {
      auto parsed = blocklist::parse_plain(*text);
      f->content = blocklist::content_of(f->source.name, std::move(parsed.entries));
    }
  }
}

void BlocklistFeeds::fetch_all() {
  for (std::size_t i = 0; i < feeds_.size(); ++i) {
    feeds_[i]->timer->cancel();
    fetch(i);
  }
}

void BlocklistFeeds::schedule(std::size_t i, Duration after) {
  auto& timer = *feeds_[i]->timer;
  timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(after));
  timer.async_wait([this, i, alive = alive_](const std::error_code& ec) {
    if (ec || !*alive) return;
    fetch(i);
  });
}

void BlocklistFeeds::fetch(std::size_t i) {
  Feed& f = *feeds_[i];
  if (f.in_flight) return;
  f.in_flight = true;
  const TimePoint asked = clock_.now();
  worker_->post([this, i, asked, alive = alive_, source = f.source](FetchState&) {
    auto parsed = fetch_list(source);
    asio::post(io_, [this, i, asked, alive, parsed = std::move(parsed)]() mutable {
      if (*alive) fetched(i, std::move(parsed), asked);
    });
  });
}

void BlocklistFeeds::fetched(std::size_t i, Result<blocklist::Parsed> parsed, TimePoint asked) {
  Feed& f = *feeds_[i];
  f.in_flight = false;
  f.last_try = asked;
  ++f.fetches;
  std::string why;
  if (!parsed.ok()) why = parsed.error();
  else if (auto refused = blocklist::refusal(*parsed)) why = *refused;
  // A failed fetch is tried again after five minutes, or after `refresh` when that is shorter.
  const Duration retry = std::min<Duration>(f.source.refresh, std::chrono::minutes(5));
  if (!why.empty()) {
    ++f.failures;
    if (why != f.error && log_)
      log_(4, "blocklist " + f.source.name + " (" + f.source.where() + "): " + why + "; keeping " +
                  std::to_string(f.content.size()) + " entries of the last good copy");
    f.error = why;
    schedule(i, retry);
    return;
  }
  auto content = blocklist::content_of(f.source.name, std::move(parsed->entries));
  std::size_t spared = 0;
  std::map<std::string, std::size_t> spared_by_reason;
  for (auto* hosts : {&content.hosts4, &content.hosts6})
    std::erase_if(*hosts, [&](const Cidr& c) {
      auto reason = firewall_.spare_reason(c);
      if (!reason) return false;
      ++spared;
      ++spared_by_reason[Firewall::spare_kind(*reason)];
      return true;
    });
  auto applied = firewall_.apply_set_script(ruleset::render_list_update(content));
  if (!applied.ok()) {
    ++f.failures;
    ++f.kernel_failures;
    f.error = "the kernel refused the list: " + applied.error();
    if (log_) log_(3, "blocklist " + f.source.name + ": " + f.error);
    schedule(i, retry);
    return;
  }
  const bool changed = !(content == f.content);
  f.content = std::move(content);
  f.spared = spared;
  f.spared_by_reason = std::move(spared_by_reason);
  f.skipped = parsed->bad_lines;
  f.last_ok = asked;
  if (!f.error.empty() && log_) log_(6, "blocklist " + f.source.name + ": fetched again");
  f.error.clear();
  if (changed) {
    std::string text;
    for (const auto* v : {&f.content.hosts4, &f.content.hosts6, &f.content.nets4, &f.content.nets6})
      for (const auto& c : *v) text += (c.is_host() ? c.address().str() : c.str()) + "\n";
    if (auto saved = model::write_atomically(cache_path(f), text); !saved.ok() && log_)
      log_(4, "blocklist " + f.source.name + ": cannot keep a copy in " + cache_path(f) + ": " + saved.error());
    if (log_)
      log_(6, "blocklist " + f.source.name + ": " + std::to_string(f.content.size()) + " entries applied" +
                  (spared ? " (" + std::to_string(spared) + " left open: trusted, trunk or validated)" : ""));
  }
  schedule(i, f.source.refresh);
}

std::vector<ruleset::ListContent> BlocklistFeeds::kernel_content() const {
  std::vector<ruleset::ListContent> out;
  for (const auto& f : feeds_) out.push_back(f->content);
  return out;
}

std::vector<BlockSection> BlocklistFeeds::block_sections() const {
  std::vector<BlockSection> out;
  for (const auto& f : feeds_) out.push_back(blocklist_section(f->content, "on blocklist " + f->source.name));
  return out;
}

json BlocklistFeeds::status_json() const {
  json lists = json::array();
  for (const auto& f : feeds_) {
    json spared_by_reason = json::object();
    for (const auto& [reason, n] : f->spared_by_reason) spared_by_reason[reason] = n;
    lists.push_back({{"name", f->source.name},
                     {"from", f->source.where()},
                     {"format", f->source.format == blocklist::Format::plain ? "plain" : "apiban"},
                     {"refresh_seconds", std::chrono::duration_cast<std::chrono::seconds>(f->source.refresh).count()},
                     {"entries", f->content.size()},
                     {"last_ok", time_json(f->last_ok)},
                     {"last_try", time_json(f->last_try)},
                     {"last_error", f->error},
                     {"fetches", f->fetches},
                     {"failures", f->failures},
                     {"kernel_failures", f->kernel_failures},
                     {"spared", f->spared},
                     {"spared_by_reason", spared_by_reason},
                     {"skipped", f->skipped}});
  }
  return lists;
}

void BlocklistFeeds::extend(const std::string& cmd, const json&, json& answer) const {
  if (cmd == "status" || cmd == "overview" || cmd == "metrics") answer["blocklists"] = status_json();
}

}  // namespace pbxwall::daemon
