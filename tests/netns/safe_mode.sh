#!/usr/bin/env bash
# Safe mode: an unconfirmed start removes the table again (there was none), an unconfirmed
# reload restores the previous table byte-identical, a confirmed change stays, and the
# rollback guard is detached from the CLI (its own session) so killing the CLI cannot stop it.
# safe_mode_seconds is at its minimum (10 s); the test waits on the guard's exit, bounded.
# Usage: safe_mode.sh PATH_TO_pbxwall
source "$(dirname "$0")/lib.sh"
netns_init "$@"
SECS=10
safe_config() {  # safe_config FILE SAFE(true|false) NETWORK
  printf '[firewall]\nsafe_mode = %s\nsafe_mode_seconds = %d\n[networks]\n"%s" = "trusted"\n' \
    "$2" "$SECS" "$3" >"$1"
}

# Three independent namespaces so the three waits overlap.
ns_none=$(make_ns none)
ns_prev=$(make_ns prev)
ns_conf=$(make_ns conf)
cfg_none="$NETNS_TMP/none.toml"
cfg_prev="$NETNS_TMP/prev.toml"
cfg_conf="$NETNS_TMP/conf.toml"

# 1. No table before: start in safe mode, never confirm.
safe_config "$cfg_none" true 198.51.100.0/24
check "start (safe mode, no table before)" pbx "$ns_none" --config "$cfg_none" start
check "table present right after start" test -n "$(table_of "$ns_none")"
guard=$(guard_pid "$ns_none")
check "guard runs in its own session" test "$(ps -o sid= -p "$guard" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')"
check "guard still waiting after the CLI exited" kill -0 "$guard"

# 2. A table before: reload with a new policy in safe mode, never confirm.
safe_config "$cfg_prev" false 198.51.100.0/24
check "start without safe mode" pbx "$ns_prev" --config "$cfg_prev" start
previous=$(table_of "$ns_prev")
safe_config "$cfg_prev" true 203.0.113.0/24
check "reload (safe mode)" pbx "$ns_prev" --config "$cfg_prev" reload
prev_guard=$(guard_pid "$ns_prev")
check "new policy in force" bash -c "ip netns exec $ns_prev nft list table inet pbxwall | grep -q 203.0.113.0/24"

# 3. Confirmed in time.
safe_config "$cfg_conf" true 192.0.2.0/24
check "start (safe mode) to be confirmed" pbx "$ns_conf" --config "$cfg_conf" start
check "status shows the pending change" bash -c \
  "ip netns exec $ns_conf $PBXWALL --run-dir $NETNS_TMP/run-$ns_conf --config $cfg_conf status | grep -q 'waits for'"
conf_guard=$(guard_pid "$ns_conf")
confirmed=$(table_of "$ns_conf")
check "confirm" pbx "$ns_conf" --config "$cfg_conf" confirm
check "guard exits at once after confirm" timeout 5 tail --pid="$conf_guard" -f /dev/null

check "rollback guard 1 finished" wait_pid_exit "$guard" $((SECS + 20))
check "rollback guard 2 finished" wait_pid_exit "$prev_guard" $((SECS + 20))
check "unconfirmed start: table removed again" test -z "$(table_of "$ns_none")"
check "unconfirmed reload: previous table restored byte-identical" test "$(table_of "$ns_prev")" == "$previous"
check "confirmed change stayed" test "$(table_of "$ns_conf")" == "$confirmed"
check "status reports the rollback" bash -c \
  "ip netns exec $ns_prev $PBXWALL --run-dir $NETNS_TMP/run-$ns_prev --config $cfg_prev status | grep -q 'last rollback: .*restored'"
check "confirm after the rollback says it is too late" bash -c \
  "ip netns exec $ns_none $PBXWALL --run-dir $NETNS_TMP/run-$ns_none --config $cfg_none confirm 2>&1 | grep -q 'too late'"
finish
