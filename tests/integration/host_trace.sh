#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# host_trace: runs on the host, not in the VM. The development host's kernel has no ESP,
# refuses fentry and has no kprobes: 'rekeygap trace' must still start in tracepoint mode,
# say what it cannot see, and exit 0 at --duration. A forced mode the kernel cannot do is
# one error line and exit 1. Policy changes come from XFRM netlink, which works here too:
# add, update, delete and flush in a namespace of ours must each appear once, with the
# direction and template the 'ip xfrm' command gave.
source "$(dirname "$0")/lib.sh"

mode=$("$REKEYGAP" probe --json | jq -r .mode)
echo "probe mode on this kernel: $mode"
[ "$mode" = tracepoint ] || skip "this kernel allows $mode mode, not the degraded one"

start=$(date +%s%N)
"$REKEYGAP" trace --duration 2 >"$WORK/out" 2>"$WORK/err" || fail "trace exited $?: $(cat "$WORK/err")"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
cat "$WORK/out"
grep -q '^# probe mode tracepoint, netlink in [0-9]* namespaces*; cannot see: ' "$WORK/out" || fail "no start line naming the mode"
check_ge "run time in ms (--duration 2)" "$elapsed_ms" 2000
[ "$elapsed_ms" -lt 4000 ] || fail "--duration 2 took $elapsed_ms ms"

"$REKEYGAP" trace --json --duration 1 >"$WORK/json"
check_eq "JSON start line mode" "$(jq -r 'select(.event=="start") | .probe' "$WORK/json")" tracepoint

rc=0
"$REKEYGAP" trace --probe fentry --duration 1 >/dev/null 2>"$WORK/err" || rc=$?
check_eq "forced fentry: exit status" "$rc" 1
check_eq "forced fentry: error lines" "$(wc -l <"$WORK/err")" 1
cat "$WORK/err"
rc=0
"$REKEYGAP" trace --probe bogus 2>/dev/null || rc=$?
check_eq "unknown --probe: exit status" "$rc" 2

# policies through netlink, in a namespace named on the command line and in one found in
# /run/netns (no --netns)
P="$NS_PREFIX-p"
ip netns add "$P"
for how in named all; do
	args=()
	[ $how = named ] && args=(--netns "$P")
	trace="$WORK/policy-$how.jsonl"
	bg "$REKEYGAP" trace --json --duration 30 "${args[@]}" >"$trace"
	TRACER=${BG_PIDS[-1]}
	wait_for_line "$trace" '"event":"start"' 10 "$TRACER"
	policy_changes "$P"
	wait_for_line "$trace" '"event":"policy_flush"' 10 "$TRACER"
	trace_stop "$trace"
	check_policy_events "$trace" "$P" netlink "$how"
	check_eq "netlink losses ($how)" \
		"$(jq -r 'select(.event=="end") | .netlink_overruns + .netlink_malformed' "$trace")" 0
done

# Our netlink sockets hold a namespace alive. When 'ip netns del' removes a watched one, the
# trace must let it go at once (its veth pair then disappears: ground truth that the
# namespace was freed), and a namespace created while it runs must be watched.
G="$NS_PREFIX-gone" L="$NS_PREFIX-late" V="rkgv$$"
ip netns add "$G"
ip link add "$V" type veth peer name "${V}p" netns "$G"
trace="$WORK/follow.jsonl"
bg "$REKEYGAP" trace --json --duration 60 >"$trace"
TRACER=${BG_PIDS[-1]}
wait_for_line "$trace" '"event":"start"' 10 "$TRACER"
ip netns del "$G"
for ((i = 0; i < 50; i++)); do ip link show "$V" >/dev/null 2>&1 || break; sleep 0.1; done
ip link show "$V" >/dev/null 2>&1 && { ip link del "$V"; fail "deleted namespace kept alive by the trace"; }
echo "ok: deleted namespace released while the trace runs ($((i * 100)) ms)"
ip netns add "$L"
sleep 1.5 # the next rescan
ip -n "$L" xfrm policy add src 10.3.0.0/24 dst 10.4.0.0/24 dir out
wait_for_line "$trace" '"event":"policy_add"' 10 "$TRACER"
trace_stop "$trace"
check_eq "policy_add in a namespace created after the start" \
	"$(events "$trace" ".event==\"policy_add\" and .netns==$(ns_inode "$L") and .src==\"10.3.0.0/24\"")" 1

# more namespaces than it can watch (64, ours included): it says so once, watches the
# first 64 and still runs
for i in $(seq 1 70); do ip netns add "$NS_PREFIX-many$i"; done
rc=0
"$REKEYGAP" trace --duration 2 >/dev/null 2>"$WORK/err" || rc=$?
cat "$WORK/err"
check_eq "70 namespaces more: exit status" "$rc" 0
check_eq "70 namespaces more: notice lines" "$(grep -c 'namespaces not watched\|not watched (choose with --netns)' "$WORK/err")" 1
grep -q "more than 64 namespaces: [0-9]* not watched" "$WORK/err" || fail "the notice does not say how many"
for i in $(seq 1 70); do ip netns del "$NS_PREFIX-many$i"; done
