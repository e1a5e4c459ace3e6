#include "store/state_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "store/schema.h"
#include "store/sqlite.h"
#include "temp_dir.h"

namespace pbxwall::store {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

const TimePoint t0 = from_epoch_seconds(1'790'000'000);  // 2026-09-21T14:13:20Z

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st{};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// A database with four blocks and enough events to span several pages, closed cleanly (the
// WAL checkpointed into the file).
void write_database(const std::string& path) {
  auto s = StateStore::open(path);
  ASSERT_TRUE(s.ok()) << s.error();
  for (int i = 1; i <= 4; ++i)
    ASSERT_TRUE((*s)->upsert_block({"192.0.2." + std::to_string(i), "manual", "test", t0, t0 + hours(1), 1}).ok());
  ASSERT_TRUE((*s)->transaction([&]() -> Status<> {
                    for (int i = 0; i < 400; ++i)
                      if (auto id = (*s)->add_event({0, t0, "block", "192.0.2.1", "", "manual", std::string(100, 'x')}); !id)
                        return fail(id.error());
                    return {};
                  }).ok());
}

void overwrite(const std::string& path, std::uint64_t offset, std::uint64_t length) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good());
  f.seekp(static_cast<std::streamoff>(offset));
  for (std::uint64_t i = 0; i < length; ++i) f.put(static_cast<char>(0xa5 ^ (i * 7)));
}

std::vector<std::filesystem::path> broken_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().find(".broken-") != std::string::npos) out.push_back(e.path());
  return out;
}

TEST(StateFile, NewDatabaseAndDirectoryAreCreatedPrivate) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "lib" / "pbxwall";
  const std::string path = (dir / "state.db").string();
  auto opened = open_state_file(path, t0);
  ASSERT_TRUE(opened.ok()) << opened.error();
  EXPECT_FALSE(opened->set_aside);
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(mode_of(dir), 0700u);
  ASSERT_TRUE(opened->store->upsert_block({"192.0.2.1", "manual", "x", t0, t0 + hours(1), 1}).ok());
  EXPECT_EQ(mode_of(path + "-wal"), 0600u);
}

TEST(StateFile, ExistingReadableFileIsTightened) {
  test::TempDir tmp;
  const std::string path = (tmp.path() / "state.db").string();
  write_database(path);
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto opened = open_state_file(path, t0);
  ASSERT_TRUE(opened.ok()) << opened.error();
  EXPECT_FALSE(opened->set_aside);
  EXPECT_EQ(mode_of(path), 0600u);
  auto blocks = opened->store->active_blocks(t0);
  ASSERT_TRUE(blocks.ok());
  EXPECT_EQ(blocks->size(), 4u);
}

TEST(StateFile, CorruptedPagesAfterTheHeaderAreSetAside) {
  test::TempDir tmp;
  const std::string path = (tmp.path() / "state.db").string();
  write_database(path);
  const auto size = std::filesystem::file_size(path);
  ASSERT_GT(size, 8192u);
  overwrite(path, 4096, size - 4096);
  auto opened = open_state_file(path, t0);
  ASSERT_TRUE(opened.ok()) << opened.error();
  ASSERT_TRUE(opened->set_aside);
  EXPECT_EQ(opened->set_aside->path, path + ".broken-20260921T141320Z");
  EXPECT_NE(opened->set_aside->why.find("integrity check"), std::string::npos) << opened->set_aside->why;
  EXPECT_EQ(std::filesystem::file_size(opened->set_aside->path), size);  // kept as it was
  auto blocks = opened->store->active_blocks(t0);
  ASSERT_TRUE(blocks.ok()) << blocks.error();
  EXPECT_TRUE(blocks->empty());
  EXPECT_TRUE(opened->store->upsert_block({"192.0.2.9", "manual", "x", t0, t0 + hours(1), 1}).ok());
  EXPECT_EQ(opened->store->schema_version(), latest_schema_version());
}

TEST(StateFile, CorruptedHeaderIsSetAside) {
  test::TempDir tmp;
  const std::string path = (tmp.path() / "state.db").string();
  write_database(path);
  overwrite(path, 0, 100);
  auto opened = open_state_file(path, t0);
  ASSERT_TRUE(opened.ok()) << opened.error();
  ASSERT_TRUE(opened->set_aside);
  EXPECT_NE(opened->set_aside->why.find("not a database"), std::string::npos) << opened->set_aside->why;
}

TEST(StateFile, EmptyFileIsSetAside) {
  test::TempDir tmp;
  const std::string path = (tmp.path() / "state.db").string();
  std::ofstream(path).close();
  auto opened = open_state_file(path, t0);
  ASSERT_TRUE(opened.ok()) << opened.error();
  ASSERT_TRUE(opened->set_aside);
  EXPECT_EQ(opened->set_aside->why, "empty file (0 bytes)");
  EXPECT_TRUE(std::filesystem::exists(opened->set_aside->path));
  EXPECT_GT(std::filesystem::file_size(path), 0u);  // a new database in its place
}

TEST(StateFile, MissingTableIsSetAsideWithItsName) {
  test::TempDir tmp;
  const std::string path = (tmp.path() / "state.db").string();
  write_database(path);
  {
    auto db = sql::Database::open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("DROP TABLE flagged").ok());
  }
  auto opened = open_state_file(path, t0);
  ASSERT_TRUE(opened.ok()) << opened.error();
  ASSERT_TRUE(opened->set_aside);
  EXPECT_NE(opened->set_aside->why.find("table flagged"), std::string::npos) << opened->set_aside->why;
}

TEST(StateFile, NewerSchemaIsRefusedAndLeftInPlace) {
  test::TempDir tmp;
  const std::string path = (tmp.path() / "state.db").string();
  write_database(path);
  {
    auto db = sql::Database::open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("PRAGMA user_version = " + std::to_string(latest_schema_version() + 1)).ok());
  }
  auto opened = open_state_file(path, t0);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().find("newer"), std::string::npos) << opened.error();
  EXPECT_TRUE(broken_files(tmp.path()).empty());
}

TEST(StateFile, SecondBrokenFileInTheSameSecondGetsItsOwnName) {
  test::TempDir tmp;
  const std::string path = (tmp.path() / "state.db").string();
  for (int i = 0; i < 2; ++i) {
    std::ofstream(path, std::ios::trunc).close();
    auto opened = open_state_file(path, t0);
    ASSERT_TRUE(opened.ok()) << opened.error();
    ASSERT_TRUE(opened->set_aside);
  }
  auto names = broken_files(tmp.path());
  EXPECT_EQ(names.size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(path + ".broken-20260921T141320Z-2"));
}

TEST(StateFile, RefusedWritesFailUntilAllowedAgain) {
  test::TempDir tmp;
  auto opened = open_state_file((tmp.path() / "state.db").string(), t0);
  ASSERT_TRUE(opened.ok()) << opened.error();
  auto& s = *opened->store;
  ASSERT_TRUE(s.refuse_writes(true).ok());
  auto st = s.transaction([&] { return s.upsert_block({"192.0.2.1", "manual", "x", t0, t0 + hours(1), 1}); });
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().find("readonly"), std::string::npos) << st.error();
  ASSERT_TRUE(s.refuse_writes(false).ok());
  EXPECT_TRUE(s.transaction([&] { return s.upsert_block({"192.0.2.1", "manual", "x", t0, t0 + hours(1), 1}); }).ok());
  auto blocks = s.active_blocks(t0);
  ASSERT_TRUE(blocks.ok());
  EXPECT_EQ(blocks->size(), 1u);
}

// SQLITE_FULL as on a full disk: the database may not grow beyond its current pages.
TEST(StateFile, FullDatabaseFailsTheTransactionAndKeepsEarlierRows) {
  test::TempDir tmp;
  const std::string path = (tmp.path() / "state.db").string();
  write_database(path);
  {
    auto db = sql::Database::open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("PRAGMA max_page_count = 1").ok());  // clamps to the current size
    auto st = (*db)->exec("BEGIN; INSERT INTO events (time_us, kind, address, user, rule, reason) "
                          "SELECT 0, 'block', '', '', '', printf('%.*c', 2000, 'y') FROM events; COMMIT;");
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().find("full"), std::string::npos) << st.error();
    (void)(*db)->exec("ROLLBACK");
  }
  auto opened = open_state_file(path, t0);
  ASSERT_TRUE(opened.ok()) << opened.error();
  EXPECT_FALSE(opened->set_aside);
  auto blocks = opened->store->active_blocks(t0);
  ASSERT_TRUE(blocks.ok());
  EXPECT_EQ(blocks->size(), 4u);
}

}  // namespace
}  // namespace pbxwall::store
