#!/usr/bin/env bash
# The Debian package, installed as an administrator would: builds it (scripts/package with
# PBXWALL_PREBUILT=BUILD_DIR: the programs of the build tree given, not a second compile),
# installs it with apt-get into a clean Debian 12 root made by debootstrap, inside a network
# namespace, and checks the files, the man pages, `pbxwall --version`, `pbxwall check` on the
# shipped conffile and that nothing was started or firewalled; then runs the installed pbxwalld
# and blocks addresses through it, upgrades to a package with a higher version whose programs
# know one more schema migration (the old package's programs are built without the newest:
# target package_previous_programs), and checks that the conffile edit is kept and that the new
# pbxwalld migrated the database and still lists the blocks; then removes it (table inet
# pbxwall gone, another table untouched) and purges it (configuration and state gone).
# Then boots the same root with systemd (systemd-nspawn, in the namespace) and goes through it
# again under the service manager: the install leaves pbxwalld.service inactive (and a start
# is refused while the configuration says enabled = false, or does not pass `pbxwall check`);
# enabled, started, an upgrade
# restarts it (a new main PID, blocks kept); stopped, an upgrade leaves it stopped; remove
# (table gone, the other untouched) and purge.
#
# The debootstrap root (minbase with systemd) is made once and kept as a tarball in PBXWALL_TEST_CACHE (default
# /var/cache/pbxwall-test); every run unpacks a fresh copy of it. Needs root and a reachable
# Debian mirror (the one apt uses); skips (77) without them.
# Usage: install.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/../netns/lib.sh"
src=$(realpath "${1:?usage: $0 SOURCE_DIR BUILD_DIR}")
build=$(realpath "${2:?usage: $0 SOURCE_DIR BUILD_DIR}")
netns_init "$build/src/cli/pbxwall"
for tool in debootstrap dpkg-buildpackage unshare chroot systemd-nspawn nsenter; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (scripts/setup installs it)"; exit 77; }
done
T=300  # apt-get and dpkg-buildpackage take longer than the harness's default
cache=${PBXWALL_TEST_CACHE:-/var/cache/pbxwall-test}
mirror=${PBXWALL_TEST_MIRROR:-http://deb.debian.org/debian}
root="$NETNS_TMP/root"
mkdir -p "$cache"
phase() { echo "== $* ($SECONDS s)"; }

# chrooted [--netns NS] CMD...: CMD in the root, /proc, /sys and /dev bind-mounted in a mount
# namespace of its own (the mounts vanish with it); in network namespace NS if given.
chrooted() {
  local ns=()
  if [[ $1 == --netns ]]; then ns=(ip netns exec "$2"); shift 2; fi
  timeout $T "${ns[@]}" unshare --mount --propagation private sh -c "$chroot_sh" sh "$root" "$@"
}
chroot_sh='root=$1; shift
  mount --bind /proc "$root/proc" && mount --rbind /sys "$root/sys" && mount --rbind /dev "$root/dev" &&
    exec chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"'

phase "the Debian 12 root"
tarball="$cache/bookworm-minbase-systemd.tar"
if [[ ! -s $tarball ]]; then
  base="$NETNS_TMP/base"
  mkdir -p "$cache/debootstrap"
  # systemd and systemd-sysv to boot the root (the service's part); man-db to ask `man -w`;
  # everything else comes as the package's dependencies.
  if ! timeout 900 debootstrap --variant=minbase --include=systemd,systemd-sysv,man-db --cache-dir="$cache/debootstrap" \
    bookworm "$base" "$mirror" >"$NETNS_TMP/debootstrap.log" 2>&1; then
    tail -5 "$NETNS_TMP/debootstrap.log"
    echo "SKIP: debootstrap from $mirror failed (no mirror reachable?)"
    exit 77
  fi
  root_bak=$root; root=$base
  chrooted apt-get update -q >/dev/null
  chrooted apt-get clean
  root=$root_bak
  tar -C "$base" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  rm -rf "$base"
fi
mkdir -p "$root"
tar -C "$root" -xf "$tarball"

phase "packages from the build tree"
# The first package holds the programs as the previous release was (every schema migration but
# the newest), the second the build tree's own.
cmake --build "$build" --target package_previous_programs >"$NETNS_TMP/previous.log" 2>&1 ||
  { tail -30 "$NETNS_TMP/previous.log"; echo "FAIL: building package_previous_programs"; exit 1; }
# The test installs the programs, not their debug symbols: no -dbgsym package to compress.
export DEB_BUILD_OPTIONS="noautodbgsym nocheck"
dist="$NETNS_TMP/dist"
(cd "$src" && PBXWALL_PREBUILT="$build" PBXWALL_PREBUILT_PROGRAMS="$build/tests/package/previous" PBXWALL_LINTIAN=0 \
  PBXWALL_DIST="$dist" scripts/package) >"$NETNS_TMP/package.log" 2>&1 ||
  { tail -30 "$NETNS_TMP/package.log"; echo "FAIL: scripts/package"; exit 1; }
version=$(cd "$src" && dpkg-parsechangelog -S Version)
(cd "$src" && PBXWALL_PREBUILT="$build" PBXWALL_LINTIAN=0 PBXWALL_DIST="$dist" PBXWALL_PACKAGE_VERSION="$version+1" \
  scripts/package) >>"$NETNS_TMP/package.log" 2>&1 || { tail -30 "$NETNS_TMP/package.log"; echo "FAIL: scripts/package (rebuild)"; exit 1; }
deb=pbxwall_${version}_amd64.deb
deb2=pbxwall_${version}+1_amd64.deb
check "scripts/package left $deb with its .buildinfo and .changes" \
  test -s "$dist/$deb" -a -s "$dist/pbxwall_${version}_amd64.buildinfo" -a -s "$dist/pbxwall_${version}_amd64.changes"
# Not in /tmp: the booted root mounts a tmpfs there.
mkdir -p "$root/srv/dist"
cp "$dist/$deb" "$dist/$deb2" "$root/srv/dist/"

phase "install (dependencies fetched first, then apt-get install inside the namespace)"
# The dependencies' .debs are kept in the cache between runs: apt fetches only what changed.
mkdir -p "$cache/archives" "$root/var/cache/apt/archives"
find "$cache/archives" -maxdepth 1 -name '*.deb' -exec cp -t "$root/var/cache/apt/archives/" {} +
chrooted apt-get update -q >/dev/null
chrooted apt-get install -y -q --download-only "/srv/dist/$deb" >/dev/null
find "$root/var/cache/apt/archives" -maxdepth 1 -name '*.deb' ! -name 'pbxwall_*' -exec cp -t "$cache/archives/" {} +
ns=$(make_ns pkg)
in_ns "$ns" nft add table inet other
in_ns "$ns" nft add chain inet other c '{ type filter hook input priority 10; policy accept; }'
other_before=$(in_ns "$ns" nft list table inet other)
check "apt-get install ./$deb" chrooted --netns "$ns" apt-get install -y -q "/srv/dist/$deb"
for f in /usr/sbin/pbxwall /usr/sbin/pbxwalld /usr/share/pbxwall/web/index.html /lib/systemd/system/pbxwalld.service \
  /lib/systemd/system/pbxwall.service /etc/pbxwall/pbxwall.toml /usr/share/bash-completion/completions/pbxwall \
  /usr/share/doc/pbxwall/copyright /usr/share/doc/pbxwall/changelog.gz /usr/share/doc/pbxwall/example.toml; do
  check "installed $f" test -e "$root$f"
done
check "/var/lib/pbxwall is root's only" test "$(stat -c %a "$root/var/lib/pbxwall")" == 700
check "/etc/pbxwall/pbxwall.toml is a conffile" grep -qx ' /etc/pbxwall/pbxwall.toml [0-9a-f]*' \
  <(chrooted dpkg-query -W -f='${Conffiles}\n' pbxwall)
for page in "8 pbxwall" "8 pbxwalld" "5 pbxwall.toml"; do
  check "man -w $page" chrooted man -w $page
done
check "pbxwall --version" test "$(chrooted pbxwall --version)" == "pbxwall ${version%%[+~-]*}"
check "pbxwalld --version" test "$(chrooted pbxwalld --version)" == "pbxwalld ${version%%[+~-]*}"
check "pbxwall check passes on the shipped conffile" chrooted --netns "$ns" pbxwall check
rc=0; chrooted --netns "$ns" pbxwall check --require-enabled >/dev/null 2>&1 || rc=$?
check "the units' start condition holds the service back (enabled = false)" test "$rc" == 1
check "the install firewalled nothing" bash -c "! ip netns exec $ns nft list table inet pbxwall >/dev/null 2>&1"
check "no process runs in the namespace after the install" test -z "$(ip netns pids "$ns")"
check "the install does not start pbxwalld" bash -c "! grep -q 'deb-systemd-invoke start' '$root/var/lib/dpkg/info/pbxwall.postinst'"
check "pbxwalld.service is enabled (considered at boot)" \
  test -L "$root/etc/systemd/system/multi-user.target.wants/pbxwalld.service"
check "pbxwall.service (the daemon-less alternative) is not enabled" \
  test ! -e "$root/etc/systemd/system/sysinit.target.wants/pbxwall.service"

# daemon_up LOG: runs the installed pbxwalld in the root and the namespace, as pbxwalld.service
# would (its ExecStart), until daemon_down; waits (bounded) until `pbxwall status` sees it.
daemon_up() {
  # Not through chrooted (a function: $! would be the subshell, not timeout, which passes a
  # signal on to pbxwalld, as the exec chain makes it timeout's child).
  timeout $T ip netns exec "$ns" unshare --mount --propagation private sh -c "$chroot_sh" sh "$root" \
    pbxwalld --config /etc/pbxwall/pbxwall.toml --state /var/lib/pbxwall/state.db --run-dir /run/pbxwall >>"$1" 2>&1 &
  daemon_pid=$!
  wait_until 30 daemon_answers ||
    { cat "$1"; echo "FAIL: the installed pbxwalld did not start"; exit 1; }
}
daemon_answers() {
  kill -0 "$daemon_pid" 2>/dev/null && chrooted --netns "$ns" pbxwall status 2>/dev/null | grep -q 'pbxwalld: running'
}
daemon_down() {
  kill "$daemon_pid"
  wait_pid_exit "$daemon_pid" 20
  check "pbxwalld stopped" bash -c "! pgrep -f '^pbxwalld --config /etc/pbxwall/pbxwall.toml' | xargs -r -n1 ip netns identify | grep -qx $ns"
}
# state_json KEY: .state.KEY of `pbxwall status --json`, as the running pbxwalld says.
state_json() {
  chrooted --netns "$ns" pbxwall status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['daemon']['state'].get('$1'))"
}
blocked=(203.0.113.7 198.51.100.23 2001:db8::66)

phase "state written by the installed pbxwalld ($version)"
sed -i 's|^# "192.0.2.0/24" = "local".*|"192.0.2.0/24" = "local"  # edited|; s|^enabled = false |enabled = true  |' \
  "$root/etc/pbxwall/pbxwall.toml"
check "the edited conffile is valid and enabled" chrooted --netns "$ns" pbxwall check --require-enabled
daemon_up "$NETNS_TMP/pbxwalld-old.log"
for a in "${blocked[@]}"; do
  check "pbxwall block $a" chrooted --netns "$ns" pbxwall block "$a" --reason "package upgrade test"
done
old_schema=$(state_json schema)
check "the $version pbxwalld writes schema version $old_schema (one before the newest)" test "$old_schema" -ge 1
daemon_down
check "the state database exists" test -s "$root/var/lib/pbxwall/state.db"
rc=0; chrooted --netns "$ns" pbxwall --no-session-guard stop >/dev/null 2>&1 || rc=$?
check "pbxwall stop removes the table the daemon left (the upgrade runs without it)" test "$rc" == 0

phase "upgrade to $version+1"
check "apt-get install ./$deb2" chrooted --netns "$ns" apt-get install -y -q "/srv/dist/$deb2"
check "the version is $version+1" test "$(chrooted dpkg-query -W -f='${Version}' pbxwall)" == "$version+1"
check "the conffile edit is kept" grep -q '^"192.0.2.0/24" = "local"  # edited' "$root/etc/pbxwall/pbxwall.toml"
check "no .dpkg-dist or .dpkg-old beside it" bash -c "! ls '$root'/etc/pbxwall/*.dpkg-* 2>/dev/null"
daemon_up "$NETNS_TMP/pbxwalld-new.log"
new_schema=$(state_json schema)
check "the $version+1 pbxwalld has schema version $((old_schema + 1)) (was $old_schema, now $new_schema)" \
  test "$new_schema" == $((old_schema + 1))
check "it migrated the database it found (migrated_from $old_schema)" test "$(state_json migrated_from)" == "$old_schema"
check "the migration is in pbxwalld's log" \
  grep -q "was migrated from schema version $old_schema to $new_schema" "$NETNS_TMP/pbxwalld-new.log"
listing=$(chrooted --netns "$ns" pbxwall list blocked)
for a in "${blocked[@]}"; do
  check "the block of $a is kept across the upgrade" grep -q -- "$a" <<<"$listing"
done
check "the blocks are in the new daemon's kernel set" bash -c "ip netns exec $ns nft list table inet pbxwall | grep -q 203.0.113.7"
daemon_down

phase "remove"
check "table inet pbxwall in the namespace (pbxwalld leaves it when it stops)" in_ns "$ns" nft list table inet pbxwall
check "apt-get remove" chrooted --netns "$ns" apt-get remove -y -q pbxwall
check "table inet pbxwall removed" bash -c "! ip netns exec $ns nft list table inet pbxwall >/dev/null 2>&1"
check "table inet other untouched" test "$(in_ns "$ns" nft list table inet other)" == "$other_before"
check "the programs are gone" test ! -e "$root/usr/sbin/pbxwall"
check "the configuration stays after remove" test -e "$root/etc/pbxwall/pbxwall.toml"
check "the state stays after remove" test -e "$root/var/lib/pbxwall/state.db"

phase "purge"
check "apt-get purge" chrooted --netns "$ns" apt-get purge -y -q pbxwall
check "the configuration is gone" test ! -e "$root/etc/pbxwall"
check "the state is gone" test ! -e "$root/var/lib/pbxwall"
check "dpkg knows no pbxwall" bash -c "! chroot '$root' dpkg-query -W pbxwall >/dev/null 2>&1"
check "the enablement symlink is gone" test ! -e "$root/etc/systemd/system/multi-user.target.wants/pbxwalld.service"

# The same root, purged of pbxwall, booted with systemd (systemd-nspawn in the namespace):
# the maintainer scripts as they run on a machine, the service under a real service manager.
phase "booted with systemd: install, upgrades with the service running and stopped, remove, purge"
# A third package with a higher version: the second one repacked.
deb3=pbxwall_${version}+2_amd64.deb
repack="$NETNS_TMP/repack"
dpkg-deb -R "$dist/$deb2" "$repack"
sed -i "s/^Version: .*/Version: $version+2/" "$repack/DEBIAN/control"
dpkg-deb -z1 -b "$repack" "$root/srv/dist/$deb3" >/dev/null
rm -rf "$repack"
timeout 600 systemd-nspawn --quiet --boot --directory="$root" --machine="pbxw-$$" --register=no --keep-unit \
  --network-namespace-path="/run/netns/$ns" --console=passive --capability=CAP_NET_ADMIN \
  >"$NETNS_TMP/boot.log" 2>&1 &
nspawn_pid=$!
# A failing check exits with the root still booted: halt it before the namespace goes.
box_halt() {
  [[ -n ${nspawn_pid:-} ]] && kill -0 "$nspawn_pid" 2>/dev/null || return 0
  kill "$nspawn_pid"; wait_pid_exit "$nspawn_pid" 30 >/dev/null || kill -KILL "$nspawn_pid"
}
trap 'rc=$?; box_halt; (exit $rc); netns_cleanup' EXIT
# timeout, its child systemd-nspawn, its child the root's systemd.
box_init() { local n; n=$(pgrep -P "$nspawn_pid" -x systemd-nspawn) && pgrep -P "$n" -x systemd; }
# boxed CMD...: CMD in the booted root (its namespaces, its systemd as PID 1).
boxed() {
  timeout $T nsenter --target "$box_pid" --mount --uts --ipc --net --pid --root --wd \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"
}
booted() { [[ $(boxed systemctl is-system-running 2>/dev/null) == @(running|degraded) ]]; }
wait_until 30 box_init >/dev/null || { cat "$NETNS_TMP/boot.log"; echo "FAIL: systemd-nspawn did not start systemd"; exit 1; }
box_pid=$(box_init)
wait_until 60 booted || { cat "$NETNS_TMP/boot.log"; boxed systemctl --failed --no-pager || true; echo "FAIL: the root did not boot"; exit 1; }
check "the booted root runs systemd" test -d "/proc/$box_pid/root/run/systemd/system"
state() { boxed systemctl show -P ActiveState pbxwalld.service; }
main_pid() { boxed systemctl show -P MainPID pbxwalld.service; }
is_state() { [[ $(state) == "$1" ]]; }
no_table() { ! ip netns exec "$ns" nft list table inet pbxwall >/dev/null 2>&1; }

check "apt-get install ./$deb under systemd" boxed apt-get install -y -q "/srv/dist/$deb"
check "pbxwalld.service is enabled" test "$(boxed systemctl is-enabled pbxwalld.service)" == enabled
check "pbxwalld.service stays inactive after the install" is_state inactive
boxed systemctl start pbxwalld.service >/dev/null 2>&1 || true
check "started while the configuration says enabled = false, it stays inactive" is_state inactive
check "its start condition failed" test "$(boxed systemctl show -P ConditionResult pbxwalld.service)" == no
check "the journal says why (ExecCondition: pbxwall check --require-enabled)" bash -c \
  "grep -q \"Skipped due to 'exec-condition'\" <<<\"\$1\" && grep -q 'enabled = false: the firewall stays off' <<<\"\$1\"" \
  sh "$(boxed journalctl -u pbxwalld.service --no-pager -o cat)"
check "nothing firewalled by the unconfigured package" no_table

conf="$root/etc/pbxwall/pbxwall.toml"
sed -i 's|^enabled = false |enabled = true  |' "$conf"
cp -p "$conf" "$conf.good"
echo 'this line is not TOML' >>"$conf"
lines=$(wc -l <"$conf")
boxed systemctl start pbxwalld.service >/dev/null 2>&1 || true
check "enabled = true but pbxwall check fails: it stays inactive" is_state inactive
check "the journal names the error (pbxwall.toml:$lines)" \
  grep -q "/etc/pbxwall/pbxwall.toml:$lines" <<<"$(boxed journalctl -u pbxwalld.service --no-pager -o cat)"
check "nothing firewalled by the invalid configuration" no_table
mv "$conf.good" "$conf"
check "systemctl start pbxwalld (enabled = true)" boxed systemctl start pbxwalld.service
check "pbxwalld.service is active (Type=notify: ready)" is_state active
pid_before=$(main_pid)
for a in "${blocked[@]}"; do
  check "pbxwall block $a" boxed pbxwall block "$a" --reason "package upgrade test"
done
check "apt-get install ./$deb2 (an upgrade with the service running)" boxed apt-get install -y -q "/srv/dist/$deb2"
restarted() { is_state active && [[ $(main_pid) != "$pid_before" && $(main_pid) != 0 ]]; }
rc=0; wait_until 30 restarted || rc=$?
check "the upgrade restarted pbxwalld (main PID $pid_before, now $(main_pid)) and it is active" test "$rc" == 0
((rc == 0)) || boxed journalctl -u pbxwalld.service --no-pager -n 40 || true
listing=$(boxed pbxwall list blocked)
for a in "${blocked[@]}"; do
  check "the block of $a is kept across the upgrade" grep -q -- "$a" <<<"$listing"
done
check "the blocks are in the restarted daemon's kernel set" bash -c "ip netns exec $ns nft list table inet pbxwall | grep -q 203.0.113.7"

check "systemctl stop pbxwalld" boxed systemctl stop pbxwalld.service
check "pbxwalld.service is inactive" is_state inactive
check "apt-get install ./$deb3 (an upgrade with the service stopped)" boxed apt-get install -y -q "/srv/dist/$deb3"
check "the version is $version+2" test "$(boxed dpkg-query -W -f='${Version}' pbxwall)" == "$version+2"
check "the upgrade left pbxwalld.service inactive" is_state inactive

check "table inet pbxwall in the namespace (the stopped daemon leaves it)" in_ns "$ns" nft list table inet pbxwall
check "apt-get remove under systemd" boxed apt-get remove -y -q pbxwall
check "table inet pbxwall removed" no_table
check "table inet other untouched" test "$(in_ns "$ns" nft list table inet other)" == "$other_before"
check "apt-get purge under systemd" boxed apt-get purge -y -q pbxwall
check "the configuration and the state are gone" test ! -e "$root/etc/pbxwall" -a ! -e "$root/var/lib/pbxwall"
check "systemd knows no pbxwalld.service" test "$(boxed systemctl show -P LoadState pbxwalld.service)" == not-found
kill "$nspawn_pid"
check "the booted root halts" wait_pid_exit "$nspawn_pid" 30
nspawn_pid=
phase "done"
finish
