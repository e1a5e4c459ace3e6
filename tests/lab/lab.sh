# shellcheck shell=bash
# shellcheck disable=SC2034  # the LAB_* variables are for the scripts that source this file
# Network-namespace lab: a PBX (Kamailio registrar, or Asterisk: LAB_PBX=asterisk), two phones (sipp) and attackers
# (SIPVicious), on documentation addresses only. Source this file from a bash script running
# as root, call lab_up, then the lab_* functions below; everything is removed on exit
# (lab_cleanup runs from an EXIT trap, also after an error or an interrupt).
#
# Hosts (one namespace each) and their addresses:
#   pbx        203.0.113.1    2001:db8:1::1     Kamailio on UDP and TCP 5060, v4 and v6
#   phonea     198.51.100.10  2001:db8:2::10    registers with the right password (user 300)
#   phoneb     198.51.100.11  2001:db8:2::11    registers with a wrong password (user 333)
#   attacker   192.0.2.66                       svmap, svwar, svcrack over IPv4
#   attacker6                 2001:db8:3::66    the same tools over IPv6
# A router namespace `net` joins them: one bridge per subnet holding the gateway
# addresses (.254 and ::fe), forwarding between subnets without address translation, so the
# PBX sees every host's own address.
#
# Every command runs under `timeout`; background processes are recorded and killed by pid.

LAB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=asterisk.sh
source "$LAB_HERE/asterisk.sh"
# The PBX in the pbx namespace: kamailio (tests/lab/kamailio.cfg) or asterisk (the Asterisk 22
# peer with tests/data/asterisk-lab, see asterisk.sh); lab_start_pbx starts the one chosen.
LAB_PBX=${LAB_PBX:-kamailio}
LAB_PREFIX=${LAB_PREFIX:-pbxlab$$}
LAB_DIR=${LAB_DIR:-}
LAB_KEEP_DIR=${LAB_KEEP_DIR:-0}
# More Kamailio command-line arguments, e.g. (-A NONCE_EXPIRE=5) for nonces that go stale.
LAB_KAMAILIO_ARGS=("${LAB_KAMAILIO_ARGS[@]}")
LAB_NAMESPACES=()
LAB_PIDS=()
LAB_KAMAILIO_PID=
LAB_ASTERISK_PID=
LAB_ASTERISK_CONF=
LAB_ASTERISK_STATE=
LAB_CAPTURE_PID=

LAB_PBX4=203.0.113.1
LAB_PBX6=2001:db8:1::1
LAB_PHONEA4=198.51.100.10
LAB_PHONEB4=198.51.100.11
LAB_ATTACKER4=192.0.2.66
LAB_ATTACKER6=2001:db8:3::66

# Users known to the registrar (tests/lab/kamailio.cfg holds the same table).
LAB_USER_A=300 LAB_PASSWORD_A=phone-300-secret
LAB_USER_CRACK=301 LAB_PASSWORD_CRACK=swordfish
LAB_USER_B=333 LAB_PASSWORD_B_WRONG=phone-333-typo
# Asterisk only (iax.conf): the IAX2 friend.
LAB_USER_IAX=400 LAB_PASSWORD_IAX=iax-400-secret

lab_log() { printf '[lab %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
lab_die() { lab_log "error: $*"; exit 1; }

# Namespace name of a lab host.
lab_ns() { printf '%s-%s' "$LAB_PREFIX" "$1"; }

# Runs a command in a host's namespace, bounded: lab_exec HOST SECONDS CMD...
lab_exec() {
  local host=$1 seconds=$2
  shift 2
  timeout -k 2 "$seconds" ip netns exec "$(lab_ns "$host")" "$@"
}

# Starts a bounded command in a host's namespace in the background and records its pid:
# lab_spawn HOST SECONDS LOGFILE CMD...  (sets LAB_LAST_PID)
lab_spawn() {
  local host=$1 seconds=$2 logfile=$3
  shift 3
  timeout -k 2 "$seconds" ip netns exec "$(lab_ns "$host")" "$@" >"$logfile" 2>&1 &
  LAB_LAST_PID=$!
  LAB_PIDS+=("$LAB_LAST_PID")
}

# Waits until a command succeeds, at most SECONDS: lab_wait_for SECONDS WHAT CMD...
lab_wait_for() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { lab_log "timed out after ${seconds}s waiting for $what"; return 1; }
    sleep 0.1
  done
}

lab_require() {
  [[ ${EUID} -eq 0 ]] || lab_die "must run as root (network namespaces)"
  local tool pbx_tool=kamailio
  case $LAB_PBX in
    kamailio) ;;
    asterisk)
      pbx_tool=
      asterisk_peer_unpack || lab_die "$ASTERISK_PEER_MISSING"
      ;;
    *) lab_die "LAB_PBX=$LAB_PBX: the lab runs kamailio or asterisk" ;;
  esac
  for tool in ip timeout $pbx_tool sipp tcpdump svmap svwar svcrack; do
    command -v "$tool" >/dev/null || lab_die "missing $tool (run scripts/setup)"
  done
}

# Creates one namespace and remembers it for cleanup.
lab_add_ns() {
  local ns
  ns=$(lab_ns "$1")
  timeout 10 ip netns add "$ns" || lab_die "cannot create namespace $ns"
  LAB_NAMESPACES+=("$ns")
  timeout 5 ip -n "$ns" link set lo up
}

# Creates the bridge of a subnet in the router namespace with its gateway addresses.
lab_add_lan() {
  local lan=$1 gw4=$2 gw6=$3 net
  net=$(lab_ns net)
  timeout 5 ip -n "$net" link add "br-$lan" type bridge
  [[ -z $gw4 ]] || timeout 5 ip -n "$net" addr add "$gw4" dev "br-$lan"
  [[ -z $gw6 ]] || timeout 5 ip -n "$net" addr add "$gw6" dev "br-$lan" nodad
  timeout 5 ip -n "$net" link set "br-$lan" up
}

# Connects a host to a subnet's bridge: lab_add_host HOST LAN ADDR4/LEN GW4 ADDR6/LEN GW6
lab_add_host() {
  local host=$1 lan=$2 addr4=$3 gw4=$4 addr6=$5 gw6=$6 ns net
  ns=$(lab_ns "$host")
  net=$(lab_ns net)
  lab_add_ns "$host"
  timeout 5 ip -n "$net" link add "v-$host" type veth peer name eth0 netns "$ns"
  timeout 5 ip -n "$net" link set "v-$host" master "br-$lan" up
  timeout 5 ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.accept_dad=0 net.ipv6.conf.eth0.accept_ra=0
  if [[ -n $addr4 ]]; then
    timeout 5 ip -n "$ns" addr add "$addr4" dev eth0
  fi
  if [[ -n $addr6 ]]; then
    timeout 5 ip -n "$ns" addr add "$addr6" dev eth0 nodad
  fi
  timeout 5 ip -n "$ns" link set eth0 up
  [[ -z $gw4 ]] || timeout 5 ip -n "$ns" route add default via "$gw4"
  [[ -z $gw6 ]] || timeout 5 ip -n "$ns" -6 route add default via "$gw6"
}

# Builds the namespaces and the network; installs the cleanup trap.
lab_up() {
  lab_require
  trap lab_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if [[ -z $LAB_DIR ]]; then
    LAB_DIR=$(mktemp -d /tmp/pbxlab.XXXXXX)
  else
    mkdir -p "$LAB_DIR"
  fi
  lab_log "building namespaces ${LAB_PREFIX}-* (work dir $LAB_DIR)"
  lab_add_ns net
  timeout 5 ip netns exec "$(lab_ns net)" sysctl -qw net.ipv4.ip_forward=1 \
    net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.send_redirects=0
  lab_add_lan pbx 203.0.113.254/24 2001:db8:1::fe/64
  lab_add_lan phones 198.51.100.254/24 2001:db8:2::fe/64
  lab_add_lan attackers 192.0.2.254/24 2001:db8:3::fe/64
  lab_add_host pbx pbx "$LAB_PBX4/24" 203.0.113.254 "$LAB_PBX6/64" 2001:db8:1::fe
  lab_add_host phonea phones "$LAB_PHONEA4/24" 198.51.100.254 2001:db8:2::10/64 2001:db8:2::fe
  lab_add_host phoneb phones "$LAB_PHONEB4/24" 198.51.100.254 2001:db8:2::11/64 2001:db8:2::fe
  lab_add_host attacker attackers "$LAB_ATTACKER4/24" 192.0.2.254 "" ""
  lab_add_host attacker6 attackers "" "" "$LAB_ATTACKER6/64" 2001:db8:3::fe
}

# Kills recorded background processes, then whatever still runs in the lab's namespaces,
# then deletes the namespaces (which removes their interfaces).
lab_cleanup() {
  local rc=$? pid ns deadline
  local -a pids
  trap - EXIT INT TERM
  for pid in "${LAB_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for ns in "${LAB_NAMESPACES[@]}"; do
    mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null || true)
    ((${#pids[@]} == 0)) || kill -TERM "${pids[@]}" 2>/dev/null || true
  done
  deadline=$((SECONDS + 5))
  for ns in "${LAB_NAMESPACES[@]}"; do
    while [[ -n $(ip netns pids "$ns" 2>/dev/null) ]] && ((SECONDS < deadline)); do
      sleep 0.1
    done
    mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null || true)
    ((${#pids[@]} == 0)) || kill -KILL "${pids[@]}" 2>/dev/null || true
  done
  for pid in "${LAB_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  for ns in "${LAB_NAMESPACES[@]}"; do
    timeout 10 ip netns del "$ns" 2>/dev/null || lab_log "could not delete namespace $ns"
  done
  LAB_NAMESPACES=()
  LAB_PIDS=()
  if [[ -n $LAB_DIR && $LAB_KEEP_DIR != 1 ]]; then
    rm -rf -- "$LAB_DIR"
  elif [[ -n $LAB_DIR ]]; then
    lab_log "lab logs kept in $LAB_DIR"
  fi
  exit "$rc"
}

# Starts the registrar in the pbx namespace (UDP and TCP 5060, v4 and v6) for at most
# SECONDS and waits until its sockets listen.
lab_start_kamailio() {
  local seconds=${1:-600}
  mkdir -p "$LAB_DIR/kamailio"
  lab_spawn pbx "$seconds" "$LAB_DIR/kamailio.log" \
    kamailio -DD -E -f "$LAB_HERE/kamailio.cfg" -Y "$LAB_DIR/kamailio" \
    -P "$LAB_DIR/kamailio/kamailio.pid" -m 64 -M 8 "${LAB_KAMAILIO_ARGS[@]}" \
    -l "udp:$LAB_PBX4:5060" -l "tcp:$LAB_PBX4:5060" \
    -l "udp:[$LAB_PBX6]:5060" -l "tcp:[$LAB_PBX6]:5060"
  LAB_KAMAILIO_PID=$LAB_LAST_PID
  lab_wait_for 15 "Kamailio to listen" lab_kamailio_listening ||
    { cat "$LAB_DIR/kamailio.log" >&2; lab_die "Kamailio did not start"; }
  lab_log "Kamailio listening on $LAB_PBX4 and [$LAB_PBX6] port 5060 (udp, tcp)"
  # A TCP connection from each host proves the routes (the lab has no ping).
  local host
  for host in phonea phoneb attacker; do
    lab_wait_for 10 "$host to reach the PBX" lab_tcp_reaches "$host" "$LAB_PBX4"
  done
  lab_wait_for 10 "attacker6 to reach the PBX" lab_tcp_reaches attacker6 "$LAB_PBX6"
}

# Starts the PBX chosen by LAB_PBX for at most SECONDS; returns when it serves.
lab_start_pbx() {
  case $LAB_PBX in
    kamailio) lab_start_kamailio "$@" ;;
    asterisk) lab_start_asterisk "$@" ;;
  esac
}

# Starts Asterisk in the pbx namespace with the lab configuration (PJSIP on UDP and TCP 5060,
# v4 and v6; IAX2 on UDP 4569; AMI on 127.0.0.1:5038 of the namespace) for at most SECONDS,
# and waits until it is fully booted and listening.
lab_start_asterisk() {
  local seconds=${1:-600}
  LAB_ASTERISK_CONF=$LAB_DIR/asterisk-etc
  LAB_ASTERISK_STATE=$LAB_DIR/ast
  asterisk_write_config "$LAB_ASTERISK_CONF"
  # A capture may change the configuration first: LAB_ASTERISK_CONFIG_HOOK names a command
  # called with the configuration directory.
  [[ -z ${LAB_ASTERISK_CONFIG_HOOK:-} ]] || "$LAB_ASTERISK_CONFIG_HOOK" "$LAB_ASTERISK_CONF"
  # The host's name servers are out of the lab's reach: Asterisk's start-up lookups would wait
  # for their timeouts (about 10 s). Its own mount namespace sees a resolv.conf pointing at the
  # pbx namespace's loopback, where nothing listens, so they fail at once.
  printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$LAB_DIR/resolv.conf"
  # shellcheck disable=SC2016  # $0 and $@ are expanded by the inner sh
  lab_spawn pbx "$seconds" "$LAB_DIR/asterisk.log" unshare --mount --propagation private \
    sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$LAB_DIR/resolv.conf" \
    "$ASTERISK_ROOT/bin/run-asterisk" "$ASTERISK_ROOT" "$LAB_ASTERISK_CONF" "$LAB_ASTERISK_STATE"
  LAB_ASTERISK_PID=$LAB_LAST_PID
  lab_wait_for 30 "Asterisk to boot" lab_asterisk_rx "core waitfullybooted" ||
    { cat "$LAB_DIR/asterisk.log" >&2; lab_die "Asterisk did not start"; }
  lab_wait_for 15 "Asterisk to listen" lab_asterisk_listening ||
    { cat "$LAB_DIR/asterisk.log" >&2; lab_die "Asterisk does not listen on 5060 and 4569"; }
  lab_log "Asterisk $(lab_asterisk_rx "core show version" | awk '{print $2; exit}') listening on" \
    "$LAB_PBX4 and [$LAB_PBX6] port 5060 (udp, tcp), IAX2 udp 4569, AMI 127.0.0.1:5038"
  local host
  for host in phonea phoneb attacker; do
    lab_wait_for 10 "$host to reach the PBX" lab_tcp_reaches "$host" "$LAB_PBX4"
  done
  lab_wait_for 10 "attacker6 to reach the PBX" lab_tcp_reaches attacker6 "$LAB_PBX6"
}

# One Asterisk CLI command on the lab's Asterisk: lab_asterisk_rx COMMAND
lab_asterisk_rx() {
  lab_exec pbx 10 "$ASTERISK_ROOT/bin/run-asterisk" "$ASTERISK_ROOT" "$LAB_ASTERISK_CONF" \
    "$LAB_ASTERISK_STATE" -rx "$1"
}

lab_asterisk_listening() {
  (($(lab_exec pbx 5 ss -Hlnu 'sport = :5060' | wc -l) >= 2)) || return 1
  (($(lab_exec pbx 5 ss -Hlnt 'sport = :5060' | wc -l) >= 2)) || return 1
  (($(lab_exec pbx 5 ss -Hlnu 'sport = :4569' | wc -l) >= 1)) || return 1
  (($(lab_exec pbx 5 ss -Hlnt 'sport = :5038' | wc -l) >= 1))
}

# Succeeds when HOST can open a TCP connection to ADDR port 5060.
lab_tcp_reaches() {
  # shellcheck disable=SC2016  # $0 is expanded by the inner bash
  lab_exec "$1" 3 bash -c 'exec 3<>"/dev/tcp/$0/5060"' "$2"
}

lab_kamailio_listening() {
  local listening
  listening=$(lab_exec pbx 5 ss -Hlnu 'sport = :5060' | wc -l)
  ((listening >= 2)) || return 1
  listening=$(lab_exec pbx 5 ss -Hlnt 'sport = :5060' | wc -l)
  ((listening >= 2))
}

# Lines Kamailio logged for authentication failures so far.
lab_auth_failures() {
  if [[ $LAB_PBX == asterisk ]]; then
    grep -c -E "failed for '|failed MD5 authentication|No registration for peer" \
      "$LAB_ASTERISK_STATE/log/messages" 2>/dev/null || true
  else
    grep -c 'auth failed' "$LAB_DIR/kamailio.log" || true
  fi
}

# Captures SIP traffic on the PBX's interface into FILE for at most SECONDS; returns once
# tcpdump is listening.
lab_start_capture() {
  local file=$1 seconds=$2
  lab_spawn pbx "$seconds" "$LAB_DIR/tcpdump.log" \
    tcpdump -i eth0 -n -U -s 0 -w "$file" 'port 5060 or port 5061 or port 4569 or (ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] == 44)'
  LAB_CAPTURE_PID=$LAB_LAST_PID
  lab_wait_for 10 "tcpdump to listen" grep -q 'listening on' "$LAB_DIR/tcpdump.log" ||
    { cat "$LAB_DIR/tcpdump.log" >&2; lab_die "tcpdump did not start"; }
}

# Stops the capture started last: waits until tcpdump has written every packet its filter
# accepted (on SIGUSR1 it prints how many packets it captured and how many its filter
# received: equal once the kernel's queue is drained; at most 15 s), then ends tcpdump and
# waits for it to exit. A TERM earlier would lose the packets still queued.
lab_stop_capture() {
  [[ -n $LAB_CAPTURE_PID ]] || return 0
  local tcpdump deadline=$((SECONDS + 15)) captured received
  tcpdump=$(pgrep -P "$LAB_CAPTURE_PID" -x tcpdump || true)
  while [[ -n $tcpdump ]] && ((SECONDS < deadline)); do
    kill -USR1 "$tcpdump" 2>/dev/null || break
    sleep 0.3
    # SIGUSR1's line: "tcpdump: N packets captured, M packets received by filter, ..."
    captured=$(sed -nE 's/^tcpdump: ([0-9]+) packets captured, .*/\1/p' "$LAB_DIR/tcpdump.log" | tail -1)
    received=$(sed -nE 's/.* ([0-9]+) packets received by filter.*/\1/p' "$LAB_DIR/tcpdump.log" | tail -1)
    [[ -n $captured && $captured == "$received" ]] && break
  done
  # timeout forwards the TERM to tcpdump, which writes out what it has and exits.
  kill -TERM "$LAB_CAPTURE_PID" 2>/dev/null || true
  wait "$LAB_CAPTURE_PID" 2>/dev/null || true
  LAB_CAPTURE_PID=
  grep -E 'packets (captured|received|dropped)' "$LAB_DIR/tcpdump.log" | tail -3 >&2 || true
}

# Starts a phone (sipp) that registers every INTERVAL seconds, for at most SECONDS:
# lab_start_phone HOST USER PASSWORD INTERVAL SECONDS [TRANSPORT u1|t1]
lab_start_phone() {
  local host=$1 user=$2 password=$3 interval=$4 seconds=$5 transport=${6:-u1} addr csv
  case $host in
    phonea) addr=$LAB_PHONEA4 ;;
    phoneb) addr=$LAB_PHONEB4 ;;
    *) lab_die "no phone on host $host" ;;
  esac
  csv="$LAB_DIR/$host.csv"
  printf 'SEQUENTIAL\n%s;%s;%d\n' "$user" "$password" "$((interval * 1000))" >"$csv"
  lab_spawn "$host" "$seconds" "$LAB_DIR/$host.sipp.log" \
    sipp -sf "$LAB_HERE/sipp/phone-register.xml" -inf "$csv" -t "$transport" \
    -i "$addr" -p 5060 -m 1 -nostdin -trace_msg -message_file "$LAB_DIR/$host.messages" \
    -trace_err -error_file "$LAB_DIR/$host.errors" "$LAB_PBX4:5060"
  lab_log "phone $host: user $user, registers every ${interval}s over ${transport}"
}

# Counts the answers with status CODE a phone received so far (a phone only sends
# requests, so every status line in its message trace is an answer): lab_phone_answers HOST CODE
lab_phone_answers() {
  local file="$LAB_DIR/$1.messages"
  [[ -f $file ]] || { echo 0; return; }
  grep -c "^SIP/2.0 $2 " "$file" || true
}

# Succeeds once HOST received at least COUNT answers with status CODE.
lab_phone_answered() { (($(lab_phone_answers "$1" "$2") >= $3)); }

# Runs a SIPVicious tool from an attacker host in the foreground, bounded:
# lab_attack HOST SECONDS NAME TOOL ARGS...   (output in $LAB_DIR/NAME.out)
lab_attack() {
  local host=$1 seconds=$2 name=$3 start end rc=0
  shift 3
  lab_log "attack $name from $host: $*"
  start=$(date +%s.%N)
  lab_exec "$host" "$seconds" "$@" >"$LAB_DIR/$name.out" 2>&1 || rc=$?
  end=$(date +%s.%N)
  LAB_ATTACK_SECONDS=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  lab_log "attack $name ended (exit $rc) after ${LAB_ATTACK_SECONDS}s"
  return 0
}

# Writes the word list for svcrack: WORDS guesses, the right password of user 301 at
# position POSITION (1-based).
lab_write_wordlist() {
  local file=$1 words=$2 position=$3 i
  : >"$file"
  for ((i = 1; i <= words; i++)); do
    if ((i == position)); then
      echo "$LAB_PASSWORD_CRACK" >>"$file"
    else
      printf 'guess%03d\n' "$i" >>"$file"
    fi
  done
}

# The IPv4 address of a lab host's eth0.
lab_host_addr4() {
  lab_exec "$1" 5 ip -4 -o addr show dev eth0 | awk '{ sub("/.*", "", $4); print $4; exit }'
}

# sipp from a lab host against the PBX, in the foreground, bounded, with its message trace in
# $LAB_DIR/NAME.messages: lab_sipp HOST SECONDS NAME SCENARIO CSV SIPP-ARGS...
lab_sipp() {
  local host=$1 seconds=$2 name=$3 scenario=$4 csv=$5 addr rc=0
  shift 5
  addr=$(lab_host_addr4 "$host")
  lab_exec "$host" "$seconds" sipp -sf "$LAB_HERE/sipp/$scenario" -inf "$csv" -i "$addr" -p 5060 \
    -nostdin -trace_msg -message_file "$LAB_DIR/$name.messages" "$@" "$LAB_PBX4:5060" \
    >"$LAB_DIR/$name.out" 2>&1 </dev/null || rc=$?
  return 0
}

# An enumerator with a phone's User-Agent (sipp/enum-register.xml): one REGISTER per extension
# FIRST..LAST at RATE per second: lab_enumerate HOST SECONDS NAME FIRST LAST RATE
lab_enumerate() {
  local host=$1 seconds=$2 name=$3 first=$4 last=$5 rate=$6 csv="$LAB_DIR/$3.csv" start end
  { echo SEQUENTIAL; seq "$first" "$last"; } >"$csv"
  lab_log "attack $name from $host: REGISTER $first-$last with a phone User-Agent (sipp, ${rate}/s)"
  start=$(date +%s.%N)
  lab_sipp "$host" "$seconds" "$name" enum-register.xml "$csv" -r "$rate" -l 20 \
    -m "$((last - first + 1))" -timeout "$((seconds - 2))s"
  end=$(date +%s.%N)
  LAB_ATTACK_SECONDS=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  lab_log "attack $name ended after ${LAB_ATTACK_SECONDS}s"
}

# A password cracker with a phone's User-Agent (sipp/crack-register.xml) on user 301, with the
# guesses of lab_write_wordlist: lab_crack HOST SECONDS NAME WORDS POSITION RATE
lab_crack() {
  local host=$1 seconds=$2 name=$3 words=$4 position=$5 rate=$6 csv="$LAB_DIR/$3.csv" start end
  lab_write_wordlist "$LAB_DIR/$name.words" "$words" "$position"
  { echo SEQUENTIAL; sed "s/^/$LAB_USER_CRACK;/" "$LAB_DIR/$name.words"; } >"$csv"
  lab_log "attack $name from $host: $words passwords for $LAB_USER_CRACK with a phone User-Agent (sipp, ${rate}/s)"
  start=$(date +%s.%N)
  lab_sipp "$host" "$seconds" "$name" crack-register.xml "$csv" -r "$rate" -l 10 -m "$words" \
    -timeout "$((seconds - 2))s"
  end=$(date +%s.%N)
  LAB_ATTACK_SECONDS=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  lab_log "attack $name ended after ${LAB_ATTACK_SECONDS}s"
}

# Succeeds when the sipp cracker NAME got a 200 (it found the password).
lab_crack_found() { grep -q '^SIP/2.0 200 ' "$LAB_DIR/$1.messages" 2>/dev/null; }

# A toll-fraud prober with a phone's User-Agent (sipp/call-probe.xml): one INVITE without
# credentials per international number, From extension 300, at RATE per second:
# lab_probe_calls HOST SECONDS NAME RATE  (20 numbers: ten 00 44..., ten 011 1...)
lab_probe_calls() {
  local host=$1 seconds=$2 name=$3 rate=$4 csv="$LAB_DIR/$3.csv" i
  {
    echo SEQUENTIAL
    for ((i = 0; i < 10; i++)); do
      printf '004420794600%02d;%s\n' "$i" "$LAB_USER_A"
      printf '01112025550%03d;%s\n' "$((100 + i))" "$LAB_USER_A"
    done
  } >"$csv"
  lab_log "attack $name from $host: INVITE to 20 international numbers without credentials (sipp, ${rate}/s)"
  lab_sipp "$host" "$seconds" "$name" call-probe.xml "$csv" -r "$rate" -l 5 -m 20 \
    -timeout "$((seconds - 2))s" -mi "$(lab_host_addr4 "$host")" -mp 16000
  lab_log "attack $name ended"
}
