#!/usr/bin/env bash
# pbxwalld's inline packet path in a namespace: packets reach the daemon's queue handling
# through the xtables NFQUEUE target (packet_path = "external-queue"), and a scanner's first
# OPTIONS and INVITE are dropped before a listener on the PBX's port sees them while a phone's
# REGISTER passes. Also: packet_path = "queue" on a kernel without the nftables statement
# refuses to start, naming the key. Usage: daemon_queue.sh PATH_TO_pbxwalld
TEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$TEST_DIR/../lib.sh"
netns_init "$1"
PBXWALLD=$PBXWALL
command -v iptables-nft >/dev/null || { echo "SKIP: iptables-nft not installed"; exit 77; }
PEER="$PY $TEST_DIR/sip_peer.py"

fw=$(make_ns fw)
peer=$(make_ns peer)
link_ns "$fw" v0 "$peer" 192.0.2.2/24 192.0.2.1 2001:db8:1::2/64 2001:db8:1::1
timeout $T ip -n "$peer" addr add 192.0.2.3/24 dev eth0
if ! out=$(in_ns "$fw" iptables-nft -A INPUT -p udp --dport 5060 -j NFQUEUE --queue-num 4 --queue-bypass 2>&1); then
  echo "SKIP: xtables NFQUEUE not available: $out"
  exit 77
fi

config="$NETNS_TMP/pbxwall.toml"
cat >"$config" <<'TOML'
[firewall]
safe_mode = false

[responsive]
packet_path = "external-queue"
queue_num = 4

[web]
enabled = false
TOML

received="$NETNS_TMP/received"
: >"$received"
# The listener stands for the PBX: whatever it records got past the firewall.
timeout 90 ip netns exec "$fw" $PEER listen 192.0.2.1 "$received" 80 &
daemon_log="$NETNS_TMP/pbxwalld.log"
timeout 90 ip netns exec "$fw" "$PBXWALLD" --config "$config" --state "$NETNS_TMP/state.db" \
  --run-dir "$NETNS_TMP/run" >"$daemon_log" 2>&1 &
daemon_pid=$!

# wait_for FILE PATTERN SECONDS: returns as soon as a line of FILE matches (bounded; the tail
# left behind ends with its timeout).
wait_for() {
  grep -m1 -q -- "$2" < <(timeout "$3" tail -n +1 -f "$1" 2>/dev/null)
}
if ! wait_for "$daemon_log" "responsive packet path: queue 4 fed by a rule outside" 20; then
  cat "$daemon_log"
  echo "FAIL pbxwalld did not start on queue 4"
  exit 1
fi
echo "ok   pbxwalld reads queue 4"
in_set() { local set; set=$(in_ns "$fw" nft list set inet pbxwall "$1") && grep -qw -- "$2" <<<"$set"; }
check "the responsive chain neither logs nor queues (the xtables rule does)" \
  bash -c "ip netns exec $fw nft list chain inet pbxwall responsive | grep -q 'counter name \"responsive\" accept' &&
           ! ip netns exec $fw nft list chain inet pbxwall responsive | grep -q 'log group 1'"

in_ns "$peer" $PEER send 192.0.2.3 192.0.2.1 REGISTER "Yealink SIP-T46S 66.86.0.15" phone-1
check "the phone's REGISTER reaches the PBX" wait_for "$received" "192.0.2.3 REGISTER phone-1" 10

# The scanner's OPTIONS carries the fingerprint: the daemon blocks the source on this very
# packet and its verdict drops it. The phone's next REGISTER, queued after it, marks the point
# by which the OPTIONS would have arrived had it been accepted.
in_ns "$peer" $PEER send 192.0.2.2 192.0.2.1 OPTIONS friendly-scanner scan-1
in_ns "$peer" $PEER send 192.0.2.3 192.0.2.1 REGISTER "Yealink SIP-T46S 66.86.0.15" phone-2
check "the phone's second REGISTER reaches the PBX" wait_for "$received" "192.0.2.3 REGISTER phone-2" 10
check "the scanner's first OPTIONS never reached the PBX" bash -c "! grep -q 'scan-1' '$received'"
check "the scanner is in blocked4" in_set blocked4 192.0.2.2
check "the daemon logged the block" grep -qE "block 192.0.2.2 .*\(fingerprint\)" "$daemon_log"

# Later packets of the scanner: dropped by the kernel set before reaching the queue.
in_ns "$peer" $PEER send 192.0.2.2 192.0.2.1 INVITE friendly-scanner scan-2
in_ns "$peer" $PEER send 192.0.2.3 192.0.2.1 REGISTER "Yealink SIP-T46S 66.86.0.15" phone-3
check "the phone's third REGISTER reaches the PBX" wait_for "$received" "192.0.2.3 REGISTER phone-3" 10
check "the scanner's INVITE never reached the PBX" bash -c "! grep -q 'scan-2' '$received'"

# A fingerprinted scanner from a second address whose block has not reached the kernel yet
# is still dropped: the verdict comes from the engine, not from the set.
timeout $T ip -n "$peer" addr add 192.0.2.4/24 dev eth0
in_ns "$peer" $PEER send 192.0.2.4 192.0.2.1 INVITE "sipcli/v1.8" scan-3
in_ns "$peer" $PEER send 192.0.2.3 192.0.2.1 REGISTER "Yealink SIP-T46S 66.86.0.15" phone-4
check "the phone's fourth REGISTER reaches the PBX" wait_for "$received" "192.0.2.3 REGISTER phone-4" 10
check "the second scanner's first INVITE never reached the PBX" bash -c "! grep -q 'scan-3' '$received'"
# /proc/net/netfilter/nfnetlink_queue: queue, portid, waiting, mode, range, queue_dropped,
# user_dropped, id_sequence. At least the six packets above were queued, none lost.
queue_line=$(in_ns "$fw" cat /proc/net/netfilter/nfnetlink_queue | awk '$1 == 4')
check "the kernel queued the packets to the daemon and lost none ($queue_line)" \
  awk '{ ok = ($6 == 0 && $7 == 0 && $8 >= 6) } END { exit ok ? 0 : 1 }' <<<"$queue_line"

kill "$daemon_pid" 2>/dev/null || true
wait_pid_exit "$daemon_pid" 10
if ((NETNS_FAILURES > 0)); then
  echo "--- pbxwalld's log"
  cat "$daemon_log"
fi

# Without a daemon, `--queue-bypass` lets packets through: stopping pbxwalld never stops calls.
in_ns "$peer" $PEER send 192.0.2.3 192.0.2.1 REGISTER "Yealink SIP-T46S 66.86.0.15" phone-5
check "with pbxwalld stopped the phone still reaches the PBX" wait_for "$received" "192.0.2.3 REGISTER phone-5" 10

# packet_path = "queue" needs the nftables statement: where the kernel lacks it, no start.
queue_config="$NETNS_TMP/queue.toml"
sed 's/packet_path = "external-queue"/packet_path = "queue"/' "$config" >"$queue_config"
other=$(make_ns other)
if in_ns "$other" nft 'add table inet probe; add chain inet probe c; add rule inet probe c meta l4proto udp queue num 0 bypass' >/dev/null 2>&1; then
  echo "ok   (this kernel has the nftables queue statement: the refusal is not checked)"
else
  out=$(timeout 30 ip netns exec "$other" "$PBXWALLD" --config "$queue_config" --state "$NETNS_TMP/state2.db" \
    --run-dir "$NETNS_TMP/run2" 2>&1) && rc=0 || rc=$?
  check "packet_path = \"queue\" without kernel support: exit 1 ($rc)" test "$rc" -eq 1
  check "... naming the key and its place" grep -q "queue.toml:5:15: error: responsive.packet_path: \"queue\" needs the nftables queue statement" <<<"$out"
  check "... and no table left behind" bash -c "! ip netns exec $other nft list table inet pbxwall >/dev/null 2>&1"
fi
finish
