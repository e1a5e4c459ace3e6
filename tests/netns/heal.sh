#!/usr/bin/env bash
# pbxwalld puts back what other programs remove from its table, with the real nft and the real
# daemon in a namespace:
#   (a) `nft flush ruleset` (what restarting the nftables service does): the table is back,
#       the scanner the daemon blocked is in blocked4 again, an event and a warning say why;
#   (b) `nft delete table inet pbxwall`: the same;
#   (c) `nft flush set inet pbxwall blocked4`: the element is back;
#   (d) a process holding an owned table of the same name makes the kernel refuse the daemon's
#       changes: `pbxwall block` answers failure, not "blocked until"; once that process is
#       gone (its table goes without a notification) the next retry restores the table with
#       both blocks.
# Every wait polls a condition with a deadline.
# Usage: heal.sh PATH_TO_pbxwall PATH_TO_pbxwalld
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"
netns_init "${1:?usage: $0 PATH_TO_pbxwall PATH_TO_pbxwalld}"
PBXWALLD=$(realpath "${2:?usage: $0 PATH_TO_pbxwall PATH_TO_pbxwalld}")
[[ -x "$PBXWALLD" ]] || { echo "FAIL: $PBXWALLD is not executable"; exit 1; }
PEER="$PY $HERE/packets/sip_peer.py"

fw=$(make_ns fw)
peer=$(make_ns peer)
link_ns "$fw" v0 "$peer" 192.0.2.66/24 192.0.2.1 2001:db8:1::66/64 2001:db8:1::1
run="$NETNS_TMP/run-$fw"
config="$NETNS_TMP/pbxwall.toml"
log="$NETNS_TMP/pbxwalld.log"
cat >"$config" <<'TOML'
[firewall]
safe_mode = false

[web]
enabled = false
TOML

# The periodic reconciliation is set far off: what is checked here is healed by notifications
# and by the retry of refused changes.
timeout 170 ip netns exec "$fw" "$PBXWALLD" --config "$config" --state "$NETNS_TMP/state.db" \
  --run-dir "$run" --reconcile 3600 >"$log" 2>&1 &
daemon_pid=$!

# wait_for SECONDS COMMAND...: polls until the command succeeds or the time is up (the daemon
# exiting ends the wait early); between polls it waits on the daemon's exit for 0.1 s.
wait_for() {
  local limit=$1
  shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    if ((SECONDS >= deadline)) || ! kill -0 "$daemon_pid" 2>/dev/null; then return 1; fi
    timeout 0.1 tail --pid="$daemon_pid" -f /dev/null 2>/dev/null || true
  done
}
ctl() { pbx "$fw" --config "$config" "$@"; }
running() { ctl status 2>/dev/null | grep -q "pbxwalld: running"; }
# Listings are read whole: `grep -q` leaving early would make nft fail with SIGPIPE (pipefail).
in_set() { local set; set=$(in_ns "$fw" nft list set inet pbxwall "$1" 2>/dev/null) && grep -qw -- "$2" <<<"$set"; }
events_say() { local e; e=$(ctl events 2>/dev/null) && grep -Eq -- "$1" <<<"$e"; }
logged() { grep -Eq -- "$1" "$log"; }

if ! wait_for 20 running; then
  cat "$log"
  echo "FAIL pbxwalld did not start"
  exit 1
fi
echo "ok   pbxwalld answers on $run/control.sock"

in_ns "$peer" $PEER send 192.0.2.66 192.0.2.1 OPTIONS friendly-scanner scan-1
check "the scanner is blocked (in blocked4)" wait_for 10 in_set blocked4 192.0.2.66

# (a) Another program's table is flushed along with ours.
in_ns "$fw" nft add table ip admin
in_ns "$fw" nft flush ruleset
check "(a) after nft flush ruleset the table is back" wait_for 10 in_set blocked4 192.0.2.66
check "(a) an event says the ruleset was flushed, by nft" \
  wait_for 10 events_say "restore +.*ruleset-flushed +ruleset flushed \(table inet pbxwall and 1 other table deleted\) by nft \(pid [0-9]+\); table inet pbxwall restored with 1 block"
check "(a) a warning in the log says so" wait_for 5 logged "^<4>restore \(ruleset-flushed\): ruleset flushed"
check "(a) the other table stays gone" bash -c "! ip netns exec $fw nft list table ip admin >/dev/null 2>&1"

# (b) Our table alone.
in_ns "$fw" nft delete table inet pbxwall
check "(b) after nft delete table the scanner is in blocked4 again" wait_for 10 in_set blocked4 192.0.2.66
check "(b) an event says the table was deleted, by nft" \
  wait_for 10 events_say "restore +.*table-deleted +table inet pbxwall deleted by nft \(pid [0-9]+\)"
check "(b) status reports the table and the restores" \
  bash -c "out=\$(timeout $T ip netns exec $fw $PBXWALL --run-dir $run status); grep -q 'healed: table restored 2 times' <<<\"\$out\" && ! grep -q 'table removed' <<<\"\$out\""

# (c) One set flushed.
in_ns "$fw" nft flush set inet pbxwall blocked4
check "(c) after nft flush set blocked4 the scanner is back in it" wait_for 10 in_set blocked4 192.0.2.66
check "(c) an event says the set was flushed" \
  wait_for 10 events_say "restore +.*set-flushed +set blocked4 flushed by nft \(pid [0-9]+\); 1 element re-added"
restores_before=$(grep -c "^<4>restore " "$log" || true)

# (d) The kernel refuses: `nft -i` keeps its socket open and owns a table of our name.
fifo="$NETNS_TMP/owner.fifo"
mkfifo "$fifo"
timeout 60 ip netns exec "$fw" nft -i <"$fifo" >"$NETNS_TMP/owner.out" 2>&1 &
owner=$!
exec 7>"$fifo"
echo "delete table inet pbxwall; add table inet pbxwall { flags owner; }" >&7
check "(d) the refused restore is logged" wait_for 10 logged "cannot restore table inet pbxwall after .*Operation not permitted"
out=$(ctl block 192.0.2.77 --for 10m 2>&1) && rc=0 || rc=$?
check "(d) block while the kernel refuses exits 1 ($rc)" test "$rc" -eq 1
check "(d) ... saying the kernel did not take it" grep -q "the kernel did not take the block of 192.0.2.77" <<<"$out"
check "(d) ... and not that it is blocked" bash -c "! grep -q 'blocked until' <<<\"\$0\"" "$out"
check "(d) status reports the refused set changes" \
  wait_for 5 bash -c "timeout $T ip netns exec $fw $PBXWALL --run-dir $run status | grep -q 'set changes refused by the kernel'"
exec 7>&-
check "(d) the owning process ends" wait_pid_exit "$owner" 10
check "(d) the table comes back with the refused block" wait_for 10 in_set blocked4 192.0.2.77
check "(d) ... and the scanner" in_set blocked4 192.0.2.66
check "(d) the owned table was the kernel's reason" grep -q "restored after earlier attempts failed" "$log"

# The daemon's own changes are not mistaken for others': no restore follows a reload.
ctl reload >/dev/null
ctl block 192.0.2.78 --for 5m >/dev/null
check "a reload and a block of its own are applied" wait_for 5 in_set blocked4 192.0.2.78
restores_now=$(grep -c "^<4>restore " "$log" || true)
check "... and healed nothing more ($restores_before restores before (d), $restores_now after it)" test "$restores_now" -eq $((restores_before + 1))

kill "$daemon_pid" 2>/dev/null || true
wait_pid_exit "$daemon_pid" 10 || true
if ((NETNS_FAILURES > 0)); then
  echo "--- pbxwalld's log"
  cat "$log"
fi
finish
