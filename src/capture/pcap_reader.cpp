// The only I/O of the capture module: libpcap reading a file the caller names.
#include <pcap/pcap.h>

#include "capture/capture.h"

namespace pbxwall::capture {
namespace {

pcap_t* handle(void* p) { return static_cast<pcap_t*>(p); }

}  // namespace

Result<PcapReader> PcapReader::open(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE] = {};
  // Microsecond timestamps whatever the file holds (libpcap scales nanosecond files).
  pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO, err);
  if (p == nullptr) return fail(path + ": " + err);
  PcapReader r;
  r.pcap_ = p;
  r.path_ = path;
  r.linktype_ = static_cast<std::uint32_t>(pcap_datalink(p));
  if (!is_supported(r.linktype_)) {
    const char* name = pcap_datalink_val_to_name(pcap_datalink(p));
    return fail(path + ": link type " + std::to_string(r.linktype_) + " (" + (name ? name : "?") +
                ") is not supported (Ethernet, Linux cooked v1/v2, raw IP, NFLOG, loopback are)");
  }
  return r;
}

PcapReader::PcapReader(PcapReader&& o) noexcept
    : pcap_(std::exchange(o.pcap_, nullptr)), path_(std::move(o.path_)), linktype_(o.linktype_) {}

PcapReader& PcapReader::operator=(PcapReader&& o) noexcept {
  if (this != &o) {
    if (pcap_) pcap_close(handle(pcap_));
    pcap_ = std::exchange(o.pcap_, nullptr);
    path_ = std::move(o.path_);
    linktype_ = o.linktype_;
  }
  return *this;
}

PcapReader::~PcapReader() {
  if (pcap_) pcap_close(handle(pcap_));
}

Result<std::optional<Frame>> PcapReader::next() {
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  const int rc = pcap_next_ex(handle(pcap_), &header, &data);
  if (rc == PCAP_ERROR_BREAK) return std::optional<Frame>{};
  if (rc != 1) return fail(path_ + ": " + pcap_geterr(handle(pcap_)));
  Frame f;
  f.t = TimePoint(Duration(static_cast<std::int64_t>(header->ts.tv_sec) * 1'000'000 + header->ts.tv_usec));
  f.bytes = std::span<const std::uint8_t>(data, header->caplen);
  f.original_length = header->len;
  return std::optional<Frame>{f};
}

}  // namespace pbxwall::capture
