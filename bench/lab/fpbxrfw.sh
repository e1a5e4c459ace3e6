#!/usr/bin/env bash
# FreePBX's responsive firewall (FreePBX/firewall, drivers/Iptables.class.php, chain fpbxrfw)
# rebuilt with iptables `recent` lists for the comparison benchmark, rule for rule in the
# order of FreePBX's chain:
#   1. on WHITELIST within 90 s → accept (FreePBX's daemon adds hosts on AMI SuccessfulAuth;
#      the lab has no AMI, so the list stays empty: no attacker ever authenticates anyway)
#   2. on TEMPWHITELIST within 90 s → accept
#   3. never on TEMPWHITELIST in 24 h and never in REPEAT → put on TEMPWHITELIST, accept
#   4. remove from TEMPWHITELIST; record in REPEAT
#   5. REPEAT ≥ 50 hits in 10 s → ATTACKER (drop, 24 h)
#   6. on ATTACKER within 24 h → drop
#   7. SIGNALLING ≥ 10 hits in 60 s → reject (short block); otherwise record in SIGNALLING
#   8. REPEAT ≥ 100 hits in 24 h → ATTACKER; else accept
# Run inside the PBX's network namespace:
#   fpbxrfw.sh add | delete | blocked ADDR
# `blocked ADDR` succeeds when ADDR is on the ATTACKER list or had a packet rejected by rule 7.
set -euo pipefail
ipt() { timeout 10 iptables -w 5 "$@"; }
day=86400

add() {
  ipt -N fpbxrfw
  ipt -N fpbxknown
  ipt -N fpbxattacker
  ipt -N fpbxshort
  ipt -A INPUT -p udp -m multiport --dports 5060,5061,4569 -j fpbxrfw
  ipt -A INPUT -p tcp -m multiport --dports 5060,5061 -j fpbxrfw
  ipt -A fpbxrfw -m recent --name WHITELIST --rcheck --seconds 90 -j ACCEPT
  ipt -A fpbxrfw -m recent --name TEMPWHITELIST --rcheck --seconds 90 -j ACCEPT
  ipt -A fpbxrfw -m recent --name TEMPWHITELIST --rcheck --seconds "$day" -j fpbxknown
  ipt -A fpbxrfw -m recent --name REPEAT --rcheck --seconds "$day" -j fpbxknown
  ipt -A fpbxrfw -m recent --name TEMPWHITELIST --set -j ACCEPT
  ipt -A fpbxknown -m recent --name TEMPWHITELIST --remove
  ipt -A fpbxknown -m recent --name REPEAT --set
  ipt -A fpbxknown -m recent --name REPEAT --rcheck --seconds 10 --hitcount 50 -j fpbxattacker
  ipt -A fpbxknown -m recent --name ATTACKER --rcheck --seconds "$day" -j DROP
  ipt -A fpbxknown -m recent --name SIGNALLING --rcheck --seconds 60 --hitcount 10 -j fpbxshort
  ipt -A fpbxknown -m recent --name SIGNALLING --set
  ipt -A fpbxknown -m recent --name REPEAT --rcheck --seconds "$day" --hitcount 100 -j fpbxattacker
  ipt -A fpbxknown -j ACCEPT
  ipt -A fpbxattacker -m recent --name ATTACKER --set -j DROP
  ipt -A fpbxshort -m recent --name SHORTBLOCKED --set -j REJECT
}

delete() {
  ipt -D INPUT -p udp -m multiport --dports 5060,5061,4569 -j fpbxrfw 2>/dev/null || true
  ipt -D INPUT -p tcp -m multiport --dports 5060,5061 -j fpbxrfw 2>/dev/null || true
  local chain
  for chain in fpbxrfw fpbxknown fpbxattacker fpbxshort; do
    ipt -F "$chain" 2>/dev/null || true
  done
  for chain in fpbxrfw fpbxknown fpbxattacker fpbxshort; do
    ipt -X "$chain" 2>/dev/null || true
  done
}

blocked() {
  local list
  for list in ATTACKER SHORTBLOCKED; do
    [[ -r /proc/net/xt_recent/$list ]] && grep -q "src=$1 " "/proc/net/xt_recent/$list" && return 0
  done
  return 1
}

case ${1:-} in
  add) add ;;
  delete) delete ;;
  blocked) blocked "$2" ;;
  *) echo "usage: fpbxrfw.sh add | delete | blocked ADDR" >&2; exit 2 ;;
esac
