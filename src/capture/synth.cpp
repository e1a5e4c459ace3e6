#include "capture/synth.h"

#include <pcap/pcap.h>

#include <cstring>
#include <utility>

namespace pbxwall::capture::synth {
namespace {

void put16(Bytes& b, std::size_t at, std::uint32_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
void put32(Bytes& b, std::size_t at, std::uint32_t v) {
  put16(b, at, v >> 16);
  put16(b, at + 2, v & 0xffff);
}
void append_host32(Bytes& b, std::uint32_t v) {
  std::uint8_t raw[4];
  std::memcpy(raw, &v, 4);
  b.insert(b.end(), raw, raw + 4);
}
void append_host16(Bytes& b, std::uint16_t v) {
  std::uint8_t raw[2];
  std::memcpy(raw, &v, 2);
  b.insert(b.end(), raw, raw + 2);
}

std::uint16_t ipv4_checksum(const Bytes& b) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < 20; i += 2) sum += static_cast<std::uint32_t>(b[i] << 8 | b[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

Bytes ip_packet(const IpAddress& src, const IpAddress& dst, std::uint8_t proto, const Bytes& l4) {
  if (src.is_v4()) {
    Bytes b(20);
    b[0] = 0x45;
    put16(b, 2, static_cast<std::uint32_t>(20 + l4.size()));
    put16(b, 4, 0x1234);
    b[8] = 64;
    b[9] = proto;
    std::memcpy(b.data() + 12, src.bytes().data(), 4);
    std::memcpy(b.data() + 16, dst.bytes().data(), 4);
    put16(b, 10, ipv4_checksum(b));
    b.insert(b.end(), l4.begin(), l4.end());
    return b;
  }
  Bytes b(40);
  b[0] = 0x60;
  put16(b, 4, static_cast<std::uint32_t>(l4.size()));
  b[6] = proto;
  b[7] = 64;
  std::memcpy(b.data() + 8, src.bytes().data(), 16);
  std::memcpy(b.data() + 24, dst.bytes().data(), 16);
  b.insert(b.end(), l4.begin(), l4.end());
  return b;
}

}  // namespace

Bytes bytes_of(std::string_view text) { return Bytes(text.begin(), text.end()); }

Bytes udp(const IpAddress& src, std::uint16_t sport, const IpAddress& dst, std::uint16_t dport,
          std::string_view payload) {
  Bytes l4(8);
  put16(l4, 0, sport);
  put16(l4, 2, dport);
  put16(l4, 4, static_cast<std::uint32_t>(8 + payload.size()));
  l4.insert(l4.end(), payload.begin(), payload.end());
  return ip_packet(src, dst, 17, l4);
}

Bytes tcp(const IpAddress& src, std::uint16_t sport, const IpAddress& dst, std::uint16_t dport,
          std::uint32_t seq, std::uint8_t flags, std::string_view payload) {
  Bytes l4(20);
  put16(l4, 0, sport);
  put16(l4, 2, dport);
  put32(l4, 4, seq);
  l4[12] = 5 << 4;
  l4[13] = flags;
  put16(l4, 14, 65535);
  l4.insert(l4.end(), payload.begin(), payload.end());
  return ip_packet(src, dst, 6, l4);
}

std::vector<Bytes> fragment(const Bytes& ip, std::size_t chunk, std::uint32_t id) {
  chunk = std::max<std::size_t>(8, chunk & ~std::size_t{7});
  std::vector<Bytes> out;
  const bool v4 = (ip[0] >> 4) == 4;
  const std::size_t header = v4 ? static_cast<std::size_t>(ip[0] & 0x0f) * 4 : 40;
  const std::size_t payload = ip.size() - header;
  for (std::size_t off = 0; off < payload; off += chunk) {
    const std::size_t n = std::min(chunk, payload - off);
    const bool more = off + n < payload;
    Bytes f(ip.begin(), ip.begin() + static_cast<std::ptrdiff_t>(header));
    if (v4) {
      put16(f, 2, static_cast<std::uint32_t>(header + n));
      put16(f, 4, id & 0xffff);
      put16(f, 6, static_cast<std::uint32_t>(off / 8) | (more ? 0x2000u : 0u));
      put16(f, 10, 0);
      put16(f, 10, ipv4_checksum(f));
    } else {
      put16(f, 4, static_cast<std::uint32_t>(8 + n));
      f[6] = 44;
      Bytes fh(8);
      fh[0] = ip[6];
      put16(fh, 2, static_cast<std::uint32_t>(off) | (more ? 1u : 0u));
      put32(fh, 4, id);
      f.insert(f.end(), fh.begin(), fh.end());
    }
    const auto from = ip.begin() + static_cast<std::ptrdiff_t>(header + off);
    f.insert(f.end(), from, from + static_cast<std::ptrdiff_t>(n));
    out.push_back(std::move(f));
  }
  return out;
}

Bytes ethernet(const Bytes& ip, int vlan) {
  Bytes b = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
  const std::uint16_t type = (ip[0] >> 4) == 4 ? 0x0800 : 0x86dd;
  if (vlan >= 0) {
    b.push_back(0x81);
    b.push_back(0x00);
    b.push_back(static_cast<std::uint8_t>((vlan >> 8) & 0x0f));
    b.push_back(static_cast<std::uint8_t>(vlan));
  }
  b.push_back(static_cast<std::uint8_t>(type >> 8));
  b.push_back(static_cast<std::uint8_t>(type));
  b.insert(b.end(), ip.begin(), ip.end());
  return b;
}

Bytes linux_sll(const Bytes& ip) {
  Bytes b(16);
  put16(b, 0, 0);      // packet type: to us
  put16(b, 2, 1);      // ARPHRD_ETHER
  put16(b, 4, 6);      // address length
  b[6] = 0x02;
  put16(b, 14, (ip[0] >> 4) == 4 ? 0x0800 : 0x86dd);
  b.insert(b.end(), ip.begin(), ip.end());
  return b;
}

Bytes linux_sll2(const Bytes& ip) {
  Bytes b(20);
  put16(b, 0, (ip[0] >> 4) == 4 ? 0x0800 : 0x86dd);
  put32(b, 4, 3);  // interface index
  put16(b, 8, 1);  // ARPHRD_ETHER
  b[10] = 0;       // to us
  b[11] = 6;
  b.insert(b.end(), ip.begin(), ip.end());
  return b;
}

Bytes nflog(const Bytes& ip) {
  Bytes b = {static_cast<std::uint8_t>((ip[0] >> 4) == 4 ? 2 : 10), 0, 0, 1};
  const std::string_view prefix = "pbxwall";  // NFULA_PREFIX (10), NUL-terminated, padded
  append_host16(b, static_cast<std::uint16_t>(4 + prefix.size() + 1));
  append_host16(b, 10);
  b.insert(b.end(), prefix.begin(), prefix.end());
  b.push_back(0);
  while (b.size() % 4) b.push_back(0);
  append_host16(b, static_cast<std::uint16_t>(4 + ip.size()));
  append_host16(b, 9);  // NFULA_PAYLOAD
  b.insert(b.end(), ip.begin(), ip.end());
  while (b.size() % 4) b.push_back(0);
  return b;
}

Bytes loopback(const Bytes& ip) {
  Bytes b;
  append_host32(b, (ip[0] >> 4) == 4 ? 2u : 10u);
  b.insert(b.end(), ip.begin(), ip.end());
  return b;
}

Result<PcapWriter> PcapWriter::create(const std::string& path, int linktype) {
  pcap_t* p = pcap_open_dead(linktype, 262144);
  if (!p) return fail(path + ": pcap_open_dead failed");
  pcap_dumper_t* d = pcap_dump_open(p, path.c_str());
  if (!d) {
    std::string err = path + ": " + pcap_geterr(p);
    pcap_close(p);
    return fail(err);
  }
  PcapWriter w;
  w.pcap_ = p;
  w.dumper_ = d;
  return w;
}

PcapWriter::PcapWriter(PcapWriter&& o) noexcept
    : pcap_(std::exchange(o.pcap_, nullptr)), dumper_(std::exchange(o.dumper_, nullptr)) {}
PcapWriter& PcapWriter::operator=(PcapWriter&& o) noexcept {
  if (this != &o) {
    close();
    pcap_ = std::exchange(o.pcap_, nullptr);
    dumper_ = std::exchange(o.dumper_, nullptr);
  }
  return *this;
}
PcapWriter::~PcapWriter() { close(); }

void PcapWriter::close() {
  if (dumper_) pcap_dump_close(static_cast<pcap_dumper_t*>(dumper_));
  if (pcap_) pcap_close(static_cast<pcap_t*>(pcap_));
  dumper_ = pcap_ = nullptr;
}

void PcapWriter::write(TimePoint t, std::span<const std::uint8_t> frame) {
  pcap_pkthdr h{};
  const auto us = t.time_since_epoch().count();
  h.ts.tv_sec = static_cast<time_t>(us / 1'000'000);
  h.ts.tv_usec = static_cast<suseconds_t>(us % 1'000'000);
  h.caplen = h.len = static_cast<bpf_u_int32>(frame.size());
  pcap_dump(static_cast<u_char*>(dumper_), &h, frame.data());
}

Bytes pcapng(int linktype, const std::vector<std::pair<TimePoint, Bytes>>& frames) {
  Bytes b;
  // Section header block: type, length, byte-order magic, version 1.0, section length -1.
  append_host32(b, 0x0a0d0d0a);
  append_host32(b, 28);
  append_host32(b, 0x1a2b3c4d);
  append_host16(b, 1);
  append_host16(b, 0);
  append_host32(b, 0xffffffff);
  append_host32(b, 0xffffffff);
  append_host32(b, 28);
  // Interface description block: link type, snap length; default resolution is microseconds.
  append_host32(b, 1);
  append_host32(b, 20);
  append_host16(b, static_cast<std::uint16_t>(linktype));
  append_host16(b, 0);
  append_host32(b, 262144);
  append_host32(b, 20);
  for (const auto& [t, frame] : frames) {
    const auto padded = (frame.size() + 3) & ~std::size_t{3};
    const auto total = static_cast<std::uint32_t>(32 + padded);
    const auto us = static_cast<std::uint64_t>(t.time_since_epoch().count());
    append_host32(b, 6);
    append_host32(b, total);
    append_host32(b, 0);  // interface id
    append_host32(b, static_cast<std::uint32_t>(us >> 32));
    append_host32(b, static_cast<std::uint32_t>(us));
    append_host32(b, static_cast<std::uint32_t>(frame.size()));
    append_host32(b, static_cast<std::uint32_t>(frame.size()));
    b.insert(b.end(), frame.begin(), frame.end());
    b.resize(b.size() + (padded - frame.size()), 0);
    append_host32(b, total);
  }
  return b;
}

}  // namespace pbxwall::capture::synth
