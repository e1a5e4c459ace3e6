#!/usr/bin/env bash
# Fleet figures on a private CrowdSec Local API, in scratch namespaces (deleted on exit):
#  1. startup stream: N decisions imported with cscli, then a pbxwalld starts pulling; the time
#     from its start to all N in its kernel set crowdsec4 (decisions pulled and applied per s);
#  2. push throughput: M `pbxwall block` on PBX A, the time until the LAPI holds them all;
#  3. propagation A -> B: K blocks on A one after the other, each timed until the LAPI holds it
#     and until it is in B's crowdsec4 (median and p99);
#  4. idle pulls: P stream requests (no startup) of C bouncers, C at once, as a fleet pulling
#     every second sends them (the LAPI's pulls per second).
# Needs root, crowdsec and a build with pbxwall and pbxwalld.
# Usage: bench/crowdsec/run.sh [build-dir] [--startup N] [--push M] [--propagation K] [--pull-interval D]
#                              [--pulls P] [--bouncers C] [--hold] [--probe]
# --hold keeps the N startup bans (no `cscli decisions delete --all`): the later parts run with
# B holding them.
set -euo pipefail
build=${1:-build}
[[ $# -gt 0 ]] && shift
startup=100000 push=1000 propagation=50 pull_interval=1s pulls=2000 bouncers=50 hold=0 probe_lapi=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --startup) startup=$2; shift 2 ;;
    --push) push=$2; shift 2 ;;
    --propagation) propagation=$2; shift 2 ;;
    --pull-interval) pull_interval=$2; shift 2 ;;
    --pulls) pulls=$2; shift 2 ;;
    --bouncers) bouncers=$2; shift 2 ;;
    --hold) hold=1; shift ;;
    --probe) probe_lapi=1; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/tests/netns/lib.sh"
netns_init "$build/src/cli/pbxwall"
PBXWALLD=$(realpath "$build/src/daemon/pbxwalld")
source "$root/tests/netns/crowdsec/lapi.sh"
lapi_require
T=120

lapi_ns=$(make_ns lapi)
a_ns=$(make_ns a)
b_ns=$(make_ns b)
link_ns "$lapi_ns" va "$a_ns" 198.51.100.2/30 198.51.100.1 2001:db8:a::2/64 2001:db8:a::1
link_ns "$lapi_ns" vb "$b_ns" 198.51.100.6/30 198.51.100.5 2001:db8:b::2/64 2001:db8:b::1
lapi="$NETNS_TMP/lapi"
lapi_configure "$lapi" 0.0.0.0:8080
lapi_start "$lapi_ns" "$lapi" http://127.0.0.1:8080

for pbx in a b; do
  dir="$NETNS_TMP/$pbx"
  mkdir -p "$dir"
  (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$dir/machine.secret")
  cs "$lapi_ns" "$lapi" machines add "pbx-$pbx" --password "$(cat "$dir/machine.secret")" -f /dev/null >/dev/null 2>&1
  (umask 077 && cs "$lapi_ns" "$lapi" bouncers add "pbxwall-$pbx" -o raw >"$dir/bouncer.key")
  addr=$([[ $pbx == a ]] && echo 198.51.100.1 || echo 198.51.100.5)
  cat >"$dir/pbxwall.toml" <<TOML
[firewall]
safe_mode = false
[web]
enabled = false
[crowdsec]
url = "http://$addr:8080"
bouncer_key_file = "bouncer.key"
machine_id = "pbx-$pbx"
password_file = "machine.secret"
pull_interval = "$pull_interval"
TOML
done
ns_of() { [[ $1 == a ]] && echo "$a_ns" || echo "$b_ns"; }
ctl() { local p=$1; shift; pbx "$(ns_of "$p")" --config "$NETNS_TMP/$p/pbxwall.toml" "$@"; }
declare -A pid
start_pbx() {
  local p=$1
  timeout 900 ip netns exec "$(ns_of "$p")" "$PBXWALLD" --config "$NETNS_TMP/$p/pbxwall.toml" \
    --state "$NETNS_TMP/$p/state.db" --run-dir "$NETNS_TMP/run-$(ns_of "$p")" >>"$NETNS_TMP/$p/pbxwalld.log" 2>&1 &
  pid[$p]=$!
  local deadline=$((SECONDS + 30))
  until ctl "$p" status 2>/dev/null | grep -q "pbxwalld: running"; do
    ((SECONDS < deadline)) || { tail "$NETNS_TMP/$p/pbxwalld.log"; echo "pbxwalld $p did not start"; exit 1; }
    sleep 0.05
  done
}
now_ms() { date +%s%3N; }
kernel_count() { ctl "$1" status --json 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["daemon"]["crowdsec"]["kernel_elements"])' 2>/dev/null || echo -1; }

# 1. The startup stream.
csv="$NETNS_TMP/decisions.csv"
"$PY" - "$startup" >"$csv" <<'PY'
import sys
n = int(sys.argv[1])
print("value,duration,reason")
for i in range(n):
    print(f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255},4h,bench")
PY
t=$(now_ms)
cs "$lapi_ns" "$lapi" decisions import -i "$csv" >/dev/null 2>&1
echo "cscli import of $startup decisions: $(($(now_ms) - t)) ms"
key=$(cat "$NETNS_TMP/b/bouncer.key")
t=$(now_ms)
in_ns "$b_ns" curl -s -o "$NETNS_TMP/stream.json" -H "X-Api-Key: $key" "http://198.51.100.5:8080/v1/decisions/stream?startup=true"
echo "the LAPI's startup stream ($(stat -c %s "$NETNS_TMP/stream.json") bytes): $(($(now_ms) - t)) ms"
# That pull moved the bouncer's last pull: a fresh bouncer for pbxwalld B.
(umask 077 && cs "$lapi_ns" "$lapi" bouncers add pbxwall-b2 -o raw >"$NETNS_TMP/b/bouncer.key")
t=$(now_ms)
start_pbx b
deadline=$((SECONDS + 120))
until (($(kernel_count b) >= startup)); do
  ((SECONDS < deadline)) || { echo "B holds only $(kernel_count b) after 120 s"; break; }
  sleep 0.05
done
ms=$(($(now_ms) - t))
echo "pbxwalld start to $startup bans in crowdsec4: $ms ms ($((startup * 1000 / (ms > 0 ? ms : 1))) decisions/s)"
grep -o "CrowdSec: [0-9]* bans in.*" "$NETNS_TMP/b/pbxwalld.log" | head -1
# The same 100,000 deleted at once (`cscli decisions delete --all`): the time until B's sets
# are empty (one pull carrying 100,000 deletions). kernel_count is -1 while B does not answer.
if ((hold == 0)); then
  t=$(now_ms)
  cs "$lapi_ns" "$lapi" decisions delete --all >/dev/null 2>&1 || true
  echo "cscli decisions delete --all: $(($(now_ms) - t)) ms"
  deadline=$((SECONDS + 300))
  until (($(kernel_count b) == 0)); do
    ((SECONDS < deadline)) || { echo "B still holds $(kernel_count b) after 300 s"; break; }
    sleep 0.1
  done
  echo "delete --all to B's crowdsec4 empty: $(($(now_ms) - t)) ms"
fi

# 2. Push throughput: M blocks queued on A while the LAPI is away, then the time the LAPI
# takes them all once it is back (batches of 250 alerts), from the LAPI's first answer.
start_pbx a
lapi_stop
for i in $(seq 1 "$push"); do
  ctl a block "203.0.$((113 + i / 250)).$((i % 250 + 1))" --for 1h --reason bench >/dev/null
done
pushed() { ctl a status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["daemon"]["crowdsec"]["pushed"])'; }
# A restarts once the LAPI is back: its queue comes from the state database, no back-off waits.
kill "${pid[a]}"
wait_pid_exit "${pid[a]}" 30
lapi_start "$lapi_ns" "$lapi" http://127.0.0.1:8080
t=$(now_ms)
start_pbx a
deadline=$((SECONDS + 180))
until (($(pushed) >= push)); do ((SECONDS < deadline)) || break; sleep 0.05; done
ms=$(($(now_ms) - t))
echo "$push queued blocks accepted by the LAPI $ms ms after pbxwalld A started ($((push * 1000 / (ms > 0 ? ms : 1))) pushes/s, start and login included)"

# 3. Propagation A -> B: each block timed until B holds it in crowdsec4 and, with --probe, also
# until the LAPI holds it (A's push; asked as a bouncer by address, a query that scans the
# decisions: with many held it takes seconds and slows the LAPI, so it is off by default).
# Bounded at 60 s a block.
samples="$NETNS_TMP/propagation.txt"
: >"$samples"
probe=$(cs "$lapi_ns" "$lapi" bouncers add bench-probe -o raw)
in_lapi() { in_ns "$b_ns" curl -s -H "X-Api-Key: $probe" "http://198.51.100.5:8080/v1/decisions?ip=$1" | grep -q '"value"'; }
# B's own answer, given on the thread that commits the pulled bans to the kernel, so after the
# commit: `nft get element` reads the whole set first (5-7 s with 100,000 elements).
on_b() { ctl b list blocked --addr "$1" --origin crowdsec 2>/dev/null | grep -qw -- "$1"; }
for i in $(seq 1 "$propagation"); do
  addr="192.0.2.$i"
  t=$(now_ms)
  ctl a block "$addr" --for 1h --reason bench >/dev/null
  deadline=$((SECONDS + 60)) lapi_ms=
  until on_b "$addr"; do
    ((probe_lapi == 0)) || [[ -n $lapi_ms ]] || ! in_lapi "$addr" || lapi_ms=$(($(now_ms) - t))
    ((SECONDS < deadline)) || {
      echo "$addr not on B after 60 s (in the LAPI after ${lapi_ms:-never} ms); B says:"
      ctl b status | grep crowdsec || true
      tail -5 "$NETNS_TMP/b/pbxwalld.log"
      exit 1
    }
    sleep 0.01
  done
  echo "$(($(now_ms) - t)) ${lapi_ms:-$(($(now_ms) - t))}" >>"$samples"
done
"$PY" - "$samples" "$pull_interval" "$probe_lapi" <<'PY'
import sys
rows = [tuple(int(x) for x in line.split()) for line in open(sys.argv[1])]
def stats(v):
    v = sorted(v)
    return f"median {v[len(v) // 2]} ms, p99 {v[min(len(v) - 1, int(len(v) * 0.99))]} ms, max {v[-1]} ms"
print(f"propagation A -> B over {len(rows)} blocks (pull_interval {sys.argv[2]}): {stats([r[0] for r in rows])}")
if sys.argv[3] == "1":
    print(f"  of which A's push until the LAPI holds it: {stats([r[1] for r in rows])}")
PY

# 4. Idle pulls: the stream's delta requests (no startup) of many bouncers at once, as a fleet
# pulling every second sends them; each names its own bouncer (its key), as pbxwalld does.
if ((pulls > 0)); then
  keys="$NETNS_TMP/pull-keys"
  : >"$keys"
  for i in $(seq 1 "$bouncers"); do
    key=$(cs "$lapi_ns" "$lapi" bouncers add "bench-$i" -o raw)
    echo "$key" >>"$keys"
  done
  mapfile -t key_list <"$keys"
  config="$NETNS_TMP/pulls.curl"
  : >"$config"
  for i in $(seq 1 "$pulls"); do
    key=${key_list[$((i % bouncers))]}
    ((i == 1)) || echo next >>"$config"
    printf 'url = "http://198.51.100.5:8080/v1/decisions/stream"\nheader = "X-Api-Key: %s"\noutput = "/dev/null"\nwrite-out = "%%{http_code} %%{size_download}\\n"\n' "$key" >>"$config"
  done
  # Each bouncer's first request reads the whole stream (an empty one here): once, untimed.
  head -n $((bouncers * 5 - 1)) "$config" >"$config.first"
  in_ns "$b_ns" curl -s --no-progress-meter --parallel --parallel-max "$bouncers" -K "$config.first" >/dev/null 2>&1
  t=$(now_ms)
  answers=$(timeout 300 ip netns exec "$b_ns" curl -s --no-progress-meter --parallel --parallel-max "$bouncers" -K "$config" 2>/dev/null |
    awk '{ codes[$1]++; bytes += $2 } END { for (c in codes) printf " %d answered %s,", codes[c], c; printf " %d bytes in all", bytes }')
  ms=$(($(now_ms) - t))
  echo "$pulls idle stream pulls by $bouncers bouncers, $bouncers at once: $ms ms ($((pulls * 1000 / (ms > 0 ? ms : 1))) pulls/s; answers:$answers)"
fi
