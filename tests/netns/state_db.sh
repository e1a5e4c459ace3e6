#!/usr/bin/env bash
# The state database cannot be lost quietly, with a real pbxwalld in a namespace: a database
# damaged after its header, then an empty one, is moved aside at restart and the four blocks
# in the kernel's blocked4 survive into the new one; on a full file system (a small tmpfs) a
# block stays in the kernel, the status, the web UI's metrics and the block answer say it is
# not saved, and once space is freed the retry saves it.
# Usage: state_db.sh PATH_TO_pbxwall PATH_TO_pbxwalld
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"
netns_init "$1"
PBXWALLD=$(realpath "${2:?usage: $0 PATH_TO_pbxwall PATH_TO_pbxwalld}")
[[ -x "$PBXWALLD" ]] || { echo "FAIL: $PBXWALLD is not executable"; exit 1; }
command -v mount >/dev/null || { echo "SKIP: mount not installed"; exit 77; }

ns=$(make_ns fw)
run="$NETNS_TMP/run-$ns"
config="$NETNS_TMP/pbxwall.toml"
cat >"$config" <<'TOML'
[firewall]
safe_mode = false

[networks]
"198.51.100.0/24" = "trusted"

[web]
listen = "127.0.0.1"
port = 8485
TOML

ctl() { pbx "$ns" --config "$config" "$@"; }
daemon_pid=0
log_file=""
# start_daemon STATE_PATH LOG: pbxwalld in the namespace, ready once it answers (bounded).
start_daemon() {
  log_file=$2
  timeout 120 ip netns exec "$ns" "$PBXWALLD" --config "$config" --state "$1" --run-dir "$run" \
    --housekeeping 1 --web-root "$HERE/../../web" >"$log_file" 2>&1 &
  daemon_pid=$!
  local deadline=$((SECONDS + 20))
  until [[ -S "$run/control.sock" ]] && ctl status 2>/dev/null | grep -q "pbxwalld: running"; do
    if ! kill -0 "$daemon_pid" 2>/dev/null || ((SECONDS >= deadline)); then
      cat "$log_file"
      echo "FAIL pbxwalld did not start"
      exit 1
    fi
    timeout 0.5 tail --pid="$daemon_pid" -f /dev/null 2>/dev/null || true
  done
}
stop_daemon() {
  kill "$daemon_pid"
  wait_pid_exit "$daemon_pid" 20
  rm -f "$run/control.sock"
}
blocked4() { in_ns "$ns" nft list set inet pbxwall blocked4; }
# kernel_has ADDR...: every address is an element of blocked4.
kernel_has() {
  local set a
  set=$(blocked4)
  for a in "$@"; do grep -qw -- "$a" <<<"$set" || return 1; done
}
status_json() { ctl status --json | json_field daemon; }
# json_field A.B: the field of the JSON object on stdin, as JSON.
json_field() { "$PY" -c 'import json,sys; v=json.load(sys.stdin); [v:=v[k] for k in sys.argv[1].split(".")]; print(json.dumps(v))' "$1"; }
stored_blocks() { "$PY" -c 'import sqlite3,sys; print(" ".join(r[0] for r in sqlite3.connect(sys.argv[1]).execute("SELECT address FROM blocked ORDER BY address")))' "$1"; }

four=(192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4)
state="$NETNS_TMP/state/state.db"

start_daemon "$state" "$NETNS_TMP/first.log"
check "the state directory is created 0700" test "$(stat -c %a "$NETNS_TMP/state")" = 700
check "state.db is created 0600" test "$(stat -c %a "$state")" = 600
for a in "${four[@]}"; do ctl block "$a" --for 2h --reason "test block $a" >/dev/null; done
check "the four blocks are in blocked4" kernel_has "${four[@]}"
stop_daemon
check "the table stays while pbxwalld is stopped" kernel_has "${four[@]}"

# 1. Every page after the header overwritten.
size=$(stat -c %s "$state")
check "the database spans several pages ($size bytes)" test "$size" -gt 8192
"$PY" - "$state" <<'PY'
import sys
path = sys.argv[1]
with open(path, "r+b") as f:
    f.seek(0, 2)
    size = f.tell()
    f.seek(4096)
    f.write(bytes((0xa5 ^ (i * 7)) & 0xff for i in range(size - 4096)))
PY
start_daemon "$state" "$NETNS_TMP/corrupt.log"
check "after the damaged database the four blocks are still in blocked4" kernel_has "${four[@]}"
broken=$(ls "$state".broken-* 2>/dev/null | head -1)
check "the damaged file is kept aside ($broken)" test -n "$broken" -a "$(stat -c %s "${broken:-/nonexistent}" 2>/dev/null)" = "$size"
check "the log names the damage and where the file went" \
  grep -q "the state database $state was damaged (integrity check: .*); moved it to $broken and started a new one" "$NETNS_TMP/corrupt.log"
status=$(ctl status)
check "status says it was damaged and moved" grep -q "state database: was damaged at start (.*), moved to $broken" <<<"$status"
check "status counts the blocks read back" grep -q "4 blocks and 0 validations read back from the kernel sets" <<<"$status"
check "the new database holds the four blocks" test "$(stored_blocks "$state")" = "${four[*]}"
check "list blocked shows them" test "$(ctl list blocked --json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 4
check "the event history has a state event" grep -Eq "^.* state .*moved to $broken" < <(ctl events)
stop_daemon

# 2. A 0-byte database.
: >"$state"
rm -f "$state-wal" "$state-shm"
start_daemon "$state" "$NETNS_TMP/empty.log"
check "after the empty database the four blocks are still in blocked4" kernel_has "${four[@]}"
check "the log says the file was empty" grep -q "was damaged (empty file (0 bytes)); moved it to $state.broken-" "$NETNS_TMP/empty.log"
check "two damaged files are kept aside" test "$(ls "$state".broken-* | grep -vc -- '-wal$\|-shm$')" = 2
check "the new database holds the four blocks" test "$(stored_blocks "$state")" = "${four[*]}"
stop_daemon

# 3. A full file system.
small="$NETNS_TMP/small"
mkdir -p "$small"
timeout $T mount -t tmpfs -o size=1m,mode=0700 pbxwall-test "$small"
trap 'rc=$?; umount "$small" 2>/dev/null || true; (exit "$rc"); netns_cleanup' EXIT
start_daemon "$small/state.db" "$NETNS_TMP/full.log"
ctl block 192.0.2.40 --for 1h >/dev/null
check "a block is saved while there is space" grep -qw 192.0.2.40 <<<"$(stored_blocks "$small/state.db")"
dd if=/dev/zero of="$small/fill" bs=4k status=none 2>/dev/null || true  # stops at ENOSPC
check "the tmpfs is full" test "$(df --output=avail "$small" | tail -1 | tr -d ' ')" -eq 0
# SQLite reuses space it has: blocks until one is not saved (bounded: 200).
unsaved=""
for i in $(seq 1 200); do
  addr="192.0.2.$((100 + i % 150))"
  [[ $i -gt 150 ]] && addr="203.0.113.$i"
  err=$(ctl block "$addr" --for 1h 2>&1 >/dev/null) || true
  if grep -q "not saved in the state database" <<<"$err"; then
    unsaved=$addr
    break
  fi
done
check "pbxwall block warns that the block is not saved ($unsaved)" test -n "$unsaved"
check "the unsaved block is in blocked4" kernel_has "${unsaved:-none}"
status=$(ctl status)
check "status raises the alarm" grep -q "state database: NOT SAVING: [1-9][0-9]* changes wait in memory" <<<"$status"
check "status --json counts the unsaved changes" test "$(status_json | json_field state.unsaved)" -gt 0
metrics=$(in_ns "$ns" curl -s --max-time 5 http://127.0.0.1:8485/metrics)
check "metric pbxwall_store_alarm is 1" grep -qx "pbxwall_store_alarm 1" <<<"$metrics"
check "metric pbxwall_store_unsaved is above 0" grep -Eqx "pbxwall_store_unsaved [1-9][0-9]*" <<<"$metrics"
# The journal line comes with the next housekeeping (every second here): bounded poll.
deadline=$((SECONDS + 10))
until grep -q "state database $small/state.db: writes fail (.*full" "$NETNS_TMP/full.log" || ((SECONDS >= deadline)); do
  timeout 0.2 tail --pid="$daemon_pid" -f /dev/null 2>/dev/null || true
done
check "the log says writes fail" grep -q "state database $small/state.db: writes fail (.*full" "$NETNS_TMP/full.log"

rm -f "$small/fill"
deadline=$((SECONDS + 15))
until [[ "$(status_json | json_field state.ok)" == "true" ]] || ((SECONDS >= deadline)); do
  timeout 0.5 tail --pid="$daemon_pid" -f /dev/null 2>/dev/null || true
done
check "after space is freed the alarm clears" test "$(status_json | json_field state.unsaved)" = 0
check "the retry stored the block" grep -qw -- "${unsaved:-none}" <<<"$(stored_blocks "$small/state.db")"
metrics=$(in_ns "$ns" curl -s --max-time 5 http://127.0.0.1:8485/metrics)
check "metric pbxwall_store_alarm is 0 again" grep -qx "pbxwall_store_alarm 0" <<<"$metrics"
check "the log says writing works again" grep -q "writing again" "$NETNS_TMP/full.log"
stop_daemon
umount "$small"

finish
