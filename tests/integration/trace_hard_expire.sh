#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# trace_hard_expire: the sender's outbound SA has a soft lifetime of 1 s and a hard one of
# 2 s, and nobody rekeys it. The kernel's timer expires it: 'rekeygap trace --json' must show
# sa_expire (soft), then sa_delete and sa_expire (hard) of spi 0x1000 in A, and every packet
# the receiver did not get as an out_no_state drop in A (the sender's namespace), towards
# the receiver's inner address. Run once per probe mode (in tracepoint mode the SA events
# come from netlink, whose hard EXPIRE stands for the delete too); the modes must agree.
#
#   netns A (sender) ==== ESP A->B spi 0x1000, hard lifetime 2 s ====> netns B (receiver)
#   (topology: esp_pair in lib.sh)
source "$(dirname "$0")/lib.sh"

PACKETS=3500 RATE=1000
MODES=${REKEYGAP_PROBE_MODES:-fentry kprobe tracepoint}

run_mode() {
	local mode=$1 A="$NS_PREFIX-$1-a" B="$NS_PREFIX-$1-b" trace="$WORK/trace-$1.jsonl"
	echo "== probe mode $mode"
	esp_pair "$A" "$B" 0x1000 0x2000
	trace_start "$trace" "$mode" "$A" "$B"
	# the outbound SA again, now with lifetimes, just before the traffic starts
	ip -n "$A" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x1000
	esp_sa "$A" "$OUTER_A" "$OUTER_B" 0x1000 1 "$KEY_AB" limit time-soft 1 limit time-hard 2
	traffic_start "$A" "$B" "$PACKETS" "$RATE"
	traffic_wait
	sleep 0.5
	trace_stop "$trace"

	local ino_a ino_b
	ino_a=$(ns_inode "$A") ino_b=$(ns_inode "$B")
	check_ge "packets lost ($mode)" "$LOST" 500
	# a packet already past the lookup when the SA died is out_state_invalid: same loss
	check_eq "out_no_state/out_state_invalid drops in A towards $INNER_B ($mode)" \
		"$(drops "$trace" ".netns==$ino_a and (.cause==\"out_no_state\" or .cause==\"out_state_invalid\") and (.dst==\"$INNER_B\" or .spi==\"0x00001000\")")" "$LOST"
	check_ge "of which out_no_state ($mode)" "$(drops "$trace" '.cause=="out_no_state"')" $((LOST - 2))
	check_eq "all drops attributed ($mode)" "$(drops "$trace" true)" "$LOST"
	check_eq "soft sa_expire of 0x00001000 in A" \
		"$(events "$trace" ".event==\"sa_expire\" and .hard==false and .netns==$ino_a and .spi==\"0x00001000\"")" 1
	check_eq "hard sa_expire of 0x00001000 in A, outbound" \
		"$(events "$trace" ".event==\"sa_expire\" and .hard==true and .netns==$ino_a and .spi==\"0x00001000\" and .dir==\"out\"")" 1
	# two deletes: ours before the traffic, and the kernel's at the hard expiry
	check_eq "sa_delete of 0x00001000 in A" \
		"$(events "$trace" ".event==\"sa_delete\" and .netns==$ino_a and .spi==\"0x00001000\"")" 2
	# but B's inbound SA decrypting its first packet (not in tracepoint mode)
	check_eq "no SA changes in B" "$(events "$trace" ".netns==$ino_b and (.event | startswith(\"sa_\")) and .event!=\"sa_first_packet\"")" 0
	check_eq "events lost" "$(jq -r 'select(.event=="end") | .events_lost' "$trace")" 0
	trace_signature "$trace" "$A" "$B" | tee "$WORK/signature-$mode"
	ip netns del "$A"
	ip netns del "$B"
}

for mode in $MODES; do run_mode "$mode"; done
check_modes_agree "trace_hard_expire"
