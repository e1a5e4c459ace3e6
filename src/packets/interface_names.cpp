#include "packets/interface_names.h"

#include <errno.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace pbxwall::packets {

Result<InterfaceNames> InterfaceNames::open() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(std::string("opening interface-name socket: ") + std::strerror(errno));
  return InterfaceNames(fd);
}

InterfaceNames::InterfaceNames(InterfaceNames&& other) noexcept
    : socket_(std::exchange(other.socket_, -1)), cache_(std::move(other.cache_)) {}

InterfaceNames::~InterfaceNames() {
  if (socket_ >= 0) ::close(socket_);
}

std::string_view InterfaceNames::name(std::uint32_t index) {
  if (index == 0) return {};
  auto it = cache_.find(index);
  if (it == cache_.end()) {
    ifreq request{};
    request.ifr_ifindex = static_cast<int>(index);
    std::string text = ::ioctl(socket_, SIOCGIFNAME, &request) == 0
                           ? std::string(request.ifr_name, strnlen(request.ifr_name, IFNAMSIZ))
                           : "if" + std::to_string(index);
    it = cache_.emplace(index, std::move(text)).first;
  }
  return it->second;
}

}  // namespace pbxwall::packets
