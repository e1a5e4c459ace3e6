// Capture files through libpcap: every supported link type, pcap and pcapng, and errors.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <fstream>
#include <string>

#include "capture/capture.h"
#include "capture/synth.h"
#include "temp_dir.h"

namespace pbxwall::capture {
namespace {

using synth::Bytes;

const IpAddress kScanner = *IpAddress::parse("192.0.2.66");
const IpAddress kPbx = *IpAddress::parse("203.0.113.1");
const IpAddress kScanner6 = *IpAddress::parse("2001:db8:3::66");
const IpAddress kPbx6 = *IpAddress::parse("2001:db8:1::1");
const TimePoint kT0 = TimePoint(Duration(1'790'000'000'123'456));

struct Decoded {
  std::uint32_t linktype = 0;
  std::vector<Packet> packets;
  std::vector<std::string> payloads;
};

Decoded read_all(const std::string& path) {
  Decoded out;
  auto reader = PcapReader::open(path);
  EXPECT_TRUE(reader.ok()) << (reader.ok() ? "" : reader.error());
  if (!reader.ok()) return out;
  out.linktype = reader->linktype();
  Decoder d;
  for (;;) {
    auto f = reader->next();
    EXPECT_TRUE(f.ok());
    if (!f.ok() || !*f) break;
    auto p = d.feed(reader->linktype(), (*f)->t, (*f)->bytes);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().str());
    if (p.ok() && *p) {
      out.packets.push_back(**p);
      out.payloads.emplace_back((**p).payload.begin(), (**p).payload.end());
    }
  }
  return out;
}

struct LinkCase {
  const char* name;
  int dlt;
  Bytes (*wrap)(const Bytes&);
};

Bytes as_is(const Bytes& ip) { return ip; }
Bytes plain_ethernet(const Bytes& ip) { return synth::ethernet(ip); }
Bytes vlan_ethernet(const Bytes& ip) { return synth::ethernet(ip, 42); }

class LinkTypes : public ::testing::TestWithParam<LinkCase> {};

TEST_P(LinkTypes, Ipv4AndIpv6UdpComeOutWithTimeAddressesAndPayload) {
  const auto& c = GetParam();
  TempDir dir;
  const auto path = dir.file("capture.pcap");
  {
    auto w = synth::PcapWriter::create(path, c.dlt);
    ASSERT_TRUE(w.ok()) << w.error();
    w->write(kT0, c.wrap(synth::udp(kScanner, 5070, kPbx, 5060, "OPTIONS v4")));
    w->write(kT0 + std::chrono::milliseconds(5), c.wrap(synth::udp(kScanner6, 5070, kPbx6, 5060, "OPTIONS v6")));
  }
  const auto got = read_all(path);
  EXPECT_TRUE(is_supported(got.linktype)) << got.linktype;
  ASSERT_EQ(got.packets.size(), 2u);
  EXPECT_EQ(got.packets[0].t, kT0);
  EXPECT_EQ(got.packets[0].src, kScanner);
  EXPECT_EQ(got.packets[0].dst, kPbx);
  EXPECT_EQ(got.packets[0].dport, 5060);
  EXPECT_EQ(got.payloads[0], "OPTIONS v4");
  EXPECT_EQ(got.packets[1].t, kT0 + std::chrono::milliseconds(5));
  EXPECT_EQ(got.packets[1].src, kScanner6);
  EXPECT_EQ(got.payloads[1], "OPTIONS v6");
}

// DLT_RAW covers both families; DLT_IPV4/IPV6 are used here with both too, since the decoder
// reads the version nibble either way.
INSTANTIATE_TEST_SUITE_P(Capture, LinkTypes,
                         ::testing::Values(LinkCase{"ethernet", DLT_EN10MB, plain_ethernet},
                                           LinkCase{"vlan", DLT_EN10MB, vlan_ethernet},
                                           LinkCase{"sll", DLT_LINUX_SLL, synth::linux_sll},
                                           LinkCase{"sll2", DLT_LINUX_SLL2, synth::linux_sll2},
                                           LinkCase{"raw", DLT_RAW, as_is},
                                           LinkCase{"ipv4", DLT_IPV4, as_is},
                                           LinkCase{"ipv6", DLT_IPV6, as_is},
                                           LinkCase{"nflog", DLT_NFLOG, synth::nflog},
                                           LinkCase{"null", DLT_NULL, synth::loopback}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Pcap, NonIpFramesAreSkippedNotErrors) {
  Decoder d;
  Bytes arp = synth::ethernet(synth::udp(kScanner, 1, kPbx, 2, ""));
  arp[12] = 0x08;
  arp[13] = 0x06;
  auto r = d.feed(static_cast<std::uint32_t>(LinkType::ethernet), kT0, arp);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_EQ(d.stats().not_ip, 1u);
}

TEST(Pcap, PcapngFilesAreRead) {
  TempDir dir;
  const auto path = dir.file("capture.pcapng");
  const auto file = synth::pcapng(DLT_EN10MB,
                                  {{kT0, synth::ethernet(synth::udp(kScanner, 5070, kPbx, 5060, "first"))},
                                   {kT0 + std::chrono::seconds(2),
                                    synth::ethernet(synth::udp(kScanner, 5070, kPbx, 5060, "second!"))}});
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(file.data()),
                                              static_cast<std::streamsize>(file.size()));
  const auto got = read_all(path);
  EXPECT_EQ(got.linktype, static_cast<std::uint32_t>(DLT_EN10MB));
  ASSERT_EQ(got.payloads.size(), 2u);
  EXPECT_EQ(got.payloads[0], "first");
  EXPECT_EQ(got.payloads[1], "second!");
  EXPECT_EQ(got.packets[1].t, kT0 + std::chrono::seconds(2));
}

TEST(Pcap, FragmentsAcrossAFileAreReassembled) {
  TempDir dir;
  const auto path = dir.file("frag.pcap");
  const std::string body(3000, 's');
  {
    auto w = synth::PcapWriter::create(path, DLT_EN10MB);
    ASSERT_TRUE(w.ok());
    auto frags = synth::fragment(synth::udp(kScanner6, 5060, kPbx6, 5060, body), 1200, 4242);
    for (auto it = frags.rbegin(); it != frags.rend(); ++it) w->write(kT0, synth::ethernet(*it));
  }
  const auto got = read_all(path);
  ASSERT_EQ(got.payloads.size(), 1u);
  EXPECT_EQ(got.payloads[0], body);
}

TEST(Pcap, MissingFileIsAnErrorNamingIt) {
  auto r = PcapReader::open("/nonexistent/dir/x.pcap");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("/nonexistent/dir/x.pcap"), std::string::npos);
}

TEST(Pcap, NotACaptureIsAnError) {
  TempDir dir;
  const auto path = dir.file("text.pcap");
  std::ofstream(path) << "this is not a capture file\n";
  auto r = PcapReader::open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find(path), std::string::npos);
}

TEST(Pcap, UnsupportedLinkTypeIsRefusedAtOpen) {
  TempDir dir;
  const auto path = dir.file("ieee802_11.pcap");
  { auto w = synth::PcapWriter::create(path, DLT_IEEE802_11); }
  auto r = PcapReader::open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("not supported"), std::string::npos) << r.error();
}

TEST(Pcap, TruncatedFileEndsWithAnError) {
  TempDir dir;
  const auto path = dir.file("cut.pcap");
  {
    auto w = synth::PcapWriter::create(path, DLT_RAW);
    ASSERT_TRUE(w.ok());
    w->write(kT0, synth::udp(kScanner, 5070, kPbx, 5060, "whole"));
    w->write(kT0, synth::udp(kScanner, 5070, kPbx, 5060, "this one gets cut"));
  }
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 5);
  auto reader = PcapReader::open(path);
  ASSERT_TRUE(reader.ok());
  auto first = reader->next();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(*first);
  auto second = reader->next();
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().find(path), std::string::npos);
}

}  // namespace
}  // namespace pbxwall::capture
