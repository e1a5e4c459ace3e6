#!/usr/bin/env bash
# A configuration that does not validate is refused with file:line:column and status 2, and
# the ruleset in force stays byte-identical (`nft list table inet pbxwall` before and after).
# Usage: bad_config.sh PATH_TO_pbxwall
source "$(dirname "$0")/lib.sh"
netns_init "$@"
fw=$(make_ns fw)
cfg="$NETNS_TMP/pbxwall.toml"

cat >"$cfg" <<'TOML'
[firewall]
safe_mode = false
[networks]
"198.51.100.0/24" = "trusted"
"203.0.113.0/24" = "local"
TOML
check "start with a valid configuration" pbx "$fw" --config "$cfg" start
before=$(table_of "$fw")
check "table present" test -n "$before"

expect_refused() {  # expect_refused DESCRIPTION EXPECTED_PLACE COMMAND...
  local what=$1 place=$2
  shift 2
  local rc=0
  "$@" >"$NETNS_TMP/out" 2>"$NETNS_TMP/err" || rc=$?
  check "$what: exit status 2" test "$rc" -eq 2
  check "$what: error names $place" grep -q "$place" "$NETNS_TMP/err"
  check "$what: ruleset byte-identical" test "$(table_of "$fw")" == "$before"
}

cp "$cfg" "$cfg.good"
printf '[networks]\n"198.51.100.0/24" = "trusted"\n"203.0.113.0/24" = "nowhere"\n' >"$cfg"
expect_refused "unknown zone, reload" "$cfg:3:" pbx "$fw" --config "$cfg" reload
expect_refused "unknown zone, start" "$cfg:3:" pbx "$fw" --config "$cfg" start
expect_refused "unknown zone, check" "$cfg:3:" pbx "$fw" --config "$cfg" check

printf '[networks]\n"198.51.100.0/24" = "trusted"\n"192.0.2.1/8" = "local"\n' >"$cfg"
expect_refused "bad CIDR" "$cfg:3:" pbx "$fw" --config "$cfg" reload

printf '[[custom_services]]\nname = "crm"\nports = ["tcp/70000"]\nzones = ["local"]\n' >"$cfg"
expect_refused "bad port" "$cfg:3:" pbx "$fw" --config "$cfg" reload

# An edit that would break the file is refused before writing: file and table unchanged.
cp "$cfg.good" "$cfg"
expect_refused "trust into unknown zone" "unknown zone" pbx "$fw" --config "$cfg" trust 192.0.2.9 --zone nowhere
check "configuration file unchanged" cmp -s "$cfg" "$cfg.good"
expect_refused "usage error" "required" pbx "$fw" --config "$cfg" trust
finish
