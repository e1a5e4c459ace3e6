// NftApplier: libnftables in-process. One nft_ctx per applier; output and errors are buffered
// by libnftables so they can be returned as values instead of going to stdout/stderr.
#include <nftables/libnftables.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "kernel/kernel.h"

namespace pbxwall::kernel {

struct NftApplier::Ctx {
  nft_ctx* nft = nullptr;
};

NftApplier::NftApplier() : ctx_(std::make_unique<Ctx>()) {
  ctx_->nft = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx_->nft == nullptr) std::abort();  // only fails on out-of-memory
  nft_ctx_buffer_output(ctx_->nft);
  nft_ctx_buffer_error(ctx_->nft);
}

NftApplier::~NftApplier() { nft_ctx_free(ctx_->nft); }

Result<std::string> NftApplier::run(std::string_view command, bool dry_run) {
  nft_ctx_set_dry_run(ctx_->nft, dry_run);
  // nft_run_cmd_from_buffer needs a NUL-terminated buffer.
  const std::string buffer(command);
  const int rc = nft_run_cmd_from_buffer(ctx_->nft, buffer.c_str());
  nft_ctx_set_dry_run(ctx_->nft, false);
  // Reading a buffer also resets it for the next command.
  std::string output = nft_ctx_get_output_buffer(ctx_->nft);
  std::string error = nft_ctx_get_error_buffer(ctx_->nft);
  if (rc != 0) {
    if (error.empty()) error = "nft: command failed (status " + std::to_string(rc) + ")";
    while (!error.empty() && error.back() == '\n') error.pop_back();
    return fail(std::move(error));
  }
  return output;
}

// libnftables 1.0.6 prints errors in a buffer without their line number and under the
// buffer's first line. Read from a file, the same script gives "file:line:col: Error: ..."
// with the right line, so a failed script is checked again from an in-memory file to tell
// the user where the error is. Errors only the kernel reports (not found in a dry run) are
// returned as nft gave them.
std::string NftApplier::locate_error(std::string_view script, std::string error) {
  const int fd = memfd_create("pbxwall-ruleset", MFD_CLOEXEC);
  if (fd < 0) return error;
  std::size_t written = 0;
  while (written < script.size()) {
    const ssize_t n = ::write(fd, script.data() + written, script.size() - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  if (written == script.size()) {
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    nft_ctx_set_dry_run(ctx_->nft, true);
    const int rc = nft_run_cmd_from_filename(ctx_->nft, path.c_str());
    nft_ctx_set_dry_run(ctx_->nft, false);
    std::string located = nft_ctx_get_error_buffer(ctx_->nft);
    (void)nft_ctx_get_output_buffer(ctx_->nft);
    if (rc != 0 && !located.empty()) {
      for (std::size_t at = located.find(path); at != std::string::npos; at = located.find(path, at))
        located.replace(at, path.size(), "ruleset");
      while (!located.empty() && located.back() == '\n') located.pop_back();
      error = std::move(located);
    }
  }
  ::close(fd);
  return error;
}

Status<std::string> NftApplier::apply(std::string_view script) {
  // The replace deletes the table with its counters: declare them again with what they hold.
  if (script_defines_table(script)) {
    auto counters = named_counters();
    if (counters && *counters && !(*counters)->empty()) {
      const std::string carried = with_counter_values(script, **counters);
      auto r = run(carried, false);
      if (!r) return fail(locate_error(carried, r.error()));
      return {};
    }
  }
  auto r = run(script, false);
  if (!r) return fail(locate_error(script, r.error()));
  return {};
}

Status<std::string> NftApplier::check(std::string_view script) {
  auto r = run(script, true);
  if (!r) return fail(locate_error(script, r.error()));
  return {};
}

namespace {

// Listing a missing table is an error for nft; ask for the table list first so "absent" is
// an answer rather than a parse of nft's error text.
Result<bool> table_listed(NftApplier& nft) {
  auto tables = nft.run("list tables inet");
  if (!tables) return fail(tables.error());
  const std::string wanted = "table inet " + std::string(kTableName) + "\n";
  return ("\n" + *tables).find("\n" + wanted) != std::string::npos;
}

}  // namespace

Result<std::string> NftApplier::list_table() {
  auto present = table_listed(*this);
  if (!present) return fail(present.error());
  if (!*present) return std::string();
  return run("list table inet " + std::string(kTableName));
}

}  // namespace pbxwall::kernel
