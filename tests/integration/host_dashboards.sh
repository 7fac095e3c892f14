#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# host_dashboards: the operators' files under dashboards/ are valid and agree with what the
# monitor exports.
#   - rules.yml: promtool check rules, and its unit tests (promtool test rules rules_test.yml:
#     every alert firing and not firing); prometheus.yml: promtool check config
#   - grafana/rekeygap.json: JSON, current schema, datasource/instance/netns variables, every
#     panel described and on the datasource variable
#   - every rekeygap metric that the dashboard or the rules name is one the monitor serves
#     (scraped from 'rekeygap monitor' on this host: its # TYPE lines, so a family without
#     series yet counts)
#   - the verdicts the dashboard colours and the rules select are the monitor's
#     (userspace/common/names.c), each coloured once; every alert has a runbook section and
#     every runbook link in the rules and in RUNBOOK.md leads to one
#   - deploy/: 'systemd-analyze verify' of the unit; the Kubernetes manifest parses as YAML
#     with the expected kinds, host network and capabilities
# (The VM scenario monitor_prometheus evaluates every expression against real data.)
source "$(dirname "$0")/lib.sh"

D="$(cd "$(dirname "$0")/../.." && pwd)/dashboards"
promtool check rules "$D/prometheus/rules.yml" || fail "promtool check rules"
(cd "$D/prometheus" && promtool test rules rules_test.yml) || fail "promtool test rules"
echo "ok: promtool test rules: every alert's tests pass"
promtool check config "$D/prometheus/prometheus.yml" >/dev/null || fail "promtool check config"
echo "ok: prometheus.yml"

G="$D/grafana/rekeygap.json"
jq -e . "$G" >/dev/null || fail "rekeygap.json is not JSON"
check_ge "schemaVersion" "$(jq .schemaVersion "$G")" 36
check_eq "template variables" "$(jq -r '[.templating.list[].name] | join(",")' "$G")" datasource,instance,netns
check_eq "panels without a description" \
	"$(jq '[.panels[] | select(.type != "row" and ((.description // "") | length) < 40)] | length' "$G")" 0
check_eq "panels not on \${datasource}" \
	"$(jq '[.panels[] | select(.type != "row" and .datasource.uid != "${datasource}")] | length' "$G")" 0
check_ge "PromQL expressions in the dashboard" "$(jq '[.. | .expr? // empty] | length' "$G")" 15

# the names the monitor really serves
port=$((20000 + $$ % 20000))
bg "$REKEYGAP" monitor --listen "127.0.0.1:$port" --duration 20 2>"$WORK/mon.err"
wait_for_line "$WORK/mon.err" serving 60 "${BG_PIDS[-1]}"
curl -sS "http://127.0.0.1:$port/metrics" | awk '/^# TYPE/ { print $3 }' >"$WORK/families"
kill -TERM "${BG_PIDS[-1]}"
served() { # NAME: a family the monitor serves (a histogram's series or a counter's _total too)
	local base=${1%_bucket}
	base=${base%_total}
	grep -qx -e "$1" -e "$base" -e "${base}_total" "$WORK/families"
}
{
	jq -r '.. | .expr? // empty' "$G"
	grep -E '^\s+(expr|record):|^\s+[a-z(]' "$D/prometheus/rules.yml" | grep -v '^\s*#'
} | grep -oE 'rekeygap_[a-z_]+' | sort -u >"$WORK/used"
while read -r name; do
	served "$name" || fail "the dashboard or the rules use $name, which the monitor does not serve"
done <"$WORK/used"
echo "ok: all $(wc -l <"$WORK/used") rekeygap metric names used are served: $(tr '\n' ' ' <"$WORK/used")"

# verdicts: the words the monitor gives rekeygap_rekeys_total{verdict}, from names.c
tr -d '\n\t' <"$TOP/userspace/common/names.c" |
	grep -oE '\[VERDICT_[A-Z_]+\] = \{ *"[a-z_]+"' | grep -oE '"[a-z_]+"' | tr -d '"' |
	sort >"$WORK/verdicts"
check_ge "verdicts in names.c" "$(wc -l <"$WORK/verdicts")" 7
colours() { # TITLE: the verdicts the panel of that title colours, one a line, sorted
	jq -r --arg t "$1" '.panels[] | select(.title == $t) |
		(.fieldConfig.overrides[] | select(.properties[].id == "color") | .matcher.options),
		(.fieldConfig.overrides[].properties[] | select(.id == "mappings") |
		.value[].options | keys[])' "$G" | sort
}
check_eq "verdicts coloured in 'Rekeys by verdict'" "$(colours "Rekeys by verdict" | tr '\n' ' ')" \
	"$(tr '\n' ' ' <"$WORK/verdicts")"
check_eq "verdicts coloured in 'Last lossy rekeys'" "$(colours "Last lossy rekeys" | tr '\n' ' ')" \
	"$(tr '\n' ' ' <"$WORK/verdicts")"
{
	jq -r '.. | .expr? // empty' "$G"
	cat "$D/prometheus/rules.yml"
} | grep -oE 'verdict *=~? *"[^"]*"' | cut -d'"' -f2 | tr '|' '\n' | sort -u >"$WORK/verdicts_used"
check_ge "verdicts the rules select" "$(wc -l <"$WORK/verdicts_used")" 3
unknown=$(comm -23 "$WORK/verdicts_used" "$WORK/verdicts" | tr '\n' ' ')
check_eq "verdicts selected that the monitor does not give" "$unknown" ""

# runbook: an alert without a section, or a link to none, is a dead end at 3 a.m. Each
# alert links its own section (GitHub's anchors: the heading in lower case, spaces as '-').
sed -n 's/^## //p' "$D/RUNBOOK.md" | tr 'A-Z ' 'a-z-' | sort -u >"$WORK/sections"
R="$D/prometheus/rules.yml"
sed -n 's/^ *- alert: *//p' "$R" | tr 'A-Z' 'a-z' | sort >"$WORK/alerts"
sed -n 's|^ *runbook: "dashboards/RUNBOOK.md#\(.*\)"$|\1|p' "$R" | sort >"$WORK/alert_links"
check_eq "alerts without their own runbook link" \
	"$(diff "$WORK/alerts" "$WORK/alert_links" | grep '^[<>]' | tr '\n' ' ')" ""
{
	grep -oE 'RUNBOOK\.md#[a-z0-9-]+' "$R" | cut -d'#' -f2
	grep -oE '\]\(#[a-z0-9-]+\)' "$D/RUNBOOK.md" | tr -d '](#)'
} | sort -u >"$WORK/links"
check_eq "runbook links without their section" \
	"$(comm -23 "$WORK/links" "$WORK/sections" | tr '\n' ' ')" ""
echo "ok: $(wc -l <"$WORK/alerts") alerts, each with its runbook section;" \
	"$(wc -l <"$WORK/links") sections linked"

# the unit is verified or this fails: a check that quietly does not run passes nothing
command -v systemd-analyze >/dev/null || fail "no systemd-analyze (Debian package systemd)"
sed "s|/usr/local/bin/rekeygap|$REKEYGAP|" "$D/deploy/rekeygap-monitor.service" \
	>"$WORK/rekeygap-monitor.service"
systemd-analyze verify "$WORK/rekeygap-monitor.service" || fail "systemd-analyze verify"
echo "ok: systemd-analyze verify rekeygap-monitor.service"
python3 - "$D/deploy/rekeygap-daemonset.yaml" <<'PY' || fail "the Kubernetes manifest"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = [d["kind"] for d in docs]
assert kinds == ["Namespace", "DaemonSet", "Service", "ServiceMonitor"], kinds
ds = docs[1]["spec"]["template"]
assert ds["spec"]["hostNetwork"] is True
c = ds["spec"]["containers"][0]
caps = set(c["securityContext"]["capabilities"]["add"])
assert {"BPF", "PERFMON", "NET_ADMIN"} <= caps, caps
mounts = {m["mountPath"] for m in c["volumeMounts"]}
assert {"/sys/kernel/btf", "/sys/fs/bpf", "/run/netns"} <= mounts, mounts
assert ds["metadata"]["annotations"]["prometheus.io/port"] == "10117"
print("ok: rekeygap-daemonset.yaml:", ", ".join(kinds))
PY
