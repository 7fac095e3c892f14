#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# trace_policy: policy changes, the way IKE daemons move outbound traffic. In fentry and
# kprobe mode BPF sees inserts, updates and deletes (xfrm_policy_insert and the deletion
# audit hook, with kernel timestamps); in tracepoint mode they come from netlink. Each of
# add, update, delete, add, flush in a namespace must appear once, with the direction,
# selector and template that 'ip xfrm' gave, from the right source.
#
#   netns P: policies only (no SA, no traffic)
source "$(dirname "$0")/lib.sh"

MODES=${REKEYGAP_PROBE_MODES:-fentry kprobe tracepoint}

for mode in $MODES; do
	echo "== probe mode $mode"
	P="$NS_PREFIX-$mode"
	trace="$WORK/trace-$mode.jsonl"
	ip netns add "$P"
	trace_start "$trace" "$mode" "$P"
	policy_changes "$P"
	wait_for_line "$trace" '"event":"policy_flush"' 20 "$TRACER"
	trace_stop "$trace"
	source=bpf
	[ "$mode" = tracepoint ] && source=netlink
	check_policy_events "$trace" "$P" "$source" "$mode"
	check_eq "policy events from the other source ($mode)" \
		"$(events "$trace" "(.event | test(\"^policy_(add|update|delete)\")) and .source!=\"$source\"")" 0
	ip netns del "$P"
done
