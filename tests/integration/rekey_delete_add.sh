#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# rekey_delete_add: the seed's approach, DELSA + NEWSA with the same SPI and a new key, 10
# times on the A->B pair under 2,000 packets/s each way. It loses packets: the receiver
# already has the new key while the sender still uses the old one, and each side has a
# moment with no SA at all. rekeygap must report exactly the packets the receiver did not
# get (ground truth), and the B->A direction, not rekeyed, must lose nothing.
#
#   netns A  ==== ESP A->B spi 0x1000 (delete-add x10) ====>  netns B
#            <=== ESP B->A spi 0x2000 ========================
#   (topology: esp_pair in lib.sh)
source "$(dirname "$0")/lib.sh"

REKEYS=10 RATE=2000 PACKETS=10000
A="$NS_PREFIX-a" B="$NS_PREFIX-b"

esp_pair "$A" "$B" 0x1000 0x2000
before=$(sa_settings "$A")
both_flows_start "$A" "$B" "$PACKETS" "$RATE"
sleep 1
"$REKEYGAP" rekey --json --strategy delete-add --count "$REKEYS" --interval 200 \
	--from-netns "$A" --to-netns "$B" --src "$OUTER_A" --dst "$OUTER_B" >"$WORK/rekey" ||
	fail "rekey exited $?: $(tail -2 "$WORK/rekey")"
both_flows_wait
tail -1 "$WORK/rekey"

# A batched DELSA + NEWSA leaves the SA missing for microseconds: at 2,000/s most runs lose
# a few, but 0 was seen on 6.1 and in 30 rekeys on 6.12 and 7.2 (tests/run). Said, not
# failed, until the scenario has a rekey that must lose (issue 16); the exact check below
# holds either way.
[ "$LOST_AB" -ge 1 ] || echo "note: the delete-add rekeys lost nothing A->B in this run"
check_eq "packets lost B->A" "$LOST_BA" 0
check_eq "rekeys done" "$(jq -s '[.[] | select(.event=="rekey" and .ok)] | length' "$WORK/rekey")" "$REKEYS"
check_eq "SPI kept" "$(jq -r 'select(.event=="rekey") | .new_spi' "$WORK/rekey" | sort -u)" 0x00001000
lost=$(jq -r 'select(.event=="summary") | .lost' "$WORK/rekey")
[ "$lost" != null ] || fail "rekeygap could not observe losses here: $(tail -1 "$WORK/rekey")"
check_eq "losses rekeygap reports = packets the receiver did not get" "$lost" "$LOST_AB"
check_eq "SA settings in A unchanged" "$(sa_settings "$A")" "$before"
check_eq "SAs left in A" "$(sa_count "$A")" 2

# The one-host form, one SA at a time, as when the peer is another machine: the receiver's
# inbound SA, then the sender's outbound one, with the same key from a file. Afterwards
# the pair works again.
head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/key"
for side in "$B in" "$A out"; do
	set -- $side
	"$REKEYGAP" rekey --strategy delete-add --netns "$1" --dir "$2" --key-file "$WORK/key" \
		--src "$OUTER_A" --dst "$OUTER_B" >"$WORK/one" || fail "rekey --netns $1 --dir $2 exited $?"
	cat "$WORK/one"
done
both_flows_start "$A" "$B" 300 1000
both_flows_wait
check_eq "after the one-sided rekeys: lost A->B" "$LOST_AB" 0
check_eq "after the one-sided rekeys: lost B->A" "$LOST_BA" 0
check_eq "the key was never printed" "$(grep -c "$(cut -c1-16 "$WORK/key")" "$WORK/one" "$WORK/rekey" | awk -F: '{ s += $2 } END { print s }')" 0
