#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# monitor_verdicts: every way a rekey loses packets, made on purpose, one phase at a time,
# each with a sequence-numbered flow A -> B of its own so that what the receiver did not get
# (ground truth) is the loss of that phase's episode in B. The monitor watches both sides.
#   1. gap: B deletes its inbound SA with `ip`, adds the new one 200 ms later (delete-add);
#      verdict gap, both actors `ip` with the pids of those ip processes;
#   2. old_removed_early: B adds the new inbound SA, deletes the old at once (no grace), A
#      switches 300 ms later; verdict old_removed_early;
#   3. key_mismatch: B deletes and re-adds the same SPI with another key than A's; A's
#      packets fail the integrity check; verdict key_mismatch;
#   4. make-before-break by `rekeygap rekey`: nothing lost, verdict clean on both sides,
#      actor rekeygap, and the traffic moved inside the overlap (switchover: the old SA's
#      last packet and the new SA's first between the insert and the delete).
# `rekeygap explain` on the monitor's /episodes names each verdict.
#
#   netns A  ==== ESP A->B: 0x1000 -> 0x5000 -> 0x6000 (-> bad key -> 0x6000) -> ? ===>  netns B
#            <=== ESP B->A: 0x2000 ========================================================
#   (topology: esp_pair in lib.sh; the monitor watches A and B)
source "$(dirname "$0")/lib.sh"

A="$NS_PREFIX-a" B="$NS_PREFIX-b"
KEY_BAD=0x99999999999999999999999999999999aabbccdd
RATE=500
esp_pair "$A" "$B" 0x1000 0x2000
monitor_start "$A" "$B"

# sa_ab NS VERB SPI [KEY]: add (with KEY) or delete NS's SA A->B of SPI, in the background
# so that its pid is known: SA_PID is the pid of that ip process, the actor BPF must name
sa_ab() {
	if [ "$2" = add ]; then # (esp_sa's ip, not a subshell around it)
		ip -n "$1" xfrm state add src "$OUTER_A" dst "$OUTER_B" proto esp spi "$3" reqid 1 \
			mode tunnel aead "$AEAD_ALG" "$4" 128 &
	else
		ip -n "$1" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi "$3" &
	fi
	SA_PID=$!
	wait "$SA_PID"
}

# episode NS OLD NEW: B's (or A's) episode from SPI OLD to NEW, as JSON, once it is final
episode() {
	local deadline=$((SECONDS + 30)) ep
	while :; do
		ep=$(curl -sS --max-time 10 "$MON_URL/episodes" |
			jq -c --arg ns "$1" --arg old "$2" --arg new "$3" \
				'[.[] | select(.netns == $ns and .old_spi == $old and .new_spi == $new)] | last // empty')
		[ -n "$ep" ] && break
		[ $SECONDS -lt $deadline ] || fail "no episode $2 -> $3 in $1: $(curl -sS "$MON_URL/episodes")"
		sleep 0.5
	done
	echo "$ep"
}

# check_actor NAME JSON PID: JSON is {"kind":"process","comm":"ip","pid":PID}
check_actor() {
	check_eq "$1" "$(jq -r '"\(.kind) \(.comm) \(.pid)"' <<<"$2")" "process ip $3"
}

# phase_flow PACKETS: a flow of its own for the phase (its loss is the phase's)
phase_flow() {
	traffic_start "$A" "$B" "$1" "$RATE"
	sleep 0.3
}

echo "--- 1. gap: B deletes 0x1000, adds 0x5000 200 ms later"
phase_flow 750
sa_ab "$B" delete 0x1000
del_pid=$SA_PID
sleep 0.2
sa_ab "$B" add 0x5000 "$KEY_AB"
add_pid=$SA_PID
esp_sa "$A" "$OUTER_A" "$OUTER_B" 0x5000 1 "$KEY_AB"
ip -n "$A" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x1000
traffic_wait
ep=$(episode "$B" 0x00001000 0x00005000)
echo "episode: $ep"
check_ge "lost in the gap (ground truth)" "$LOST" 1
check_eq "gap: B's episode lost what the receiver did not get" "$(jq .dropped <<<"$ep")" "$LOST"
check_eq "gap: verdict" "$(jq -r .verdict <<<"$ep")" gap
check_actor "gap: the delete's actor" "$(jq -c .delete_actor <<<"$ep")" "$del_pid"
check_actor "gap: the insert's actor" "$(jq -c .insert_actor <<<"$ep")" "$add_pid"

echo "--- 2. old_removed_early: B adds 0x6000 and deletes 0x5000 at once; A switches 300 ms later"
phase_flow 750
esp_sa "$B" "$OUTER_A" "$OUTER_B" 0x6000 1 "$KEY_AB"
ip -n "$B" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x5000
sleep 0.3
esp_sa "$A" "$OUTER_A" "$OUTER_B" 0x6000 1 "$KEY_AB"
ip -n "$A" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x5000
traffic_wait
ep=$(episode "$B" 0x00005000 0x00006000)
echo "episode: $ep"
check_ge "lost on the old SPI (ground truth)" "$LOST" 1
check_eq "old_removed_early: B's episode lost what the receiver did not get" \
	"$(jq .dropped <<<"$ep")" "$LOST"
check_eq "old_removed_early: verdict" "$(jq -r .verdict <<<"$ep")" old_removed_early
check_eq "old_removed_early: no gap" "$(jq .gap_ns <<<"$ep")" 0

echo "--- 3. key_mismatch: B re-adds 0x6000 with another key"
phase_flow 5000
# one ip for both, so that the moment without an SA is short next to the wrong key's
ip -n "$B" -batch - <<EOF
xfrm state delete src $OUTER_A dst $OUTER_B proto esp spi 0x6000
xfrm state add src $OUTER_A dst $OUTER_B proto esp spi 0x6000 reqid 1 mode tunnel aead $AEAD_ALG $KEY_BAD 128
EOF
sleep 0.3
flow_stop ab # well inside the episode's settle time
ep=$(episode "$B" 0x00006000 0x00006000)
echo "episode: $ep"
check_ge "lost to the wrong key (ground truth)" "$LOST" 1
check_eq "key_mismatch: B's episode lost what the receiver did not get" \
	"$(jq .dropped <<<"$ep")" "$LOST"
check_eq "key_mismatch: verdict" "$(jq -r .verdict <<<"$ep")" key_mismatch
check_ge "key_mismatch: integrity failures" "$(jq '.drops.in_icv_fail // 0' <<<"$ep")" 1
# the right key back, with no traffic: a gap that lost nothing
ip -n "$B" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x6000
esp_sa "$B" "$OUTER_A" "$OUTER_B" 0x6000 1 "$KEY_AB"

echo "--- 4. make-before-break by rekeygap"
phase_flow 100000 # stopped once the rekey is done: rekeygap's start can take seconds here
"$REKEYGAP" rekey --json --count 1 --from-netns "$A" --to-netns "$B" --src "$OUTER_A" \
	--dst "$OUTER_B" >"$WORK/rekey" || fail "rekey exited $?: $(tail -2 "$WORK/rekey")"
new=$(jq -r 'select(.event=="rekey") | .new_spi' "$WORK/rekey")
sleep 0.5
flow_stop ab
check_eq "make-before-break: lost (ground truth)" "$LOST" 0
for ns in "$A" "$B"; do
	ep=$(episode "$ns" 0x00006000 "$new")
	echo "episode in $ns: $ep"
	check_eq "mbb in $ns: dropped" "$(jq .dropped <<<"$ep")" 0
	check_eq "mbb in $ns: verdict" "$(jq -r .verdict <<<"$ep")" clean
	check_eq "mbb in $ns: insert by" "$(jq -r '"\(.insert_actor.kind) \(.insert_actor.comm)"' <<<"$ep")" \
		"process rekeygap"
	check_eq "mbb in $ns: delete by" "$(jq -r '"\(.delete_actor.kind) \(.delete_actor.comm)"' <<<"$ep")" \
		"process rekeygap"
	check_eq "mbb in $ns: switchover inside the overlap" "$(jq -r '
		(.new_first_packet_ns // 0) as $first | (.old_last_packet_ns // 0) as $last |
		if $first == 0 or $last == 0 then "not seen: \(.)"
		elif $first >= .t_insert_new_ns and $first <= .t_delete_old_ns and
		     $last <= .t_delete_old_ns then "inside" else "outside: \(.)" end' <<<"$ep")" inside
done

echo "--- explain"
"$REKEYGAP" explain "$MON_URL" >"$WORK/explain" || fail "explain exited $?"
cat "$WORK/explain"
for v in gap old_removed_early key_mismatch; do
	grep -q "verdict $v" "$WORK/explain" || fail "explain does not name verdict $v"
	echo "ok: explain names $v"
done
grep -q "verdict clean" "$WORK/explain" && fail "explain lists a clean episode as lossy"
echo "PASS"
