#include "packets/queue_source.h"

#include "packets/netlink_receive.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>

#include <cstring>
#include <optional>
#include <string>
#include <utility>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

namespace pbxwall::packets {

struct QueueSource::Handles {
  nfq_handle* nfq = nullptr;
  nfq_q_handle* queue = nullptr;
  ~Handles() {
    if (queue != nullptr) nfq_destroy_queue(queue);
    if (nfq != nullptr) nfq_close(nfq);
  }
};

struct QueueDelivery {
  static int call(nfq_q_handle* queue, nfgenmsg*, nfq_data* data, void* source) {
    static_cast<QueueSource*>(source)->deliver(queue, data);
    return 0;
  }
};

Result<std::unique_ptr<QueueSource>> QueueSource::open(std::uint16_t queue_num, QueueOptions options) {
  const std::string name = "nfqueue " + std::to_string(queue_num);
  auto handles = std::make_unique<Handles>();
  handles->nfq = nfq_open();
  if (handles->nfq == nullptr) return fail(errno_text(name + ": opening netlink socket"));
  const int fd = nfq_fd(handles->nfq);
  if (auto prepared = prepare_netlink_socket(fd, options.receive_buffer_bytes, name); !prepared.ok())
    return fail(prepared.error());
  auto names = InterfaceNames::open();
  if (!names) return fail(name + ": " + names.error());

  auto source = std::unique_ptr<QueueSource>(
      new QueueSource(std::move(handles), std::move(*names), queue_num, options));
  Handles& h = *source->handles_;
  h.queue = nfq_create_queue(h.nfq, queue_num, &QueueDelivery::call, source.get());
  if (h.queue == nullptr) {
    const std::string why = errno == EBUSY ? "already bound by another program" : std::strerror(errno);
    return fail(name + ": binding: " + why);
  }
  if (nfq_set_mode(h.queue, NFQNL_COPY_PACKET, options.copy_range) < 0)
    return fail(errno_text(name + ": copy mode"));
  if (nfq_set_queue_maxlen(h.queue, options.max_queued) < 0)
    return fail(errno_text(name + ": queue length"));
  if (nfq_set_queue_flags(h.queue, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN) < 0)
    return fail(errno_text(name + ": fail-open flag"));
  return source;
}

QueueSource::QueueSource(std::unique_ptr<Handles> handles, InterfaceNames names,
                         std::uint16_t queue_num, QueueOptions options)
    : handles_(std::move(handles)), names_(std::move(names)), queue_num_(queue_num),
      options_(options), buffer_(256 * 1024) {}

QueueSource::~QueueSource() = default;

int QueueSource::fd() const { return nfq_fd(handles_->nfq); }

void QueueSource::deliver(nfq_q_handle* queue, nfq_data* data) {
  const nfqnl_msg_packet_hdr* header = nfq_get_msg_packet_hdr(data);
  if (header == nullptr) {
    ++stats_.malformed;
    return;
  }
  const std::uint32_t id = ntohl(header->packet_id);
  Verdict verdict = Verdict::accept;
  unsigned char* payload = nullptr;
  const int length = nfq_get_payload(data, &payload);
  if (length < 0 || payload == nullptr) {
    ++stats_.malformed;
  } else if (decide_ != nullptr && !decide_error_) {
    QueuedPacket packet;
    packet.queue = queue_num_;
    packet.payload = std::span<const std::uint8_t>(payload, static_cast<std::size_t>(length));
    timeval tv{};
    if (nfq_get_timestamp(data, &tv) == 0)
      packet.timestamp = time_point_of(tv);
    packet.indev = names_.name(nfq_get_indev(data));
    packet.outdev = names_.name(nfq_get_outdev(data));
    ++stats_.packets;
    try {
      verdict = (*decide_)(packet);
    } catch (...) {
      decide_error_ = std::current_exception();
      verdict = Verdict::accept;
    }
  }
  const std::uint32_t nf_verdict = verdict == Verdict::drop ? NF_DROP : NF_ACCEPT;
  if (nfq_set_verdict(queue, id, nf_verdict, 0, nullptr) < 0) {
    ++stats_.verdict_failures;
    return;
  }
  ++(verdict == Verdict::drop ? stats_.dropped : stats_.accepted);
}

Result<std::size_t> QueueSource::drain(const Decide& decide) {
  const std::uint64_t before = stats_.packets;
  decide_ = &decide;
  auto received = receive_pending(
      fd(), buffer_, options_.max_messages_per_drain,
      [this](char* message, int length) { return nfq_handle_packet(handles_->nfq, message, length); },
      [this] { return static_cast<bool>(decide_error_); }, {stats_.overruns, stats_.malformed},
      "nfqueue " + std::to_string(queue_num_));
  decide_ = nullptr;
  if (decide_error_) std::rethrow_exception(std::exchange(decide_error_, nullptr));
  if (!received.ok()) return fail(received.error());
  return static_cast<std::size_t>(stats_.packets - before);
}

}  // namespace pbxwall::packets
