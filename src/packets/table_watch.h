// What other programs change in our nftables table, as the kernel tells it: every process
// bound to the netlink group NFNLGRP_NFTABLES receives a notification per changed object
// (table, chain, rule, set, set elements) and, closing each transaction, a NEWGEN message
// naming the generation and the process that committed it. TableWatch reads them without
// blocking and hands over one TableTransaction per commit that touched our table, so the
// daemon can tell its own changes (the sending socket's portid, the process id) from others'
// and put back what others removed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "kernel/kernel.h"
#include "packets/set_updater.h"

struct mnl_socket;
struct nlmsghdr;

namespace pbxwall::packets {

struct TableChange {
  enum class Object : std::uint8_t { table, chain, rule, set, elements, other };
  Object object = Object::other;
  bool deleted = false;   // DEL* (false: NEW*, an addition or an update)
  std::string name;       // the chain or set; for a rule, its chain; for elements, their set
  std::vector<std::vector<std::uint8_t>> keys;  // elements: the key bytes of each
  bool dormant = false;   // table: its flags make it dormant (rules inactive)
};

struct TableTransaction {
  std::uint32_t generation = 0;
  std::uint32_t portid = 0;      // netlink port of the socket that sent the batch
  std::uint32_t process_id = 0;  // of the committing process (0: not given)
  std::string process_name;      // its command name ("nft"), when given
  std::vector<TableChange> changes;    // those of our table, in order
  std::size_t other_tables_deleted = 0;  // tells `flush ruleset` from `delete table`
  // The kernel dropped notifications (receive buffer full): what changed is unknown.
  bool incomplete = false;
};

// Groups notifications into transactions; pure, fed message by message (TableWatch feeds it
// from the socket, tests with messages built by libnftnl).
class TableNotificationParser {
 public:
  using Done = std::function<void(const TableTransaction&)>;
  explicit TableNotificationParser(std::string family = std::string(kernel::kTableFamily),
                                   std::string table = std::string(kernel::kTableName));
  // One message; a NEWGEN ends the transaction and calls `done` when it touched our table.
  void feed(const nlmsghdr* message, const Done& done);
  // Every message of a buffer as received from the socket.
  void feed_buffer(const void* data, std::size_t size, const Done& done);
  // Notifications were lost: the transaction being read is dropped and `done` gets an
  // incomplete one.
  void lost(const Done& done);

 private:
  std::uint8_t family_;
  std::string table_;
  TableTransaction current_;
  bool touched_ = false;
};

// The key bytes of each element of a NEWSETELEM / DELSETELEM message.
std::vector<std::vector<std::uint8_t>> element_keys_of(const nlmsghdr* message);

class TableWatch {
 public:
  // A netlink socket in the caller's network namespace, subscribed to NFNLGRP_NFTABLES.
  static Result<std::unique_ptr<TableWatch>> open();
  ~TableWatch();
  TableWatch(const TableWatch&) = delete;
  TableWatch& operator=(const TableWatch&) = delete;

  int fd() const;  // readable when notifications are pending (non-blocking)
  // Reads what is pending and calls `done` per complete transaction touching our table.
  Status<std::string> drain(const TableNotificationParser::Done& done);
  std::uint64_t overruns() const { return overruns_; }

  // Runs `own_change` (the daemon's own transaction) outside the nftables group: with no
  // process listening, the kernel builds no notification per element, which costs it more
  // than adding the elements (a table of 1,000,000 blocks: about 20 s of its 33). The
  // generation before and after tells whether another transaction went unseen meanwhile;
  // then take_unheard() says so once.
  void unheard(const std::function<void()>& own_change);
  // Whether a transaction of another process may have gone unseen during unheard() (or the
  // group could not be joined again); cleared by the call.
  bool take_unheard();

 private:
  TableWatch(mnl_socket* socket, mnl_socket* query);
  Result<std::uint32_t> generation();
  bool join(bool member);
  mnl_socket* socket_;
  mnl_socket* query_;  // GETGEN requests, apart from the notifications
  std::uint32_t seq_ = 0;
  bool member_ = true;
  bool unheard_ = false;
  TableNotificationParser parser_;
  std::vector<char> buffer_;
  std::uint64_t overruns_ = 0;
  std::uint64_t malformed_ = 0;
};

// The daemon's ruleset applier with every transaction run through TableWatch::unheard: the
// same results, without the kernel's per-element notifications of a whole-table apply.
class UnheardApplier final : public kernel::RulesetApplier {
 public:
  // Both must outlive it; `watch` may be null (applies as `inner` does).
  UnheardApplier(kernel::RulesetApplier& inner, TableWatch* watch) : inner_(inner), watch_(watch) {}
  Status<std::string> apply(std::string_view script) override;
  Status<std::string> check(std::string_view script) override { return inner_.check(script); }
  Result<std::string> list_table() override { return inner_.list_table(); }
  Result<std::optional<std::vector<kernel::NamedCounter>>> named_counters() override { return inner_.named_counters(); }

 private:
  kernel::RulesetApplier& inner_;
  TableWatch* watch_;
};

// The daemon's set updates, a commit of many elements (a block list, a restore) run through
// TableWatch::unheard: the kernel builds no notification per element for the daemon's own
// watch. Small commits (the blocks of one tick) stay heard: leaving and joining the group
// costs two system calls and two generation requests.
class UnheardSetUpdater final : public SetUpdater {
 public:
  static constexpr std::size_t kUnheardFrom = 256;  // elements in one commit
  // Both must outlive it; `watch` may be null (commits as `inner` does).
  UnheardSetUpdater(SetUpdater& inner, TableWatch* watch) : inner_(inner), watch_(watch) {}
  void add(const SetElement& element) override { inner_.add(element); }
  void remove(const SetKey& key) override { inner_.remove(key); }
  Status<std::string> commit() override;
  std::size_t pending() const override { return inner_.pending(); }

 private:
  SetUpdater& inner_;
  TableWatch* watch_;
};

}  // namespace pbxwall::packets
