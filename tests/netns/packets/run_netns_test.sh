#!/bin/sh
# Runs a namespace test binary with a namespace prefix unique to this run, and deletes any
# namespace with that prefix afterwards, also when the binary crashed before its own cleanup.
prefix="pbxw-pk$$-"
cleanup() {
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${prefix}"); do
    ip netns del "$ns"
  done
}
trap cleanup EXIT INT TERM
PBXWALL_NETNS_PREFIX="$prefix" "$@"
