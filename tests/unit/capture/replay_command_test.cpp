// `pbxwall replay` driven in-process through run_cli with string streams.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "capture/synth.h"
#include "cli/commands.h"
#include "sip_traffic.h"
#include "temp_dir.h"

namespace pbxwall::capture {
namespace {

const IpAddress kPbx = *IpAddress::parse("203.0.113.1");
const IpAddress kScanner = *IpAddress::parse("192.0.2.66");
const TimePoint kT0 = from_epoch_seconds(1'790'000'000);

std::string write_scan(const TempDir& dir, int n) {
  const auto path = dir.file("scan.pcap");
  auto w = synth::PcapWriter::create(path, DLT_EN10MB);
  EXPECT_TRUE(w.ok());
  for (int i = 0; i < n; ++i) {
    traffic::Request r;
    r.user = std::to_string(100 + i);
    r.from_host = kScanner.str();
    r.via_host = "127.0.0.1";
    r.user_agent = "friendly-scanner";
    r.call_id = "c" + std::to_string(i);
    const TimePoint t = kT0 + std::chrono::milliseconds(10 * i);
    w->write(t, synth::ethernet(synth::udp(kScanner, 5061, kPbx, 5060, traffic::request_text(r))));
    w->write(t + std::chrono::milliseconds(1),
             synth::ethernet(synth::udp(kPbx, 5060, kScanner, 5061, traffic::response_text(r, 404, "Not Found"))));
  }
  return path;
}

struct Run {
  int status = 0;
  std::string out, err;
};

Run run(std::vector<std::string> args, const std::string& config) {
  std::ostringstream out, err;
  cli::Context ctx;
  ctx.out = &out;
  ctx.err = &err;
  ctx.config_path = config;
  ctx.getenv = [](const char*) -> const char* { return nullptr; };
  args.insert(args.begin(), "pbxwall");
  Run r;
  r.status = cli::run_cli(args, ctx);
  r.out = out.str();
  r.err = err.str();
  return r;
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(ReplayCommand, JsonGivesDecisionsThenTheSummary) {
  TempDir dir;
  const auto capture = write_scan(dir, 25);
  const auto r = run({"replay", capture, "--json"}, dir.file("absent.toml"));
  ASSERT_EQ(r.status, cli::kExitOk) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["action"], "block");
  EXPECT_EQ(lines[0]["addr"], "192.0.2.66");
  const auto& s = lines[1].at("summary");
  EXPECT_EQ(s["pbx"][0], "203.0.113.1");
  EXPECT_EQ(s["sources"]["192.0.2.66"]["requests"], 25);
  EXPECT_EQ(s["sources"]["192.0.2.66"]["requests_before_block"], 1);
  EXPECT_EQ(s["sources"]["192.0.2.66"]["state"], "blocked");
}

TEST(ReplayCommand, HumanOutputHasADecisionLineAndATable) {
  TempDir dir;
  const auto r = run({"replay", write_scan(dir, 5), "--pbx", "203.0.113.1"}, dir.file("absent.toml"));
  ASSERT_EQ(r.status, cli::kExitOk) << r.err;
  EXPECT_NE(r.out.find("BLOCK     192.0.2.66       rule=fingerprint"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("PBX: 203.0.113.1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("192.0.2.66"), r.out.rfind("192.0.2.66")) << "the table lists the source too";
}

TEST(ReplayCommand, ConfigurationSettingsApply) {
  TempDir dir;
  const auto config = dir.file("pbxwall.toml");
  // Trusted sources are never blocked (rule 9).
  std::ofstream(config) << "[networks]\n\"192.0.2.0/24\" = \"trusted\"\n";
  const auto r = run({"replay", write_scan(dir, 5), "--json", "--config", config}, config);
  ASSERT_EQ(r.status, cli::kExitOk) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;  // no decision, only the summary
  EXPECT_EQ(lines[0]["summary"]["sources"]["192.0.2.66"]["state"], "none");
}

TEST(ReplayCommand, BadInputsAreUsageErrors) {
  TempDir dir;
  const auto capture = write_scan(dir, 1);
  auto r = run({"replay", capture, "--pbx", "not-an-address"}, dir.file("absent.toml"));
  EXPECT_EQ(r.status, cli::kExitInvalid);
  EXPECT_NE(r.err.find("--pbx not-an-address"), std::string::npos) << r.err;

  r = run({"replay", dir.file("missing.pcap")}, dir.file("absent.toml"));
  EXPECT_EQ(r.status, cli::kExitInvalid);

  const auto bad = dir.file("bad.toml");
  std::ofstream(bad) << "[responsive]\nno_such_key = 1\n";
  r = run({"replay", capture, "--config", bad}, bad);
  EXPECT_EQ(r.status, cli::kExitInvalid);
  EXPECT_NE(r.err.find("bad.toml:2"), std::string::npos) << r.err;

  r = run({"replay", capture, "--config", dir.file("given-but-missing.toml")}, dir.file("given-but-missing.toml"));
  EXPECT_EQ(r.status, cli::kExitInvalid);
}

TEST(ReplayCommand, UnreadableCaptureIsAFailure) {
  TempDir dir;
  const auto path = dir.file("text.pcap");
  std::ofstream(path) << "not a capture\n";
  const auto r = run({"replay", path}, dir.file("absent.toml"));
  EXPECT_EQ(r.status, cli::kExitFailure);
  EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
}

}  // namespace
}  // namespace pbxwall::capture
