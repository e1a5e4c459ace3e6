#!/usr/bin/env bash
# Packet -> blocked set latency of pbxwalld, in two scratch network namespaces (deleted on
# exit): fw (pbxwalld, 192.0.2.1) and peer (the scanners, 198.51.100.1-250, 203.0.113.1-250).
# Needs root and a build with pbxwalld and block_latency.
# Usage: bench/block_latency/run.sh [build-dir] [--count N] [--path log|external-queue] [--samples FILE] [--gap-ms MS]
#        [--networks N]   (N <= 16384 separate /30 networks of 198.18.0.0/15 in zone other:
#                          a large policy)
set -euo pipefail
build=${1:-build}
[[ $# -gt 0 ]] && shift
count=300 path=log extra=() networks=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --count) count=$2; shift 2 ;;
    --path) path=$2; shift 2 ;;
    --samples) extra+=(--samples "$2"); shift 2 ;;
    --gap-ms) extra+=(--gap-ms "$2"); shift 2 ;;
    --networks) networks=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
bench="$build/bench/block_latency/block_latency"
daemon="$build/src/daemon/pbxwalld"
for bin in "$bench" "$daemon"; do
  [[ -x "$bin" ]] || { echo "build it first: cmake --build $build --target pbxwalld block_latency" >&2; exit 1; }
done

fw="pbxw-lat$$-fw" peer="pbxw-lat$$-peer"
tmp=$(mktemp -d /tmp/pbxwall-latency-XXXXXX)
daemon_pid=""
cleanup() {
  [[ -n "$daemon_pid" ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  ip netns del "$fw" 2>/dev/null || true
  ip netns del "$peer" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

ip netns add "$fw"
ip netns add "$peer"
ip -n "$fw" link add v0 type veth peer name v1 netns "$peer"
{
  echo "addr add 192.0.2.1/24 dev v0"
  echo "addr add 198.51.100.254/24 dev v0"
  echo "addr add 203.0.113.254/24 dev v0"
  echo "link set lo up"
  echo "link set v0 up"
} | ip -n "$fw" -batch -
{
  echo "addr add 192.0.2.2/24 dev v1"
  for i in $(seq 1 250); do echo "addr add 198.51.100.$i/24 dev v1"; echo "addr add 203.0.113.$i/24 dev v1"; done
  echo "link set lo up"
  echo "link set v1 up"
} | ip -n "$peer" -batch -

cat >"$tmp/pbxwall.toml" <<TOML
[firewall]
safe_mode = false

[responsive]
packet_path = "$path"
queue_num = 4

[web]
enabled = false
TOML
if ((networks > 0)); then
  echo "[networks]" >>"$tmp/pbxwall.toml"
  # One /30 every 8 addresses, so that none merge into a larger range (at most 16,384).
  for ((i = 0; i < networks && i < 16384; i++)); do
    echo "\"198.$((18 + i / 8192)).$(((i / 32) % 256)).$(((i % 32) * 8))/30\" = \"other\""
  done >>"$tmp/pbxwall.toml"
fi
if [[ "$path" == external-queue ]]; then
  ip netns exec "$fw" iptables-nft -A INPUT -p udp --dport 5060 -j NFQUEUE --queue-num 4 --queue-bypass
fi

timeout 600 ip netns exec "$fw" "$daemon" --config "$tmp/pbxwall.toml" --state "$tmp/state.db" \
  --run-dir "$tmp/run" >"$tmp/pbxwalld.log" 2>&1 &
daemon_pid=$!
if ! grep -m1 -q "responsive packet path" < <(timeout 20 tail -n +1 -f "$tmp/pbxwalld.log"); then
  cat "$tmp/pbxwalld.log" >&2
  echo "pbxwalld did not start" >&2
  exit 1
fi
grep -o "responsive packet path: .*" "$tmp/pbxwalld.log"
timeout 1200 "$bench" --fw-ns "$fw" --peer-ns "$peer" --count "$count" "${extra[@]}"
# The daemon's own view (metrics): how long its set commits took, and from a blocking packet's
# kernel timestamp (else the time it was read) to the commit.
ip netns exec "$fw" "${PYTHON:-python3}" - "$tmp/run/control.sock" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(b'{"cmd": "metrics"}\n')
data = b""
while not data.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
metrics = json.loads(data)
for key, what in (("set_update_seconds", "daemon set commits"),
                  ("block_latency_seconds", "daemon's own packet -> commit of blocks")):
    m = metrics.get(key)
    if m is None:
        continue
    buckets = ", ".join(f"<= {le * 1000:g} ms: {n}" for le, n in m["buckets"][:5])
    print(f"{what}: {m['count']}, mean {m['sum'] / max(m['count'], 1) * 1e6:.0f} us; {buckets}")
PY
