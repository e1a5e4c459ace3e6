#!/usr/bin/env bash
# Many blocks: restart, status, listings, RSS, block lists, block latency with a large policy
# and conntrack during a burst, with pbxwalld in a scratch network namespace deleted on exit.
# Needs root and a build with pbxwall and pbxwalld.
# Usage: bench/scale/run.sh [build-dir] [--sizes "10000 100000 1000000"] [--networks 16000]
#                           [--steps "file latency sizes conntrack"]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-build}
[[ $# -gt 0 ]] && shift
sizes="10000 100000 1000000" networks=16000 steps="file latency sizes conntrack"
while [[ $# -gt 0 ]]; do
  case $1 in
    --sizes) sizes=$2; shift 2 ;;
    --networks) networks=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
cli=$(realpath "$build/src/cli/pbxwall") daemon=$(realpath "$build/src/daemon/pbxwalld")
for bin in "$cli" "$daemon"; do
  [[ -x "$bin" ]] || { echo "build it first: cmake --build $build --target pbxwall pbxwalld" >&2; exit 1; }
done

fw="pbxw-scale$$-fw"
tmp=$(mktemp -d /tmp/pbxwall-scale-XXXXXX)
daemon_pid=""
# stop_daemon: SIGTERM to pbxwalld itself, found among the namespace's processes (not to the
# `timeout` around it, which leaves pbxwalld running with its run directory's lock; and
# start_daemon may have run in a subshell), then waits until it is gone.
stop_daemon() {
  local real p
  real=$(pbxwalld_pid)
  for p in $real; do kill "$p" 2>/dev/null || true; done
  for p in $real $daemon_pid; do timeout 600 tail --pid="$p" -f /dev/null 2>/dev/null || true; done
  for p in $real; do
    if kill -0 "$p" 2>/dev/null; then echo "pbxwalld $p did not stop within 600 s" >&2; exit 1; fi
  done
  daemon_pid=""
  rm -f "$tmp/run/control.sock"
}
# fresh: no database and no table (a table left in the kernel is read back at start).
fresh() {
  rm -f "$tmp/state.db"*
  ip netns exec "$fw" nft delete table inet pbxwall 2>/dev/null || true
}
cleanup() {
  stop_daemon
  ip netns del "$fw" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
ip netns add "$fw"
ip -n "$fw" link set lo up

# write_config NETWORKS: a policy with NETWORKS separate /30s of 198.18.0.0/15 in zone other.
write_config() {
  {
    printf '[firewall]\nsafe_mode = false\n\n[responsive]\nmax_blocked = 2000000\n\n[web]\nenabled = false\n\n[networks]\n'
    for ((i = 0; i < $1; i++)); do
      printf '"198.%d.%d.%d/30" = "other"\n' $((18 + i / 16384)) $(((i / 64) % 256)) $(((i % 64) * 4))
    done
  } >"$tmp/pbxwall.toml"
}
ctl() { timeout 300 ip netns exec "$fw" "$cli" --run-dir "$tmp/run" --config "$tmp/pbxwall.toml" "$@"; }
now() { date +%s.%N; }
since() { "$PY" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$(now)"; }
PY=python3
# start_daemon: launches pbxwalld; sets started_in to the seconds until it answers (its table
# is applied before the control socket opens).
start_daemon() {
  local t0
  t0=$(now)
  timeout 3600 ip netns exec "$fw" "$daemon" --config "$tmp/pbxwall.toml" --state "$tmp/state.db" \
    --run-dir "$tmp/run" --reconcile 3600 >>"$tmp/pbxwalld.log" 2>&1 &
  daemon_pid=$!
  local deadline=$((SECONDS + 600))
  until [[ -S "$tmp/run/control.sock" ]] && ctl status 2>/dev/null | grep -q "pbxwalld: running"; do
    if ((SECONDS >= deadline)) || ! kill -0 "$daemon_pid" 2>/dev/null; then
      tail -20 "$tmp/pbxwalld.log" >&2
      echo "pbxwalld did not start" >&2
      exit 1
    fi
    timeout 0.05 tail --pid="$daemon_pid" -f /dev/null 2>/dev/null || true
  done
  started_in=$(since "$t0")
}
pbxwalld_pid() {
  local p
  for p in $(ip netns pids "$fw"); do [[ $(cat "/proc/$p/comm" 2>/dev/null) == pbxwalld ]] && echo "$p"; done
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$(pbxwalld_pid)/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$(pbxwalld_pid)/stat"; }
status_json() { ctl status --json | "$PY" -c "import json,sys; d=json.load(sys.stdin)['daemon']; print(d$1)"; }
# fill_store N: N blocks in the database: 198.18.0.0/15 (the benchmarking network, 131,072
# addresses) first, then 2001:db8::/32.
fill_store() {
  "$PY" - "$tmp/state.db" "$1" <<'PY'
import sqlite3, sys, time
db, n = sqlite3.connect(sys.argv[1]), int(sys.argv[2])
now = int(time.time() * 1e6)
def addr(i):
    if i < 131072:
        return f"198.{18 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}"
    return f"2001:db8:{(i >> 16) & 0xffff:x}:{i & 0xffff:x}::1"
db.execute("DELETE FROM blocked")
db.executemany("INSERT INTO blocked (address, rule, reason, since_us, until_us, times_blocked) VALUES (?, 'manual', 'bench', ?, ?, 1)",
               ((addr(i), now, now + 86400 * 10**6) for i in range(0, n)))
db.commit()
PY
}
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "load: $(cut -d' ' -f1 /proc/loadavg); nft $(nft --version | awk '{print $2}'); kernel $(uname -r)"

step() { [[ " $steps " == *" $1 "* ]]; }

# ---- block --file: 100,000 addresses into an empty daemon ----------------------------------
write_config 0
start_daemon
empty_rss=$(rss_kb)
stop_daemon
if step file; then
fresh
start_daemon
"$PY" -c "
for i in range(100000): print(f'198.{18 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}  # list')" >"$tmp/list.txt"
t0=$(now)
ctl block --file "$tmp/list.txt" --for 1d --reason "community list" >/dev/null
echo "block --file 100000 addresses: $(since "$t0") s; blocks held $(status_json "['blocks_held']"); RSS empty $empty_rss kB"
stop_daemon
fi

# ---- block latency with and without a large policy ---------------------------------------
for nets in 0 "$networks"; do
  step latency || break
  fresh
  write_config "$nets"
  start_daemon
  for i in $(seq 1 200); do
    s=$(now)
    ctl block "192.0.2.$((i % 250 + 1))" --for 1h >/dev/null
    since "$s"
  done >"$tmp/latency"
  mean=$(ctl status --json | "$PY" -c "import json,sys; h=json.load(sys.stdin)['daemon']['block_latency_seconds']; print(f\"{h['sum'] / h['count'] * 1000:.3f}\")")
  echo "networks $nets: pbxwall block round trip median $(median <"$tmp/latency") s; daemon request-to-commit mean $mean ms; reloads $(status_json "['reloads']")"
  stop_daemon
done

# ---- N blocks in the store ---------------------------------------------------------------
write_config 0
for n in $sizes; do
  step sizes || break
  fresh
  start_daemon  # creates the database
  stop_daemon
  ip netns exec "$fw" nft delete table inet pbxwall 2>/dev/null || true
  fill_store "$n"
  start_daemon
  restart=$started_in
  rss=$(rss_kb)
  held=$(status_json "['blocks_held']")
  t0=$(now); ctl status >/dev/null; status_s=$(since "$t0")
  t0=$(now); ctl list blocked --limit 100 >/dev/null 2>&1; first_page=$(since "$t0")
  t0=$(now); ctl list blocked --json >/dev/null; all_s=$(since "$t0")
  rss_after=$(rss_kb)
  ctl list blocked --json >/dev/null
  rss_after2=$(rss_kb)
  per_block=$(( (rss - empty_rss) * 1024 / n ))
  echo "N=$n: restart to answering $restart s (held $held); status $status_s s; first page $first_page s; all pages $all_s s; RSS $rss kB ($per_block B/block over empty), after listing all $rss_after kB, again $rss_after2 kB"
  stop_daemon
done

# ---- conntrack during a burst of 1,000 blocks ----------------------------------------------
if step conntrack && command -v conntrack >/dev/null; then
  fresh
  write_config 0
  start_daemon
  # 50,000 UDP entries of other hosts, and one of each source about to be blocked.
  "$PY" -c "
for i in range(50000): print(f'-I -p udp -s 198.18.{i >> 8}.{i & 255} -d 203.0.113.1 --sport 5060 --dport 5060 -t 600 -u ASSURED')
for i in range(1000): print(f'-I -p udp -s 198.19.{i >> 8}.{i & 255} -d 203.0.113.1 --sport 5060 --dport 5060 -t 600 -u ASSURED')
" >"$tmp/ct.txt"
  ip netns exec "$fw" sysctl -qw net.netfilter.nf_conntrack_max=262144 2>/dev/null || true
  timeout 300 ip netns exec "$fw" conntrack -R "$tmp/ct.txt" >/dev/null 2>&1 || true
  before=$(ip netns exec "$fw" conntrack -C 2>/dev/null || echo "?")
  ticks0=$(cpu_ticks)
  t0=$(now)
  for i in $(seq 0 999); do echo "ctl block 198.19.$((i >> 8)).$((i & 255)) --for 1h"; done >"$tmp/burst.sh"
  # Blocks one after another as fast as the CLI goes.
  while read -r line; do eval "$line" >/dev/null; done <"$tmp/burst.sh"
  burst_s=$(since "$t0")
  ticks=$(( $(cpu_ticks) - ticks0 ))
  left=$(ip netns exec "$fw" conntrack -L -p udp 2>/dev/null | grep -c "src=198\.19\." || true)
  echo "conntrack burst: 1000 blocks in $burst_s s; daemon CPU $ticks ticks ($(getconf CLK_TCK)/s); entries $before before, blocked sources' entries left $left; other entries $(ip netns exec "$fw" conntrack -C 2>/dev/null)"
  stop_daemon
fi
