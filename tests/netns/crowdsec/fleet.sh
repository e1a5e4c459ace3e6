#!/usr/bin/env bash
# A fleet on one CrowdSec Local API: a private LAPI (own config and SQLite database) in its
# namespace, two pbxwalld (PBX A and PBX B) in theirs, and a stock cs-firewall-bouncer in a
# third. Behind pbxwalld A runs the lab's Kamailio registrar, with an attacker and a phone in
# namespaces of their own. svwar's scan of A is blocked on A and reaches B (within
# pull_interval + 1 s; bounded here at 10 s, the time printed) and the stock bouncer;
# cscli's decisions reach both PBXs and their deletion lifts them; bans on A's trusted office,
# on the trunk host of A's Asterisk configuration and on the phone registered through A right
# now stay open on A (spared, counted by reason, each with its event); an operator's unblock
# lifts the fleet's ban; with the LAPI down A queues its blocks (across a restart of pbxwalld)
# and B gets them all once the LAPI is back.
# Usage: fleet.sh PATH_TO_pbxwall PATH_TO_pbxwalld
FLEET_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$FLEET_DIR/../lib.sh"
netns_init "$1"
PBXWALLD=$(realpath "${2:?usage: $0 PATH_TO_pbxwall PATH_TO_pbxwalld}")
source "$FLEET_DIR/lapi.sh"
lapi_require
for tool in kamailio svwar; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (scripts/setup installs it)"; exit 77; }
done
LAB_DIR_SRC=$(cd "$FLEET_DIR/../../lab" && pwd)
PEER="$PY $FLEET_DIR/../hostile/spoof_peer.py"

lapi_ns=$(make_ns lapi)
a_ns=$(make_ns a)
b_ns=$(make_ns b)
c_ns=$(make_ns c)
link_ns "$lapi_ns" va "$a_ns" 198.51.100.2/30 198.51.100.1 2001:db8:a::2/64 2001:db8:a::1
link_ns "$lapi_ns" vb "$b_ns" 198.51.100.6/30 198.51.100.5 2001:db8:b::2/64 2001:db8:b::1
link_ns "$lapi_ns" vc "$c_ns" 198.51.100.10/30 198.51.100.9 2001:db8:c::2/64 2001:db8:c::1
# PBX A's SIP side: an attacker and a phone, each on a link of its own, in A's internet zone.
ATTACKER=192.0.2.66 PBX_ATK=192.0.2.65
PHONE=192.0.2.130 PBX_PHONE=192.0.2.129
TRUNK=192.0.2.200
atk_ns=$(make_ns atk)
phone_ns=$(make_ns phone)
link_ns "$a_ns" vatk "$atk_ns" "$ATTACKER/26" "$PBX_ATK" 2001:db8:e::66/64 2001:db8:e::1
link_ns "$a_ns" vphone "$phone_ns" "$PHONE/26" "$PBX_PHONE" 2001:db8:f::130/64 2001:db8:f::1

# The lab's registrar (users 300 and 301 ...) behind pbxwalld A, on both of A's SIP links.
mkdir -p "$NETNS_TMP/kamailio"
timeout 200 ip netns exec "$a_ns" kamailio -DD -E -f "$LAB_DIR_SRC/kamailio.cfg" -Y "$NETNS_TMP/kamailio" \
  -P "$NETNS_TMP/kamailio/kamailio.pid" -m 64 -M 8 -l "udp:$PBX_ATK:5060" -l "udp:$PBX_PHONE:5060" \
  >"$NETNS_TMP/kamailio.log" 2>&1 &
kamailio_listening() { in_ns "$a_ns" ss -lun | grep -q "$PBX_PHONE:5060"; }
if ! wait_until 15 kamailio_listening; then
  cat "$NETNS_TMP/kamailio.log"
  echo "FAIL Kamailio did not start"
  exit 1
fi

lapi="$NETNS_TMP/lapi"
lapi_configure "$lapi" 0.0.0.0:8080
lapi_start "$lapi_ns" "$lapi" http://127.0.0.1:8080
echo "ok   private LAPI up in $lapi_ns"

# One machine (push) and one bouncer (pull) per PBX; the secrets in files only root reads.
for pbx in a b; do
  dir="$NETNS_TMP/$pbx"
  mkdir -p "$dir"
  (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$dir/machine.secret")
  cs "$lapi_ns" "$lapi" machines add "pbx-$pbx" --password "$(cat "$dir/machine.secret")" -f /dev/null >/dev/null 2>&1
  (umask 077 && cs "$lapi_ns" "$lapi" bouncers add "pbxwall-$pbx" -o raw >"$dir/bouncer.key")
done

write_config() {  # write_config PBX LAPI_ADDR EXTRA_NETWORKS WEB_SECTION PBX_SECTION
  cat >"$NETNS_TMP/$1/pbxwall.toml" <<TOML
[firewall]
safe_mode = false

[networks]
$3

$4

$5

[crowdsec]
url = "http://$2:8080"
bouncer_key_file = "bouncer.key"
machine_id = "pbx-$1"
password_file = "machine.secret"
pull_interval = "1s"
TOML
}
# A's Asterisk-style configuration: the SIP port, phone 300 and a trunk whose identify names
# its host by address (pbxwalld puts it in trunks4).
mkdir -p "$NETNS_TMP/a/asterisk"
cat >"$NETNS_TMP/a/asterisk/pjsip.conf" <<CONF
[transport-udp]
type=transport
protocol=udp
bind=0.0.0.0:5060

[300]
type=endpoint
aors=300
auth=300

[300]
type=auth
auth_type=userpass
username=300
password=phone-300-secret

[300]
type=aor
max_contacts=1

[carrier]
type=endpoint
aors=carrier

[carrier]
type=aor
contact=sip:$TRUNK:5060

[carrier]
type=identify
endpoint=carrier
match=$TRUNK
CONF
# A trusts 192.0.2.0/28 (its office), reads its PBX's configuration and serves /metrics on its
# loopback; B trusts nothing.
write_config a 198.51.100.1 '"192.0.2.0/28" = "trusted"' $'[web]\nlisten = "127.0.0.1"\nport = 8485' \
  $'[pbx]\nasterisk_root = "'"$NETNS_TMP"'/a/asterisk"'
write_config b 198.51.100.5 '' $'[web]\nenabled = false' ''

declare -A daemon_pid
start_pbx() {  # start_pbx PBX
  local dir="$NETNS_TMP/$1"
  start_pbxwalld "$(ns_of "$1")" "$dir/pbxwall.toml" "$dir/state.db" "$dir/pbxwalld.log"
  daemon_pid[$1]=$DAEMON_PID
}
stop_pbx() {
  kill "${daemon_pid[$1]}" 2>/dev/null || true
  wait_pid_exit "${daemon_pid[$1]}" 20
}
ns_of() { [[ $1 == a ]] && echo "$a_ns" || echo "$b_ns"; }
ctl() {  # ctl PBX ARGS...
  local pbx=$1
  shift
  pbx "$(ns_of "$pbx")" --config "$NETNS_TMP/$pbx/pbxwall.toml" "$@"
}
# The set listing is read whole (grep -q leaving early would fail nft with SIGPIPE).
shared_has() {  # shared_has PBX ADDRESS
  local set
  set=$(in_ns "$(ns_of "$1")" nft list set inet pbxwall crowdsec4) && grep -qw -- "$2" <<<"$set"
}
shared_lacks() { ! shared_has "$@"; }
now_ms() { date +%s%3N; }
# metric_is NAME{LABELS} VALUE_REGEX: A's /metrics has that series with a matching value.
metric_is() {
  local text
  text=$(in_ns "$a_ns" curl -s --max-time 5 http://127.0.0.1:8485/metrics) && grep -Eqx -- "$(sed 's/[{}]/\\&/g' <<<"$1") $2" <<<"$text"
}

start_pbx a
start_pbx b
check "A's status shows the CrowdSec link up" wait_until 10 bash -c "ip netns exec $a_ns $PBXWALL --run-dir $NETNS_TMP/run-$a_ns status | grep -q 'link up'"

# 1. svwar scans A's PBX: A blocks the attacker, B blocks it within pull_interval + 1 s
# (bounded here at 10 s; the time from A's block to B's is printed).
a_blocks() { local set; set=$(in_ns "$a_ns" nft list set inet pbxwall blocked4) && grep -qw -- "$1" <<<"$set"; }
timeout 30 ip netns exec "$atk_ns" svwar -e100-999 "$PBX_ATK" >"$NETNS_TMP/svwar.out" 2>&1 &
svwar_pid=$!
if wait_until 10 a_blocks "$ATTACKER"; then
  t0=$(now_ms)
  echo "ok   A blocks svwar's $ATTACKER"
  if wait_until 10 shared_has b "$ATTACKER"; then
    echo "ok   A's block of $ATTACKER is in B's crowdsec4 $(($(now_ms) - t0)) ms after A's (pull_interval + 1 s: 2000 ms)"
  else
    echo "FAIL A's block of svwar's $ATTACKER did not reach B"
    NETNS_FAILURES=$((NETNS_FAILURES + 1))
  fi
else
  cat "$NETNS_TMP/svwar.out"
  echo "FAIL A did not block svwar's $ATTACKER"
  NETNS_FAILURES=$((NETNS_FAILURES + 1))
fi
kill "$svwar_pid" 2>/dev/null || true
wait_pid_exit "$svwar_pid" 10 || true
rule=$(pbx "$a_ns" --config "$NETNS_TMP/a/pbxwall.toml" list blocked --json |
  "$PY" -c 'import json, sys; print(next((b.get("origin", "") + " " + b.get("rule", "") for b in json.load(sys.stdin) if b.get("addr") == sys.argv[1]), ""))' "$ATTACKER" || true)
check "A lists its own block as its engine's, with the rule ($rule)" grep -Eq '^engine (fingerprint|user-enumeration)$' <<<"$rule"
rule=${rule#engine }
check "B lists it with its origin crowdsec:pbxwall/pbxwall/$rule" \
  bash -c "ip netns exec $b_ns $PBXWALL --run-dir $NETNS_TMP/run-$b_ns list blocked | grep -w $ATTACKER | grep -q 'crowdsec:pbxwall/pbxwall/$rule'"
check "B's --origin crowdsec:pbxwall lists it, --origin local does not" \
  bash -c "ip netns exec $b_ns $PBXWALL --run-dir $NETNS_TMP/run-$b_ns list blocked --origin crowdsec:pbxwall --limit 10 | grep -qw $ATTACKER &&
    ! ip netns exec $b_ns $PBXWALL --run-dir $NETNS_TMP/run-$b_ns list blocked --origin local | grep -qw $ATTACKER"
check "A recognises its own decision: not in A's crowdsec4" shared_lacks a "$ATTACKER"
check "cscli decisions list -a shows the pbxwall decision" \
  bash -c "ip netns exec $lapi_ns cscli -c $lapi/config.yaml decisions list -a -o raw 2>/dev/null | grep -w $ATTACKER | grep -q pbxwall/$rule"

# 2. cscli bans reach both; deleting them lifts them.
cs "$lapi_ns" "$lapi" decisions add --ip 203.0.113.88 --duration 1h >/dev/null 2>&1
check "cscli's ban is applied on A" wait_until 10 shared_has a 203.0.113.88
check "cscli's ban is applied on B" wait_until 10 shared_has b 203.0.113.88
timeout_left=$(in_ns "$b_ns" nft list set inet pbxwall crowdsec4 | grep -o '203.0.113.88 timeout [0-9hms]*' || true)
check "its duration is honoured ($timeout_left)" grep -Eq "timeout (59m|1h)" <<<"$timeout_left"
cs "$lapi_ns" "$lapi" decisions delete --ip 203.0.113.88 >/dev/null 2>&1
check "cscli decisions delete lifts it on A" wait_until 10 shared_lacks a 203.0.113.88
check "cscli decisions delete lifts it on B" wait_until 10 shared_lacks b 203.0.113.88

# 3. Bans on a trusted address, a trunk and a validated phone stay open on A (and are applied
# on B, which knows none of them); A counts them by reason and its event log says why.
cs "$lapi_ns" "$lapi" decisions add --ip 192.0.2.5 --duration 1h >/dev/null 2>&1
check "B applies the ban on 192.0.2.5" wait_until 10 shared_has b 192.0.2.5
check "A records the ban on 192.0.2.5 as spared (trusted network)" \
  wait_until 10 bash -c "ip netns exec $a_ns $PBXWALL --run-dir $NETNS_TMP/run-$a_ns events | grep 192.0.2.5 | grep -q 'trusted network'"
check "A's crowdsec4 does not hold the trusted address" shared_lacks a 192.0.2.5
check "A's /metrics counts it spared for a trusted network" metric_is 'pbxwall_crowdsec_spared_total{reason="trusted network"}' 1
check "A's /metrics counts no spared ban for a trunk yet" metric_is 'pbxwall_crowdsec_spared_total{reason="trunk"}' 0
events_say() {  # events_say PBX ADDRESS TEXT: PBX's event log has a spared event of ADDRESS with TEXT
  local log
  log=$(pbx "$(ns_of "$1")" --config "$NETNS_TMP/$1/pbxwall.toml" events) &&
    grep -w -- "$2" <<<"$log" | grep -w spared | grep -qF -- "$3"
}

# The trunk host of A's PBX configuration: banned in CrowdSec, applied on B, open on A.
check "A's trunks4 holds the trunk host $TRUNK of its Asterisk configuration" \
  wait_until 10 bash -c "ip netns exec $a_ns nft list set inet pbxwall trunks4 | grep -qw $TRUNK"
cs "$lapi_ns" "$lapi" decisions add --ip "$TRUNK" --duration 1h >/dev/null 2>&1
check "B applies the ban on $TRUNK" wait_until 10 shared_has b "$TRUNK"
check "A records the ban on the trunk $TRUNK as spared (trunk)" wait_until 10 events_say a "$TRUNK" "not applied: trunk"
check "A's crowdsec4 does not hold the trunk" shared_lacks a "$TRUNK"
check "A's /metrics counts it spared for a trunk" metric_is 'pbxwall_crowdsec_spared_total{reason="trunk"}' 1

# A phone registered through A right now (validated): banned in CrowdSec, applied on B, open
# on A, where it registers again.
out=$(in_ns "$phone_ns" $PEER register "$PHONE" "$PBX_PHONE" 300 phone-300-secret 600) || true
check "the phone registers through A (200, got $out)" test "$out" = 200
a_validates() { local set; set=$(in_ns "$a_ns" nft list set inet pbxwall validated4) && grep -qw -- "$PHONE" <<<"$set"; }
check "A validated the phone" wait_until 10 a_validates
check "A's /metrics counts no spared ban for a validated source yet" metric_is 'pbxwall_crowdsec_spared_total{reason="validated"}' 0
cs "$lapi_ns" "$lapi" decisions add --ip "$PHONE" --duration 1h >/dev/null 2>&1
check "B applies the ban on $PHONE" wait_until 10 shared_has b "$PHONE"
check "A records the ban on the phone as spared (validated: user 300)" \
  wait_until 10 events_say a "$PHONE" "not applied: validated: user 300"
check "A's crowdsec4 does not hold the phone" shared_lacks a "$PHONE"
check "A's /metrics counts it spared for a validated source" metric_is 'pbxwall_crowdsec_spared_total{reason="validated"}' 1
out=$(in_ns "$phone_ns" $PEER register "$PHONE" "$PBX_PHONE" 300 phone-300-secret 600) || true
check "the banned phone still registers through A (200, got $out)" test "$out" = 200
check "A's /metrics counts the trusted address once still" metric_is 'pbxwall_crowdsec_spared_total{reason="trusted network"}' 1
check "A's /metrics has the link up" metric_is pbxwall_crowdsec_link_up 1
check "A's /metrics has the cscli bans applied" metric_is 'pbxwall_crowdsec_decisions_applied_total{origin="cscli"}' '[1-9][0-9]*'
last_pull=$(in_ns "$a_ns" curl -s --max-time 5 http://127.0.0.1:8485/metrics | sed -n 's/^pbxwall_crowdsec_last_pull_timestamp_seconds //p')
check "the last pull ($last_pull) is within 60 s of now" test $(($(date +%s) - ${last_pull:-0})) -le 60
check "A's /metrics has an empty push queue" metric_is pbxwall_crowdsec_push_queue 0

# 4. A stock cs-firewall-bouncer applies A's decision too.
if command -v crowdsec-firewall-bouncer >/dev/null; then
  bdir="$NETNS_TMP/bouncer"
  mkdir -p "$bdir"
  key=$(cs "$lapi_ns" "$lapi" bouncers add stock-bouncer -o raw)
  (umask 077 && cat >"$bdir/bouncer.yaml" <<YAML
mode: nftables
pid_dir: $bdir
update_frequency: 1s
daemonize: false
log_mode: stdout
log_level: info
api_url: http://198.51.100.9:8080/
api_key: $key
disable_ipv6: false
deny_action: DROP
deny_log: false
supported_decisions_types:
  - ban
blacklists_ipv4: crowdsec-blacklists
blacklists_ipv6: crowdsec6-blacklists
nftables:
  ipv4:
    enabled: true
    set-only: false
    table: crowdsec
    chain: crowdsec-chain
  ipv6:
    enabled: true
    set-only: false
    table: crowdsec6
    chain: crowdsec6-chain
prometheus:
  enabled: false
  listen_addr: 127.0.0.1
  listen_port: 60601
YAML
  )
  timeout 120 ip netns exec "$c_ns" crowdsec-firewall-bouncer -c "$bdir/bouncer.yaml" >"$bdir/bouncer.log" 2>&1 &
  bouncer_has() {
    local set
    set=$(in_ns "$c_ns" nft list set ip crowdsec crowdsec-blacklists 2>/dev/null) && grep -qw -- "$1" <<<"$set"
  }
  if wait_until 20 bouncer_has "$ATTACKER"; then
    echo "ok   the stock cs-firewall-bouncer applies A's decision"
  else
    tail -20 "$bdir/bouncer.log"
    echo "FAIL the stock cs-firewall-bouncer did not apply A's decision"
    NETNS_FAILURES=$((NETNS_FAILURES + 1))
  fi
fi

# 5. An operator's unblock on A deletes the decision A pushed: B lifts it.
ctl a unblock "$ATTACKER" >/dev/null
check "A's unblock lifts the ban on B" wait_until 10 shared_lacks b "$ATTACKER"

# 6. LAPI down while A blocks 10 attackers: both keep protecting, A queues the pushes and keeps
# them across a restart of pbxwalld; once the LAPI is back, B gets all 10.
lapi_stop
for i in $(seq 101 110); do ctl a block "203.0.113.$i" --for 1h --reason "outage test" >/dev/null; done
check "A still blocks its attackers itself" bash -c "ip netns exec $a_ns nft list set inet pbxwall blocked4 | grep -qw 203.0.113.110"
check "A reports the link down and 10 decisions queued" \
  wait_until 15 bash -c "ip netns exec $a_ns $PBXWALL --run-dir $NETNS_TMP/run-$a_ns status | grep -q 'push queue 10'"
check "B keeps the bans it holds while the LAPI is down" shared_has b 192.0.2.5
check "A's /metrics has the link down" wait_until 15 metric_is pbxwall_crowdsec_link_up 0
check "A's /metrics has 10 decisions queued" metric_is pbxwall_crowdsec_push_queue 10
check "A's /metrics counts failed pulls" metric_is pbxwall_crowdsec_pull_failures_total '[1-9][0-9]*'
stop_pbx a
start_pbx a
check "after a restart of pbxwalld A still has the 10 queued" \
  bash -c "ip netns exec $a_ns $PBXWALL --run-dir $NETNS_TMP/run-$a_ns status | grep -q 'push queue 10'"
lapi_start "$lapi_ns" "$lapi" http://127.0.0.1:8080
all_ten_on_b() {
  local set
  set=$(in_ns "$b_ns" nft list set inet pbxwall crowdsec4) || return 1
  for i in $(seq 101 110); do grep -qw "203.0.113.$i" <<<"$set" || return 1; done
}
check "once the LAPI is back, B has all 10" wait_until 40 all_ten_on_b
check "A's queue is empty again" \
  wait_until 10 bash -c "ip netns exec $a_ns $PBXWALL --run-dir $NETNS_TMP/run-$a_ns status | grep -q 'push queue 0'"

if ((NETNS_FAILURES > 0)); then
  for pbx in a b; do echo "--- pbxwalld $pbx"; tail -30 "$NETNS_TMP/$pbx/pbxwalld.log"; done
  echo "--- lapi"; tail -20 "$lapi/lapi.log"
fi
finish
