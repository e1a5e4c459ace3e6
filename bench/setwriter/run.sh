#!/bin/sh
# Runs setwriter_bench in a scratch network namespace (deleted on exit). Needs root.
# Usage: bench/setwriter/run.sh [build-dir] [--elements N] [--process-elements N]
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
bin="$build/bench/setwriter/setwriter_bench"
[ -x "$bin" ] || { echo "build it first: cmake --build $build --target setwriter_bench" >&2; exit 1; }
ns="pbxw-bench-$$"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT INT TERM
ip netns add "$ns"
timeout 3600 ip netns exec "$ns" "$bin" "$@"
