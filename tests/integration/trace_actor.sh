#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# trace_actor: who made each SA change, and when each SA carried its first and last packet,
# against what the scenario itself did. In fentry and kprobe mode:
#   - an 'ip xfrm state add' (and 'ip xfrm policy add', 'ip xfrm state delete') names the
#     ip process that ran it: comm "ip" and the pid the shell got for it ($!);
#   - a hard expiry's delete and expiry are the kernel's (its lifetime timer);
#   - a namespace deleted with SAs and policies in it: their deletes are the kernel's (a
#     kworker tears the namespace down);
#   - with sequenced traffic A -> B over a freshly added SA: its sa_first_packet (outbound
#     in A, inbound in B) comes after its add, its delete's last_packet_ns is after that and
#     not after the delete, and nothing was lost.
# In tracepoint mode (netlink) every actor is unknown and there are no first packets.
# Then --no-switchover: the same traffic, no sa_first_packet and no last_packet_ns.
#
#   netns A (sender) ==== ESP A->B spi 0x1000 ====> netns B (receiver)  (esp_pair in lib.sh)
#   netns C: one SA and one policy, deleted as a namespace
source "$(dirname "$0")/lib.sh"

PACKETS=200 RATE=400
MODES=${REKEYGAP_PROBE_MODES:-fentry kprobe tracepoint}

# trace_all FILE MODE [ARGS...]: as trace_start, but every namespace (a deleted one's last
# events arrive after it left the watch list)
trace_all() {
	local file=$1 mode=$2
	shift 2
	bg "$REKEYGAP" trace --json --probe "$mode" "$@" >"$file"
	TRACER=${BG_PIDS[-1]}
	# attaching takes seconds under TCG, tens of them when other VMs share the host
	wait_for_line "$file" '"event":"start"' 60 "$TRACER"
}

# in_bg CMD...: run the program CMD as a process of its own (no shell function: $! would
# be a subshell's) and wait for it; IP_PID is its pid
in_bg() {
	"$@" &
	IP_PID=$!
	wait "$IP_PID"
}

# wait_events FILE JQ_CONDITION N SECONDS: until N events match (fails after SECONDS)
wait_events() {
	local deadline=$((SECONDS + $4))
	until [ "$(events "$1" "$2")" -ge "$3" ]; do
		[ $SECONDS -lt $deadline ] || fail "timed out waiting for $3 events $2"
		kill -0 "$TRACER" 2>/dev/null || fail "rekeygap trace exited"
		sleep 0.5 # jq is slow to start under TCG
	done
}

# one FILE JQ_CONDITION JQ_EXPR: EXPR of the one event matching the condition ("" if not one)
one() {
	jq -s -r "[.[] | select(.event!=\"drop\" and ($2))] | if length == 1 then .[0] | $3 else \"\" end" "$1"
}

# actor_is FILE CONDITION ACTOR: the single event matching CONDITION has that actor
actor_is() {
	check_eq "actor of $2" "$(one "$1" "$2" '.actor | if .kind == "process" then "\(.comm)[\(.pid)]" else .kind end')" "$3"
}

run_mode() {
	local mode=$1 A="$NS_PREFIX-$1-a" B="$NS_PREFIX-$1-b" C="$NS_PREFIX-$1-c"
	local trace="$WORK/trace-$1.jsonl" bpf=1 add_pid pol_pid del_pid ino_a ino_b ino_c
	[ "$mode" = tracepoint ] && bpf=0
	echo "== probe mode $mode (at ${SECONDS}s)"
	esp_pair "$A" "$B" 0x1000 0x2000
	ip netns add "$C"
	ip -n "$C" link set lo up
	ino_a=$(ns_inode "$A") ino_b=$(ns_inode "$B") ino_c=$(ns_inode "$C")
	trace_all "$trace" "$mode"

	# A's outbound SA again, from an ip process whose pid we know, before any traffic
	ip -n "$A" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x1000
	in_bg ip -n "$A" xfrm state add src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x1000 \
		reqid 1 mode tunnel aead "$AEAD_ALG" "$KEY_AB" 128
	add_pid=$IP_PID
	in_bg ip -n "$A" xfrm policy add src 10.9.0.0/24 dst 10.8.0.0/24 dir out \
		tmpl src "$OUTER_A" dst 192.0.2.9 proto esp reqid 9 mode tunnel
	pol_pid=$IP_PID
	# an SA nobody rekeys: the kernel's timer deletes it after a second
	esp_sa "$A" "$OUTER_A" 192.0.2.9 0x3000 3 "$KEY_AB" limit time-hard 1
	# a namespace deleted with an SA and a policy in it
	esp_sa "$C" 192.0.2.7 192.0.2.8 0x4000 4 "$KEY_AB"
	ip -n "$C" xfrm policy add src 10.7.0.0/24 dst 10.6.0.0/24 dir out \
		tmpl src 192.0.2.7 dst 192.0.2.8 proto esp reqid 4 mode tunnel
	ip netns del "$C"

	traffic_start "$A" "$B" "$PACKETS" "$RATE"
	traffic_wait
	check_eq "datagrams lost A -> B ($mode)" "$LOST" 0
	in_bg ip -n "$A" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x1000
	del_pid=$IP_PID
	# the hard expiry (1 s after its add) and, seen by BPF only (netlink let the namespace
	# go), the namespace's teardown by a kworker, later
	wait_events "$trace" ".event==\"sa_expire\" and .hard==true and .spi==\"0x00003000\"" 1 20
	[ $bpf = 0 ] || wait_events "$trace" ".event==\"sa_delete\" and .netns==$ino_c" 1 60
	wait_events "$trace" ".event==\"sa_delete\" and .spi==\"0x00001000\" and .netns==$ino_a" 2 20
	sleep 0.5
	trace_stop "$trace"

	local add_a=".event==\"sa_add\" and .netns==$ino_a and .spi==\"0x00001000\""
	local del_a=".event==\"sa_delete\" and .netns==$ino_a and .spi==\"0x00001000\""
	local first_a=".event==\"sa_first_packet\" and .netns==$ino_a and .spi==\"0x00001000\""
	local first_b=".event==\"sa_first_packet\" and .netns==$ino_b and .spi==\"0x00001000\""
	local pol_add=".event==\"policy_add\" and .netns==$ino_a and .src==\"10.9.0.0/24\""
	local expired=".netns==$ino_a and .spi==\"0x00003000\""
	local gone_sa=".event==\"sa_delete\" and .netns==$ino_c and .spi==\"0x00004000\""
	local gone_pol=".event==\"policy_delete\" and .netns==$ino_c"
	# our delete of 0x1000 before the re-add was of an SA from before the trace: skip it
	del_a="$del_a and .ts_ns > $(one "$trace" "$add_a" .ts_ns)"
	if [ $bpf = 1 ]; then
		actor_is "$trace" "$add_a" "ip[$add_pid]"
		actor_is "$trace" "$pol_add" "ip[$pol_pid]"
		actor_is "$trace" "$del_a" "ip[$del_pid]"
		actor_is "$trace" ".event==\"sa_delete\" and $expired" kernel
		actor_is "$trace" ".event==\"sa_expire\" and .hard==true and $expired" kernel
		actor_is "$trace" "$gone_sa" kernel
		actor_is "$trace" "$gone_pol" kernel
		check_eq "sa_first_packet of 0x1000 in A, outbound ($mode)" \
			"$(one "$trace" "$first_a" .dir)" out
		check_eq "sa_first_packet of 0x1000 in B, inbound ($mode)" \
			"$(one "$trace" "$first_b" .dir)" in
		local t_add t_first t_last t_del
		t_add=$(one "$trace" "$add_a" .ts_ns) t_first=$(one "$trace" "$first_a" .ts_ns)
		t_last=$(one "$trace" "$del_a" '.last_packet_ns // 0') t_del=$(one "$trace" "$del_a" .ts_ns)
		echo "A's 0x1000: add $t_add, first packet $t_first, last packet $t_last, delete $t_del"
		check_eq "add < first packet < last packet <= delete ($mode)" \
			"$([ "$t_add" -lt "$t_first" ] && [ "$t_first" -lt "$t_last" ] &&
			   [ "$t_last" -le "$t_del" ] && echo yes || echo no)" yes
		# the traffic took PACKETS / RATE seconds: so did first to last (TCG: generously)
		check_ge "first to last packet, ms ($mode)" $(((t_last - t_first) / 1000000)) \
			$((PACKETS * 1000 / RATE / 2))
		check_eq "no sa_first_packet without traffic ($mode)" \
			"$(events "$trace" ".event==\"sa_first_packet\" and ($expired or .netns==$ino_c)")" 0
	else
		check_eq "actors other than unknown ($mode)" \
			"$(events "$trace" "(.event | test(\"^(sa|policy)_\")) and .event != \"sa_flush\" and .event != \"policy_flush\" and .actor.kind != \"unknown\"")" 0
		check_eq "sa_first_packet events ($mode)" "$(events "$trace" '.event=="sa_first_packet"')" 0
		check_eq "last_packet_ns on deletes ($mode)" "$(events "$trace" 'has("last_packet_ns")')" 0
	fi
	check_eq "events lost ($mode)" "$(jq -r 'select(.event=="end") | .events_lost' "$trace")" 0
	ip netns del "$A"
	ip netns del "$B"
}

for mode in $MODES; do run_mode "$mode"; done

# --no-switchover: the hooks are not there, so neither is what they tell; actors still are
A="$NS_PREFIX-off-a" B="$NS_PREFIX-off-b" trace="$WORK/trace-off.jsonl"
echo "== --no-switchover"
esp_pair "$A" "$B" 0x1000 0x2000
trace_all "$trace" fentry --no-switchover
grep -q '"unavailable":"[^"]*--no-switchover' "$trace" || fail "the start line does not say --no-switchover"
traffic_start "$A" "$B" 100 200
traffic_wait
check_eq "datagrams lost (--no-switchover)" "$LOST" 0
in_bg ip -n "$A" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x1000
wait_events "$trace" '.event=="sa_delete"' 1 20
trace_stop "$trace"
check_eq "sa_first_packet events (--no-switchover)" "$(events "$trace" '.event=="sa_first_packet"')" 0
check_eq "last_packet_ns on deletes (--no-switchover)" "$(events "$trace" 'has("last_packet_ns")')" 0
actor_is "$trace" '.event=="sa_delete"' "ip[$IP_PID]"
