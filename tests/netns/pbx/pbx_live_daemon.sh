#!/usr/bin/env bash
# The real pbxwalld in a namespace keeps the `trunks` sets in step with the PBX and with DNS:
# it reads a FreePBX 16 configuration tree (a copy of tests/data/asterisk/freepbx16) and
# resolves the trunk names through a dnsmasq on a loopback port of the same namespace.
#   (a) the trunk name's address is in trunks4 after start;
#   (b) a trunk added to a pjsip file (inotify, debounced) appears without a ruleset reload
#       (the table's handle stays the same);
#   (c) the DNS answer changes (hosts file rewritten, dnsmasq SIGHUP): once the refresh is due
#       ([pbx] dns_min_refresh = 1 with dnsmasq's TTL of 1 s) the new address is in, the old out;
#   (d) dnsmasq stopped: lookups fail and the set keeps the last addresses;
#   (f) a trunk whose name does not exist (NXDOMAIN) is said in `pbxwall status` and
#       `pbxwall discover` (its traffic is not trusted), the resolving one with its address and
#       TTL; with dnsmasq stopped, status says the latest lookup failed and the answer is kept;
#   (e) `pbxwall reload` through the control socket applies a changed [pbx] (enabled = false:
#       the trunks sets are emptied).
# Every wait polls a condition with a deadline.
# Usage: pbx_live_daemon.sh PATH_TO_pbxwall PATH_TO_pbxwalld
PBX_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$PBX_TESTS/../lib.sh"
netns_init "${1:?usage: $0 PATH_TO_pbxwall PATH_TO_pbxwalld}"
PBXWALLD=$(realpath "${2:?usage: $0 PATH_TO_pbxwall PATH_TO_pbxwalld}")
[[ -x "$PBXWALLD" ]] || { echo "FAIL: $PBXWALLD is not executable"; exit 1; }
DNSMASQ=/usr/sbin/dnsmasq
[[ -x "$DNSMASQ" ]] || { echo "SKIP: dnsmasq not installed (dnsmasq-base)"; exit 77; }
DATA=$(cd "$PBX_TESTS/../../data/asterisk/freepbx16" && pwd)

ns=$(make_ns pbx)
run="$NETNS_TMP/run-$ns"  # where lib.sh's `pbx` looks for the control socket
root="$NETNS_TMP/asterisk"
hosts="$NETNS_TMP/hosts"
config="$NETNS_TMP/pbxwall.toml"
cp -r "$DATA" "$root"
# A trunk whose provider's name is gone from DNS (dnsmasq answers NXDOMAIN under example.).
cat >>"$root/pjsip.aor_custom_post.conf" <<'CONF'

[gonecarrier]
type=aor
contact=sip:gone.example
CONF

# A port below the ephemeral range (32768 and up), so that it can never also be the
# resolver's own source port. The namespace is new: nothing else listens in it.
dns_port=$((20000 + $$ % 10000))

# write_hosts TEXT: replaces the hosts file in one rename, as an editor would.
write_hosts() {
  printf '%s\n' "$1" >"$hosts.new"
  mv "$hosts.new" "$hosts"
}
write_hosts "192.0.2.50 sip.voipprovider.example
192.0.2.60 branch2.example"

# dnsmasq answers names under example. from the hosts file only (anything else there:
# no such name), with a TTL of 1 s. `ip netns exec` execs it, so $! is dnsmasq itself (for
# SIGHUP); the namespace cleanup ends it if the test does not.
start_dnsmasq() {
  ip netns exec "$ns" "$DNSMASQ" --no-daemon --port="$dns_port" --listen-address=127.0.0.1 \
    --bind-interfaces --no-resolv --no-hosts --addn-hosts="$hosts" --local-ttl=1 --pid-file= \
    --local=/example/ --user=root --log-facility=/dev/null >"$NETNS_TMP/dnsmasq.log" 2>&1 &
  dnsmasq_pid=$!
}
start_dnsmasq

cat >"$config" <<TOML
[firewall]
safe_mode = false

[web]
enabled = false

[pbx]
asterisk_root = "$root"
dns_servers = "127.0.0.1:$dns_port"
dns_min_refresh = 1
debounce_ms = 200
TOML

# The daemon runs inside the namespace (it dies with it at cleanup), bounded in time.
timeout 300 ip netns exec "$ns" "$PBXWALLD" --config "$config" --state "$NETNS_TMP/state.db" \
  --run-dir "$run" >"$NETNS_TMP/pbxwalld.log" 2>&1 &
daemon_pid=$!

# The listing is read whole: `grep -q` leaving early would make nft fail with SIGPIPE (pipefail).
set_listing() { in_ns "$ns" nft list set inet pbxwall "$1" 2>/dev/null || true; }
in_set() { local set; set=$(set_listing "$1") && grep -qw -- "$2" <<<"$set"; }
not_in_set() { ! in_set "$@"; }
table_handle() { in_ns "$ns" nft -a list table inet pbxwall 2>/dev/null | sed -n '1s/.*# handle \([0-9]*\).*/\1/p'; }

# wait_for SECONDS COMMAND...: polls the command until it succeeds or the time is up (the
# daemon exiting ends the wait early). Between polls it waits on the daemon's exit for 0.1 s.
wait_for() {
  local limit=$1
  shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    if ((SECONDS >= deadline)) || ! kill -0 "$daemon_pid" 2>/dev/null; then return 1; fi
    timeout 0.1 tail --pid="$daemon_pid" -f /dev/null 2>/dev/null || true
  done
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

fail_with_log() {
  echo "FAIL $1"
  echo "--- pbxwalld log"
  cat "$NETNS_TMP/pbxwalld.log"
  exit 1
}

# (a) The trunk name resolves at start; the addresses written literally are in too.
wait_for 20 in_set trunks4 192.0.2.50 || fail_with_log "trunks4 never held sip.voipprovider.example's 192.0.2.50"
echo "ok   (a) sip.voipprovider.example's address 192.0.2.50 is in trunks4"
check "the identify address 203.0.113.10, written literally, is in trunks4" in_set trunks4 203.0.113.10
check "branch2.example is not a trunk yet" not_in_set trunks4 192.0.2.60
handle=$(table_handle)
check "the table has a handle ($handle)" test -n "$handle"
services_before=$(set_listing svc_internet)
check "the internet zone's services set is listed" grep -q "set svc_internet" <<<"$services_before"
echo "trunks4 at start: $(set_listing trunks4 | tr -s "\t\n " " ")"

# (f) The trunks' state in status and discover, as pbxwalld resolves them.
status_says() { pbx "$ns" --config "$config" status | grep -qF -- "$1"; }
discover_says() { pbx "$ns" --config "$config" discover | grep -qF -- "$1"; }
gone="trunk gonecarrier gone.example: does not resolve (NXDOMAIN) — its traffic is not trusted"
check "(f) status: $gone" wait_for 10 status_says "$gone"
check "(f) status: sip.voipprovider.example resolves to 192.0.2.50 with its TTL" \
  status_says "sip.voipprovider.example: resolves to 192.0.2.50 (TTL 1 s)"
check "(f) discover: $gone" discover_says "$gone"
check "(f) discover says the state is pbxwalld's" discover_says "Trunk hosts now (as pbxwalld resolves them)"
check "(f) the daemon's log said it at warning level" grep -qF "$gone" "$NETNS_TMP/pbxwalld.log"
echo "status's trunk lines: $(pbx "$ns" --config "$config" status | grep ' trunk ' | tr -s '\n' ';')"

# (b) A trunk added in FreePBX's custom file: picked up through inotify, within 5 s.
cat >>"$root/pjsip.identify_custom.conf" <<'CONF'

[branch2]
type=identify
endpoint=branch2
match=branch2.example
CONF
start_b=$(now_ms)
if wait_for 5 in_set trunks4 192.0.2.60; then
  echo "ok   (b) branch2.example's 192.0.2.60 is in trunks4 $(($(now_ms) - start_b)) ms after the edit"
else
  check "(b) branch2.example's 192.0.2.60 is in trunks4 within 5 s of the edit" false
fi
check "the earlier trunk stays" in_set trunks4 192.0.2.50
check "no ruleset reload: the table's handle is still $handle" test "$(table_handle)" = "$handle"
check "no ruleset reload: the services set is unchanged" test "$(set_listing svc_internet)" = "$services_before"

# (c) The provider's address changes in DNS: new address in, old out, with the same table.
write_hosts "192.0.2.70 sip.voipprovider.example
192.0.2.60 branch2.example"
kill -HUP "$dnsmasq_pid"
start_c=$(now_ms)
moved() { in_set trunks4 192.0.2.70 && not_in_set trunks4 192.0.2.50; }
if wait_for 10 moved; then
  echo "ok   (c) after the DNS change 192.0.2.70 is in trunks4 and 192.0.2.50 out ($(($(now_ms) - start_c)) ms)"
else
  check "(c) after the DNS change 192.0.2.70 is in trunks4 and 192.0.2.50 out within 10 s" false
fi
check "branch2.example stays" in_set trunks4 192.0.2.60
check "no ruleset reload: the table's handle is still $handle" test "$(table_handle)" = "$handle"

# (d) The DNS server goes away: lookups fail (logged) and the set keeps the last answers.
failures_before=$(grep -c 'sip.voipprovider.example: .*(last answer kept)' "$NETNS_TMP/pbxwalld.log" || true)
kill "$dnsmasq_pid"
wait_pid_exit "$dnsmasq_pid" 5
lookups_failed() {
  (($(grep -c 'sip.voipprovider.example: .*(last answer kept)' "$NETNS_TMP/pbxwalld.log" || true) >= failures_before + 2))
}
check "(d) with dnsmasq stopped the daemon's lookups of sip.voipprovider.example fail" wait_for 15 lookups_failed
check "(d) and trunks4 still holds its last address 192.0.2.70" in_set trunks4 192.0.2.70
check "(d) and branch2.example's 192.0.2.60" in_set trunks4 192.0.2.60
check "the daemon is still running" kill -0 "$daemon_pid"
kept_line="resolves to 192.0.2.70 (TTL 1 s); the latest lookup failed"
check "(f) with dnsmasq stopped status says the latest lookup failed and the answer is kept" wait_for 10 status_says "$kept_line"

# (e) A reload through the control socket re-reads [pbx]: with the integration off the
# trunks sets are emptied.
sed -i 's/^debounce_ms = 200$/debounce_ms = 200\nenabled = false/' "$config"
check "[pbx] enabled = false written" grep -q "^enabled = false" "$config"
check "pbxwall reload goes through pbxwalld" pbx "$ns" --config "$config" reload
emptied() {
  local set
  set=$(set_listing trunks4)
  grep -q "set trunks4" <<<"$set" && ! grep -q "elements" <<<"$set"
}
check "(e) after pbxwall reload with [pbx] enabled = false trunks4 is empty" wait_for 5 emptied

if ((NETNS_FAILURES > 0)); then
  echo "--- pbxwalld log"
  cat "$NETNS_TMP/pbxwalld.log"
fi
finish
