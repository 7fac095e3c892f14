#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# monitor_prometheus: 'rekeygap monitor' scraped by a real Prometheus (Debian's package,
# on loopback, every second), against ground truth. The monitor starts after the SAs exist
# (they are its baseline: no phantom episode). Under sequence-numbered UDP both ways:
#   phase 1: 10 make-before-break rekeys of B->A: 10 inbound and 10 outbound episodes,
#            'replaced', gap 0, outage 0, nothing dropped;
#   phase 2: 10 delete-add rekeys of A->B: 10 more each way; the packets the episodes
#            dropped = the packets the receiver did not get; a scrape taken mid-run passes
#            promtool check metrics.
# Everything is read back through Prometheus's HTTP API. Then every PromQL expression of
# the Grafana dashboard and of rules.yml (loaded into this Prometheus) is evaluated against
# this data: none may fail, and each must return data, but alerts (alert-only: they fire on
# trouble, and rules_test.yml tests them).
#
#   netns A  ==== ESP A->B spi 0x1000 (phase 2: delete-add x10) ====>  netns B
#            <=== ESP B->A spi 0x2000 (phase 1: make-before-break x10) ==
#   root netns: rekeygap monitor --netns A --netns B (127.0.0.1:MPORT) <- prometheus (127.0.0.1:PPORT)
source "$(dirname "$0")/lib.sh"

REKEYS=10 RATE=2000
# two CPUs (tests/run): the senders on CPU 1, the rekeys on CPU 0, so that traffic runs
# during a delete-add's microseconds without an SA (see rekey_delete_add)
FLOW_CPU=1
A="$NS_PREFIX-a" B="$NS_PREFIX-b"
MPORT=10117 PPORT=9090
PROM="http://127.0.0.1:$PPORT"

esp_pair "$A" "$B" 0x1000 0x2000

# as nobody: once set up the monitor keeps only CAP_BPF and CAP_NET_ADMIN, and all below
# must hold all the same
bg "$REKEYGAP" monitor --listen "127.0.0.1:$MPORT" --netns "$A" --netns "$B" --user nobody \
	2>"$WORK/mon.err"
MON=${BG_PIDS[-1]}
DASH="$(cd "$(dirname "$0")/../.." && pwd)/dashboards"
cp "$DASH/prometheus/rules.yml" "$WORK/rules.yml"
cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: rekeygap
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
EOF
bg prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn 2>"$WORK/prom.err"
PROMPID=${BG_PIDS[-1]}
wait_for_line "$WORK/mon.err" "serving http://127.0.0.1:$MPORT/metrics" 120 "$MON"
cat "$WORK/mon.err"

# query EXPR: the value of a PromQL expression now ("none" if it has no result)
query() {
	curl -sS --data-urlencode "query=$1" "$PROM/api/v1/query" |
		jq -r 'if .status != "success" then "error: \(.error)" else (.data.result[0].value[1] // "none") end'
}

# expect EXPR VALUE WHAT: until Prometheus says VALUE for EXPR (episodes settle for 1 s
# after they end, then the next scrape), 60 s at most
expect() {
	local deadline=$((SECONDS + 60)) got
	while :; do
		got=$(query "$1")
		[ "$got" = "$2" ] && { echo "ok: $3: $1 = $got"; return 0; }
		[ $SECONDS -lt $deadline ] || fail "$3: $1 = $got, expected $2"
		sleep 1
	done
}

deadline=$((SECONDS + 180))
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$PROM/-/ready")" = 200 ]; do
	kill -0 "$PROMPID" 2>/dev/null || fail "prometheus exited: $(tail -3 "$WORK/prom.err")"
	[ $SECONDS -lt $deadline ] || fail "prometheus not ready after 180 s"
	sleep 1
done
expect 'up{job="rekeygap"}' 1 "Prometheus scrapes the monitor"
# the baseline: 2 SAs per namespace, and no episode for them
expect 'sum(rekeygap_sas)' 4 "the SAs that existed before the monitor"
check_eq "episodes before any rekey (no phantoms)" "$(query 'sum(rekeygap_rekeys_total)')" none

both_flows_start "$A" "$B" $((RATE * 600)) "$RATE" # stopped after both phases
sleep 1

# phase 1: make-before-break of B->A
taskset -c 0 "$REKEYGAP" rekey --strategy make-before-break --count "$REKEYS" --interval 200 \
	--no-loss-count --from-netns "$B" --to-netns "$A" --src "$OUTER_B" --dst "$OUTER_A" \
	>"$WORK/rekey-mbb" || fail "make-before-break rekeys: $(tail -2 "$WORK/rekey-mbb")"
expect 'sum(rekeygap_rekeys_total{kind="replaced",dir="in"})' "$REKEYS" "make-before-break, inbound"
expect 'sum(rekeygap_rekeys_total{kind="replaced",dir="out"})' "$REKEYS" "make-before-break, outbound"
check_eq "make-before-break: gap sum (s)" "$(query 'sum(rekeygap_rekey_gap_seconds_sum)')" 0
check_eq "make-before-break: outage sum (s)" "$(query 'sum(rekeygap_rekey_outage_seconds_sum)')" 0
check_eq "make-before-break: packets dropped" "$(query 'sum(rekeygap_rekey_dropped_packets_total)')" none
check_eq "make-before-break: last gap of the B->A flows" \
	"$(query "max(rekeygap_last_rekey_gap_seconds{src=\"$OUTER_B\"})")" 0
# the first rekey measured from the baseline SA: it replaced 0x00002000
curl -sS "http://127.0.0.1:$MPORT/episodes" >"$WORK/episodes"
check_eq "first episode replaced the baseline SA" \
	"$(jq -r '[.[] | select(.src == "'"$OUTER_B"'")][0].old_spi' "$WORK/episodes")" 0x00002000
overlap=$(query 'sum(rekeygap_rekey_overlap_seconds_sum)')
awk -v o="$overlap" 'BEGIN { exit !(o > 0) }' || fail "make-before-break: overlap sum $overlap, expected > 0"
echo "ok: make-before-break overlap sum ${overlap} s (the old SAs' drain and grace)"

# phase 2: delete-add of A->B, with a scrape for promtool in the middle
taskset -c 0 "$REKEYGAP" rekey --strategy delete-add --count "$REKEYS" --interval 300 --no-loss-count \
	--from-netns "$A" --to-netns "$B" --src "$OUTER_A" --dst "$OUTER_B" >"$WORK/rekey-da" &
RK=$!
sleep 1.5
curl -sS "http://127.0.0.1:$MPORT/metrics" >"$WORK/mid-run"
wait "$RK" || fail "delete-add rekeys: $(tail -2 "$WORK/rekey-da")"
promtool check metrics <"$WORK/mid-run" || fail "promtool check metrics on the mid-run scrape"
echo "ok: promtool check metrics on a scrape taken mid-run ($(grep -vc '^#' "$WORK/mid-run") samples)"
sleep 0.5
both_flows_stop
check_eq "ground truth: lost B->A (make-before-break)" "$LOST_BA" 0
check_ge "ground truth: lost A->B (delete-add)" "$LOST_AB" 1

expect 'sum(rekeygap_rekeys_total{dir="in"})' $((2 * REKEYS)) "all rekeys, inbound"
expect 'sum(rekeygap_rekeys_total{dir="out"})' $((2 * REKEYS)) "all rekeys, outbound"
expect 'sum(rekeygap_rekeys_total{kind!="replaced"})' none "every episode a replacement"
expect 'sum(rekeygap_rekey_dropped_packets_total)' "$LOST_AB" \
	"packets dropped in episodes = packets the receiver did not get"
expect 'sum(rekeygap_xfrm_drops_total)' "$LOST_AB" "every XFRM drop = packets lost"
gap=$(query "sum(rekeygap_rekey_gap_seconds_sum)")
awk -v g="$gap" 'BEGIN { exit !(g > 0) }' || fail "delete-add: gap sum $gap, expected > 0"
echo "ok: delete-add gap sum ${gap} s; dropped by cause: $(query 'sum by (cause) (rekeygap_rekey_dropped_packets_total)') (first cause)"
check_eq "events lost" "$(query 'rekeygap_events_lost_total')" 0

# every expression of the dashboard (Grafana's variables set as a user would: all
# instances and namespaces, a rate interval of 10 s, the run as the range) and of the rules
# as this Prometheus loaded them; "alerting" ones need only evaluate
jq -r '.. | .expr? // empty' "$DASH/grafana/rekeygap.json" |
	sed -e 's/\$__rate_interval/10s/g' -e 's/\$__range/5m/g' -e 's/\$instance/.*/g' \
		-e 's/\$netns/.*/g' -e 's/^/dashboard\t/' >"$WORK/exprs"
curl -sS "$PROM/api/v1/rules" |
	jq -r '.data.groups[].rules[] | "\(.type)\t\(.query | gsub("\n"; " "))"' >>"$WORK/exprs"
check_ge "expressions from the dashboard" "$(grep -c '^dashboard' "$WORK/exprs")" 20
check_ge "expressions from rules.yml (recording and alerting)" "$(grep -vc '^dashboard' "$WORK/exprs")" 15
# one curl for all of them (each process costs under TCG), one answer a line
cut -f2 "$WORK/exprs" | jq -Rr --arg p "$PROM" '"\($p)/api/v1/query?query=\(@uri)"' >"$WORK/urls"
xargs curl -sS -w '\n' <"$WORK/urls" >"$WORK/answers" || fail "querying the expressions"
jq -r '"\(.status)\t\(.data.result | length)\t\(.error // "")"' "$WORK/answers" >"$WORK/verdicts"
check_eq "answers" "$(wc -l <"$WORK/verdicts")" "$(wc -l <"$WORK/exprs")"
n_data=0 n_alert=0 n_empty=0
while IFS=$'\t' read -r from expr && IFS=$'\t' read -r status n error <&3; do
	[ "$status" = success ] || fail "$from expression failed: $expr: $error"
	if [ "$from" = alerting ]; then
		n_alert=$((n_alert + 1))
		continue
	fi
	if [ "$n" -ge 1 ]; then
		n_data=$((n_data + 1))
		continue
	fi
	# no data is right only when one of its inputs has none in this run (say, no drop of
	# the causes it selects: whether a delete-add's packets find no SA or a dying one is
	# timing); every input with data and no result is a broken expression
	# (a file, not a process substitution: the VM's devtmpfs has no /dev/fd)
	grep -oE 'rekeygap_[a-z_]+(\{[^}]*\})?' <<<"$expr" | sort -u >"$WORK/inputs"
	empty=""
	while read -r sel; do
		[ "$(query "count($sel)")" = none ] && empty=$sel && break
	done <"$WORK/inputs"
	[ -n "$empty" ] || fail "$from expression returned no data, though each of its inputs has some: $expr"
	echo "ok: no data, as its input $empty has none in this run: $expr"
	n_empty=$((n_empty + 1))
done <"$WORK/exprs" 3<"$WORK/verdicts"
check_ge "expressions evaluated with data" "$n_data" 25
echo "ok: $n_data expressions (dashboard, recording rules) evaluated with data, $n_empty without (an input absent), $n_alert alert expressions evaluated without error"

kill -TERM "$MON"
rc=0
wait_pid "$MON" 10 "the monitor after SIGTERM" || rc=$?
check_eq "monitor exit status after SIGTERM" "$rc" 0
