#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# monitor_many_sas: 100,000 SAs in one namespace (each its own flow: 192.0.2.1 -> 10.x.y.z).
# The monitor must follow them all with the default caps (rekeygap_sas = 100,000, as the
# kernel counts), and a scrape must not grow with them: one rekeygap_sas line per namespace
# and direction, whatever the number of SAs. With --max-flows 10000 it follows 10,000,
# counts the other 90,000 in rekeygap_limit_reached_total{limit="flows"}, serves the same
# number of lines, and holds less memory (peak RSS of each run printed).
#
#   netns M: 100,000 outbound ESP SAs, no traffic
source "$(dirname "$0")/lib.sh"

N=100000
M="$NS_PREFIX-m"
ip netns add "$M"
ip -n "$M" link set lo up
awk -v n=$N -v key="$KEY_AB" -v alg="$AEAD_ALG" 'BEGIN {
	for (i = 0; i < n; i++)
		printf "xfrm state add src 192.0.2.1 dst 10.%d.%d.%d proto esp spi %d reqid 1 mode tunnel aead %s %s 128\n",
			int(i / 62500), int(i / 250) % 250, i % 250 + 1, 4096 + i, alg, key }' >"$WORK/sas"
start=$SECONDS
ip -n "$M" -batch "$WORK/sas" || fail "adding the SAs failed"
check_eq "SAs in M (kernel)" "$(ip -n "$M" xfrm state count | awk '{ print $3 }')" $N
echo "added in $((SECONDS - start)) s"

# run_monitor OPTS...: start it on M, wait for its SA count, keep one scrape in $WORK/scrape
# and its peak RSS in RSS_KIB
run_monitor() {
	local expect=$1
	shift
	MON_OPTS=("$@")
	start=$SECONDS
	monitor_start "$M"
	wait_metric "rekeygap_sas{netns=\"$M\"" "$expect" 120
	echo "monitor $*: baseline of $N SAs in $((SECONDS - start)) s"
	curl -sS "$MON_URL/metrics" >"$WORK/scrape"
	RSS_KIB=$(awk '/^VmHWM/ { print $2 }' "/proc/$MON/status")
	LINES=$(grep -vc '^#' "$WORK/scrape")
	echo "monitor $*: peak RSS $((RSS_KIB / 1024)) MiB, a scrape of $LINES samples, $(wc -c <"$WORK/scrape") bytes"
	check_eq "rekeygap_sas lines" "$(grep -c "^rekeygap_sas{" "$WORK/scrape")" 1
	kill -TERM "$MON"
	wait_pid "$MON" 30 "the monitor" || fail "the monitor exited $?"
}

run_monitor $N
check_eq "limit reached (flows), default caps" \
	"$(awk '$1 == "rekeygap_limit_reached_total{limit=\"flows\"}" { print $2 }' "$WORK/scrape")" 0
lines_all=$LINES rss_all=$RSS_KIB
check_ge "samples bounded (<= 200)" 200 "$lines_all"

run_monitor 10000 --max-flows 10000
check_eq "limit reached (flows), --max-flows 10000" \
	"$(awk '$1 == "rekeygap_limit_reached_total{limit=\"flows\"}" { print $2 }' "$WORK/scrape")" $((N - 10000))
check_eq "samples with 10,000 flows followed" "$LINES" "$lines_all"
[ "$RSS_KIB" -lt "$rss_all" ] ||
	fail "--max-flows 10000 did not bound memory: $RSS_KIB KiB, $rss_all KiB with every flow"
echo "ok: peak RSS $((rss_all / 1024)) MiB following $N flows, $((RSS_KIB / 1024)) MiB following 10,000"
