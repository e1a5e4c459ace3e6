#include "packets/nflog_source.h"

#include "packets/netlink_receive.h"

#include <errno.h>

#include <cstring>
#include <optional>
#include <string>
#include <utility>

extern "C" {
#include <libnetfilter_log/libnetfilter_log.h>
}

namespace pbxwall::packets {

// One bound group; its address is the callback's data pointer.
struct GroupBinding {
  NflogSource* source;
  std::uint16_t group;
  nflog_g_handle* handle;
};

struct NflogSource::Handles {
  nflog_handle* log = nullptr;
  std::vector<std::unique_ptr<GroupBinding>> groups;
  ~Handles() {
    for (auto& g : groups)
      if (g->handle != nullptr) nflog_unbind_group(g->handle);
    if (log != nullptr) nflog_close(log);
  }
};

struct NflogDelivery {
  static int call(nflog_g_handle*, nfgenmsg*, nflog_data* data, void* binding) {
    auto* b = static_cast<GroupBinding*>(binding);
    b->source->deliver(b->group, data);
    return 0;
  }
};

namespace {

// Length the IP header says the packet has; 0 when the bytes are not an IPv4/IPv6 header.
std::size_t ip_total_length(std::span<const std::uint8_t> p) {
  if (p.empty()) return 0;
  const int version = p[0] >> 4;
  if (version == 4 && p.size() >= 4) return static_cast<std::size_t>(p[2] << 8 | p[3]);
  if (version == 6 && p.size() >= 6) return 40 + static_cast<std::size_t>(p[4] << 8 | p[5]);
  return 0;
}

}  // namespace

Result<std::unique_ptr<NflogSource>> NflogSource::open(const std::vector<std::uint16_t>& groups,
                                                       NflogOptions options) {
  if (groups.empty()) return fail("nflog: no log group given");
  auto handles = std::make_unique<Handles>();
  handles->log = nflog_open();
  if (handles->log == nullptr) return fail(errno_text("nflog: opening netlink socket"));
  const int fd = nflog_fd(handles->log);
  auto names = InterfaceNames::open();
  if (!names) return fail("nflog: " + names.error());

  if (auto prepared = prepare_netlink_socket(fd, options.receive_buffer_bytes, "nflog"); !prepared.ok())
    return fail(prepared.error());

  auto source = std::unique_ptr<NflogSource>(
      new NflogSource(std::move(handles), std::move(*names), options));
  Handles& h = *source->handles_;
  for (std::uint16_t group : groups) {
    auto binding = std::make_unique<GroupBinding>(GroupBinding{source.get(), group, nullptr});
    binding->handle = nflog_bind_group(h.log, group);
    if (binding->handle == nullptr) {
      const std::string why = errno == EBUSY ? "already bound by another program" : std::strerror(errno);
      return fail("nflog: binding log group " + std::to_string(group) + ": " + why);
    }
    nflog_g_handle* gh = binding->handle;
    h.groups.push_back(std::move(binding));
    if (nflog_set_mode(gh, NFULNL_COPY_PACKET, options.copy_range) < 0)
      return fail(errno_text("nflog: copy mode for group " + std::to_string(group)));
    // Send every packet as soon as it is logged instead of batching up to 100 or 1 s.
    if (nflog_set_qthresh(gh, 1) < 0 || nflog_set_timeout(gh, 0) < 0)
      return fail(errno_text("nflog: queue threshold for group " + std::to_string(group)));
    nflog_callback_register(gh, &NflogDelivery::call, h.groups.back().get());
  }
  return source;
}

NflogSource::NflogSource(std::unique_ptr<Handles> handles, InterfaceNames names,
                         NflogOptions options)
    : handles_(std::move(handles)), names_(std::move(names)), options_(options),
      buffer_(256 * 1024) {}

NflogSource::~NflogSource() = default;

int NflogSource::fd() const { return nflog_fd(handles_->log); }

void NflogSource::deliver(std::uint16_t group, nflog_data* data) {
  if (callback_ == nullptr || callback_error_) return;
  char* payload = nullptr;
  const int length = nflog_get_payload(data, &payload);
  if (length < 0 || payload == nullptr) {
    ++stats_.malformed;
    return;
  }
  PacketView view;
  view.group = group;
  view.payload = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(payload),
                                               static_cast<std::size_t>(length));
  timeval tv{};
  if (nflog_get_timestamp(data, &tv) == 0)
    view.timestamp = time_point_of(tv);
  view.indev = names_.name(nflog_get_indev(data));
  view.outdev = names_.name(nflog_get_outdev(data));
  if (const char* prefix = nflog_get_prefix(data); prefix != nullptr) view.prefix = prefix;
  if (ip_total_length(view.payload) > view.payload.size()) ++stats_.truncated;
  ++stats_.packets;
  try {
    (*callback_)(view);
  } catch (...) {
    callback_error_ = std::current_exception();
  }
}

Result<std::size_t> NflogSource::drain(const Callback& on_packet) {
  const std::uint64_t before = stats_.packets;
  callback_ = &on_packet;
  auto received = receive_pending(
      fd(), buffer_, options_.max_messages_per_drain,
      [this](char* message, int length) { return nflog_handle_packet(handles_->log, message, length); },
      [this] { return static_cast<bool>(callback_error_); }, {stats_.overruns, stats_.malformed}, "nflog");
  callback_ = nullptr;
  if (callback_error_) std::rethrow_exception(std::exchange(callback_error_, nullptr));
  if (!received.ok()) return fail(received.error());
  return static_cast<std::size_t>(stats_.packets - before);
}

}  // namespace pbxwall::packets
