#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# monitor_storm: an SA event storm overflows the BPF ring buffer. While the monitor is
# stopped (SIGSTOP: a consumer that cannot keep up), 10,000 SAs are added to A and 9,500 of
# them deleted again: 19,500 events against a ring buffer of ~3,300. After SIGCONT the lost
# events must be counted and exported, the monitor must re-dump (a resync) and serve, its SA
# count must equal the kernel's, and the A->B pair's next rekeys (delete-add, under
# sequence-numbered traffic) must be counted once each, with their dropped packets equal
# to what the receiver did not get.
#
#   netns A  ==== ESP A->B (rekeyed after the storm) ====>  netns B
#     + 500 more outbound SAs 192.0.2.1 -> 10.1.x.y left by the storm (no traffic)
#   (topology: esp_pair in lib.sh)
source "$(dirname "$0")/lib.sh"

A="$NS_PREFIX-a" B="$NS_PREFIX-b"
esp_pair "$A" "$B" 0x1000 0x2000
monitor_start "$A" "$B"
traffic_start "$A" "$B" 20000 1000 # A->B for the whole scenario (20 s at most)

# the storm, as one ip -batch: adds, then deletes of all but 500
for i in $(seq 0 9999); do
	echo "xfrm state add src $OUTER_A dst 10.1.$((i / 250)).$((i % 250 + 1)) proto esp spi $((0x10000 + i)) reqid 9 mode tunnel aead $AEAD_ALG $KEY_AB 128"
done >"$WORK/storm"
for i in $(seq 500 9999); do
	echo "xfrm state delete src $OUTER_A dst 10.1.$((i / 250)).$((i % 250 + 1)) proto esp spi $((0x10000 + i))"
done >>"$WORK/storm"
kill -STOP "$MON"
start=$(date +%s.%N)
ip -n "$A" -batch "$WORK/storm" || fail "the storm failed"
secs=$(echo "$(date +%s.%N) $start" | awk '{ printf "%.2f", $1 - $2 }')
echo "storm: 19,500 SA adds and deletes in $secs s ($(echo "$secs" | awk '{ printf "%d", 19500 / $1 }')/s)"
kill -CONT "$MON"

check_eq "SAs in A after the storm (kernel)" "$(sa_count "$A")" 502
# the monitor resyncs: its count is the kernel's
wait_metric "rekeygap_sas{netns=\"$A\"" 502 60
kill -0 "$MON" || fail "the monitor died"
lost=$(metric rekeygap_events_lost_total)
check_ge "events lost, counted" "$lost" 1
check_ge "resyncs" "$(metric rekeygap_resyncs_total)" 1
echo "monitor: $lost events lost, $(metric rekeygap_resyncs_total) resync(s)"
check_eq "storm SAs replaced (none was)" \
	"$(metric "rekeygap_rekeys_total{netns=\"$A\",dir=\"out\",kind=\"replaced\"}")" 0

# after the storm: 3 delete-add rekeys of A->B, each counted once, drops = ground truth
"$REKEYGAP" rekey --strategy delete-add --count 3 --interval 1s --no-loss-count \
	--from-netns "$A" --to-netns "$B" --src "$OUTER_A" --dst "$OUTER_B" >/dev/null ||
	fail "the rekeys after the storm failed"
traffic_wait
echo "A->B: $LOST datagrams lost (ground truth)"
wait_metric "rekeygap_rekeys_total{netns=\"$A\",dir=\"out\",kind=\"replaced\"}" 3 30
wait_metric "rekeygap_rekeys_total{netns=\"$B\",dir=\"in\",kind=\"replaced\"}" 3 30
wait_metric rekeygap_rekey_dropped_packets_total "$LOST" 30
check_eq "SAs in A at the end (monitor)" "$(metric "rekeygap_sas{netns=\"$A\"")" 502
check_eq "events lost after the storm" "$(metric rekeygap_events_lost_total)" "$lost"

kill -TERM "$MON"
rc=0
wait_pid "$MON" 10 "the monitor" || rc=$?
check_eq "monitor exit status" "$rc" 0
