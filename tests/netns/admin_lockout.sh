#!/usr/bin/env bash
# The administrator is never locked out, whichever path changes the firewall: an SSH session
# from 198.51.100.5 (a held TCP connection to port 22 of the PBX, with the SSH_CONNECTION that
# sshd would give the shell) runs pbxwall with and without pbxwalld, and SIGHUP reloads.
# Changes that would cut the session are refused; forced ones are rolled back by safe mode,
# also when pbxwalld is killed meanwhile, and without the daemon also when the rollback guard
# is killed. Usage: admin_lockout.sh PATH_TO_pbxwall PATH_TO_pbxwalld
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"
netns_init "$1"
PBXWALLD=$(realpath "${2:?usage: $0 PATH_TO_pbxwall PATH_TO_pbxwalld}")

fw=$(make_ns fw)
admin=$(make_ns admin)
link_ns "$fw" veth-admin "$admin" 198.51.100.5/24 198.51.100.1 2001:db8:5::5/64 2001:db8:5::1
run="$NETNS_TMP/run-$fw"
config="$NETNS_TMP/pbxwall.toml"
trusted_config='[firewall]
safe_mode = true
safe_mode_seconds = 10

[networks]
"198.51.100.0/24" = "trusted"

[web]
enabled = false
'
printf '%s' "$trusted_config" >"$config"

# sshd stands in: a listener on tcp/22 that accepts and holds connections (bounded: 240 s).
timeout 240 ip netns exec "$fw" "$PY" -c '
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 22)); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' >/dev/null 2>&1 &
# A new connection from the admin's machine to port 22 within 2 s.
ssh_reachable() { timeout 3 ip netns exec "$admin" "$PY" -c '
import socket, sys
try:
    socket.create_connection(("198.51.100.1", 22), timeout=2).close()
except OSError:
    sys.exit(1)'; }
wait_until 10 ssh_reachable || { echo "FAIL the port-22 listener did not come up"; exit 1; }

# The admin's shell: SSH_CONNECTION as sshd sets it (client, client port, server, port 22).
as_admin() { SSH_CONNECTION="198.51.100.5 50022 198.51.100.1 22" timeout $T ip netns exec "$fw" \
  "$PBXWALL" --run-dir "$run" --config "$config" "$@"; }
ctl() { timeout $T ip netns exec "$fw" "$PBXWALL" --run-dir "$run" --config "$config" "$@"; }
not() { ! "$@"; }
says() { local pattern=$1; shift; local out; out=$("$@" 2>&1) || true; grep -q -- "$pattern" <<<"$out"; }
config_is_trusted() { grep -q '"198.51.100.0/24" = "trusted"' "$config"; }
table_trusts_admin() { table_of "$fw" | grep -q "198.51.100.0/24"; }

start_daemon() {
  timeout 200 ip netns exec "$fw" "$PBXWALLD" --config "$config" --state "$NETNS_TMP/state/state.db" \
    --run-dir "$run" --housekeeping 1 >>"$NETNS_TMP/pbxwalld.log" 2>&1 &
  daemon_pid=$!
  wait_until 20 bash -c "ip netns exec $fw $PBXWALL --run-dir $run status 2>/dev/null | grep -q 'pbxwalld: running'" || {
    cat "$NETNS_TMP/pbxwalld.log"; echo "FAIL pbxwalld did not start"; exit 1; }
}

# ---- with pbxwalld ---------------------------------------------------------------------------
mkdir -p "$NETNS_TMP/state"
start_daemon
check "the admin reaches port 22 with pbxwalld's table in place" ssh_reachable

out=$(as_admin untrust 198.51.100.0/24 2>&1) && rc=0 || rc=$?
check "untrust of the admin's own network exits 1" test "$rc" -eq 1
check "  and says it would cut the SSH session" grep -q "would cut your SSH session from 198.51.100.5 to tcp/22" <<<"$out"
check "  and how to force it" grep -q -- "--force" <<<"$out"
check "  the file is unchanged" config_is_trusted
check "  new connections to port 22 still work" ssh_reachable

# A file edited by hand, then `pbxwall reload` from the session: refused the same way.
cp "$config" "$NETNS_TMP/kept.toml"
sed -i 's|"198.51.100.0/24" = "trusted"|"192.0.2.0/24" = "local"|' "$config"
out=$(as_admin reload 2>&1) && rc=0 || rc=$?
check "reload of a file that cuts the session is refused" bash -c "[[ $rc -eq 1 ]] && grep -q 'would cut your SSH session' <<<\"\$0\"" "$out"
check "  the running table still trusts the admin" table_trusts_admin
cp "$NETNS_TMP/kept.toml" "$config"

# Forced: applied in safe mode, so it comes back by itself.
out=$(as_admin untrust 198.51.100.0/24 --force 2>&1) && rc=0 || rc=$?
check "untrust --force applies" test "$rc" -eq 0
check "  and says it waits for confirmation" grep -q "pbxwall confirm" <<<"$out"
check "  new connections to port 22 are cut" not ssh_reachable
check "  status shows the pending change" says "waits for .pbxwall confirm." ctl status
check "  rolled back by pbxwalld within the safe-mode time (bounded 25 s)" wait_until 25 config_is_trusted
check "  the table trusts the admin again" wait_until 5 table_trusts_admin
check "  new connections to port 22 work again" wait_until 5 ssh_reachable
check "  the unconfirmed file is kept" grep -q '192.0.2\|\[networks\]' "$config.unconfirmed"
check "  the rollback is in the event log" says "rolled back" ctl events

# Confirmed: it stays.
as_admin trust 203.0.113.0/24 --zone local >/dev/null
check "confirm keeps a change" says confirmed ctl confirm
check "  nothing waits any more" not says "waits for" ctl status

# SIGHUP takes the same path: a hand edit that cuts the admin is rolled back unless confirmed.
sed -i 's|"198.51.100.0/24" = "trusted"|"198.51.100.0/24" = "reject"|' "$config"
kill -HUP "$daemon_pid"
check "SIGHUP applies the edit in safe mode" wait_until 10 not ssh_reachable
check "  and rolls it back unless confirmed (bounded 25 s)" wait_until 25 config_is_trusted
check "  the admin reaches port 22 again" wait_until 5 ssh_reachable

# kill -9 of pbxwalld while a forced change waits: the restart rolls it back.
as_admin untrust 198.51.100.0/24 --force >/dev/null 2>&1
check "forced change waits" says "waits for" ctl status
# The daemon itself, not the `timeout` wrapping it (which cannot pass SIGKILL on).
real_pid=$(pgrep -f "^$PBXWALLD --config $config" | head -1)
kill -9 "$real_pid"
wait_pid_exit "$real_pid" 5 >/dev/null
wait_pid_exit "$daemon_pid" 5 >/dev/null
deadline_file="$NETNS_TMP/state/pending-change.json"
check "  the pending change is kept on disk" test -f "$deadline_file"
deadline_passed() { "$PY" -c 'import json,sys,time; sys.exit(0 if json.load(open(sys.argv[1]))["deadline"] < time.time() else 1)' "$deadline_file"; }
wait_until 15 deadline_passed
start_daemon
check "  after the deadline, the restarted pbxwalld rolls it back" config_is_trusted
check "  and its table trusts the admin" wait_until 5 table_trusts_admin
check "  new connections to port 22 work" wait_until 5 ssh_reachable
ctl stop >/dev/null
kill "$daemon_pid" 2>/dev/null || true
wait_pid_exit "$daemon_pid" 10 >/dev/null

# ---- without pbxwalld ------------------------------------------------------------------------
rm -f "$run/control.sock"
ctl start >/dev/null && ctl confirm >/dev/null
out=$(as_admin untrust 198.51.100.0/24 2>&1) && rc=0 || rc=$?
check "without pbxwalld, untrust of the admin's network is refused too" \
  bash -c "[[ $rc -eq 1 ]] && grep -q 'would cut your SSH session' <<<\"\$0\"" "$out"
check "  the file is unchanged" config_is_trusted

as_admin untrust 198.51.100.0/24 --force >/dev/null 2>&1
g=$(guard_pid "$fw")
t=$(twin_pid "$fw")
check "  a forced change has a guard and its twin" bash -c "[[ $g -gt 0 && $t -gt 0 ]]"
kill -9 "$g"
check "  with the guard killed, its twin rolls back (bounded 25 s)" wait_until 25 table_trusts_admin
check "  the file is back too" config_is_trusted
check "  new connections to port 22 work" wait_until 5 ssh_reachable

as_admin untrust 198.51.100.0/24 --force >/dev/null 2>&1
g=$(guard_pid "$fw")
t=$(twin_pid "$fw")
kill -9 "$g" "$t"
wait_until 25 bash -c "$PY -c 'import sys,time; sys.exit(0 if int(open(\"$run/pending\").read().split()[1]) < time.time() else 1)'"
out=$(ctl status 2>&1)
check "  with both killed, status after the deadline rolls back" table_trusts_admin
check "  and says so" grep -q "rollback guard was gone" <<<"$out"
check "  the file is back" config_is_trusted

[[ $NETNS_FAILURES -gt 0 ]] && tail -30 "$NETNS_TMP/pbxwalld.log"
finish
