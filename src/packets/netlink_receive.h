// What NflogSource and QueueSource share: preparing their netlink socket (large receive buffer,
// non-blocking) and the loop that reads what is pending without blocking and hands each
// message to the library's parser.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <sys/time.h>

#include "base/result.h"
#include "base/time.h"

namespace pbxwall::packets {

// "<what>: <strerror(errno)>".
std::string errno_text(const std::string& what);

// A kernel packet timestamp.
inline TimePoint time_point_of(const timeval& tv) {
  return TimePoint(Duration(static_cast<std::int64_t>(tv.tv_sec) * 1'000'000 + tv.tv_usec));
}

// Sets the receive buffer (SO_RCVBUFFORCE, or SO_RCVBUF without CAP_NET_ADMIN) and O_NONBLOCK.
// Errors start with `name` ("nflog", "nfqueue 3").
Status<std::string> prepare_netlink_socket(int fd, int receive_buffer_bytes, const std::string& name);

struct ReceiveCounters {
  std::uint64_t& overruns;   // ENOBUFS: the kernel dropped messages for us
  std::uint64_t& malformed;  // messages the library's parser refused
};

// Receives up to `max_messages` pending messages from `fd` into `buffer` and calls `handle` with
// each; `handle` returns the library's result (negative: malformed). Stops early when nothing
// is pending or `stop()` says so (a callback failed). ENOBUFS is counted and reading goes on:
// the socket stays usable. Only unexpected socket errors are failures.
Status<std::string> receive_pending(int fd, std::vector<char>& buffer, std::size_t max_messages,
                                    const std::function<int(char*, int)>& handle,
                                    const std::function<bool()>& stop, ReceiveCounters counters,
                                    const std::string& name);

}  // namespace pbxwall::packets
