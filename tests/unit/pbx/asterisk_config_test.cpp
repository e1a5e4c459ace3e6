// The Asterisk configuration format, feature by feature, over in-memory files.
#include "pbx/asterisk_config.h"

#include <cstdint>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace pbxwall::pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr const char* kRoot = "/etc/asterisk";

struct Loaded {
  AsteriskConfig config;
  Diagnostics diagnostics;
};

Loaded load(const MemoryFileSystem& fs, const std::string& file = "test.conf") {
  Loaded out;
  out.config = load_asterisk_config(fs, kRoot, file, out.diagnostics);
  return out;
}

Loaded load_text(const std::string& text) {
  MemoryFileSystem fs;
  fs.add("/etc/asterisk/test.conf", text);
  return load(fs);
}

std::string value(const AsteriskConfig& c, const std::string& section, const std::string& name) {
  const auto* s = c.find_section(section);
  if (!s) return "<no section>";
  const auto* v = s->find(name);
  return v ? v->value : "<unset>";
}

std::vector<std::string> names(const ConfigSection& s) {
  std::vector<std::string> out;
  for (const auto& v : s.variables) out.push_back(v.name + "=" + v.value);
  return out;
}

std::vector<std::string> texts(const Diagnostics& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) out.push_back(d.str());
  return out;
}

TEST(AsteriskConfig, SectionsVariablesAndTheirLines) {
  auto r = load_text("; top comment\n[general]\nbindport = 5060\n\n[peer]\nhost=203.0.113.5\n");
  ASSERT_TRUE(r.config.found);
  EXPECT_THAT(r.diagnostics, IsEmpty());
  ASSERT_EQ(r.config.sections.size(), 2u);
  const auto& general = r.config.sections[0];
  EXPECT_EQ(general.name, "general");
  EXPECT_EQ(general.line, 2);
  ASSERT_EQ(general.variables.size(), 1u);
  EXPECT_EQ(general.variables[0].name, "bindport");
  EXPECT_EQ(general.variables[0].value, "5060");
  EXPECT_EQ(general.variables[0].file, "/etc/asterisk/test.conf");
  EXPECT_EQ(general.variables[0].line, 3);
  EXPECT_EQ(value(r.config, "peer", "host"), "203.0.113.5");
}

TEST(AsteriskConfig, TrimsSpacesTabsAndCarriageReturns) {
  auto r = load_text("[a]\r\n\t name \t=\t value with  inner spaces \t\r\n  [b]  \r\nx=1\r\n");
  EXPECT_THAT(r.diagnostics, IsEmpty());
  EXPECT_EQ(value(r.config, "a", "name"), "value with  inner spaces");
  EXPECT_EQ(value(r.config, "b", "x"), "1");
}

TEST(AsteriskConfig, ObjectAssignmentIsMarked) {
  auto r = load_text("[general]\nregister => user:pw@sip.provider.example\nplain = 1\n");
  const auto* s = r.config.find_section("general");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->find("register")->object);
  EXPECT_EQ(s->find("register")->value, "user:pw@sip.provider.example");
  EXPECT_FALSE(s->find("plain")->object);
}

TEST(AsteriskConfig, LineCommentsAndEscapedSemicolons) {
  auto r = load_text("[a]\nx = 1 ; trailing comment\nproxy=sip:proxy.example\\;lr ; real comment\n;y=2\n");
  EXPECT_THAT(r.diagnostics, IsEmpty());
  EXPECT_EQ(value(r.config, "a", "x"), "1");
  EXPECT_EQ(value(r.config, "a", "proxy"), "sip:proxy.example;lr");
  EXPECT_EQ(value(r.config, "a", "y"), "<unset>");
}

TEST(AsteriskConfig, BlockCommentsSpanLinesAndNest) {
  auto r = load_text(
      "[a]\n"
      "x=1 ;-- start of a block\n"
      "y=2\n"
      ";-- nested --; still comment\n"
      "z=3 --; w=4\n"
      "v=5 ;-- inline --; u=6\n");
  EXPECT_THAT(r.diagnostics, IsEmpty());
  const auto* a = r.config.find_section("a");
  ASSERT_NE(a, nullptr);
  EXPECT_THAT(names(*a), ElementsAre("x=1", "w=4", "v=5  u=6"));
  EXPECT_EQ(a->find("w")->line, 5);
}

TEST(AsteriskConfig, DashedRulerIsALineCommentNotABlock) {
  // FreePBX's banner: ";----...----;" must not open a block comment (";---" is excluded).
  auto r = load_text(";--------------------------------;\n[a]\nx=1\n");
  EXPECT_THAT(r.diagnostics, IsEmpty());
  EXPECT_EQ(value(r.config, "a", "x"), "1");
}

TEST(AsteriskConfig, UnclosedBlockCommentIsReportedWhereItOpened) {
  auto r = load_text("[a]\nx=1\n;-- never closed\ny=2\n");
  EXPECT_EQ(value(r.config, "a", "y"), "<unset>");
  EXPECT_THAT(texts(r.diagnostics),
              ElementsAre("/etc/asterisk/test.conf:3: warning: block comment ';--' is not closed before the end of the file"));
}

TEST(AsteriskConfig, TemplatesAreInheritedInOrderAndOverridden) {
  auto r = load_text(
      "[base](!)\ntype=aor\nqualify_frequency=60\n"
      "[extra](!)\nmax_contacts=2\nqualify_frequency=30\n"
      "[trunk](base,extra)\nqualify_frequency=10\ncontact=sip:gw.example\n");
  EXPECT_THAT(r.diagnostics, IsEmpty());
  const auto* t = r.config.find_section("trunk");
  ASSERT_NE(t, nullptr);
  EXPECT_THAT(t->templates, ElementsAre("base", "extra"));
  EXPECT_THAT(names(*t), ElementsAre("type=aor", "qualify_frequency=60", "max_contacts=2", "qualify_frequency=30",
                                     "qualify_frequency=10", "contact=sip:gw.example"));
  EXPECT_EQ(t->find("qualify_frequency")->value, "10");  // own value wins
  EXPECT_TRUE(t->find("type")->inherited);
  EXPECT_EQ(t->find("type")->line, 2);  // inherited variables keep where they were written
  EXPECT_FALSE(t->find("contact")->inherited);
  EXPECT_TRUE(r.config.sections[0].is_template);
  EXPECT_EQ(r.config.find_section("base"), nullptr);  // templates are not objects
}

TEST(AsteriskConfig, AdditionAppendsToTheEarlierSection) {
  MemoryFileSystem fs;
  fs.add("/etc/asterisk/test.conf", "[trunk]\ntype=aor\ncontact=sip:a.example\n#include post.conf\n[other]\nx=1\n");
  fs.add("/etc/asterisk/post.conf", "[trunk](+)\ncontact=sip:b.example\n");
  auto r = load(fs);
  EXPECT_THAT(r.diagnostics, IsEmpty());
  ASSERT_EQ(r.config.sections.size(), 2u);  // no new section
  const auto all = r.config.sections[0].find_all("contact");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1]->value, "sip:b.example");
  EXPECT_EQ(all[1]->file, "/etc/asterisk/post.conf");
  EXPECT_EQ(all[1]->line, 2);
}

TEST(AsteriskConfig, RepeatedSectionNamesStaySeparate) {
  auto r = load_text("[101]\ntype=endpoint\n[101]\ntype=aor\n");
  ASSERT_EQ(r.config.sections.size(), 2u);
  EXPECT_EQ(r.config.sections[1].find("type")->value, "aor");
}

TEST(AsteriskConfig, AppendOperatorExtendsTheValue) {
  auto r = load_text("[a]\nallow=ulaw\nallow+=,alaw\n");
  EXPECT_EQ(value(r.config, "a", "allow"), "ulaw,alaw");
}

TEST(AsteriskConfig, IncludeIsRelativeToTheRootAndContinuesTheSection) {
  MemoryFileSystem fs;
  fs.add("/etc/asterisk/test.conf", "[general]\n#include sub/general.conf\nafter=1\n");
  fs.add("/etc/asterisk/sub/general.conf", "bindport=5160\n");
  auto r = load(fs);
  EXPECT_THAT(r.diagnostics, IsEmpty());
  EXPECT_EQ(value(r.config, "general", "bindport"), "5160");
  EXPECT_EQ(value(r.config, "general", "after"), "1");
  EXPECT_THAT(r.config.files_read, ElementsAre("/etc/asterisk/test.conf", "/etc/asterisk/sub/general.conf"));
}

TEST(AsteriskConfig, IncludeNamesMayBeQuotedOrAbsolute) {
  MemoryFileSystem fs;
  fs.add("/etc/asterisk/test.conf", "[a]\n#include \"my file.conf\"\n#include </opt/pbx/abs.conf>\n");
  fs.add("/etc/asterisk/my file.conf", "x=1\n");
  fs.add("/opt/pbx/abs.conf", "y=2\n");
  auto r = load(fs);
  EXPECT_THAT(r.diagnostics, IsEmpty());
  EXPECT_EQ(value(r.config, "a", "x"), "1");
  EXPECT_EQ(value(r.config, "a", "y"), "2");
}

TEST(AsteriskConfig, GlobIncludesAreReadInNameOrder) {
  MemoryFileSystem fs;
  fs.add("/etc/asterisk/test.conf", "#include conf.d/*.conf\n");
  fs.add("/etc/asterisk/conf.d/20-b.conf", "[b]\nx=2\n");
  fs.add("/etc/asterisk/conf.d/10-a.conf", "[a]\nx=1\n");
  fs.add("/etc/asterisk/conf.d/notes.txt", "[c]\nx=3\n");
  auto r = load(fs);
  EXPECT_THAT(r.diagnostics, IsEmpty());
  ASSERT_EQ(r.config.sections.size(), 2u);
  EXPECT_EQ(r.config.sections[0].name, "a");
  EXPECT_EQ(r.config.sections[1].name, "b");
}

TEST(AsteriskConfig, MissingIncludeIsAnErrorAtTheIncludingLine) {
  auto r = load_text("[a]\nx=1\n#include nothere.conf\ny=2\n");
  EXPECT_EQ(value(r.config, "a", "y"), "2");  // the rest is still read
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].file, "/etc/asterisk/test.conf");
  EXPECT_EQ(r.diagnostics[0].line, 3);
  EXPECT_EQ(r.diagnostics[0].severity, Severity::error);
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("/etc/asterisk/nothere.conf"));
  EXPECT_THAT(r.config.files_missing, ElementsAre("/etc/asterisk/nothere.conf"));
}

TEST(AsteriskConfig, MissingTryIncludeIsSilentButRemembered) {
  auto r = load_text("[a]\n#tryinclude optional.conf\n#tryinclude optional.d/*.conf\nx=1\n");
  EXPECT_THAT(r.diagnostics, IsEmpty());
  EXPECT_EQ(value(r.config, "a", "x"), "1");
  EXPECT_THAT(r.config.files_missing, ElementsAre("/etc/asterisk/optional.conf", "/etc/asterisk/optional.d/*.conf"));
}

TEST(AsteriskConfig, EmptyGlobWithIncludeIsAnError) {
  auto r = load_text("#include none.d/*.conf\n");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].line, 1);
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("no file matches"));
}

TEST(AsteriskConfig, IncludeLoopsAreDetected) {
  MemoryFileSystem fs;
  fs.add("/etc/asterisk/test.conf", "[a]\n#include b.conf\n");
  fs.add("/etc/asterisk/b.conf", "x=1\n#include c.conf\n");
  fs.add("/etc/asterisk/c.conf", "y=2\n#include test.conf\n");
  auto r = load(fs);
  EXPECT_EQ(value(r.config, "a", "y"), "2");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].str(),
            "/etc/asterisk/c.conf:2: error: include loop: /etc/asterisk/test.conf -> /etc/asterisk/b.conf -> "
            "/etc/asterisk/c.conf -> /etc/asterisk/test.conf");
}

TEST(AsteriskConfig, SelfIncludeIsALoop) {
  auto r = load_text("[a]\n#include test.conf\n");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("include loop"));
}

TEST(AsteriskConfig, ErrorsNameFileAndLine) {
  auto r = load_text(
      "orphan=1\n"                  // 1: before any section
      "[broken\n"                    // 2: no ]
      "skipped=1\n"                  // 3: belongs to the broken section: skipped silently
      "[t](nosuch)\n"                // 4: unknown template
      "novalue\n"                    // 5: no '='
      "[x](+)\n"                     // 6: addition to an unknown section
      "[opts](!\n"                   // 7: no )
      "#include\n"                   // 8: no file name
      "#frobnicate x\n"              // 9: unknown directive
      "[]\n");                       // 10: empty name
  EXPECT_THAT(texts(r.diagnostics),
              ElementsAre("/etc/asterisk/test.conf:1: error: variable outside any [section]",
                          "/etc/asterisk/test.conf:2: error: no closing ']' in section header",
                          "/etc/asterisk/test.conf:4: error: t: inherits from 'nosuch', which is not defined above",
                          "/etc/asterisk/test.conf:5: warning: no '=' in line; ignored",
                          "/etc/asterisk/test.conf:6: error: x: (+) adds to section 'x', which is not defined above",
                          "/etc/asterisk/test.conf:7: error: opts: no closing ')' after section options",
                          "/etc/asterisk/test.conf:8: error: #include needs a file name",
                          "/etc/asterisk/test.conf:9: warning: unknown directive '#frobnicate'",
                          "/etc/asterisk/test.conf:10: error: empty section name"));
  EXPECT_TRUE(has_errors(r.diagnostics));
}

TEST(AsteriskConfig, ErrorsInIncludedFilesNameThatFile) {
  MemoryFileSystem fs;
  fs.add("/etc/asterisk/test.conf", "[a]\n#include bad.conf\n");
  fs.add("/etc/asterisk/bad.conf", "; fine\n\n[b](missing)\n");
  auto r = load(fs);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].file, "/etc/asterisk/bad.conf");
  EXPECT_EQ(r.diagnostics[0].line, 3);
}

TEST(AsteriskConfig, ExecIsNotRun) {
  auto r = load_text("[a]\n#exec /bin/echo x=1\n");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].severity, Severity::warning);
  EXPECT_EQ(value(r.config, "a", "x"), "<unset>");
}

TEST(AsteriskConfig, EscapedFirstCharacterAllowsOddNames) {
  auto r = load_text("[a]\n\\[odd]=1\n");
  EXPECT_THAT(r.diagnostics, IsEmpty());
  EXPECT_EQ(value(r.config, "a", "[odd]"), "1");
}

TEST(AsteriskConfig, NamesCompareCaseInsensitively) {
  auto r = load_text("[General]\nBindPort=5060\n");
  EXPECT_EQ(value(r.config, "general", "bindport"), "5060");
}

TEST(AsteriskConfig, QuotesInValuesAreKept) {
  auto r = load_text("[a]\ncallerid=\"Front Desk\" <101>\n");
  EXPECT_EQ(value(r.config, "a", "callerid"), "\"Front Desk\" <101>");
}

TEST(AsteriskConfig, MissingTopLevelFileIsNotFound) {
  MemoryFileSystem fs;
  Diagnostics d;
  auto c = load_asterisk_config(fs, kRoot, "sip.conf", d);
  EXPECT_FALSE(c.found);
  EXPECT_THAT(d, IsEmpty());
}

TEST(AsteriskConfig, ByteOrderMarkIsIgnored) {
  auto r = load_text("\xEF\xBB\xBF[a]\nx=1\n");
  EXPECT_THAT(r.diagnostics, IsEmpty());
  EXPECT_EQ(value(r.config, "a", "x"), "1");
}

TEST(AsteriskConfig, LastLineWithoutNewline) {
  auto r = load_text("[a]\nx=1");
  EXPECT_EQ(value(r.config, "a", "x"), "1");
}

TEST(AsteriskConfig, AsteriskTrue) {
  for (auto v : {"yes", "YES", "true", "y", "t", "1", "on", " on "}) EXPECT_TRUE(asterisk_true(v)) << v;
  for (auto v : {"no", "0", "off", "", "nope", "2"}) EXPECT_FALSE(asterisk_true(v)) << v;
}

TEST(DiskFileSystem, ReadsAndGlobsRealFiles) {
  DiskFileSystem fs;
  const std::string dir = std::string(PBXWALL_TEST_DATA) + "/asterisk/freepbx17";
  auto text = fs.read(dir + "/rtp.conf");
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(*text, HasSubstr("#include rtp_additional.conf"));
  EXPECT_FALSE(fs.read(dir + "/absent.conf").ok());
  EXPECT_FALSE(fs.read(dir).ok());  // a directory
  EXPECT_THAT(fs.glob(dir + "/pjsip.d/*.conf"), ElementsAre(dir + "/pjsip.d/10-branch.conf", dir + "/pjsip.d/20-ipv6.conf"));
}

}  // namespace
}  // namespace pbxwall::pbx

namespace pbxwall::pbx {
namespace {

// Arbitrary bytes built from the format's own punctuation never crash the reader or read
// outside the text (run under the sanitizer preset); every problem is a diagnostic.
TEST(AsteriskConfig, ArbitraryInputIsSafe) {
  const std::string alphabet = "[]()!+,=>;-\\#\"<> \t\r\nabcinclude*?.conf/";
  std::uint32_t state = 12345;
  auto next = [&] {
    state = state * 1103515245u + 12345u;
    return state >> 16;
  };
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const auto length = next() % 200;
    for (std::uint32_t i = 0; i < length; ++i) text += alphabet[next() % alphabet.size()];
    MemoryFileSystem fs;
    fs.add("/etc/asterisk/test.conf", text);
    fs.add("/etc/asterisk/a.conf", text);  // reachable through "#include a.conf" or globs
    Diagnostics d;
    auto c = load_asterisk_config(fs, kRoot, "test.conf", d);
    EXPECT_TRUE(c.found);
    for (const auto& diag : d) EXPECT_GT(diag.line, 0) << diag.str();
  }
}

}  // namespace
}  // namespace pbxwall::pbx
