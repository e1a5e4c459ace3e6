# shellcheck shell=bash
# The Asterisk 22 test peer: finds it, unpacks it once into a cache directory, writes the
# lab's FreePBX-style configuration (tests/data/asterisk-lab) and runs Asterisk through the
# peer's `run-asterisk` wrapper, in a network namespace or on the host.
#
# The peer is a prebuilt Asterisk tree kept outside the repository, next to it:
#   $PBXWALL_ASTERISK_PEER                 if set (a directory with run-asterisk and the tarball)
#   <repo>/../shared/peers/asterisk        a clone next to `shared`
#   <main checkout>/../shared/peers/asterisk   for a git worktree of such a clone
# The tree is unpacked into $PBXWALL_ASTERISK_CACHE (default /var/tmp/pbxwall-asterisk-peer),
# one directory per tarball checksum, once; later calls reuse it.
#
# Source it (lab.sh does) and call the asterisk_* functions, or run it:
#   tests/lab/asterisk.sh root      prints the unpacked tree (unpacking it if needed); exits 77
#                                   with the reason on stderr when the peer is absent
#   tests/lab/asterisk.sh config DIR   writes the lab configuration into DIR
#
# Functions:
#   asterisk_peer_find           sets ASTERISK_PEER, or returns 1 with ASTERISK_PEER_MISSING
#   asterisk_peer_unpack         sets ASTERISK_ROOT (the unpacked tree), unpacking once
#   asterisk_write_config DIR    copies tests/data/asterisk-lab into DIR
#   asterisk_run CONF STATE ARGS...   run-asterisk ROOT CONF STATE ARGS (foreground, or -rx)
#   asterisk_rx CONF STATE CMD   one CLI command on the instance running on STATE

ASTERISK_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ASTERISK_REPO=$(cd "$ASTERISK_HERE/../.." && pwd)
ASTERISK_TARBALL=asterisk-22-debian12-amd64.tar.zst
ASTERISK_PEER=
ASTERISK_PEER_MISSING=
ASTERISK_ROOT=

# The candidate peer directories, in order.
asterisk_peer_candidates() {
  if [[ -n ${PBXWALL_ASTERISK_PEER:-} ]]; then
    echo "$PBXWALL_ASTERISK_PEER"
    return
  fi
  echo "$ASTERISK_REPO/../shared/peers/asterisk"
  local common
  common=$(git -C "$ASTERISK_REPO" rev-parse --path-format=absolute --git-common-dir 2>/dev/null) || return 0
  [[ $(dirname "$common") == "$ASTERISK_REPO" ]] || echo "$(dirname "$common")/../shared/peers/asterisk"
}

asterisk_peer_find() {
  local dir tried=()
  while read -r dir; do
    if [[ -f $dir/$ASTERISK_TARBALL && -x $dir/run-asterisk ]]; then
      ASTERISK_PEER=$(cd "$dir" && pwd)
      return 0
    fi
    tried+=("$dir")
  done < <(asterisk_peer_candidates)
  ASTERISK_PEER_MISSING="the Asterisk peer ($ASTERISK_TARBALL and run-asterisk) is not in ${tried[*]}"
  ASTERISK_PEER_MISSING+=" (set PBXWALL_ASTERISK_PEER to its directory)"
  return 1
}

# Unpacks the peer's tree once per tarball: CACHE/<sha256 prefix>/asterisk. Concurrent
# callers wait for each other (flock); a half-written tree is never used (unpacked beside,
# then renamed).
asterisk_peer_unpack() {
  [[ -n $ASTERISK_PEER ]] || asterisk_peer_find || return 1
  command -v zstd >/dev/null || { ASTERISK_PEER_MISSING="zstd is missing (run scripts/setup)"; return 1; }
  local cache=${PBXWALL_ASTERISK_CACHE:-/var/tmp/pbxwall-asterisk-peer} sum dir
  sum=$(sha256sum "$ASTERISK_PEER/$ASTERISK_TARBALL" | cut -c1-16)
  dir=$cache/$sum
  if [[ ! -x $dir/asterisk/sbin/asterisk ]]; then
    mkdir -p "$cache"
    (
      flock -w 120 9 || exit 1
      [[ -x $dir/asterisk/sbin/asterisk ]] && exit 0
      rm -rf -- "$dir.tmp"
      mkdir -p "$dir.tmp"
      timeout 120 tar -C "$dir.tmp" --zstd -xf "$ASTERISK_PEER/$ASTERISK_TARBALL" || exit 1
      rm -rf -- "$dir"
      mv "$dir.tmp" "$dir"
    ) 9>"$cache/.lock" || { ASTERISK_PEER_MISSING="cannot unpack $ASTERISK_PEER/$ASTERISK_TARBALL into $dir"; return 1; }
  fi
  ASTERISK_ROOT=$dir/asterisk
}

asterisk_write_config() {
  mkdir -p "$1"
  cp "$ASTERISK_REPO"/tests/data/asterisk-lab/*.conf "$1/"
}

asterisk_run() {
  local conf=$1 state=$2
  shift 2
  "$ASTERISK_ROOT/bin/run-asterisk" "$ASTERISK_ROOT" "$conf" "$state" "$@"
}

asterisk_rx() { asterisk_run "$1" "$2" -rx "$3"; }

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  case ${1:-} in
    root)
      asterisk_peer_unpack || { echo "asterisk.sh: $ASTERISK_PEER_MISSING; skipped" >&2; exit 77; }
      echo "$ASTERISK_ROOT"
      ;;
    config)
      [[ $# -eq 2 ]] || { echo "usage: asterisk.sh config DIR" >&2; exit 2; }
      asterisk_write_config "$2"
      ;;
    *) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
fi
