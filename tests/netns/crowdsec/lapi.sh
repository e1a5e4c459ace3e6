# A private CrowdSec Local API for the fleet tests (sourced after lib.sh): its own config
# directory and SQLite database under $NETNS_TMP, listening in a namespace; never the packaged
# service. lapi_require skips the test (exit 77) when crowdsec is not installed.

lapi_require() {
  for tool in crowdsec cscli curl; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (scripts/setup installs crowdsec)"; exit 77; }
  done
  [[ -f /etc/crowdsec/config.yaml ]] || { echo "SKIP: /etc/crowdsec/config.yaml missing"; exit 77; }
  "$PY" -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml not installed"; exit 77; }
}

# lapi_configure DIR LISTEN (e.g. 0.0.0.0:8080): writes DIR/config.yaml from the packaged one,
# LAPI only: no central API, no metrics port, logs to stdout.
lapi_configure() {
  local dir=$1 listen=$2
  mkdir -p "$dir/data"
  : >"$dir/local_api_credentials.yaml"
  "$PY" - "$dir" "$listen" <<'PY'
import sys, yaml
d, listen = sys.argv[1], sys.argv[2]
c = yaml.safe_load(open('/etc/crowdsec/config.yaml'))
c['common'].update({'daemonize': False, 'log_media': 'stdout', 'log_dir': d, 'working_dir': d, 'log_level': 'warning'})
c['config_paths']['data_dir'] = d + '/data'
c['db_config'].update({'db_path': d + '/data/crowdsec.db', 'log_level': 'error', 'use_wal': True})
c['api']['client']['credentials_path'] = d + '/local_api_credentials.yaml'
c['api']['server'].update({'listen_uri': listen, 'log_level': 'warning'})
c['api']['server'].pop('online_client', None)
c['prometheus']['enabled'] = False
yaml.safe_dump(c, open(d + '/config.yaml', 'w'))
PY
  # cscli talks to the LAPI as this machine (decisions add/delete).
  timeout $T cscli -c "$dir/config.yaml" machines add cscli-test --auto --force >/dev/null 2>&1
}

# lapi_start NS DIR URL: starts crowdsec (LAPI only) in NS, waits until URL/health answers.
# Sets LAPI_PID.
lapi_start() {
  local ns=$1 dir=$2 url=$3
  timeout 600 ip netns exec "$ns" crowdsec -c "$dir/config.yaml" -no-cs -no-capi >>"$dir/lapi.log" 2>&1 &
  LAPI_PID=$!
  local deadline=$((SECONDS + 30))
  until in_ns "$ns" curl -s -o /dev/null --max-time 1 "$url/health"; do
    if ! kill -0 "$LAPI_PID" 2>/dev/null || ((SECONDS >= deadline)); then
      cat "$dir/lapi.log"
      echo "FAIL the LAPI did not start"
      exit 1
    fi
    timeout 0.2 tail --pid="$LAPI_PID" -f /dev/null 2>/dev/null || true
  done
}

lapi_stop() {
  kill "$LAPI_PID" 2>/dev/null || true
  wait_pid_exit "$LAPI_PID" 20
}

# cs NS DIR ARGS...: cscli against the private LAPI.
cs() {
  local ns=$1 dir=$2
  shift 2
  timeout $T ip netns exec "$ns" cscli -c "$dir/config.yaml" "$@"
}
