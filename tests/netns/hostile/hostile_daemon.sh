#!/usr/bin/env bash
# A real pbxwalld in a namespace against what hostile or careless hands send it:
# - handshake-less TCP from forged sources: 600 streams, each declaring a 1 MB SIP body and
#   sending 20 segments of it (47 MB), through a raw socket. The segments reach the responsive
#   chain, but none reaches the daemon's stream reassembly and its memory stays where it was;
# - a second pbxwalld on the same run directory: it says which one runs and changes nothing.
# Usage: hostile_daemon.sh PATH_TO_pbxwalld
TEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$TEST_DIR/../lib.sh"
netns_init "$1"
PBXWALLD=$PBXWALL

fw=$(make_ns fw)
peer=$(make_ns peer)
link_ns "$fw" v0 "$peer" 192.0.2.2/24 192.0.2.1 2001:db8:1::2/64 2001:db8:1::1
# Segments of 3,900 bytes fit the daemon's copy range (4,096) in one frame.
in_ns "$fw" ip link set v0 mtu 4000
in_ns "$peer" ip link set eth0 mtu 4000
# Forged sources arrive on an interface with no route back to them.
in_ns "$fw" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.v0.rp_filter=0

config="$NETNS_TMP/pbxwall.toml"
cat >"$config" <<'TOML'
[firewall]
safe_mode = false

[web]
enabled = false
TOML
run="$NETNS_TMP/run"
start_daemon() {
  timeout 120 ip netns exec "$fw" "$PBXWALLD" --config "$config" --state "$NETNS_TMP/state.db" --run-dir "$run" "$@"
}
start_daemon >"$NETNS_TMP/pbxwalld.log" 2>&1 &

# status FIELD: the daemon's status answer's FIELD, through the control socket.
status() {
  timeout $T "$PY" -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"{\"cmd\": \"status\"}\n")
print(json.loads(s.makefile().readline())[sys.argv[2]])' "$run/control.sock" "$1"
}
deadline=$((SECONDS + 20))
until status packets_in >/dev/null 2>&1; do
  if ((SECONDS >= deadline)); then
    cat "$NETNS_TMP/pbxwalld.log"
    echo "FAIL pbxwalld did not start"
    exit 1
  fi
  timeout 0.2 tail -f /dev/null 2>/dev/null || true
done
daemon=""
for pid in $(ip netns pids "$fw"); do
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == pbxwalld ]] && daemon=$pid
done
[[ -n "$daemon" ]] || { echo "FAIL no pbxwalld process in $fw"; exit 1; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$daemon/status"; }
rss_before=$(rss_kb)
echo "ok   pbxwalld runs (pid $daemon, $((rss_before / 1024)) MB resident)"

out=$(in_ns "$peer" "$PY" "$TEST_DIR/spoofed_tcp.py" 192.0.2.1 5060 600 20 3900 192.0.2 198.51.100 203.0.113)
check "the sender sent 12,000 segments ($out)" test "$out" = "sent 12000"

# A SIP datagram after them: once the daemon has counted it, it has read every packet the
# kernel copied before it.
in_ns "$peer" "$PY" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.2", 5062))
s.sendto(b"OPTIONS sip:100@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.2:5062;branch=z9hG4bKm\r\n"
         b"From: <sip:m@192.0.2.2>;tag=m\r\nTo: <sip:100@192.0.2.1>\r\nCall-ID: marker\r\n"
         b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", ("192.0.2.1", 5060))'
deadline=$((SECONDS + 20))
until (($(status packets_in) >= 1)) || ((SECONDS >= deadline)); do
  timeout 0.2 tail -f /dev/null 2>/dev/null || true
done
check "the daemon saw the datagram sent after the segments" test "$(status packets_in)" -ge 1

responsive=$(in_ns "$fw" nft list counter inet pbxwall responsive | grep -o 'packets [0-9]*' | awk '{print $2}')
check "the segments went through the responsive chain ($responsive packets counted)" test "${responsive:-0}" -ge 12000
# Only the datagram was copied to the daemon on the way in (the PBX's resets on the way out are
# copied too, and hold no bytes).
packets_in=$(status packets_in)
check "no segment was copied to the daemon ($packets_in packets in, the datagram only)" test "$packets_in" -eq 1
check "nothing is buffered for reassembly" test "$(status stream_buffered_bytes)" -eq 0
rss_after=$(rss_kb)
growth=$(((rss_after - rss_before) / 1024))
check "the daemon's memory stayed bounded (grew by $growth MB, at most 16)" test "$growth" -le 16

# A second daemon: refused on the lock before it opens or applies anything.
# The table's structure with its handles: a table applied again gets new ones. (Set elements
# and counters change by themselves.)
structure() {
  in_ns "$fw" nft -a list tables
  for chain in input output responsive zone_internet; do in_ns "$fw" nft -a list chain inet pbxwall "$chain"; done |
    sed -E 's/counter packets [0-9]+ bytes [0-9]+//'
}
table_before=$(structure)
second_rc=0
second=$(timeout 20 ip netns exec "$fw" "$PBXWALLD" --config "$config" --state "$NETNS_TMP/state.db" --run-dir "$run" 2>&1) ||
  second_rc=$?
check "a second pbxwalld exits 1 ($second_rc)" test "$second_rc" -eq 1
check "it says another pbxwalld is running, with its pid ($second)" grep -q "another pbxwalld is running (pid $daemon" <<<"$second"
check "it did not bind the log groups" bash -c "! grep -q 'log group' <<<\"\$0\"" "$second"
table_after=$(structure)
check "the table is untouched (same rules, same handles)" test "$table_after" = "$table_before"
[[ "$table_after" == "$table_before" ]] || diff <(echo "$table_before") <(echo "$table_after") || true
check "the first daemon still answers" test "$(status packets_in)" -ge 1

finish
