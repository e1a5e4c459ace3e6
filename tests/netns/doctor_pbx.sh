#!/usr/bin/env bash
# `pbxwall doctor` on the PBX's side, in namespaces: Asterisk listening on a port the configured
# SIP service does not open, a trunk host that does not resolve, the AMI login refused (nothing
# listening; a manager that refuses the secret) and accepted, the web UI beyond loopback,
# nf_tables refused (CAP_NET_ADMIN dropped), the clock's state as the kernel says it, and the
# daemon: not running, then running, with the exit status 0, 1 or 2 and --json.
# Usage: doctor_pbx.sh PATH_TO_pbxwall PATH_TO_pbxwalld
source "$(dirname "$0")/lib.sh"
netns_init "$@"
PBXWALLD=$(realpath "${2:?usage: $0 PATH_TO_pbxwall PATH_TO_pbxwalld}")
command -v setpriv >/dev/null || { echo "SKIP: setpriv not installed"; exit 77; }
state="$NETNS_TMP/state"
mkdir -p "$state" "$NETNS_TMP/asterisk" "$NETNS_TMP/asterisk-ok"

# An Asterisk whose SIP transport is on 5070 and whose trunk names a host that cannot resolve.
cat >"$NETNS_TMP/asterisk/pjsip.conf" <<'EOF'
[transport-udp]
type=transport
protocol=udp
bind=0.0.0.0:5070

[provider]
type=registration
transport=transport-udp
server_uri=sip:trunk.example.invalid:5060
client_uri=sip:100@trunk.example.invalid
EOF
# One on the default port, without trunks.
printf '[transport-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0:5060\n' >"$NETNS_TMP/asterisk-ok/pjsip.conf"

bad="$NETNS_TMP/bad.toml"
printf '[firewall]\nsafe_mode = false\n[services.sip]\nports = ["udp/5060"]\n[web]\nenabled = true\nlisten = "0.0.0.0"\n[ami]\nenabled = true\nport = 5999\nusername = "pbxwall"\nsecret = "s3cret"\n' >"$bad"

# doctor NS CONFIG ROOT [WRAPPER...]: the JSON findings; the exit status in $NETNS_TMP/status.
doctor() {
  local ns=$1 cfg=$2 ast=$3 rc=0
  shift 3
  timeout $T ip netns exec "$ns" "$@" "$PBXWALL" --run-dir "$NETNS_TMP/run-$ns" --config "$cfg" --json doctor \
    --state-dir "$state" --asterisk-root "$ast" || rc=$?
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
count() {  # count JSON CHECK TEXT: how many findings of CHECK have TEXT
  "$PY" -c 'import json, sys; print(sum(f["check"] == sys.argv[2] and sys.argv[3] in f["message"] for f in json.loads(sys.argv[1])["findings"]))' "$@"
}
json_field() { "$PY" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$@"; }
status_is() { test "$(cat "$NETNS_TMP/status")" == "$1"; }

ns=$(make_ns pbx)
pbx "$ns" --config "$bad" start >/dev/null
out=$(doctor "$ns" "$bad" "$NETNS_TMP/asterisk")
check "Asterisk on udp/5070 outside [services.sip] ports" finding "$out" error pbx \
  "Asterisk listens on udp/5070 ($NETNS_TMP/asterisk/pjsip.conf:4 [transport-udp] bind) but [services.sip] ports does not open it"
check "the trunk host that does not resolve" finding "$out" warning trunks "trunk host trunk.example.invalid (provider) does not resolve"
check "reported once though two URIs name it" test "$(count "$out" trunks trunk.example.invalid)" == 1
check "AMI with nothing listening" finding "$out" error ami "AMI login to 127.0.0.1:5999 fails: cannot connect: Connection refused"
check "the web UI beyond loopback" finding "$out" warning web "the web UI listens on 0.0.0.0 without TLS, beyond loopback"
check "--json: status 2, two errors (the port, AMI)" test "$(json_field "$out" status)/$(json_field "$out" errors)" == "2/2"
check "exit status 2" status_is 2

# A manager that speaks AMI: refuses a wrong secret, accepts the right one (two connections,
# then it exits; bounded by timeout).
cat >"$NETNS_TMP/ami.py" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 5038))
s.listen()
print("listening", flush=True)
s.settimeout(20)
for _ in range(2):
    c, _ = s.accept()
    c.settimeout(5)
    c.sendall(b"Asterisk Call Manager/9.0.0\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(1024)
        if not chunk:
            break
        data += chunk
    if b"Secret: s3cret\r\n" in data:
        c.sendall(b"Response: Success\r\nActionID: pbxwall-doctor\r\nMessage: Authentication accepted\r\n\r\n")
    else:
        c.sendall(b"Response: Error\r\nActionID: pbxwall-doctor\r\nMessage: Authentication failed\r\n\r\n")
    c.close()
EOF
timeout 30 ip netns exec "$ns" "$PY" "$NETNS_TMP/ami.py" >"$NETNS_TMP/ami.log" 2>&1 &
ami_pid=$!
wait_until 10 grep -q listening "$NETNS_TMP/ami.log" || { cat "$NETNS_TMP/ami.log"; echo "FAIL: the AMI stub did not start"; exit 1; }
ami_cfg() {  # ami_cfg SECRET
  printf '[firewall]\nsafe_mode = false\n[web]\nenabled = false\n[ami]\nenabled = true\nusername = "pbxwall"\nsecret = "%s"\n' "$1"
}
ami_cfg wrong >"$NETNS_TMP/ami-wrong.toml"
ami_cfg s3cret >"$NETNS_TMP/ami-right.toml"
out=$(doctor "$ns" "$NETNS_TMP/ami-wrong.toml" "$NETNS_TMP/asterisk-ok")
check "AMI login refused" finding "$out" error ami "AMI login to 127.0.0.1:5038 fails: login refused: Authentication failed"
out=$(doctor "$ns" "$NETNS_TMP/ami-right.toml" "$NETNS_TMP/asterisk-ok")
check "AMI login accepted" finding "$out" ok ami "AMI login to 127.0.0.1:5038 works"
check "the AMI stub served both logins" wait_pid_exit "$ami_pid" 10

# nf_tables refused: doctor without CAP_NET_ADMIN.
out=$(doctor "$ns" "$bad" "$NETNS_TMP/asterisk" setpriv --bounding-set=-net_admin --inh-caps=-net_admin)
check "nf_tables refused (no CAP_NET_ADMIN)" finding "$out" error kernel "nf_tables does not answer"
check "nf_tables refused: exit status 2" status_is 2

# A healthy PBX: pbxwalld running, Asterisk's port served, nothing else wrong but perhaps the
# clock (this machine's own state, as adjtimex says it).
good="$NETNS_TMP/good.toml"
printf '[firewall]\nsafe_mode = false\n[pbx]\nasterisk_root = "%s"\n[web]\nenabled = false\n' "$NETNS_TMP/asterisk-ok" >"$good"
ok_ns=$(make_ns ok)
out=$(doctor "$ok_ns" "$good" "$NETNS_TMP/asterisk-ok")
check "the daemon not running" finding "$out" warning daemon "pbxwalld is not running"
check "the table missing" finding "$out" error daemon "table inet pbxwall is not in the kernel"
start_pbxwalld "$ok_ns" "$good" "$state/state.db" "$NETNS_TMP/pbxwalld.log"
out=$(doctor "$ok_ns" "$good" "$NETNS_TMP/asterisk-ok")
check "the daemon answers" finding "$out" ok daemon "pbxwalld answers on its control socket"
check "no error" test "$(json_field "$out" errors)" == 0
check "Asterisk found on udp/5060" finding "$out" ok pbx "signalling on udp/5060"
check "the state directory writable" finding "$out" ok state "$state is writable"
# struct timex's head (linux/timex.h); TIME_ERROR is 5, STA_UNSYNC 0x40.
synced=$("$PY" -c '
import ctypes
class Timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("rest", ctypes.c_byte * 512)]
tx = Timex()
state = ctypes.CDLL(None).adjtimex(ctypes.byref(tx))
print("yes" if state >= 0 and state != 5 and not tx.status & 0x40 else "no")')
if [[ $synced == yes ]]; then
  check "the clock synchronized (adjtimex)" finding "$out" ok time "the clock is synchronized"
  check "nothing wrong: status 0, exit status 0" bash -c '[[ $1 == 0 ]] && [[ $(cat "$2") == 0 ]]' _ "$(json_field "$out" status)" "$NETNS_TMP/status"
else
  check "the clock not synchronized (adjtimex)" finding "$out" warning time "the clock is not synchronized"
  check "only the clock's warning: exit status 1" bash -c '[[ $1 == 1 && $2 == 1 ]] && [[ $(cat "$3") == 1 ]]' _ \
    "$(json_field "$out" status)" "$(json_field "$out" warnings)" "$NETNS_TMP/status"
fi
text=$(timeout $T ip netns exec "$ok_ns" "$PBXWALL" --run-dir "$NETNS_TMP/run-$ok_ns" --config "$good" doctor \
  --state-dir "$state" --asterisk-root "$NETNS_TMP/asterisk-ok" || true)
check "the text output ends with the counts" grep -Eq '^0 errors, [01] warnings$' <<<"$text"
kill "$DAEMON_PID"
wait_pid_exit "$DAEMON_PID" 20
finish
