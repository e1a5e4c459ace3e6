#!/usr/bin/env bash
# Loss -> restored timing of pbxwalld's table healing (nft flush ruleset, nft delete table,
# nft flush set blocked4), in a scratch network namespace deleted on exit. Needs root and a
# build with pbxwall and pbxwalld.
# Usage: bench/heal/run.sh [build-dir] [--trials N] [--networks N]
#        (--networks N: N separate /30 networks of 198.18.0.0/15 in zone other, a large policy)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-build}
[[ $# -gt 0 ]] && shift
trials=20 networks=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --trials) trials=$2; shift 2 ;;
    --networks) networks=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
cli="$build/src/cli/pbxwall" daemon="$build/src/daemon/pbxwalld"
for bin in "$cli" "$daemon"; do
  [[ -x "$bin" ]] || { echo "build it first: cmake --build $build --target pbxwall pbxwalld" >&2; exit 1; }
done

fw="pbxw-heal$$-fw"
tmp=$(mktemp -d /tmp/pbxwall-heal-XXXXXX)
daemon_pid=""
cleanup() {
  [[ -n "$daemon_pid" ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  ip netns del "$fw" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
ip netns add "$fw"
ip -n "$fw" link set lo up

{
  printf '[firewall]\nsafe_mode = false\n\n[web]\nenabled = false\n\n[networks]\n'
  for ((i = 0; i < networks; i++)); do
    printf '"198.%d.%d.%d/30" = "other"\n' $((18 + i / 16384)) $(((i / 64) % 256)) $(((i % 64) * 4))
  done
} >"$tmp/pbxwall.toml"

timeout 900 ip netns exec "$fw" "$daemon" --config "$tmp/pbxwall.toml" --state "$tmp/state.db" \
  --run-dir "$tmp/run" --reconcile 3600 >"$tmp/pbxwalld.log" 2>&1 &
daemon_pid=$!
ctl() { timeout 10 ip netns exec "$fw" "$cli" --run-dir "$tmp/run" --config "$tmp/pbxwall.toml" "$@"; }
deadline=$((SECONDS + 60))
until ctl status 2>/dev/null | grep -q "pbxwalld: running"; do
  if ((SECONDS >= deadline)) || ! kill -0 "$daemon_pid" 2>/dev/null; then
    cat "$tmp/pbxwalld.log"
    echo "pbxwalld did not start" >&2
    exit 1
  fi
  timeout 0.2 tail --pid="$daemon_pid" -f /dev/null 2>/dev/null || true
done
ctl block 192.0.2.66 --for 1h >/dev/null
# The notifications name the committing process: pbxwalld itself, not the timeout around it.
pbxwalld_pid=""
for p in $(ip netns pids "$fw"); do [[ $(cat "/proc/$p/comm" 2>/dev/null) == pbxwalld ]] && pbxwalld_pid=$p; done
[[ -n "$pbxwalld_pid" ]] || { echo "pbxwalld not found in $fw" >&2; exit 1; }
echo "trials: $trials per scenario; networks in the policy: $networks; load: $(cut -d' ' -f1 /proc/loadavg)"
ip netns exec "$fw" python3 "$here/heal_timing.py" "$pbxwalld_pid" "$trials" 192.0.2.66
echo "daemon: $(grep -c '^<4>restore ' "$tmp/pbxwalld.log") restore events"
