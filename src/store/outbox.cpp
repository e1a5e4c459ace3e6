#include "store/sqlite.h"
#include "store/store.h"

namespace pbxwall::store {

namespace {
std::int64_t us(TimePoint t) { return t.time_since_epoch().count(); }
TimePoint at(std::int64_t v) { return TimePoint(Duration(v)); }
}  // namespace

Status<> StateStore::add_outbox(const OutboxRecord& r) {
  auto stmt = db_->cached(
      "INSERT OR REPLACE INTO outbox (seq, kind, address, rule, reason, at_us, until_us) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!stmt) return fail("add_outbox: " + stmt.error());
  (*stmt)->bind(1, r.seq).bind(2, r.kind).bind(3, r.address).bind(4, r.rule).bind(5, r.reason).bind(6, us(r.at))
      .bind(7, us(r.until));
  if (auto st = (*stmt)->run(); !st) return fail("add_outbox: " + st.error());
  return {};
}

Status<> StateStore::remove_outbox(const std::vector<std::int64_t>& seqs) {
  auto stmt = db_->cached("DELETE FROM outbox WHERE seq = ?1");
  if (!stmt) return fail("remove_outbox: " + stmt.error());
  for (auto seq : seqs) {
    (*stmt)->bind(1, seq);
    if (auto st = (*stmt)->run(); !st) return fail("remove_outbox: " + st.error());
  }
  return {};
}

Result<std::vector<OutboxRecord>> StateStore::outbox() {
  auto stmt = db_->cached("SELECT seq, kind, address, rule, reason, at_us, until_us FROM outbox ORDER BY seq");
  if (!stmt) return fail("outbox: " + stmt.error());
  std::vector<OutboxRecord> out;
  for (;;) {
    auto more = (*stmt)->step();
    if (!more) return fail("outbox: " + more.error());
    if (!*more) return out;
    const auto& s = **stmt;
    out.push_back({s.column_int(0), s.column_text(1), s.column_text(2), s.column_text(3), s.column_text(4),
                   at(s.column_int(5)), at(s.column_int(6))});
  }
}

}  // namespace pbxwall::store
