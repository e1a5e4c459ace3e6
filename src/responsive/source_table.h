// The per-source state of the engine: a fixed-size record per remote address in a table with
// a hard ceiling. Least recently seen records are reused first, so a flood of spoofed sources
// costs at most `ceiling` records and cannot push memory further.
//
// Layout: records live in fixed chunks of kChunkRecords (allocated as the table fills, never
// moved or copied, never past the ceiling), indexed by a chained hash (a bucket array of
// 32-bit heads, the chain link inside the record) and linked in recency order by an
// intrusive doubly linked list of 32-bit indices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/address.h"
#include "responsive/responsive.h"

namespace pbxwall::responsive::detail {

inline constexpr std::uint32_t kNone = 0xffffffffu;
inline constexpr std::size_t kUserSlots = 3;     // usernames followed per source
inline constexpr std::size_t kPendingSlots = 3;  // requests awaiting the PBX's answer
inline constexpr std::size_t kProbeSlots = 3;    // dialled numbers remembered (distinctness)
inline constexpr std::size_t kFirstNames = 3;    // names quoted in an enumeration reason
inline constexpr std::size_t kConversations = 3; // failing registrations (Call-ID, port) followed
inline constexpr std::size_t kUserNameBytes = kSourceUserBytes;

// What a pending request asked for.
enum class RequestKind : std::uint8_t { other, register_, invite, unregister };

namespace pending_flag {
inline constexpr std::uint8_t credentialed = 1;  // carried a digest response / MD5 / RSA result
inline constexpr std::uint8_t iax = 2;           // key is an IAX2 call number
inline constexpr std::uint8_t challenged = 4;    // IAX2: AUTHREQ seen, waiting for AUTHREP
// A registration from outside the user's allow_from (rule 11), decided when the request
// arrived, while its username was at hand.
inline constexpr std::uint8_t outside_allow_from = 8;
// Its digest answered the nonce the PBX last sent to the address (rule 13).
inline constexpr std::uint8_t proved = 16;
// Not a request: a challenge the PBX sent to a request without credentials, kept until the
// next request from that port says whether it was answered (rule 2). `cseq` then holds the
// challenge's time in milliseconds (modulo 2^32) and `expires` the remote's port.
inline constexpr std::uint8_t challenge_open = 32;
// Not a request: the PBX's final answer to one (not a REGISTER), kept so that a request
// continuing its conversation can show it was received (rule 13): `key` is the Call-ID hash,
// `cseq` the answered CSeq number, `user` the hash of the To tag the PBX put in the answer.
inline constexpr std::uint8_t answered = 64;
// The spoofing guard withheld a block this conversation earned (rule guarded_rule of the
// record): taken if the conversation continues after the PBX's answer (rule 13).
inline constexpr std::uint8_t guarded = 128;
}  // namespace pending_flag

struct Pending {
  std::uint32_t key = 0;      // Call-ID hash (SIP) or remote call number + 1 (IAX2); 0 = free
  std::uint32_t cseq = 0;     // SIP CSeq number
  std::uint32_t user = 0;     // hash of the user the request authenticates as (0: none)
  std::uint16_t expires = 0;  // expiry asked for, seconds, saturated at 65535
  RequestKind kind = RequestKind::other;
  std::uint8_t flags = 0;
};

namespace record_flag {
inline constexpr std::uint8_t flagged = 1;             // reported as a misconfigured device
inline constexpr std::uint8_t authenticated = 2;       // credentials accepted at least once
inline constexpr std::uint8_t answers_challenges = 4;  // has sent credentials at least once
inline constexpr std::uint8_t queued = 8;              // one expiry-queue entry points here
// One of its first requests (detail::kRandomProbeWindow) was for a user that looks like svwar's
// random check (text.h): after a svmap OPTIONS, say.
inline constexpr std::uint8_t random_probe_first = 16;
}  // namespace record_flag

namespace user_flag {
inline constexpr std::uint8_t failed = 1;      // counted once as a failing username
inline constexpr std::uint8_t challenged = 2;  // counted once as a challenged username
inline constexpr std::uint8_t registered = 4;  // has a registration in force
inline constexpr std::uint8_t accepted = 8;    // credentials accepted at least once (rule 12)
inline constexpr std::uint8_t ignored = 16;    // counted once as a username whose challenge was ignored
inline constexpr std::uint8_t flagged = 32;    // reported as a misconfigured device (rule 7)
}  // namespace user_flag

// One device's failing registration: phones keep one Call-ID and one source port per
// registration and retry it at their timer's pace (rule 3).
struct Conversation {
  std::uint32_t call = 0;    // Call-ID hash; 0 = free
  std::uint32_t last_s = 0;  // its latest failure
  std::uint16_t port = 0;    // remote port
  std::uint8_t slot = 0;     // user slot
  // Its latest failure weighed in full in the user's bucket: a loop that follows refunds most
  // of it (rule 3).
  std::uint8_t charged_full = 0;
};

// Times are microseconds since the epoch (int64) where rules need precision, and whole
// seconds since the epoch (uint32, good until 2106) where they do not.
struct SourceRecord {
  IpAddress addr;
  SourceState state = SourceState::none;
  std::uint8_t flags = 0;
  std::uint8_t block_step = 0;  // escalation: ladder index of the last block
  std::uint32_t hash_next = kNone;
  std::uint32_t lru_prev = kNone, lru_next = kNone;

  std::int64_t flood_tat = 0;  // bucket: requests (rule 5)
  std::int64_t enum_tat = 0;   // bucket: failing / unanswered usernames (rule 2)
  std::int64_t fail_tat[kUserSlots] = {};  // buckets: rejected credentials per user (rule 3)

  std::uint32_t last_seen_s = 0;
  std::uint32_t until_s = 0;           // end of the block or of the validation
  std::uint32_t last_block_end_s = 0;  // for escalation; 0: never blocked
  std::uint32_t last_flag_s = 0;
  std::uint32_t queued_s = 0;  // due time of this record's expiry-queue entry

  std::uint32_t user_hash[kUserSlots] = {};
  std::uint32_t burst_start_s[kUserSlots] = {};  // first failure of the current burst
  std::uint16_t failures[kUserSlots] = {};       // rejected credentials since last success
  std::uint16_t burst_failures[kUserSlots] = {};
  std::uint8_t user_flags[kUserSlots] = {};
  std::uint8_t cursors = 0;  // next user slot (low nibble) and next pending slot (high nibble)

  std::uint32_t probe_dest[kProbeSlots] = {};
  std::uint8_t probe_count = 0;  // distinct unauthenticated destinations
  std::uint8_t probe_intl = 0;   // unauthenticated calls to international numbers
  Rule last_rule = Rule::fingerprint;
  std::uint8_t enum_names = 0;   // usernames in the current enumeration burst
  std::uint32_t enum_start_s = 0;
  std::uint32_t first_names[kFirstNames] = {};

  std::uint32_t fingerprint_hash = 0;  // User-Agent + From display last checked
  std::uint32_t requests = 0;
  std::uint32_t while_blocked = 0;

  Pending pending[kPendingSlots];

  // Rule 3, the shape of the failures: the latest one, the run of quick ones from one port,
  // and the conversations they came in.
  std::int64_t last_fail_us = 0;
  std::uint32_t last_fail_call = 0;   // its Call-ID hash
  std::uint32_t last_fail_cseq = 0;   // and CSeq number
  std::uint16_t last_fail_port = 0;
  std::uint8_t last_fail_slot = 0;
  std::uint8_t fast_run = 0;          // quick failures in a row, not one registration's loop
  std::uint8_t loop_run = 0;          // quick failures in a row within one registration
  std::uint8_t ignored_names = 0;     // usernames whose challenge was ignored, this burst (rule 2)
  Rule guarded_rule = Rule::fingerprint;  // of the latest block the spoofing guard withheld (rule 13)
  Conversation conversations[kConversations];
  // Rule 5 per port: requests without credentials from flood_port_of.
  std::int64_t flood_port_tat = 0;
  std::uint16_t flood_port_of = 0;
  std::uint32_t nonce_hash = 0;  // of the latest challenge's nonce sent to this address (rule 13)

  std::uint8_t user_len = 0;
  char user[kUserNameBytes] = {};  // the registered user (truncated)
};
static_assert(sizeof(SourceRecord) <= 320, "keep a tracked source within 336 bytes with index and queue");

class SourceTable {
 public:
  SourceTable(std::size_t ceiling, std::uint64_t salt);

  // The record of `addr`, created if needed (reusing the least recently seen one at the
  // ceiling), and marked most recently seen. `evicted` is set when a record was reused.
  std::uint32_t touch(const IpAddress& addr, bool& evicted);
  std::uint32_t find(const IpAddress& addr) const;  // kNone when absent

  SourceRecord& at(std::uint32_t i) { return chunks_[i >> kChunkBits][i & (kChunkRecords - 1)]; }
  const SourceRecord& at(std::uint32_t i) const { return chunks_[i >> kChunkBits][i & (kChunkRecords - 1)]; }
  std::size_t size() const { return size_; }
  std::size_t ceiling() const { return ceiling_; }
  std::uint32_t least_recent() const { return lru_tail_; }
  std::uint32_t most_recent() const { return lru_head_; }

  std::size_t memory_bytes() const;

 private:
  std::size_t bucket_of(const IpAddress& addr) const;
  void link_front(std::uint32_t i);
  void unlink(std::uint32_t i);
  void unchain(std::uint32_t i);
  void grow_buckets();

  static constexpr unsigned kChunkBits = 12;
  static constexpr std::size_t kChunkRecords = std::size_t{1} << kChunkBits;  // ~1 MB

  std::vector<std::unique_ptr<SourceRecord[]>> chunks_;
  std::size_t size_ = 0;
  std::vector<std::uint32_t> buckets_;
  std::size_t ceiling_;
  std::uint64_t salt_;
  std::uint32_t lru_head_ = kNone, lru_tail_ = kNone;
};

}  // namespace pbxwall::responsive::detail
