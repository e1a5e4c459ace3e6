// SetReader over nftables netlink: a GETTABLE request for the table, a GETSETELEM dump for a
// set's elements, on a socket of its own (libnftables would fill its cache with every set of
// the table first, see netlink_set_writer.h).
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
  Result<std::vector<SetKey>> keys(const std::string& name) override;

 private:
  NetlinkSetReader(mnl_socket* socket, std::string table);
  mnl_socket* socket_;
  std::string table_;
  std::uint32_t seq_ = 0;
  std::vector<char> buffer_;
};

}  // namespace pbxwall::packets
