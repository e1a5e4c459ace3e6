#include "packets/netlink_receive.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>

#include <cstring>

namespace pbxwall::packets {

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

Status<std::string> prepare_netlink_socket(int fd, int receive_buffer_bytes, const std::string& name) {
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer_bytes, sizeof receive_buffer_bytes) != 0 &&
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes) != 0)
    return fail(errno_text(name + ": setting receive buffer size"));
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    return fail(errno_text(name + ": making socket non-blocking"));
  return {};
}

Status<std::string> receive_pending(int fd, std::vector<char>& buffer, std::size_t max_messages,
                                    const std::function<int(char*, int)>& handle,
                                    const std::function<bool()>& stop, ReceiveCounters counters,
                                    const std::string& name) {
  for (std::size_t messages = 0; messages < max_messages && !stop(); ++messages) {
    const ssize_t n = recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == ENOBUFS) {
        ++counters.overruns;
        continue;
      }
      return fail(errno_text(name + ": receiving"));
    }
    if (handle(buffer.data(), static_cast<int>(n)) < 0) ++counters.malformed;
  }
  return {};
}

}  // namespace pbxwall::packets
