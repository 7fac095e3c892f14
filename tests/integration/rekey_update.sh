#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# rekey_update: UPDSA with a new key, 3 times, under traffic both ways. The kernel keeps a
# valid SA's keys (xfrm_state_update copies lifetimes, marks, encap, not keys): rekeygap must
# say the key did not change, having read the SA back; and since nothing changed, the
# traffic must be unaffected.
#
#   netns A  ==== ESP A->B spi 0x1000 (UPDSA x3) ====>  netns B
#            <=== ESP B->A spi 0x2000 ==================
#   (topology: esp_pair in lib.sh)
source "$(dirname "$0")/lib.sh"

REKEYS=3 RATE=2000
A="$NS_PREFIX-a" B="$NS_PREFIX-b"

esp_pair "$A" "$B" 0x1000 0x2000
# key_digest NS: a digest of the A->B SA's key in NS, as ip-xfrm shows it (not the key)
key_digest() {
	ip -n "$1" xfrm state get src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x1000 |
		grep aead | md5sum | cut -c1-12
}
key_a=$(key_digest "$A") key_b=$(key_digest "$B")
both_flows_start "$A" "$B" $((RATE * 600)) "$RATE" # stopped after the rekeys
sleep 1
"$REKEYGAP" rekey --strategy update --count "$REKEYS" --interval 300 \
	--from-netns "$A" --to-netns "$B" --src "$OUTER_A" --dst "$OUTER_B" >"$WORK/human" ||
	fail "rekey exited $?: $(tail -2 "$WORK/human")"
"$REKEYGAP" rekey --json --strategy update --from-netns "$A" --to-netns "$B" \
	--src "$OUTER_A" --dst "$OUTER_B" >"$WORK/json" || fail "rekey --json exited $?"
after_rekeys=$(sa_packets "$B" 0x1000 "$OUTER_A" "$OUTER_B")
sleep 0.5
both_flows_stop
cat "$WORK/human"

check_eq "packets lost A->B (of $SENT_AB)" "$LOST_AB" 0
check_eq "packets lost B->A (of $SENT_BA)" "$LOST_BA" 0
# the traffic outlasted the rekeys: B's SA took datagrams after them
check_ge "datagrams through B's SA after the last UPDSA" \
	$(($(sa_packets "$B" 0x1000 "$OUTER_A" "$OUTER_B") - after_rekeys)) 1
check_eq "lines saying the key did not change" \
	"$(grep -c 'key NOT changed (the kernel kept the old one)' "$WORK/human")" "$REKEYS"
check_eq "JSON: key_changed" "$(jq -r 'select(.event=="rekey") | .key_changed' "$WORK/json")" false
check_eq "JSON: summary key_unchanged" "$(jq -r 'select(.event=="summary") | .key_unchanged' "$WORK/json")" 1
# ground truth for the claim: the key ip-xfrm shows is the same as before, on both sides
check_eq "A's key (digest)" "$(key_digest "$A")" "$key_a"
check_eq "B's key (digest)" "$(key_digest "$B")" "$key_b"

# without the loss count: same result, and the summary says why it has no packet count
"$REKEYGAP" rekey --json --no-loss-count --strategy update --from-netns "$A" --to-netns "$B" \
	--src "$OUTER_A" --dst "$OUTER_B" >"$WORK/plain" || fail "rekey --no-loss-count exited $?"
check_eq "--no-loss-count: key_changed" "$(jq -r 'select(.event=="rekey") | .key_changed' "$WORK/plain")" false
check_eq "--no-loss-count: summary" \
	"$(jq -r 'select(.event=="summary") | "\(.lost) \(.unobserved)"' "$WORK/plain")" "null --no-loss-count"
