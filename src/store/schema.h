// The state database's schema as an ordered list of migrations. The database's
// PRAGMA user_version is the number of migrations applied; opening a database runs the missing
// ones, each in its own transaction together with the version bump, so a crash mid-way leaves
// the database at a consistent earlier version. Released migrations are never edited: a change
// is a new migration at the end.
#pragma once

#include <span>

#include "base/result.h"
#include "store/sqlite.h"

namespace pbxwall::store {

struct Migration {
  int version;       // user_version after this migration
  const char* what;  // one line for logs and errors
  const char* sql;
};

std::span<const Migration> migrations();
int latest_schema_version();

// Brings `db` from its current version to `target` (default: latest). A database newer than this
// program knows is refused rather than written with an older schema's assumptions.
Status<> migrate(sql::Database& db, int target = -1);

}  // namespace pbxwall::store
