// SetReader over nftables netlink: a GETTABLE request for the table, GETSET for a set, and
// GETSETELEM requests that list the keys asked about (the kernel answers each present key
// and stops at the first absent one with ENOENT), on a socket of its own (libnftables would
// fill its cache with every set of the table first, see netlink_set_writer.h). Not a dump:
// the kernel's walk of a hash set starts over for each message of a dump and skips what
// earlier ones held, so dumping 1,000,000 elements takes minutes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "packets/set_reader.h"

struct mnl_socket;

namespace pbxwall::packets {

class NetlinkSetReader final : public SetReader {
 public:
  static Result<std::unique_ptr<NetlinkSetReader>> open(std::string table = "pbxwall");
  ~NetlinkSetReader() override;
  NetlinkSetReader(const NetlinkSetReader&) = delete;
  NetlinkSetReader& operator=(const NetlinkSetReader&) = delete;

  Result<bool> table_exists() override;
  Result<std::vector<SetKey>> absent(const std::string& name, std::span<const SetKey> keys) override;

 private:
  NetlinkSetReader(mnl_socket* socket, std::string table);
  Status<int> set_exists(const std::string& name);
  // Asks about keys[from, from + count): how many were present before the first absent one
  // (count when none is absent).
  Result<std::size_t, int> present_prefix(const std::string& name, std::span<const SetKey> keys);
  mnl_socket* socket_;
  std::string table_;
  std::uint32_t seq_ = 0;
  std::vector<char> buffer_;
};

}  // namespace pbxwall::packets
