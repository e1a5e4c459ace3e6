#!/usr/bin/env bash
# pbxwall owns table inet pbxwall and nothing else: an unrelated table with rules survives
# start, reload, a failed reload and stop byte-identical.
# Usage: other_table.sh PATH_TO_pbxwall
source "$(dirname "$0")/lib.sh"
netns_init "$@"
fw=$(make_ns fw)
cfg="$NETNS_TMP/pbxwall.toml"

in_ns "$fw" nft -f - <<'NFT'
table inet other {
  set friends { type ipv4_addr; flags interval; elements = { 192.0.2.0/28 } }
  chain c {
    type filter hook input priority 10; policy accept;
    ip saddr @friends tcp dport 9 accept
    tcp dport 9 counter drop
  }
}
table ip othernat {
  chain post { type nat hook postrouting priority srcnat; oifname "nothere" masquerade; }
}
NFT
others() { in_ns "$fw" nft list table inet other; in_ns "$fw" nft list table ip othernat; }
before=$(others)

printf '[firewall]\nsafe_mode = false\n[networks]\n"198.51.100.0/24" = "trusted"\n' >"$cfg"
check "start" pbx "$fw" --config "$cfg" start
check "other tables unchanged after start" test "$(others)" == "$before"
printf '[firewall]\nsafe_mode = false\n[networks]\n"203.0.113.0/24" = "local"\n' >"$cfg"
check "reload" pbx "$fw" --config "$cfg" reload
check "our table changed" bash -c "ip netns exec $fw nft list table inet pbxwall | grep -q 203.0.113.0/24"
check "other tables unchanged after reload" test "$(others)" == "$before"
printf '[networks]\n"203.0.113.0/24" = "bogus"\n' >"$cfg"
check "invalid reload refused" bash -c "! ip netns exec $fw $PBXWALL --run-dir $NETNS_TMP/run-$fw --config $cfg reload 2>/dev/null"
check "other tables unchanged after refused reload" test "$(others)" == "$before"
check "stop" pbx "$fw" --config "$cfg" stop
check "our table gone" test -z "$(table_of "$fw")"
check "other tables unchanged after stop" test "$(others)" == "$before"
finish
