#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# host_monitor: 'rekeygap monitor' on the host (tracepoint mode, SA events from netlink, forced
# with --probe so that a kernel allowing more still runs the degraded mode; no ESP here, so no
# episodes: the VM scenarios have those). It must serve /metrics in the
# Prometheus text format that promtool accepts, OpenMetrics when asked (ending in # EOF),
# /episodes as JSON, / as a page, 404 elsewhere; label the namespace it was told to watch
# by its name and export that namespace's /proc/net/xfrm_stat line for line; count lost
# netlink notifications and re-dump; keep only CAP_BPF and CAP_NET_ADMIN once set up, in
# every thread, and run as another user with --user; name the capabilities it lacks when
# started without them; survive SIGHUP; stop on SIGTERM with exit 0; and refuse bad input
# with one line.
#
#   host netns  (rekeygap monitor, 127.0.0.1:PORT)  watches  netns M (named)
source "$(dirname "$0")/lib.sh"

M="$NS_PREFIX-m"
PORT=$((20000 + $$ % 20000))
URL="http://127.0.0.1:$PORT"
ip netns add "$M"

# refuse WHAT STATUS PATTERN ARGS...: exit STATUS with one error line matching PATTERN
refuse() {
	local what=$1 status=$2 pattern=$3 rc=0
	shift 3
	"$REKEYGAP" monitor "$@" >/dev/null 2>"$WORK/err" || rc=$?
	cat "$WORK/err"
	check_eq "$what: exit status" "$rc" "$status"
	check_eq "$what: error lines" "$(wc -l <"$WORK/err")" 1
	grep -q -- "$pattern" "$WORK/err" || fail "$what: the error does not say '$pattern'"
}
refuse "bad --listen" 2 "bad --listen 'nowhere'" --listen nowhere
refuse "port 0" 2 "bad --listen" --listen 127.0.0.1:0
refuse "bad --max-series" 2 "bad --max-series" --max-series 0
refuse "bad --max-flows" 2 "bad --max-flows" --max-flows 0
refuse "missing namespace" 1 "rkg-nowhere" --netns rkg-nowhere --listen "127.0.0.1:$PORT"

bg "$REKEYGAP" monitor --probe tracepoint --listen "127.0.0.1:$PORT" --netns "$M" 2>"$WORK/mon.err"
MON=${BG_PIDS[-1]}
wait_for_line "$WORK/mon.err" "serving $URL/metrics" 60 "$MON"
cat "$WORK/mon.err"
grep -q "probe mode tracepoint, SA events from netlink" "$WORK/mon.err" ||
	fail "the start line does not say tracepoint mode and netlink"

# a second monitor on the same port: one line, exit 1, the first one unharmed
refuse "port in use" 1 "cannot listen on 127.0.0.1:$PORT" --listen "127.0.0.1:$PORT" --netns "$M"

curl -sS -D "$WORK/headers" -o "$WORK/metrics" "$URL/metrics" || fail "GET /metrics failed"
grep -qi '^content-type: text/plain; version=0.0.4; charset=utf-8' "$WORK/headers" ||
	fail "/metrics Content-Type: $(grep -i content-type "$WORK/headers")"
promtool check metrics <"$WORK/metrics" || fail "promtool check metrics failed"
echo "promtool check metrics: clean ($(grep -vc '^#' "$WORK/metrics") samples)"
check_eq "rekeygap_up" "$(awk '$1 == "rekeygap_up" { print $2 }' "$WORK/metrics")" 1
grep -q '^rekeygap_probe_info{mode="tracepoint",sa_source="netlink",mib_note=""} 1$' \
	"$WORK/metrics" || fail "no probe_info for tracepoint mode"
grep -q '^rekeygap_build_info{version="[0-9.]*"} 1$' "$WORK/metrics" || fail "no build_info"
# every line of M's own xfrm_stat, under M's name, with its value
ip netns exec "$M" cat /proc/net/xfrm_stat >"$WORK/mib"
check_ge "MIB lines in M" "$(wc -l <"$WORK/mib")" 28
while read -r name value; do
	got=$(awk -v n="rekeygap_xfrm_mib_packets_total{netns=\"$M\",name=\"$name\"}" \
		'$1 == n { print $2 }' "$WORK/metrics")
	[ "$got" = "$value" ] || fail "MIB $name: exported '$got', /proc says $value"
done <"$WORK/mib"
echo "ok: all $(wc -l <"$WORK/mib") lines of M's /proc/net/xfrm_stat exported with their values"
! grep -q 'netns="[0-9]*"' "$WORK/metrics" || fail "a namespace labelled by number, not name"

curl -sS -D "$WORK/headers" -o "$WORK/om" \
	-H 'Accept: application/openmetrics-text; version=1.0.0; charset=utf-8,*/*;q=0.1' \
	"$URL/metrics" || fail "GET /metrics (OpenMetrics) failed"
grep -qi '^content-type: application/openmetrics-text; version=1.0.0' "$WORK/headers" ||
	fail "OpenMetrics Content-Type: $(grep -i content-type "$WORK/headers")"
check_eq "OpenMetrics last line" "$(tail -1 "$WORK/om")" "# EOF"
grep -q '^# TYPE rekeygap_rekeys counter$' "$WORK/om" || fail "OpenMetrics counter family name"

curl -sS "$URL/episodes" | jq -e 'type == "array" and length == 0' >/dev/null ||
	fail "/episodes is not an empty JSON array"
curl -sS "$URL/" | grep -q 'href="metrics"' || fail "/ does not link /metrics"
check_eq "GET /nope" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/nope")" 404
check_eq "POST /metrics" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/metrics")" 405

# lost notifications: stopped, the monitor cannot read while 20,000 policies are added; the
# socket overflows, and once it runs again it must count the loss and re-dump the SAs
kill -STOP "$MON"
awk 'BEGIN { for (i = 0; i < 20000; i++)
	printf "xfrm policy add src 10.%d.%d.1/32 dst 10.200.0.1/32 dir out tmpl src 192.0.2.1 dst 192.0.2.2 proto esp reqid 1 mode tunnel\n", int(i / 250), i % 250 }' \
	>"$WORK/policies"
ip -n "$M" -batch "$WORK/policies"
kill -CONT "$MON"
deadline=$((SECONDS + 30))
until curl -sS "$URL/metrics" >"$WORK/after" &&
	[ "$(awk '$1 == "rekeygap_resyncs_total" { print $2 }' "$WORK/after")" -ge 1 ]; do
	[ $SECONDS -lt $deadline ] || fail "no resync after a netlink overrun: $(grep -E 'resyncs|events_lost' "$WORK/after")"
	sleep 0.5
done
check_ge "events lost after the overrun" \
	"$(awk '$1 == "rekeygap_events_lost_total" { print $2 }' "$WORK/after")" 1
echo "ok: overrun counted, SAs re-dumped: $(grep -E '^rekeygap_(resyncs|events_lost)_total' "$WORK/after" | tr '\n' ' ')"

# privileges: the monitor kept only CAP_BPF and CAP_NET_ADMIN, in every thread (the HTTP
# server's too)
for task in /proc/"$MON"/task/*; do
	check_eq "$(awk '/^Name/ { print $2 }' "$task/status") thread: effective capabilities" \
		"$(awk '/^CapEff/ { print $2 }' "$task/status")" 0000008000001000
	check_eq "$(awk '/^Name/ { print $2 }' "$task/status") thread: permitted capabilities" \
		"$(awk '/^CapPrm/ { print $2 }' "$task/status")" 0000008000001000
done

kill -HUP "$MON"
sleep 0.5
kill -0 "$MON" 2>/dev/null || fail "SIGHUP stopped the monitor"
curl -sSf -o /dev/null "$URL/metrics" || fail "no /metrics after SIGHUP"
kill -TERM "$MON"
rc=0
wait_pid "$MON" 5 "the monitor after SIGTERM" || rc=$?
check_eq "exit status after SIGTERM" "$rc" 0
! curl -s -o /dev/null "$URL/metrics" || fail "still serving after exit"
echo "ok: SIGHUP ignored, SIGTERM: exit 0, port released"

# --user nobody: the same, as nobody, the MIB still read (its files were opened at start)
bg "$REKEYGAP" monitor --probe tracepoint --listen "127.0.0.1:$PORT" --netns "$M" --user nobody \
	2>"$WORK/nobody.err"
NOBODY=${BG_PIDS[-1]}
wait_for_line "$WORK/nobody.err" "serving $URL/metrics" 60 "$NOBODY"
for task in /proc/"$NOBODY"/task/*; do
	check_eq "--user nobody: $(awk '/^Name/ { print $2 }' "$task/status") uid" \
		"$(awk '/^Uid/ { print $2 $3 $4 $5 }' "$task/status")" 65534655346553465534
	check_eq "--user nobody: $(awk '/^Name/ { print $2 }' "$task/status") capabilities" \
		"$(awk '/^CapEff/ { print $2 }' "$task/status")" 0000008000001000
done
check_ge "--user nobody: MIB lines served" "$(curl -sS "$URL/metrics" | grep -c '^rekeygap_xfrm_mib_packets_total{')" 28
kill -TERM "$NOBODY"
rc=0
wait_pid "$NOBODY" 10 "the monitor as nobody" || rc=$?
check_eq "--user nobody: exit status" "$rc" 0
refuse "unknown --user" 2 "no user 'rkg-no-such-user'" --user rkg-no-such-user

# without the privileges to start: one line naming the missing capabilities
rc=0
setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
	"$REKEYGAP" monitor --listen "127.0.0.1:$PORT" 2>"$WORK/err" || rc=$?
cat "$WORK/err"
check_eq "unprivileged: exit status" "$rc" 1
check_eq "unprivileged: error lines" "$(wc -l <"$WORK/err")" 1
grep -q "needs CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_ADMIN" "$WORK/err" ||
	fail "the error does not name the capabilities"
