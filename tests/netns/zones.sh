#!/usr/bin/env bash
# Per zone and per address family, which services of the PBX host answer a real TCP or UDP
# probe once `pbxwall start` has applied the sample policy, and that before it every port
# answers (so a closed port is the firewall's doing, not a missing listener).
# Usage: zones.sh PATH_TO_pbxwall
source "$(dirname "$0")/lib.sh"
netns_init "$@"
source "$HERE/zone_lab.sh"
lab_up 120

#                ssh    http   ucp    sip/u  sip/t  iax    rtp    crm    mysql
declare -A expected=(
  [trusted]="open open open open open open open open open"
  [local]="open open open open open open open closed closed"
  [other]="closed closed open open open open open open closed"
  [internet]="closed closed closed open open open open closed closed"
  [reject]="closed closed closed closed closed closed closed closed closed"
)
all_open="open open open open open open open open open"

for zone in "${LAB_ZONES[@]}"; do
  check "without firewall, $zone client reaches every port (IPv4)" \
    test "$(lab_probe "$zone" 4)" = "$all_open"
done

check "pbxwall check" pbx "$LAB_FW" --config "$LAB_CONFIG" check
check "pbxwall start" pbx "$LAB_FW" --config "$LAB_CONFIG" start

for zone in "${LAB_ZONES[@]}"; do
  for family in 4 6; do
    got=$(lab_probe "$zone" "$family")
    if [[ "$got" == "${expected[$zone]}" ]]; then
      echo "ok   $zone IPv$family: $got"
    else
      echo "FAIL $zone IPv$family"
      echo "     expected: ${expected[$zone]}"
      echo "     got:      $got"
      NETNS_FAILURES=$((NETNS_FAILURES + 1))
    fi
  done
done

# Moving a client into another zone takes effect through `trust` on the running firewall.
check "trust 192.0.2.130 --zone local" pbx "$LAB_FW" --config "$LAB_CONFIG" trust 192.0.2.130 --zone local
check "reject-zone client now reaches ssh as local" \
  test "$(lab_probe reject 4 | cut -d' ' -f1)" = "open"
check "its IPv6 address is still rejected" test "$(lab_probe reject 6)" = "${expected[reject]}"

check "pbxwall stop" pbx "$LAB_FW" --config "$LAB_CONFIG" stop
check "after stop, internet client reaches ssh again" \
  test "$(lab_probe internet 4 | cut -d' ' -f1)" = "open"

# Session guard: a start from an SSH session of the reject-zone client would cut that
# session, so it is refused and nothing is applied; --force applies it (and cuts it).
out=$(SSH_CONNECTION="2001:db8:5::10 50022 ${LAB_FW6[reject]} 22" timeout $T ip netns exec "$LAB_FW" \
  "$PBXWALL" --run-dir "$NETNS_TMP/run-$LAB_FW" --config "$LAB_CONFIG" start 2>&1) || true
check "start from the reject client's SSH session is refused" \
  grep -q "would cut your SSH session from 2001:db8:5::10 to tcp/22" <<<"$out"
check "  and applies nothing" bash -c "! ip netns exec $LAB_FW nft list table inet pbxwall >/dev/null 2>&1"
check "forced, it applies" bash -c \
  "SSH_CONNECTION='2001:db8:5::10 50022 ${LAB_FW6[reject]} 22' ip netns exec $LAB_FW \
   $PBXWALL --run-dir $NETNS_TMP/run-$LAB_FW --config $LAB_CONFIG start --force >/dev/null 2>&1"
check "the SSH client's new connections over IPv6 are rejected" test "$(lab_probe reject 6)" = "${expected[reject]}"
check "pbxwall stop" pbx "$LAB_FW" --config "$LAB_CONFIG" stop
finish
