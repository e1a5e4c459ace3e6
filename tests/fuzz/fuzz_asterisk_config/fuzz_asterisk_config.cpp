// Arbitrary Asterisk configuration trees through the reader and discovery.
//
// Input: files separated by NUL bytes; each file is a name line then its contents
// ("pjsip.conf\n[transport-udp]\n..."). Files go under /etc/asterisk in a MemoryFileSystem,
// so "#include extra.conf" and globs reach the other files of the input. The first file is
// loaded with load_asterisk_config, then the whole tree goes through discover().
// Invariants:
//  - the first file is found, and every section, variable and diagnostic names a file the
//    input holds (or the root file) and a line inside it;
//  - discover() reports ports that are not 0, an RTP range with first <= last, trunk hosts
//    with at least one reference, and its JSON report is valid JSON.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pbx/asterisk_config.h"
#include "pbx/discovery.h"
#include "pbx/discovery_report.h"
#include "pbx/filesystem.h"

namespace px = pbxwall::pbx;

namespace {

const std::string kRoot = "/etc/asterisk";
constexpr std::size_t kMaxFiles = 64;

[[noreturn]] void violated(const char*) { std::abort(); }

int line_count(const std::string& text) {
  return 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// A relative name without empty, "." or ".." parts: the name the reader gives the file back
// under. An absolute name ("/pjsip.conf") or "a/../x.conf" is another file to the reader
// (Asterisk reads absolute names as they are), so such parts are left out of the tree.
bool plain_name(std::string_view name) {
  if (name.empty()) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    const auto slash = std::min(name.find('/', start), name.size());
    const auto part = name.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = slash + 1;
  }
  return true;
}

// Path -> contents, as the input gives them.
std::map<std::string, std::string> files_of(std::string_view input, std::string& first) {
  std::map<std::string, std::string> files;
  while (!input.empty() && files.size() < kMaxFiles) {
    const auto end = input.find('\0');
    std::string_view part = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view{} : input.substr(end + 1);
    const auto nl = part.find('\n');
    std::string name(part.substr(0, nl));
    const std::string_view contents = nl == std::string_view::npos ? std::string_view{} : part.substr(nl + 1);
    if (!plain_name(name)) continue;
    const std::string path = kRoot + "/" + name;
    if (first.empty()) first = name;
    files.emplace(path, std::string(contents));
  }
  return files;
}

void check_origin(const std::map<std::string, std::string>& files, const std::string& file, int line) {
  if (line < 0) violated("negative line");
  if (file.empty() || line == 0) return;  // a default, or the tree as a whole
  const auto it = files.find(file);
  if (it == files.end()) violated("a position in a file the input does not hold");
  if (line > line_count(it->second)) violated("a line past the end of its file");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string first;
  const auto files = files_of(std::string_view(reinterpret_cast<const char*>(data), size), first);
  if (files.empty()) return 0;
  px::MemoryFileSystem fs;
  for (const auto& [path, contents] : files) fs.add(path, contents);

  pbxwall::Diagnostics diagnostics;
  const auto config = px::load_asterisk_config(fs, kRoot, first, diagnostics);
  if (!config.found) violated("the root file was not found");
  for (const auto& section : config.sections) {
    check_origin(files, section.file, section.line);
    for (const auto& v : section.variables) check_origin(files, v.file, v.line);
  }
  for (const auto& d : diagnostics) {
    if (d.message.empty()) violated("diagnostic without a message");
    check_origin(files, d.file, d.line);
  }

  const auto found = px::discover(fs, kRoot);
  for (const auto* ports : {&found.signalling, &found.web, &found.ami})
    for (const auto& p : *ports) {
      if (p.port == 0) violated("listening port 0");
      check_origin(files, p.origin.file, p.origin.line);
    }
  if (found.rtp && found.rtp->first > found.rtp->last) violated("RTP range ends before it starts");
  for (const auto& t : found.trunks) {
    if (t.references.empty()) violated("trunk host without a reference");
    if (t.host.empty()) violated("trunk host without a name");
  }
  const auto report = nlohmann::json::parse(px::discovery_to_json(found), nullptr, false);
  if (report.is_discarded()) violated("discovery report is not JSON");
  return 0;
}
