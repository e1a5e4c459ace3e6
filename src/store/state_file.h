// Opening the daemon's state database so that a damaged file is noticed, kept for the admin and
// replaced, instead of being used half-readable (every read failing, the kernel sets then
// re-rendered empty). The file is created 0600, its directory 0700: it lists who is blocked
// and who registered from where.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "base/time.h"
#include "store/store.h"

namespace pbxwall::store {

// A database found damaged at open and moved out of the way.
struct SetAside {
  std::string path;  // where the damaged file went: <path>.broken-<UTC time>
  std::string why;   // e.g. "integrity check: *** in database main ***\nPage 3: ..."
};

struct OpenedState {
  std::unique_ptr<StateStore> store;
  std::optional<SetAside> set_aside;  // empty: the file was sound (or new)
};

// Opens the database at `path` after checking it: an empty (0-byte) file, a file SQLite does
// not recognise or reports corrupt (PRAGMA quick_check), or one whose tables lack what the
// schema's migrations create, is renamed to <path>.broken-<UTC time of `now`> (with its -wal
// and -shm files, so it can still be opened for inspection) and a new database is created in
// its place. A missing directory is created 0700. Errors that say nothing about the file's content (permissions, a lock held by
// another process, a schema newer than this program) are returned and nothing is moved.
Result<OpenedState> open_state_file(const std::string& path, TimePoint now, Retention retention = {});

// <path>.broken-20261202T004700Z for `now`; a "-2", "-3", ... suffix when that name is taken.
std::string broken_file_name(const std::string& path, TimePoint now);

}  // namespace pbxwall::store
