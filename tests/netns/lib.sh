# Shared harness for the namespace tests (sourced). Every namespace gets a name unique to
# this run (pbxw-<pid>-<role>) and is deleted on exit, whatever the outcome; every command
# that could hang runs under `timeout`. Addresses come only from documentation ranges.
# Usage in a test: source lib.sh; netns_init "$@"; ... ; pass

set -euo pipefail

NETNS_PREFIX="pbxw-$$"
NETNS_TMP=""
NETNS_FAILURES=0
T=10  # seconds any single command may take

netns_cleanup() {
  local rc=$?
  # Rollback guards started by a test hold a namespace open: stop them first.
  if [[ -n "$NETNS_TMP" ]]; then
    for pending in "$NETNS_TMP"/*/pending; do
      [[ -f "$pending" ]] || continue
      local pid
      for pid in $(awk '{print $3, $4}' "$pending"); do
        if [[ "$pid" =~ ^[0-9]+$ && "$pid" -gt 0 ]] && grep -qa __rollback-guard "/proc/$pid/cmdline" 2>/dev/null; then
          kill "$pid" 2>/dev/null || true
        fi
      done
    done
  fi
  # Namespaces are found by this run's prefix: make_ns runs in command substitutions
  # (subshells), so a list kept in a variable would miss them.
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NETNS_PREFIX-" || true); do
    # Listeners started inside the namespace die with it only once they exit.
    local pids
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [[ -n "$pids" ]] && kill $pids 2>/dev/null || true
    ip netns delete "$ns" 2>/dev/null || true
  done
  [[ -n "$NETNS_TMP" ]] && rm -rf "$NETNS_TMP"
  exit "$rc"
}

# netns_init PBXWALL_BINARY: checks prerequisites (skip with 77 when not root), sets $PBXWALL.
netns_init() {
  if [[ $EUID -ne 0 ]]; then
    echo "SKIP: namespace tests need root"
    exit 77
  fi
  for tool in ip nft timeout; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
  done
  PBXWALL=$(realpath "${1:?usage: $0 PATH_TO_pbxwall}")
  [[ -x "$PBXWALL" ]] || { echo "FAIL: $PBXWALL is not executable"; exit 1; }
  PY=/usr/bin/python3
  [[ -x "$PY" ]] || PY=$(command -v python3)
  HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  NETNS_TMP=$(mktemp -d /tmp/pbxwall-netns-XXXXXX)
  trap netns_cleanup EXIT
  trap 'exit 130' INT TERM
  # The tests must not inherit the caller's SSH session (the session guard would trust it).
  unset SSH_CONNECTION SSH_CLIENT PBXWALL_RUN_DIR
}

# make_ns ROLE -> prints the namespace name; loopback up.
make_ns() {
  local ns="$NETNS_PREFIX-$1"
  timeout $T ip netns add "$ns"
  timeout $T ip -n "$ns" link set lo up
  echo "$ns"
}

# link_ns FW_NS FW_IF CLIENT_NS ADDR4/PREFIX FW_ADDR4 ADDR6/PREFIX FW_ADDR6
# A veth pair; the client's side is called eth0.
link_ns() {
  local fw=$1 fwif=$2 client=$3 a4=$4 fw4=$5 a6=$6 fw6=$7
  local p4=${a4#*/} p6=${a6#*/}
  timeout $T ip link add "$fwif" netns "$fw" type veth peer name eth0 netns "$client"
  timeout $T ip -n "$fw" addr add "$fw4/$p4" dev "$fwif"
  timeout $T ip -n "$fw" -6 addr add "$fw6/$p6" dev "$fwif" nodad
  timeout $T ip -n "$fw" link set "$fwif" up
  timeout $T ip -n "$client" addr add "$a4" dev eth0
  timeout $T ip -n "$client" -6 addr add "$a6" dev eth0 nodad
  timeout $T ip -n "$client" link set eth0 up
}

# in_ns NS CMD...: run a command in a namespace, bounded in time.
in_ns() {
  local ns=$1
  shift
  timeout $T ip netns exec "$ns" "$@"
}

# pbx NS ARGS...: run pbxwall in a namespace with this test's run directory.
pbx() {
  local ns=$1
  shift
  timeout $T ip netns exec "$ns" "$PBXWALL" --run-dir "$NETNS_TMP/run-$ns" "$@"
}

table_of() { in_ns "$1" nft list table inet pbxwall 2>/dev/null || true; }

# guard_pid NS: pid of the rollback guard of the namespace's pending change (0 if none).
guard_pid() {
  local pending="$NETNS_TMP/run-$1/pending"
  if [[ -f "$pending" ]]; then awk '{print $3}' "$pending"; else echo 0; fi
}

# twin_pid NS: pid of the guard's twin (0 if none).
twin_pid() {
  local pending="$NETNS_TMP/run-$1/pending"
  if [[ -f "$pending" ]]; then awk '{print ($4 == "" ? 0 : $4)}' "$pending"; else echo 0; fi
}

# wait_until SECONDS COMMAND...: polls COMMAND (every 0.2 s) until it succeeds; false after
# SECONDS. A bounded wait for a condition, not a sleep standing in for one.
wait_until() {
  local limit=$1
  shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    timeout 0.2 tail -f /dev/null 2>/dev/null || true
  done
}

# wait_pid_exit PID SECONDS: waits (bounded) until the process has exited.
wait_pid_exit() {
  local pid=$1 limit=$2
  [[ "$pid" -gt 0 ]] || { echo "no process to wait for"; return 1; }
  local deadline=$((SECONDS + limit))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      echo "process $pid still running after $limit s"
      return 1
    fi
    # Returns as soon as the process exits, or after 1 s to re-check the deadline.
    timeout 1 tail --pid="$pid" -f /dev/null 2>/dev/null || true
  done
}

check() {  # check DESCRIPTION COMMAND...: records a failure instead of stopping
  local what=$1
  shift
  if "$@"; then
    echo "ok   $what"
  else
    echo "FAIL $what"
    NETNS_FAILURES=$((NETNS_FAILURES + 1))
  fi
}

finish() {
  if ((NETNS_FAILURES > 0)); then
    echo "$NETNS_FAILURES check(s) failed"
    exit 1
  fi
  echo "all checks passed"
}

# start_pbxwalld NS CONFIG STATE LOG [ARGS...]: starts $PBXWALLD in NS (ended after 300 s at
# the latest) and waits up to 20 s for `pbxwall status` to say it runs; DAEMON_PID is the
# daemon's pid. Prints the log and exits the test when it does not come up.
start_pbxwalld() {
  local ns=$1 config=$2 state=$3 log=$4
  shift 4
  timeout 300 ip netns exec "$ns" "$PBXWALLD" --config "$config" --state "$state" \
    --run-dir "$NETNS_TMP/run-$ns" "$@" >>"$log" 2>&1 &
  DAEMON_PID=$!
  local deadline=$((SECONDS + 20))
  until pbx "$ns" --config "$config" status 2>/dev/null | grep -q "pbxwalld: running"; do
    if ! kill -0 "$DAEMON_PID" 2>/dev/null || ((SECONDS >= deadline)); then
      cat "$log"
      echo "FAIL pbxwalld did not start in $ns"
      exit 1
    fi
    timeout 0.2 tail --pid="$DAEMON_PID" -f /dev/null 2>/dev/null || true
  done
}

# stop_pbxwalld: ends the daemon start_pbxwalld started (its timeout wrapper passes the signal).
stop_pbxwalld() {
  kill "$DAEMON_PID" 2>/dev/null || true
  wait_pid_exit "$DAEMON_PID" 20
}
