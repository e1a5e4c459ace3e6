#!/usr/bin/env bash
# The spoofing guard live: pbxwalld in front of the lab's Kamailio registrar. A phone at
# 198.51.100.10 registers (validated) for 10 s and goes away; its validation ends (the test's
# registration_grace is 1 s). Forged UDP packets
# "from" its address (a raw socket in another namespace writes the source) with a scanner's
# User-Agent, OPTIONS and REGISTER, do not block it: the daemon counts them (spoof_guarded).
# The same forged packet "from" 198.51.100.11, never validated, is blocked at once. On the
# queue path (MODE queue: packet_path = "external-queue" behind an xtables NFQUEUE rule) the
# forged scanner packets never reach the PBX (spoof_guard_drops) while a forged harmless one
# does; on the log path they reach it (it answers) and only the block is withheld. Then the
# holder of the address itself guesses passwords with a desk phone's User-Agent: its digests
# answer the nonces the PBX sent there, evidence no forger has, and it is blocked.
# Usage: spoof_guard.sh PATH_TO_pbxwall PATH_TO_pbxwalld log|queue
TEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_DIR_SRC=$(cd "$TEST_DIR/../../lab" && pwd)
source "$TEST_DIR/../lib.sh"
netns_init "$1"
PBXWALLD=$(realpath "${2:?usage: $0 PBXWALL PBXWALLD log|queue}")
mode=${3:?usage: $0 PBXWALL PBXWALLD log|queue}
for tool in kamailio sipp; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
PEER="$PY $TEST_DIR/spoof_peer.py"
PBX4=198.51.100.1
PHONE=198.51.100.10
STRANGER=198.51.100.11

fw=$(make_ns fw)
phone=$(make_ns phone)
forger=$(make_ns forger)
link_ns "$fw" v0 "$phone" "$PHONE/24" "$PBX4" 2001:db8:2::10/64 2001:db8:2::1
link_ns "$fw" v1 "$forger" 203.0.113.66/24 203.0.113.1 2001:db8:3::66/64 2001:db8:3::1
in_ns "$forger" ip route add 198.51.100.0/24 via 203.0.113.1
# Forged sources arrive on v1, where no route leads back to them.
in_ns "$fw" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.v1.rp_filter=0 net.ipv4.conf.default.rp_filter=0

if [[ $mode == queue ]]; then
  command -v iptables-nft >/dev/null || { echo "SKIP: iptables-nft not installed"; exit 77; }
  if ! out=$(in_ns "$fw" iptables-nft -A INPUT -p udp --dport 5060 -j NFQUEUE --queue-num 4 --queue-bypass 2>&1); then
    echo "SKIP: xtables NFQUEUE not available: $out"
    exit 77
  fi
fi

mkdir -p "$NETNS_TMP/kamailio"
timeout 120 ip netns exec "$fw" kamailio -DD -E -f "$LAB_DIR_SRC/kamailio.cfg" -Y "$NETNS_TMP/kamailio" \
  -P "$NETNS_TMP/kamailio/kamailio.pid" -m 64 -M 8 -l "udp:$PBX4:5060" >"$NETNS_TMP/kamailio.log" 2>&1 &
kamailio_listening() { in_ns "$fw" ss -lun | grep -q "$PBX4:5060"; }
if ! wait_until 15 kamailio_listening; then
  cat "$NETNS_TMP/kamailio.log"
  echo "FAIL Kamailio did not start"
  exit 1
fi

config="$NETNS_TMP/pbxwall.toml"
{
  printf '[firewall]\nsafe_mode = false\n\n[pbx]\nenabled = false\n\n[web]\nenabled = false\n'
  printf '\n[responsive]\nregistration_grace = "1s"\n'
  [[ $mode != queue ]] || printf 'packet_path = "external-queue"\nqueue_num = 4\n'
} >"$config"
daemon_log="$NETNS_TMP/pbxwalld.log"
start_pbxwalld "$fw" "$config" "$NETNS_TMP/state.db" "$daemon_log"
control="$NETNS_TMP/run-$fw/control.sock"
ctl() { timeout $T "$PY" "$LAB_DIR_SRC/pbxctl.py" request "$control" "$1"; }
# status FIELD: a number from the daemon's status answer.
status() { ctl '{"cmd":"status"}' | "$PY" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
validated() { ctl '{"cmd":"list","what":"validated"}' | grep -q "\"$1\""; }
in_set() { local set; set=$(in_ns "$fw" nft list set inet pbxwall "$1" 2>/dev/null) && grep -qw -- "$2" <<<"$set"; }
blocked() { in_set blocked4 "$1"; }
not_validated() { ! validated "$1" && ! in_set validated4 "$1"; }
echo "ok   Kamailio and pbxwalld run (packet path: $(status packet_path))"

# The phone registers for 10 s (the registrar's shortest), is validated, and goes away.
out=$(in_ns "$phone" $PEER register "$PHONE" "$PBX4" 300 phone-300-secret 10) || true
check "the phone registers (200, got $out)" test "$out" = 200
check "pbxwalld validated the phone" wait_until 10 validated "$PHONE"
check "its validation ended with its registration" wait_until 30 not_validated "$PHONE"

# What reaches the phone's address from the PBX from now on, by Call-ID.
answers="$NETNS_TMP/answers"
: >"$answers"
timeout 60 ip netns exec "$phone" $PEER listen "$PHONE" "$answers" 50 &
listener=$!
listening() { in_ns "$phone" ss -lun | grep -q "$PHONE:5060"; }
check "the listener at the phone's address is up" wait_until 10 listening
answered() { grep -q " $1\$" "$answers"; }

guarded_before=$(status spoof_guarded)
for i in 1 2 3; do
  in_ns "$forger" $PEER forge "$PHONE" "$PBX4" OPTIONS friendly-scanner "scan-options-$i"
  in_ns "$forger" $PEER forge "$PHONE" "$PBX4" REGISTER "sipcli/v1.8" "scan-register-$i"
done
# A forged packet no rule minds, sent last: once the PBX has answered it, it has answered
# whatever of the scanner packets reached it.
in_ns "$forger" $PEER forge "$PHONE" "$PBX4" OPTIONS "Yealink SIP-T46S 66.86.0.15" marker-1
check "the PBX answered the forged harmless OPTIONS at the phone's address" wait_until 10 answered marker-1
guarded=$(($(status spoof_guarded) - guarded_before))
check "each of the 6 forged scanner packets was counted as spoof_guarded ($guarded)" test "$guarded" -ge 6
check "the phone's address is not blocked" bash -c "! ip netns exec $fw nft list set inet pbxwall blocked4 | grep -qw $PHONE"
check "the daemon logged no block of the phone's address" bash -c "! grep -q 'block $PHONE ' '$daemon_log'"
if [[ $mode == queue ]]; then
  drops=$(status spoof_guard_drops)
  check "the queue verdicts dropped the forged scanner packets (spoof_guard_drops $drops)" test "$drops" -ge 6
  check "no forged scanner packet reached the PBX" bash -c "! grep -q ' scan-' '$answers'"
else
  check "on the log path the forged OPTIONS reached the PBX (it answered), unblocked" answered scan-options-3
fi

# The same forged packet from an address never validated: blocked at once.
in_ns "$forger" $PEER forge "$STRANGER" "$PBX4" OPTIONS friendly-scanner stranger-1
check "the forged scanner OPTIONS from never-validated $STRANGER blocks it" wait_until 10 blocked "$STRANGER"
check "... by its fingerprint" wait_until 5 grep -q "block $STRANGER .*(fingerprint)" "$daemon_log"

# The holder of the address guesses passwords (fresh Call-ID per guess, a desk phone's
# User-Agent, 5 per second): its digests answer the nonces the PBX sent to the address.
kill "$listener" 2>/dev/null || true
wait_pid_exit "$listener" 10
csv="$NETNS_TMP/crack.csv"
{ echo SEQUENTIAL; for i in $(seq 1 30); do echo "301;guess$i"; done; } >"$csv"
timeout 30 ip netns exec "$phone" sipp -sf "$LAB_DIR_SRC/sipp/crack-register.xml" -inf "$csv" -i "$PHONE" -p 5060 \
  -r 5 -l 10 -m 30 -nostdin -timeout 25s -trace_msg -message_file "$NETNS_TMP/crack.messages" "$PBX4:5060" \
  >"$NETNS_TMP/crack.out" 2>&1 </dev/null &
cracker=$!
check "the password guesser at the phone's own address is blocked" wait_until 25 blocked "$PHONE"
check "... on the evidence of its answered challenges, not a fingerprint" \
  wait_until 5 grep -qE "block $PHONE .*\((password|extension|guess)" "$daemon_log"
kill "$cracker" 2>/dev/null || true
wait_pid_exit "$cracker" 10 || true
wrong=$(grep -c '^SIP/2.0 401 ' "$NETNS_TMP/crack.messages" 2>/dev/null || true)
echo "     (the guesser got $wrong answers 401 before its block)"

stop_pbxwalld
if ((NETNS_FAILURES > 0)); then
  echo "--- pbxwalld's log"
  cat "$daemon_log"
fi
finish
