#include "packets/nft_set_writer.h"

#include <netinet/in.h>

#include <vector>

#include "packets/nft_comment.h"

namespace pbxwall::packets {

std::string SetKey::set_name() const {
  const char* base = set == SetKind::blocked      ? "blocked"
                     : set == SetKind::validated  ? "validated"
                     : set == SetKind::blocked_nets ? "blocked_nets"
                                                    : "grants";
  return std::string(base) + (address.is_v4() ? "4" : "6");
}

std::string nft_element_key(const SetKey& key) {
  std::string out = key.address.str();
  if (key.set == SetKind::blocked_nets) return out + "/" + std::to_string(key.prefix);
  if (key.set != SetKind::grants) return out;
  out += " . ";
  if (key.l4proto == IPPROTO_UDP) out += "udp";
  else if (key.l4proto == IPPROTO_TCP) out += "tcp";
  else out += std::to_string(key.l4proto);
  out += " . " + std::to_string(key.port);
  return out;
}

std::string nft_timeout(Duration d) {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
  if (ms <= 0) return {};
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

NftSetWriter::NftSetWriter(kernel::RulesetApplier& applier, SetWriterOptions options)
    : applier_(applier), options_(std::move(options)) {
  if (options_.max_elements_per_command == 0) options_.max_elements_per_command = 1;
}

void NftSetWriter::add(const SetElement& element) { pending_[element.key] = element; }

void NftSetWriter::remove(const SetKey& key) { pending_[key] = std::nullopt; }

std::string NftSetWriter::render() const {
  std::string script;
  const std::string prefix = " element " + options_.family + " " + options_.table + " ";
  // One set at a time (the map keeps a set's keys together), in chunks.
  auto it = pending_.begin();
  while (it != pending_.end()) {
    const std::string set = it->first.set_name();
    std::vector<decltype(it)> chunk;
    while (it != pending_.end() && it->first.set_name() == set &&
           chunk.size() < options_.max_elements_per_command)
      chunk.push_back(it++);

    std::string keys;
    std::string additions;
    for (const auto& entry : chunk) {
      const std::string key = nft_element_key(entry->first);
      keys += (keys.empty() ? "" : ", ") + key;
      if (!entry->second) continue;
      std::string element = key;
      if (auto t = nft_timeout(entry->second->timeout); !t.empty()) element += " timeout " + t;
      if (auto c = nft_comment(entry->second->comment); !c.empty())
        element += " comment \"" + c + "\"";
      additions += (additions.empty() ? "" : ", ") + element;
    }
    script += "add" + prefix + set + " { " + keys + " }\n";
    script += "delete" + prefix + set + " { " + keys + " }\n";
    if (!additions.empty()) script += "add" + prefix + set + " { " + additions + " }\n";
  }
  return script;
}

Status<std::string> NftSetWriter::commit() {
  if (pending_.empty()) return {};
  const std::string script = render();
  std::uint64_t added = 0;
  for (const auto& [key, element] : pending_) added += element ? 1 : 0;
  const std::uint64_t removed = pending_.size() - added;
  pending_.clear();
  if (auto st = applier_.apply(script); !st) {
    ++stats_.failed_commits;
    return fail("updating sets of table " + options_.family + " " + options_.table + ": " +
                st.error());
  }
  ++stats_.commits;
  stats_.elements_added += added;
  stats_.elements_removed += removed;
  return {};
}

}  // namespace pbxwall::packets
