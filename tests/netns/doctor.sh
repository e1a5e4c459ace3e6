#!/usr/bin/env bash
# `pbxwall doctor` in namespaces, each with a conflict present: an iptables rule dropping udp
# 5060 (iptables-nft, and iptables-legacy where the kernel has it), ufw's chains with such a
# rule, docker's, fail2ban's and the FreePBX firewall's chains, a firewalld-like nft table
# with a drop policy on input, a catch-all drop, the table missing; and a clean namespace where
# pbxwall's own table is the only one.
# Usage: doctor.sh PATH_TO_pbxwall
source "$(dirname "$0")/lib.sh"
netns_init "$@"
command -v iptables-nft >/dev/null || { echo "SKIP: iptables-nft not installed"; exit 77; }
cfg="$NETNS_TMP/pbxwall.toml"
state="$NETNS_TMP/state"
mkdir -p "$state" "$NETNS_TMP/asterisk"
printf '[firewall]\nsafe_mode = false\n[networks]\n"198.51.100.0/24" = "trusted"\n[web]\nenabled = false\n' >"$cfg"

# doctor NS: the JSON findings; the exit status in $NETNS_TMP/status.
doctor() {
  local rc=0
  pbx "$1" --config "$cfg" --json doctor --state-dir "$state" --asterisk-root "$NETNS_TMP/asterisk" || rc=$?
  echo "$rc" >"$NETNS_TMP/status"
}
# finding JSON SEVERITY CHECK TEXT: a finding of that severity and check whose message has TEXT
# and that says what to do.
finding() {
  "$PY" -c '
import json, sys
doc = json.loads(sys.argv[1])
sys.exit(0 if any(f["severity"] == sys.argv[2] and f["check"] == sys.argv[3] and sys.argv[4] in f["message"]
                  and (f["severity"] == "ok" or f["fix"]) for f in doc["findings"]) else 1)' "$@"
}
status_is() { test "$(cat "$NETNS_TMP/status")" == "$1"; }

# A namespace with pbxwall alone: no other-firewall finding.
clean=$(make_ns clean)
check "start in the clean namespace" pbx "$clean" --config "$cfg" start
out=$(doctor "$clean")
check "clean: no other firewall" finding "$out" ok other-firewall "no other firewall"
check "clean: the table is there" bash -c '! grep -q "not in the kernel" <<<"$1"' _ "$out"
check "clean: no other-firewall error" bash -c '! grep -q "\"check\":\"other-firewall\",[^}]*\"severity\":\"error\"" <<<"$1"' _ "$out"
check "clean: nf_tables works" finding "$out" ok kernel "nf_tables works"

# iptables-nft: a ufw-style rule dropping SIP.
ipt=$(make_ns iptnft)
pbx "$ipt" --config "$cfg" start >/dev/null
in_ns "$ipt" iptables-nft -A INPUT -p udp --dport 5060 -j DROP
out=$(doctor "$ipt")
check "iptables-nft drop of udp 5060 found" finding "$out" error other-firewall "ip filter, chain INPUT (hook input): drops the PBX's ports"
check "iptables-nft: exit status 2" status_is 2

# ufw as it sets itself up on iptables-nft: INPUT jumps to its chains, `ufw deny 5060/udp`
# puts the drop in ufw-user-input.
ufw=$(make_ns ufw)
pbx "$ufw" --config "$cfg" start >/dev/null
for c in ufw-before-input ufw-user-input; do in_ns "$ufw" iptables-nft -N "$c"; done
in_ns "$ufw" iptables-nft -A INPUT -j ufw-before-input
in_ns "$ufw" iptables-nft -A ufw-before-input -j ufw-user-input
in_ns "$ufw" iptables-nft -A ufw-user-input -p udp --dport 5060 -j DROP
out=$(doctor "$ufw")
check "ufw-style drop of udp 5060 in ufw-user-input found" finding "$out" error other-firewall \
  "ip filter, chain ufw-user-input (hook input through chain INPUT, ufw): drops the PBX's ports"
check "ufw: says to disable ufw" bash -c 'grep -q "disable ufw (ufw disable)" <<<"$1"' _ "$out"
check "ufw: exit status 2" status_is 2

# docker's, fail2ban's and the FreePBX firewall's chains beside pbxwall: a warning each; the
# FreePBX firewall's drop of SIP reached from INPUT an error; fail2ban's ban of one address not.
others=$(make_ns others)
pbx "$others" --config "$cfg" start >/dev/null
for c in DOCKER DOCKER-USER f2b-asterisk fpbxfirewall; do in_ns "$others" iptables-nft -N "$c"; done
in_ns "$others" iptables-nft -A FORWARD -j DOCKER-USER
in_ns "$others" iptables-nft -A INPUT -p udp --dport 5060 -j f2b-asterisk
in_ns "$others" iptables-nft -A f2b-asterisk -s 203.0.113.9 -j REJECT
in_ns "$others" iptables-nft -A INPUT -j fpbxfirewall
in_ns "$others" iptables-nft -A fpbxfirewall -p udp --dport 5060 -j DROP
out=$(doctor "$others")
check "docker's chains found" finding "$out" warning other-firewall "docker has tables or chains in nftables"
check "fail2ban's chains found" finding "$out" warning other-firewall "fail2ban has tables or chains in nftables"
check "the FreePBX firewall's chains found" finding "$out" warning other-firewall "the FreePBX firewall has tables or chains"
check "the FreePBX firewall's drop of udp 5060 found" finding "$out" error other-firewall \
  "chain fpbxfirewall (hook input through chain INPUT, the FreePBX firewall): drops the PBX's ports"
check "fail2ban's ban of one address is no error" bash -c '! grep -q "chain f2b-asterisk[^\"]*: drops" <<<"$1"' _ "$out"
check "the FreePBX firewall: says to disable its module" bash -c 'grep -q "fwconsole firewall disable" <<<"$1"' _ "$out"
check "others: exit status 2" status_is 2

# A firewalld-like table: drop policy on the input hook.
fwd=$(make_ns firewalld)
pbx "$fwd" --config "$cfg" start >/dev/null
in_ns "$fwd" nft -f - <<'NFT'
table inet firewalld {
  chain filter_INPUT { type filter hook input priority filter + 10; policy drop; ct state established,related accept; }
}
NFT
out=$(doctor "$fwd")
check "firewalld-like drop policy found" finding "$out" error other-firewall "inet firewalld, chain filter_INPUT (hook input, firewalld): policy drop"
check "firewalld-like: exit status 2" status_is 2

# A catch-all drop in another table, and pbxwall's table missing.
drop=$(make_ns dropall)
in_ns "$drop" nft -f - <<'NFT'
table ip legacyish { chain in { type filter hook input priority 0; policy accept; counter drop; }; }
NFT
out=$(doctor "$drop")
check "catch-all drop found" finding "$out" error other-firewall "ip legacyish, chain in (hook input): drops every packet"
check "missing table found" finding "$out" error daemon "table inet pbxwall is not in the kernel"
check "daemon not running found" finding "$out" warning daemon "pbxwalld is not running"

# iptables-legacy, where the kernel has x_tables (legacy rules are invisible to nft).
if command -v iptables-legacy >/dev/null && in_ns "$drop" iptables-legacy -A INPUT -p udp --dport 5060 -j REJECT 2>/dev/null; then
  out=$(doctor "$drop")
  check "iptables-legacy reject of udp 5060 found" finding "$out" error other-firewall "iptables-legacy chain INPUT: drops the PBX's ports"
else
  echo "skip iptables-legacy (no ip_tables in this kernel)"
fi

# A state directory that is not there, and the text output with its advice.
text=$(pbx "$clean" --config "$cfg" doctor --state-dir "$NETNS_TMP/nothere" --asterisk-root "$NETNS_TMP/asterisk" || true)
check "missing state directory in the text output" grep -q "error   state: $NETNS_TMP/nothere is not writable" <<<"$text"
check "each problem says what to do" grep -q -- "-> create it as root" <<<"$text"
finish
