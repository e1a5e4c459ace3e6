#!/usr/bin/env bash
# pbxwall talking to a real pbxwalld in a namespace: block, list, unblock, events through the
# control socket, checked against the kernel's sets; stop and start through the daemon keep
# its blocks. Usage: daemon_control.sh PATH_TO_pbxwall PATH_TO_pbxwalld
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"
netns_init "$1"
PBXWALLD=$(realpath "${2:?usage: $0 PATH_TO_pbxwall PATH_TO_pbxwalld}")
[[ -x "$PBXWALLD" ]] || { echo "FAIL: $PBXWALLD is not executable"; exit 1; }

ns=$(make_ns fw)
run="$NETNS_TMP/run-$ns"
config="$NETNS_TMP/pbxwall.toml"
cat >"$config" <<'TOML'
[firewall]
safe_mode = false

[networks]
"198.51.100.0/24" = "trusted"

[web]
enabled = false
TOML

# Without the daemon: the daemon-only commands say so.
out=$(pbx "$ns" --config "$config" block 192.0.2.99 2>&1) && rc=0 || rc=$?
check "block without pbxwalld exits 1" test "$rc" -eq 1
check "block without pbxwalld says how to start it" \
  grep -q "pbxwalld is not running (no $run/control.sock): start it with systemctl start pbxwalld" <<<"$out"

# The daemon runs inside the namespace (it dies with it at cleanup), bounded in time.
timeout 120 ip netns exec "$ns" "$PBXWALLD" --config "$config" --state "$NETNS_TMP/state.db" \
  --run-dir "$run" >"$NETNS_TMP/pbxwalld.log" 2>&1 &
daemon_pid=$!
# Ready once the control socket answers a status request (bounded: 20 s).
deadline=$((SECONDS + 20))
until pbx "$ns" --config "$config" status >/dev/null 2>&1 && [[ -S "$run/control.sock" ]] &&
  pbx "$ns" --config "$config" status 2>/dev/null | grep -q "pbxwalld: running"; do
  if ! kill -0 "$daemon_pid" 2>/dev/null || ((SECONDS >= deadline)); then
    cat "$NETNS_TMP/pbxwalld.log"
    echo "FAIL pbxwalld did not start"
    exit 1
  fi
  timeout 1 tail --pid="$daemon_pid" -f /dev/null 2>/dev/null || true
done
echo "ok   pbxwalld answers on $run/control.sock"

ctl() { pbx "$ns" --config "$config" "$@"; }
# The listing is read whole: `grep -q` leaving early would make nft fail with SIGPIPE (pipefail).
in_set() { local set; set=$(in_ns "$ns" nft list set inet pbxwall "$1") && grep -qw -- "$2" <<<"$set"; }
not_in_set() { ! in_set "$@"; }

out=$(ctl block 192.0.2.99 --for 10m --reason "seen scanning")
check "block prints the address and its end" grep -q "192.0.2.99 blocked until" <<<"$out"
check "list blocked --json has it, with the reason" \
  "$PY" -c 'import json,sys; items=json.load(sys.stdin); sys.exit(0 if any(i["addr"]=="192.0.2.99" and i["reason"]=="seen scanning" for i in items) else 1)' \
  < <(ctl list blocked --json)
check "nft set blocked4 holds 192.0.2.99" in_set blocked4 192.0.2.99
timeout_left=$(in_ns "$ns" nft list set inet pbxwall blocked4 | grep -o '192.0.2.99 timeout [0-9hms]*' || true)
check "its timeout is 10m ($timeout_left)" grep -q "timeout 10m" <<<"$timeout_left"

out=$(ctl block 192.0.2.300 2>&1) && rc=0 || rc=$?
check "a bad address exits 2" test "$rc" -eq 2
out=$(ctl block 192.0.2.98 --for 10parsecs 2>&1) && rc=0 || rc=$?
check "a bad duration exits 2 naming --for" bash -c "[[ $rc -eq 2 ]] && grep -q -- '--for' <<<\"\$0\"" "$out"

# Stop and start through the daemon: the table goes and comes back with the block in it.
ctl stop >/dev/null
check "stop removes the table" bash -c "! ip netns exec $ns nft list table inet pbxwall >/dev/null 2>&1"
check "status reports the table removed" grep -q "table removed" < <(ctl status)
ctl start >/dev/null
check "start puts the table back with the block" in_set blocked4 192.0.2.99

out=$(ctl unblock 192.0.2.99)
check "unblock says so" grep -q "192.0.2.99 unblocked" <<<"$out"
check "nft set blocked4 no longer holds 192.0.2.99" not_in_set blocked4 192.0.2.99
check "list blocked is empty" grep -q "no blocked hosts" < <(ctl list blocked)

events=$(ctl events)
check "events shows the block" grep -Eq "block +192\.0\.2\.99 .*seen scanning" <<<"$events"
check "events shows the unblock" grep -Eq "unblock +192\.0\.2\.99 " <<<"$events"
# The `start` between them is a change event too, naming the command.
check "events --json: one object per line" \
  "$PY" -c 'import json,sys; e=[json.loads(l) for l in sys.stdin if l.strip()]; a=[x["action"] for x in e]; sys.exit(0 if a[-3:]==["block","change","unblock"] and e[-2]["user"].startswith("pbxwall start") else 1)' \
  < <(ctl events --json)

# Following: a block made while `events --follow` runs arrives as a line (bounded: 10 s).
follow_out="$NETNS_TMP/follow.txt"
timeout 10 ip netns exec "$ns" "$PBXWALL" --run-dir "$run" events --follow --json >"$follow_out" 2>&1 &
follower=$!
deadline=$((SECONDS + 8))
until grep -q '"unblock"' "$follow_out" 2>/dev/null || ((SECONDS >= deadline)); do
  timeout 0.2 tail --pid="$follower" -f /dev/null 2>/dev/null || true
done
ctl block 2001:db8::66 --for 2h >/dev/null
until grep -q '2001:db8::66' "$follow_out" 2>/dev/null || ((SECONDS >= deadline)); do
  timeout 0.2 tail --pid="$follower" -f /dev/null 2>/dev/null || true
done
check "events --follow printed the new block" grep -q '"addr":"2001:db8::66"' "$follow_out"
kill "$follower" 2>/dev/null || true
check "status shows the daemon's counts" grep -q "hosts: blocked 1" < <(ctl status)

finish
