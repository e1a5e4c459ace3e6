# A PBX host namespace with one client namespace per zone (sourced after lib.sh).
# Each client has its own veth link to the firewall host; addresses are documentation ranges.
#
#   zone      client IPv4       client IPv6        how the firewall knows its zone
#   trusted   198.51.100.10     2001:db8:1::10     [networks] 198.51.100.0/24, 2001:db8:1::/64
#   local     203.0.113.10      2001:db8:2::10     [networks] 203.0.113.0/24, 2001:db8:2::/64
#   other     192.0.2.10        2001:db8:3::10     [networks] 192.0.2.0/26, 2001:db8:3::/64
#   internet  192.0.2.70        2001:db8:4::10     not listed: interface fw-inet is "internet"
#   reject    192.0.2.130       2001:db8:5::10     [networks] 192.0.2.128/26, 2001:db8:5::/64

LAB_ZONES=(trusted local other internet reject)
declare -A LAB_NS LAB_FW4 LAB_FW6 LAB_LABEL
# Probed services: port spec and a short name for tables.
LAB_PORTS=(tcp/22 tcp/80 tcp/81 udp/5060 tcp/5060 udp/4569 udp/10000 tcp/8443 tcp/3306)
LAB_PORT_NAMES=("ssh" "http" "ucp" "sip/udp" "sip/tcp" "iax" "rtp" "crm" "mysql")

lab_config() {
  cat <<'TOML'
# pbxwall sample policy for the zones lab
[firewall]
safe_mode = false

[interfaces]
fw-inet = "internet"

[networks]
"198.51.100.0/24" = "trusted"   # the office
"2001:db8:1::/64" = "trusted"
"203.0.113.0/24" = "local"      # phones on the LAN
"2001:db8:2::/64" = "local"
"192.0.2.0/26" = "other"        # a branch office
"2001:db8:3::/64" = "other"
"192.0.2.128/26" = "reject"     # a network we never want to hear from
"2001:db8:5::/64" = "reject"

[[custom_services]]
name = "crm"
ports = ["tcp/8443"]
zones = ["other"]
TOML
}

# lab_up SERVE_SECONDS: creates the namespaces, writes $LAB_CONFIG, starts the listeners.
lab_up() {
  local serve_seconds=$1
  LAB_FW=$(make_ns fw)
  local i=1 zone
  local -A v4=([trusted]=198.51.100 [local]=203.0.113 [other]=192.0.2 [internet]=192.0.2 [reject]=192.0.2)
  local -A host=([trusted]=10 [local]=10 [other]=10 [internet]=70 [reject]=130)
  local -A gw=([trusted]=1 [local]=1 [other]=1 [internet]=65 [reject]=129)
  local -A plen=([trusted]=24 [local]=24 [other]=26 [internet]=26 [reject]=26)
  local -A ifname=([trusted]=fw-trusted [local]=fw-local [other]=fw-other [internet]=fw-inet [reject]=fw-reject)
  for zone in "${LAB_ZONES[@]}"; do
    LAB_NS[$zone]=$(make_ns "$zone")
    LAB_FW4[$zone]=${v4[$zone]}.${gw[$zone]}
    LAB_FW6[$zone]=2001:db8:$i::1
    link_ns "$LAB_FW" "${ifname[$zone]}" "${LAB_NS[$zone]}" \
      "${v4[$zone]}.${host[$zone]}/${plen[$zone]}" "${LAB_FW4[$zone]}" \
      "2001:db8:$i::10/64" "${LAB_FW6[$zone]}"
    LAB_LABEL[$zone]="${v4[$zone]}.${host[$zone]}, 2001:db8:$i::10"
    i=$((i + 1))
  done
  LAB_CONFIG="$NETNS_TMP/pbxwall.toml"
  lab_config >"$LAB_CONFIG"
  local ready="$NETNS_TMP/listener.out"
  ip netns exec "$LAB_FW" timeout "$serve_seconds" "$PY" "$HERE/probe.py" serve "$serve_seconds" \
    "${LAB_PORTS[@]}" >"$ready" 2>&1 &
  # Wait (bounded) for the listener to report it is listening.
  timeout 10 bash -c "until grep -q ready '$ready'; do sleep 0.05; done" ||
    { echo "listener did not start:"; cat "$ready"; return 1; }
}

# lab_probe ZONE FAMILY(4|6): prints "open"/"closed" per LAB_PORTS entry, space separated.
lab_probe() {
  local zone=$1 family=$2 target
  if [[ $family == 4 ]]; then target=${LAB_FW4[$zone]}; else target=${LAB_FW6[$zone]}; fi
  in_ns "${LAB_NS[$zone]}" "$PY" "$HERE/probe.py" probe "$target" 1.5 "${LAB_PORTS[@]}" |
    awk '{print $2}' | tr '\n' ' ' | sed 's/ $//'
}
