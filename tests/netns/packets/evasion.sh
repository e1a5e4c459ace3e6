#!/usr/bin/env bash
# pbxwalld reads a datagram as the PBX does: a scanner's friendly-scanner OPTIONS hidden in
# grammar the PBX forgives (a datagram past 4 KiB, headers without the empty line, a
# Content-Length past the body, a CSeq method of another request, a harmless User-Agent first,
# an IPv6 request-URI without brackets) is fingerprinted at its first packet, on the log path,
# and the scanner's next packet no longer reaches the PBX. Usage: evasion.sh PATH_TO_pbxwalld
TEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$TEST_DIR/../lib.sh"
netns_init "$1"
PBXWALLD=$PBXWALL
PEER="$PY $TEST_DIR/sip_peer.py"
EVASIVE="$PY $TEST_DIR/evasive_peer.py"

fw=$(make_ns fw)
peer=$(make_ns peer)
link_ns "$fw" v0 "$peer" 192.0.2.2/24 192.0.2.1 2001:db8:1::2/64 2001:db8:1::1
kinds=(big unterminated long-length cseq-method second-agent ipv6-uri)
for i in "${!kinds[@]}"; do timeout $T ip -n "$peer" addr add "192.0.2.$((11 + i))/24" dev eth0; done

config="$NETNS_TMP/pbxwall.toml"
cat >"$config" <<'TOML'
[firewall]
safe_mode = false

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

# wait_for FILE PATTERN SECONDS: returns as soon as a line of FILE matches (bounded).
wait_for() {
  grep -m1 -q -- "$2" < <(timeout "$3" tail -n +1 -f "$1" 2>/dev/null)
}
in_set() { local set; set=$(in_ns "$fw" nft list set inet pbxwall "$1" 2>/dev/null) && grep -qw -- "$2" <<<"$set"; }
# wait_blocked ADDR SECONDS: polls blocked4 (bounded).
wait_blocked() {
  local deadline=$((SECONDS + $2))
  until in_set blocked4 "$1"; do
    ((SECONDS < deadline)) || return 1
    timeout 0.2 tail -f /dev/null 2>/dev/null || true
  done
}
if ! wait_for "$daemon_log" "responsive packet path" 20; then
  cat "$daemon_log"
  echo "FAIL pbxwalld did not start"
  exit 1
fi
# The daemon is reading: a phone's REGISTER passes and marks the start.
in_ns "$peer" $PEER send 192.0.2.2 192.0.2.1 REGISTER "Yealink SIP-T46S 66.86.0.15" phone-1
check "the phone's REGISTER reaches the PBX" wait_for "$received" "192.0.2.2 REGISTER phone-1" 10

for i in "${!kinds[@]}"; do
  kind=${kinds[$i]}
  src="192.0.2.$((11 + i))"
  in_ns "$peer" $EVASIVE send "$kind" "$src" 192.0.2.1 "$kind-1"
  check "$kind: the scanner at $src is blocked at its first OPTIONS" wait_blocked "$src" 10
  check "$kind: the daemon named the fingerprint" wait_for "$daemon_log" "block $src .*(fingerprint)" 5
  in_ns "$peer" $EVASIVE send "$kind" "$src" 192.0.2.1 "$kind-2"
  in_ns "$peer" $PEER send 192.0.2.2 192.0.2.1 REGISTER "Yealink SIP-T46S 66.86.0.15" "after-$kind"
  check "$kind: the phone's next REGISTER reaches the PBX" wait_for "$received" "192.0.2.2 REGISTER after-$kind" 10
  check "$kind: the scanner's second OPTIONS never reached the PBX" bash -c "! grep -q '$kind-2' '$received'"
done
check "the phone was never blocked" bash -c "! ip netns exec $fw nft list set inet pbxwall blocked4 | grep -qw 192.0.2.2"

kill "$daemon_pid" 2>/dev/null || true
wait_pid_exit "$daemon_pid" 10
if ((NETNS_FAILURES > 0)); then
  echo "--- pbxwalld's log"
  cat "$daemon_log"
fi
finish
