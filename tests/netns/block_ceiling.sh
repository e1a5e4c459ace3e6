#!/usr/bin/env bash
# Past nft's default set size, with a real pbxwalld in a namespace: blocked6 holds 70,000
# elements loaded in batches (2001:db8::/32 has room for them) and a new block still lands; restarted with [responsive]
# max_blocked at what the sets hold, pbxwalld puts them all back and refuses the next block,
# and the CLI, the status and the event history say so.
# Usage: block_ceiling.sh PATH_TO_pbxwall PATH_TO_pbxwalld
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"
netns_init "$1"
PBXWALLD=$(realpath "${2:?usage: $0 PATH_TO_pbxwall PATH_TO_pbxwalld}")
[[ -x "$PBXWALLD" ]] || { echo "FAIL: $PBXWALLD is not executable"; exit 1; }

ns=$(make_ns fw)
run="$NETNS_TMP/run-$ns"
config="$NETNS_TMP/pbxwall.toml"
state="$NETNS_TMP/state.db"
write_config() {
  cat >"$config" <<TOML
[firewall]
safe_mode = false

[responsive]
max_blocked = $1

[web]
enabled = false
TOML
}

ctl() { pbx "$ns" --config "$config" "$@"; }
daemon_pid=0
start_daemon() {
  timeout 150 ip netns exec "$ns" "$PBXWALLD" --config "$config" --state "$state" --run-dir "$run" \
    >>"$NETNS_TMP/pbxwalld.log" 2>&1 &
  daemon_pid=$!
  local deadline=$((SECONDS + 60))
  until [[ -S "$run/control.sock" ]] && ctl status 2>/dev/null | grep -q "pbxwalld: running"; do
    if ! kill -0 "$daemon_pid" 2>/dev/null || ((SECONDS >= deadline)); then
      cat "$NETNS_TMP/pbxwalld.log"
      echo "FAIL pbxwalld did not start"
      exit 1
    fi
    timeout 0.5 tail --pid="$daemon_pid" -f /dev/null 2>/dev/null || true
  done
}
stop_daemon() {
  kill "$daemon_pid"
  wait_pid_exit "$daemon_pid" 30
  rm -f "$run/control.sock"
}
count_blocked6() { in_ns "$ns" nft list set inet pbxwall blocked6 | grep -o '2001:db8:7:[0-9a-f:]*' | wc -l; }
in_blocked6() { local set; set=$(in_ns "$ns" nft list set inet pbxwall blocked6) && grep -qw -- "$1" <<<"$set"; }
in_blocked4() { local set; set=$(in_ns "$ns" nft list set inet pbxwall blocked4) && grep -qw -- "$1" <<<"$set"; }

write_config 1000000
start_daemon
check "blocked4 and blocked6 are declared with the ceiling as their size" \
  bash -c "ip netns exec $ns nft list set inet pbxwall blocked4 | grep -q 'size 1000000' && ip netns exec $ns nft list set inet pbxwall blocked6 | grep -q 'size 1000000'"

# 70,000 addresses of 2001:db8:7::/48 in 7 transactions of 10,000 (bounded: 7 nft calls).
"$PY" - "$NETNS_TMP/load" <<'PY'
import sys
for batch in range(7):
    with open(f"{sys.argv[1]}-{batch}.nft", "w") as f:
        addrs = ", ".join(f"2001:db8:7::{i >> 16:x}:{i & 0xffff:x}" for i in range(batch * 10000 + 1, (batch + 1) * 10000 + 1))
        f.write(f"add element inet pbxwall blocked6 {{ {addrs} }}\n")
PY
for batch in 0 1 2 3 4 5 6; do
  in_ns "$ns" nft -f "$NETNS_TMP/load-$batch.nft" || { echo "FAIL nft refused batch $batch"; exit 1; }
done
check "blocked6 holds 70,000 elements (past nft's default 65,535)" test "$(count_blocked6)" -eq 70000

out=$(ctl block 2001:db8:8::10 --for 1h --reason "past 65535" 2>&1) && rc=0 || rc=$?
check "a block past 65,535 is answered ok ($out)" bash -c "[[ $rc -eq 0 ]] && grep -q '2001:db8:8::10 blocked until' <<<\"\$0\"" "$out"
check "and it is in the kernel set" in_blocked6 2001:db8:8::10
check "the daemon saw no kernel failure" grep -q '"kernel_failures": *0' < <(ctl status --json)

# A block list: comments, blank lines, an IPv4 and an IPv6 network, in one request.
list="$NETNS_TMP/list.txt"
{
  echo "# community list"
  for i in $(seq 1 200); do echo "203.0.113.$((i % 250 + 1))   # seen $i"; done | sort -u
  echo
  echo "198.51.100.128/25"
  echo "2001:db8:66::/48"
} >"$list"
out=$(ctl block --file "$list" --for 2h --reason "community list" 2>&1) && rc=0 || rc=$?
check "block --file blocks the list ($out)" bash -c "[[ $rc -eq 0 ]] && grep -q '^202 addresses or networks of .* blocked' <<<\"\$0\"" "$out"
check "its addresses are in blocked4" in_blocked4 203.0.113.200
check "its IPv4 network is in blocked_nets4" grep -q "198.51.100.128/25" < <(in_ns "$ns" nft list set inet pbxwall blocked_nets4)
check "its IPv6 network is in blocked_nets6" grep -q "2001:db8:66::/48" < <(in_ns "$ns" nft list set inet pbxwall blocked_nets6)
check "list blocked --origin manual --addr 203.0.113.0/24 --limit 5 gives 5" \
  test "$(ctl list blocked --origin manual --addr 203.0.113.0/24 --limit 5 --json 2>/dev/null | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')" -eq 5
printf '192.0.2.50\nnot-an-address\n127.0.0.1\n' >"$NETNS_TMP/bad.txt"
out=$(ctl block --file "$NETNS_TMP/bad.txt" 2>&1) && rc=0 || rc=$?
check "a bad list exits 2" test "$rc" -eq 2
check "naming file:line of each bad line" bash -c "grep -q 'bad.txt:2: \"not-an-address\" is not an address or network' <<<\"\$0\" && grep -q 'bad.txt:3: 127.0.0.1 cannot be blocked' <<<\"\$0\"" "$out"
check "and blocks nothing of it" bash -c "! { ip netns exec $ns nft list set inet pbxwall blocked4 | grep -qw 192.0.2.50; }"

# The ceiling at what the sets hold: a restart reads the 70,000 blocks pbxwalld did not make
# back from the kernel into the database and the table, and the next block is refused.
held=$(ctl status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["daemon"]["blocks_held"])')
stop_daemon
# The database has the blocks made through pbxwalld; the restart reads the rest back.
ceiling=$((held + 70000))
write_config "$ceiling"
start_daemon
check "the restart put every block back" test "$(count_blocked6)" -eq 70000
check "2001:db8:8::10 too" in_blocked6 2001:db8:8::10
out=$(ctl block 192.0.2.11 2>&1) && rc=0 || rc=$?
check "a block at the ceiling exits 1 ($rc)" test "$rc" -eq 1
check "and says it is refused at max_blocked ($out)" grep -q "192.0.2.11 is not blocked: the sets hold $ceiling blocks, the ceiling (\[responsive\] max_blocked" <<<"$out"
check "192.0.2.11 is not in the kernel set" bash -c "! { ip netns exec $ns nft list set inet pbxwall blocked4 | grep -qw 192.0.2.11; }"
status=$(ctl status)
check "status warns about the refused block" grep -q "WARNING: 1 new block refused at the ceiling of $ceiling blocks" <<<"$status"
check "the event history has the refusal" grep -Eq "refused +192\.0\.2\.11 .*max_blocked" < <(ctl events)
check "the journal has it as a warning" grep -q "^<4>refused 192.0.2.11" "$NETNS_TMP/pbxwalld.log"
out=$(ctl block 2001:db8:8::10 --for 2h 2>&1) && rc=0 || rc=$?
check "renewing a block in force at the ceiling is ok ($out)" test "$rc" -eq 0

stop_daemon
finish
