#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# monitor_storm: an SA event storm the monitor cannot keep up with, in both places where SA
# events reach it: the BPF ring buffer (fentry mode) and the netlink socket (tracepoint
# mode: ENOBUFS). While the monitor is stopped (SIGSTOP: a consumer that cannot keep up),
# 10,000 SAs are added to A and 9,500 of them deleted again: 19,500 events against a ring
# buffer of ~3,300 or a 4 MiB socket buffer. After SIGCONT the lost events must be counted
# and exported, the monitor must re-dump (a resync) and serve, its SA count must equal the
# kernel's, no storm SA may come out as replaced (no phantom episode), and the A->B pair's
# next rekeys (delete-add, under sequence-numbered traffic) must be counted once each, with
# their dropped packets equal to what the receiver did not get.
#
#   netns A  ==== ESP A->B (rekeyed after the storm) ====>  netns B
#     + 500 more outbound SAs 192.0.2.1 -> 10.1.x.y left by the storm (no traffic)
#   (topology: esp_pair in lib.sh; fresh namespaces for each mode)
source "$(dirname "$0")/lib.sh"

# the storm, as one ip -batch: adds, then deletes of all but 500
for i in $(seq 0 9999); do
	echo "xfrm state add src $OUTER_A dst 10.1.$((i / 250)).$((i % 250 + 1)) proto esp spi $((0x10000 + i)) reqid 9 mode tunnel aead $AEAD_ALG $KEY_AB 128"
done >"$WORK/storm"
for i in $(seq 500 9999); do
	echo "xfrm state delete src $OUTER_A dst 10.1.$((i / 250)).$((i % 250 + 1)) proto esp spi $((0x10000 + i))"
done >>"$WORK/storm"

# storm MODE: the whole scenario with the monitor in that probe mode
storm() {
	local mode=$1 A="$NS_PREFIX-$1-a" B="$NS_PREFIX-$1-b" start secs lost lost_storm
	echo "--- $mode"
	esp_pair "$A" "$B" 0x1000 0x2000
	MON_OPTS=(--probe "$mode")
	monitor_start "$A" "$B"
	# A->B during the storm (its losses, if any, are no rekey's: shown, not compared)
	flow_start storm "$A" "$INNER_A" "$B" "$INNER_B" 5001 12000 1000

	kill -STOP "$MON"
	start=$(date +%s.%N)
	ip -n "$A" -batch "$WORK/storm" || fail "$mode: the storm failed"
	secs=$(echo "$(date +%s.%N) $start" | awk '{ printf "%.2f", $1 - $2 }')
	echo "$mode: 19,500 SA adds and deletes in $secs s ($(echo "$secs" | awk '{ printf "%d", 19500 / $1 }')/s)"
	kill -CONT "$MON"

	check_eq "$mode: SAs in A after the storm (kernel)" "$(sa_count "$A")" 502
	# the monitor resyncs: its count is the kernel's
	wait_metric "rekeygap_sas{netns=\"$A\"" 502 60
	kill -0 "$MON" || fail "$mode: the monitor died"
	lost=$(metric rekeygap_events_lost_total)
	check_ge "$mode: events lost, counted" "$lost" 1
	check_ge "$mode: resyncs" "$(metric rekeygap_resyncs_total)" 1
	echo "$mode: $lost events lost, $(metric rekeygap_resyncs_total) resync(s)"
	check_eq "$mode: storm SAs replaced (none was)" \
		"$(metric "rekeygap_rekeys_total{netns=\"$A\",dir=\"out\",kind=\"replaced\",")" 0
	flow_wait storm
	lost_storm=$LOST
	echo "$mode: A->B during the storm: $LOST datagrams lost"

	# after the storm: 3 delete-add rekeys of A->B, each counted once, drops = ground truth
	flow_start rekeys "$A" "$INNER_A" "$B" "$INNER_B" 5003 5000 1000
	"$REKEYGAP" rekey --strategy delete-add --count 3 --interval 1s --no-loss-count \
		--from-netns "$A" --to-netns "$B" --src "$OUTER_A" --dst "$OUTER_B" >/dev/null ||
		fail "$mode: the rekeys after the storm failed"
	flow_wait rekeys
	echo "$mode: A->B during the rekeys: $LOST datagrams lost (ground truth)"
	wait_metric "rekeygap_rekeys_total{netns=\"$A\",dir=\"out\",kind=\"replaced\"," 3 30
	wait_metric "rekeygap_rekeys_total{netns=\"$B\",dir=\"in\",kind=\"replaced\"," 3 30
	# every XFRM drop counted; in fentry mode each one in its episode too (tracepoint mode
	# times SA events on receipt: a drop at a gap's edge may fall outside it)
	wait_metric rekeygap_xfrm_drops_total $((LOST + lost_storm)) 30
	if [ "$mode" = fentry ]; then
		wait_metric rekeygap_rekey_dropped_packets_total "$LOST" 30
	else
		echo "$mode: $(metric rekeygap_rekey_dropped_packets_total) of them in episodes"
	fi
	check_eq "$mode: SAs in A at the end (monitor)" "$(metric "rekeygap_sas{netns=\"$A\"")" 502
	check_eq "$mode: events lost after the storm" "$(metric rekeygap_events_lost_total)" "$lost"

	kill -TERM "$MON"
	rc=0
	wait_pid "$MON" 10 "the monitor" || rc=$?
	check_eq "$mode: monitor exit status" "$rc" 0
	ip netns del "$A"
	ip netns del "$B"
}

storm fentry
storm tracepoint
