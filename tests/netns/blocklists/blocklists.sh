#!/usr/bin/env bash
# Community blocklists ([[blocklists]]) with the real daemon and nft in namespaces: a list
# from a file, a plain list and APIBan's pages from an HTTP server in a namespace of its own,
# and a 100,000-entry list.
#   - listed addresses and networks are dropped (a listed client gets no answer from a service
#     open to the Internet, an unlisted client does); a listed address inside a trusted network
#     stays open;
#   - a broken fetch (500 with an HTML page) keeps the last good list, status says why;
#   - a restart while the feed is down applies the last good copy from the cache;
#   - a mistake in [[blocklists]] is refused by `pbxwall check` with its line.
# Usage: blocklists.sh PATH_TO_pbxwall PATH_TO_pbxwalld
LISTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$LISTS_DIR/../lib.sh"
netns_init "${1:?usage: $0 PATH_TO_pbxwall PATH_TO_pbxwalld}"
PBXWALLD=$(realpath "${2:?usage: $0 PATH_TO_pbxwall PATH_TO_pbxwalld}")

fw=$(make_ns fw)
feed=$(make_ns feed)
listed=$(make_ns listed)
other=$(make_ns other)
office=$(make_ns office)
link_ns "$fw" vfeed "$feed" 198.51.100.10/30 198.51.100.9 2001:db8:f::10/64 2001:db8:f::9
link_ns "$fw" vlisted "$listed" 203.0.113.10/24 203.0.113.1 2001:db8:3::10/64 2001:db8:3::1
link_ns "$fw" vother "$other" 198.51.100.66/28 198.51.100.65 2001:db8:4::66/64 2001:db8:4::1
link_ns "$fw" voffice "$office" 192.0.2.50/24 192.0.2.1 2001:db8:5::50/64 2001:db8:5::1

www="$NETNS_TMP/www"
mkdir -p "$www/apiban"
# The file list: the listed client, a network, the office address (trusted: stays open), junk.
cat >"$NETNS_TMP/local.list" <<'LIST'
# local list
203.0.113.10
198.51.100.128/25 ; a network
192.0.2.50
not-an-address
LIST
printf '# feed\n2001:db8:3::10\n198.51.100.77\n' >"$www/feed.txt"
printf '{"ipaddress":["198.51.100.201","198.51.100.202"],"ID":"200"}' >"$www/apiban/100.json"
printf '{"ipaddress":["2001:db8:6::1"],"ID":"300"}' >"$www/apiban/200.json"
"$PY" -c 'for i in range(100000): print("2001:db8:ff::%x:%x" % (i >> 16, i & 0xffff))' >"$NETNS_TMP/big.list"
(umask 077 && echo test-key >"$NETNS_TMP/apiban.key")

timeout 280 ip netns exec "$feed" "$PY" "$LISTS_DIR/feed_server.py" "$www" 198.51.100.10 8000 &
feed_up() {
  in_ns "$fw" "$PY" -c 'import urllib.request; urllib.request.urlopen("http://198.51.100.10:8000/feed.txt", timeout=1)' \
    2>/dev/null
}
check "the feed answers" wait_until 10 feed_up

config="$NETNS_TMP/pbxwall.toml"
cat >"$config" <<TOML
[firewall]
safe_mode = false

[networks]
"192.0.2.48/28" = "trusted"

[web]
listen = "127.0.0.1"
port = 8485

[[custom_services]]
name = "probe"
ports = ["tcp/7000"]
zones = ["internet"]

[[blocklists]]
name = "local"
file = "local.list"

[[blocklists]]
name = "feed"
url = "http://198.51.100.10:8000/feed.txt"

[[blocklists]]
name = "apiban"
url = "http://198.51.100.10:8000/api"
format = "apiban"
key_file = "apiban.key"
refresh = "5m"

[[blocklists]]
name = "big"
file = "big.list"
TOML
ctl() { pbx "$fw" --config "$config" "$@"; }
in_set() { local set; set=$(in_ns "$fw" nft list set inet pbxwall "$1" 2>/dev/null) && grep -qw -- "$2" <<<"$set"; }
not_in_set() { ! in_set "$@"; }
set_size() {
  in_ns "$fw" nft -j list set inet pbxwall "$1" |
    "$PY" -c 'import json,sys; s=[x["set"] for x in json.load(sys.stdin)["nftables"] if "set" in x][0]; print(len(s.get("elem", [])))'
}
# A TCP service open to the Internet on the firewall: open only when it answered.
timeout 280 ip netns exec "$fw" "$PY" "$HERE/probe.py" serve 280 tcp/7000 >"$NETNS_TMP/probe.log" &
check "the probe service listens" wait_until 10 grep -q ready "$NETNS_TMP/probe.log"
answers() { in_ns "$1" "$PY" "$HERE/probe.py" probe "$2" 1 tcp/7000 | grep -q "tcp/7000 open"; }
unanswered() { in_ns "$1" "$PY" "$HERE/probe.py" probe "$2" 1 tcp/7000 | grep -q "tcp/7000 closed"; }
# metric_is NAME{LABELS} VALUE_REGEX: /metrics has that series with a matching value.
metric_is() {
  local text
  text=$(in_ns "$fw" curl -s --max-time 5 http://127.0.0.1:8485/metrics) && grep -Eqx -- "$(sed 's/[{}]/\\&/g' <<<"$1") $2" <<<"$text"
}
status_says() { local s; s=$(ctl status 2>/dev/null) && grep -Eq -- "$1" <<<"$s"; }

t0=$(date +%s%3N)
start_pbxwalld "$fw" "$config" "$NETNS_TMP/state.db" "$NETNS_TMP/pbxwalld.log"
t1=$(date +%s%3N)
check "all four lists are in the kernel" wait_until 30 status_says "blocklist big: 100,?000 entries"
t2=$(date +%s%3N)
echo "     (the four lists, 100,004 entries, in the kernel $((t2 - t0)) ms after pbxwalld was started, $((t2 - t1)) ms after it answered)"
check "the file list holds the listed client" in_set list_local_4 203.0.113.10
check "the file list holds its network" in_set list_local_nets4 198.51.100.128/25
check "a listed address inside a trusted network is left out" not_in_set list_local_4 192.0.2.50
check "status counts the line that is no address" status_says "blocklist local: 2 entries.*1 line skipped.*1 left open"
check "the HTTP list holds its IPv6 address" in_set list_feed_6 2001:db8:3::10
check "APIBan's pages are read to the last" in_set list_apiban_4 198.51.100.202
check "APIBan's second page too" in_set list_apiban_6 2001:db8:6::1
check "the big list holds 100,000 addresses" test "$(set_size list_big_6)" = 100000

check "/metrics has the big list's 100,000 entries" metric_is 'pbxwall_blocklist_entries{list="big"}' 100000
check "/metrics has the file list's office address spared (trusted network)" \
  metric_is 'pbxwall_blocklist_spared{list="local",reason="trusted network"}' 1
check "/metrics has the feed fetched, no failure" metric_is 'pbxwall_blocklist_fetch_failures_total{list="feed"}' 0
fetched=$(in_ns "$fw" curl -s --max-time 5 http://127.0.0.1:8485/metrics | sed -n 's/^pbxwall_blocklist_last_fetch_timestamp_seconds{list="apiban"} //p')
check "/metrics has APIBan's last fetch time ($fetched) within 60 s of now" test $(($(date +%s) - ${fetched:-0})) -le 60

check "a listed client gets no answer" unanswered "$listed" 203.0.113.1
check "a listed client gets no answer over IPv6" unanswered "$listed" 2001:db8:3::1
check "an unlisted client is answered" answers "$other" 198.51.100.65
check "the trusted office address on the list is answered" answers "$office" 192.0.2.1

# `list blocked` shows the lists' entries with their origin, a page at a time.
listed_json() { ctl list blocked "$@" --json 2>/dev/null | "$PY" -c "$LIST_PY"; }
LIST_PY='import json,sys; items=json.load(sys.stdin); print(len(items), " ".join(sorted({i["origin"] for i in items})))'
check "list blocked names the file list as origin" \
  grep -Eq '^203\.0\.113\.10 .*blocklist:local' <<<"$(ctl list blocked --origin blocklist:local)"
check "--origin blocklist:big pages through all 100,000 entries" test "$(listed_json --origin blocklist:big)" = "100000 blocklist:big"
check "--origin blocklist lists every list and nothing else" \
  test "$(listed_json --origin blocklist | cut -d' ' -f2-)" = "blocklist:apiban blocklist:big blocklist:feed blocklist:local"
page=$(ctl list blocked --origin blocklist:big --limit 5 2>&1 >/dev/null)
check "--limit 5 stops with the next page's cursor" grep -q -- "--after blocklist:big:" <<<"$page"

# A broken feed: the last good list stays, status says why.
touch "$www/broken"
ctl reload >/dev/null
check "status says the feed failed" wait_until 15 status_says "blocklist feed:.*HTTP 500"
check "the last good list stays in the kernel" in_set list_feed_6 2001:db8:3::10
check "APIBan failing keeps its list too" in_set list_apiban_4 198.51.100.201
check "/metrics counts the feed's failed fetch" metric_is 'pbxwall_blocklist_fetch_failures_total{list="feed"}' '[1-9][0-9]*'
check "/metrics says the feed's last fetch was not applied" metric_is 'pbxwall_blocklist_fetch_ok{list="feed"}' 0
check "/metrics keeps the feed's entries of the last good copy" metric_is 'pbxwall_blocklist_entries{list="feed"}' 2

# A restart while the feed is down applies the last good copy at once.
stop_pbxwalld
start_pbxwalld "$fw" "$config" "$NETNS_TMP/state.db" "$NETNS_TMP/pbxwalld.log"
check "after a restart the cached list is in the kernel" wait_until 15 in_set list_feed_6 2001:db8:3::10
check "and the cached APIBan list" in_set list_apiban_4 198.51.100.202
check "the listed client is still dropped" unanswered "$listed" 2001:db8:3::1

# The feed back with a shorter list: the set is replaced whole.
rm -f "$www/broken"
printf '198.51.100.77\n' >"$www/feed.txt"
ctl reload >/dev/null
check "a new list replaces the old one" wait_until 15 not_in_set list_feed_6 2001:db8:3::10
check "the new list's entry is there" in_set list_feed_4 198.51.100.77
check "the client dropped from the list is answered again" wait_until 5 answers "$listed" 2001:db8:3::1

# A mistake in [[blocklists]] is refused before anything changes.
bad="$NETNS_TMP/bad.toml"
sed 's/format = "apiban"/format = "csv"/' "$config" >"$bad"
out=$(pbx "$fw" --config "$bad" check 2>&1) && rc=0 || rc=$?
check "check refuses a wrong format (exit 2)" test "$rc" = 2
check "with the file, line and key" grep -q 'bad.toml:27:10: error: blocklists\[2\].format: expected "plain" or "apiban", got "csv"' <<<"$out"

stop_pbxwalld
finish
