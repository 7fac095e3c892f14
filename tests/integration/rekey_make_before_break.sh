#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# rekey_make_before_break: 100 rekeys of each SA pair at 10 per second, both directions at
# once, under 2,000 packets/s of sequence-numbered UDP each way. Make-before-break must lose
# nothing: the receivers get every datagram (ground truth), rekeygap's own count of dropped
# packets agrees, and afterwards each namespace holds exactly one SA per direction, with the
# settings of the original and a new SPI.
#
#   netns A  ==== ESP A->B (rekeyed 100 times) ====>  netns B
#            <=== ESP B->A (rekeyed 100 times) =====
#   (topology: esp_pair in lib.sh)
source "$(dirname "$0")/lib.sh"

REKEYS=${REKEYGAP_REKEYS:-100} RATE=2000
A="$NS_PREFIX-a" B="$NS_PREFIX-b"

esp_pair "$A" "$B" 0x1000 0x2000
before_a=$(sa_settings "$A") before_b=$(sa_settings "$B")
both_flows_start "$A" "$B" $((RATE * 900)) "$RATE" # stopped after the rekeys
sleep 1
bg "$REKEYGAP" rekey --json --count "$REKEYS" --interval 100 --from-netns "$A" --to-netns "$B" \
	--src "$OUTER_A" --dst "$OUTER_B" >"$WORK/rekey-ab"
rekey_ab=${BG_PIDS[-1]}
bg "$REKEYGAP" rekey --json --count "$REKEYS" --interval 100 --from-netns "$B" --to-netns "$A" \
	--src "$OUTER_B" --dst "$OUTER_A" >"$WORK/rekey-ba"
rekey_ba=${BG_PIDS[-1]}
# (10 s of rekeys, but each rekeygap loads its BPF drop counters first: 7.2's verifier under
# a loaded TCG took most of 120 s)
wait_pid "$rekey_ab" 300 "rekey A->B" || fail "rekey A->B exited $?: $(tail -2 "$WORK/rekey-ab")"
wait_pid "$rekey_ba" 120 "rekey B->A" || fail "rekey B->A exited $?: $(tail -2 "$WORK/rekey-ba")"
sleep 0.5
both_flows_stop
tail -1 "$WORK/rekey-ab"
tail -1 "$WORK/rekey-ba"

check_eq "packets lost A->B (of $SENT_AB)" "$LOST_AB" 0
check_eq "packets lost B->A (of $SENT_BA)" "$LOST_BA" 0
for d in ab ba; do
	check_eq "rekeys done ($d)" "$(jq -s '[.[] | select(.event=="rekey" and .ok)] | length' "$WORK/rekey-$d")" "$REKEYS"
	check_eq "distinct new SPIs ($d)" "$(jq -r 'select(.event=="rekey") | .new_spi' "$WORK/rekey-$d" | sort -u | wc -l)" "$REKEYS"
	lost=$(jq -r 'select(.event=="summary") | .lost' "$WORK/rekey-$d")
	[ "$lost" != null ] || fail "rekeygap could not count losses here ($d): $(tail -1 "$WORK/rekey-$d")"
	check_eq "losses rekeygap saw ($d)" "$lost" 0
done
final_ab=$(jq -r 'select(.event=="rekey") | .new_spi' "$WORK/rekey-ab" | tail -1)
final_ba=$(jq -r 'select(.event=="rekey") | .new_spi' "$WORK/rekey-ba" | tail -1)
for ns in "$A" "$B"; do
	check_eq "SAs left in $ns (one per direction)" "$(sa_count "$ns")" 2
	check_eq "A->B SA in $ns" "$(sa_spis "$ns" "$OUTER_A" "$OUTER_B")" "$final_ab"
	check_eq "B->A SA in $ns" "$(sa_spis "$ns" "$OUTER_B" "$OUTER_A")" "$final_ba"
done
# the traffic outlasted the rekeys: the last SAs carried it
check_ge "datagrams through B's last inbound SA" "$(sa_packets "$B" "$final_ab" "$OUTER_A" "$OUTER_B")" 1
check_ge "datagrams through A's last inbound SA" "$(sa_packets "$A" "$final_ba" "$OUTER_B" "$OUTER_A")" 1
# every setting but SPI and key carried over
check_eq "SA settings in A unchanged" "$(sa_settings "$A")" "$before_a"
check_eq "SA settings in B unchanged" "$(sa_settings "$B")" "$before_b"
