#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# lab: 'rekeygap lab' end to end in the VM, checked against its own ground truth and the
# kernel's state afterwards.
#  1. --rekeys 20 (every 200 ms, 1,000 datagrams/s each way), every strategy: make-before-break loses nothing, delete-add loses
#     something, every strategy's attributed drops equal the datagrams lost, the update row
#     says the key did not change; report.json and report.html agree (one bar per SA, one
#     mark per group of lost datagrams, per strategy); nothing is left behind.
#  2. SIGINT in the middle: exit 130, and no namespace, SA or policy of the lab remains;
#     a lab right after works.
#
#   netns rkg-lab-PID-a  ==== ESP both ways (veth) ====  netns rkg-lab-PID-b   (made by the lab)
source "$(dirname "$0")/lib.sh"

# lab_leftovers: namespaces of labs, and SAs/policies in our own namespace
lab_leftovers() {
	ip netns list | grep -c '^rkg-lab-' || true
}
before_sas=$(ip xfrm state | grep -c '^src' || true)
before_pols=$(ip xfrm policy | grep -c '^src' || true)

"$REKEYGAP" lab --rekeys 20 --interval 200 --rate 1000 --report "$WORK/report" >"$WORK/out" 2>"$WORK/err" ||
	fail "lab exited $?: $(tail -3 "$WORK/err")"
sed -n '/^strategy/,$p' "$WORK/out"
J="$WORK/report/report.json"
row() { jq -r --arg s "$1" ".strategies[] | select(.strategy == \$s) | $2" "$J"; }

check_eq "make-before-break: lost" "$(row make-before-break .lost)" 0
check_ge "delete-add: lost" "$(row delete-add .lost)" 1
for s in delete-add make-before-break update; do
	check_eq "$s: rekeys" "$(row "$s" .rekeys)" 20
	check_eq "$s: failed" "$(row "$s" .failed)" 0
	check_eq "$s: attributed = lost (ground truth)" "$(row "$s" .attributed)" "$(row "$s" .lost)"
	check_ge "$s: datagrams sent" "$(row "$s" .sent)" 1000
done
check_eq "update: key changed" "$(row update .key_changed)" false
grep -q '^update .*key not changed (40/40)' "$WORK/out" || fail "the table's update row does not say the key stayed"
check_eq "make-before-break: gap max (ms)" "$(row make-before-break .gap_ms.max)" 0
# the table's numbers are the report's
grep -q "^delete-add  *20  *$(row delete-add .sent)  *$(row delete-add .lost)  *$(row delete-add .attributed) " \
	"$WORK/out" || fail "the table's delete-add row differs from report.json"

# report.html: per strategy, one bar per SA of report.json, one mark per drop group
H="$WORK/report/report.html"
for s in delete-add make-before-break update; do
	svg=$(awk -v id="timeline-$s" 'index($0, "<svg id=\"" id "\"") { on = 1 } on { print } on && /<\/svg>/ { exit }' "$H")
	check_eq "$s: bars in the timeline = SAs in report.json" \
		"$(grep -c 'class="sa"' <<<"$svg")" "$(row "$s" '.sas | length')"
	check_eq "$s: drop marks = drop groups" \
		"$(grep -c 'class="drop"' <<<"$svg" || true)" "$(row "$s" '.drop_groups | length')"
done
check_ge "make-before-break: SAs in the timeline (4 to start, 2 x 2 x 20 new)" \
	"$(row make-before-break '.sas | length')" 84
check_eq "lab namespaces left" "$(lab_leftovers)" 0
grep -q 'key' "$WORK/err" && fail "stderr mentions a key: $(cat "$WORK/err")"

# SIGINT in the middle of a run
"$REKEYGAP" lab --rekeys 200 --rate 1000 --strategies make-before-break >"$WORK/int.out" 2>"$WORK/int.err" &
LAB=$!
wait_for_line "$WORK/int.out" 'make-before-break' 60 "$LAB"
sleep 2
ip netns list | grep -q "^rkg-lab-$LAB-a" || fail "the lab's namespace is not there mid-run"
[ "$(ip -n "rkg-lab-$LAB-a" xfrm state | grep -c "^src")" -ge 2 ] || fail "no SA in the lab mid-run"
kill -INT "$LAB"
rc=0
wait_pid "$LAB" 30 "the lab after SIGINT" || rc=$?
cat "$WORK/int.err"
check_eq "exit status after SIGINT" "$rc" 130
check_eq "lab namespaces left after SIGINT" "$(lab_leftovers)" 0
check_eq "SAs in our namespace" "$(ip xfrm state | grep -c '^src' || true)" "$before_sas"
check_eq "policies in our namespace" "$(ip xfrm policy | grep -c '^src' || true)" "$before_pols"

# and right after, another lab works
"$REKEYGAP" lab --rekeys 2 --interval 100 --rate 500 --strategies make-before-break >"$WORK/again" 2>&1 ||
	fail "the lab after an interrupted one failed: $(tail -3 "$WORK/again")"
grep -q '^make-before-break  *2 ' "$WORK/again" || fail "no table from the second lab"
check_eq "lab namespaces left at the end" "$(lab_leftovers)" 0
