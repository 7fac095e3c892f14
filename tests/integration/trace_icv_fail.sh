#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# trace_icv_fail: the same-SPI key change done on one side only. The receiver replaces its
# inbound SA by DELSA + NEWSA with the same SPI and a new key; the sender goes on with the
# old key, so every packet fails the integrity check, until the sender does the same change
# half a second later. Every packet the receiver did not get must appear in
# 'rekeygap trace --json' as a drop of spi 0x1000: in_icv_fail in B, except the few that
# fall into either side's DELSA -> NEWSA window (in_no_state in B, out_no_state in A).
# Run once per probe mode (tracepoint mode has no audit hook: it tells an ICV failure by
# the SA's integrity_failed counter); the modes must agree.
#
#   netns A (sender) ==== ESP A->B spi 0x1000, key K1 then K2 ====> netns B (receiver)
#   (topology: esp_pair in lib.sh)
source "$(dirname "$0")/lib.sh"

PACKETS=3000 RATE=1000
MODES=${REKEYGAP_PROBE_MODES:-fentry kprobe tracepoint}
KEY_NEW=0x404142434445464748494a4b4c4d4e4f50515253

# rekey_same_spi NS: DELSA + NEWSA of the A->B SA in one batch, as a naive rekey would
rekey_same_spi() {
	ip -n "$1" -batch - <<-BATCH
		xfrm state delete src $OUTER_A dst $OUTER_B proto esp spi 0x1000
		xfrm state add src $OUTER_A dst $OUTER_B proto esp spi 0x1000 reqid 1 mode tunnel aead $AEAD_ALG $KEY_NEW 128
	BATCH
}

run_mode() {
	local mode=$1 A="$NS_PREFIX-$1-a" B="$NS_PREFIX-$1-b" trace="$WORK/trace-$1.jsonl"
	echo "== probe mode $mode"
	esp_pair "$A" "$B" 0x1000 0x2000
	trace_start "$trace" "$mode" "$A" "$B"
	traffic_start "$A" "$B" "$PACKETS" "$RATE"

	sleep 1
	rekey_same_spi "$B"
	sleep 0.5
	rekey_same_spi "$A"
	traffic_wait
	sleep 0.5
	trace_stop "$trace"

	local ino_a ino_b icv no_state_b no_state_a
	ino_a=$(ns_inode "$A") ino_b=$(ns_inode "$B")
	icv=$(drops "$trace" ".netns==$ino_b and .spi==\"0x00001000\" and .cause==\"in_icv_fail\"")
	no_state_b=$(drops "$trace" ".netns==$ino_b and .spi==\"0x00001000\" and (.cause==\"in_no_state\" or .cause==\"in_state_invalid\")")
	no_state_a=$(drops "$trace" ".netns==$ino_a and (.cause==\"out_no_state\" or .cause==\"out_state_invalid\")")
	echo "in_icv_fail $icv, in B's DELSA->NEWSA window $no_state_b, in A's $no_state_a"
	check_ge "in_icv_fail drops of spi 0x00001000 in B ($mode)" "$icv" 100
	check_eq "in_icv_fail + the delete windows' drops = packets lost ($mode)" \
		$((icv + no_state_b + no_state_a)) "$LOST"
	check_eq "all drops attributed ($mode)" "$(drops "$trace" true)" "$LOST"
	for ns in A B; do
		local ino=$ino_a
		[ $ns = B ] && ino=$ino_b
		check_eq "sa_delete of 0x00001000 in $ns" \
			"$(events "$trace" ".event==\"sa_delete\" and .netns==$ino and .spi==\"0x00001000\"")" 1
		check_eq "sa_add of 0x00001000 in $ns" \
			"$(events "$trace" ".event==\"sa_add\" and .netns==$ino and .spi==\"0x00001000\"")" 1
	done
	check_eq "events lost" "$(jq -r 'select(.event=="end") | .events_lost' "$trace")" 0
	trace_signature "$trace" "$A" "$B" | tee "$WORK/signature-$mode"
	ip netns del "$A"
	ip netns del "$B"
}

for mode in $MODES; do run_mode "$mode"; done
check_modes_agree "trace_icv_fail"
