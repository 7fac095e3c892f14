#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# monitor_preinstall: the peer switches to a new SPI before this side's SA for it is valid,
# the commonest loss of real IKE rekeys. The monitor watches the receiver B only (the peer is
# another host as far as it knows). Twice, each with a sequence-numbered flow A -> B of its
# own (what the receiver did not get is that episode's loss):
#   1. larval: B allocates the new SPI (ALLOCSPI: a larval state), A switches to it, and B
#      completes the SA with UPDSA 100 ms later: A's packets die in B as in_acquire;
#   2. unknown: A switches to an SPI B has not installed at all, B adds it 300 ms later:
#      they die as in_no_state.
# Every datagram the receiver did not get must be in B's inbound episode of that phase
# (those drops come before the new SA's insert, so no episode claimed them before), by
# cause, with the verdict peer_early; `rekeygap explain` says so.
#
#   netns A  ==== ESP A->B: 0x1000, then 0x3000 (larval in B first), then 0x4000 ====>  netns B
#            <=== ESP B->A: 0x2000 ===============================================   (monitor)
#   (topology: esp_pair in lib.sh)
source "$(dirname "$0")/lib.sh"

A="$NS_PREFIX-a" B="$NS_PREFIX-b"
KEY_NEW=0x404142434445464748494a4b4c4d4e4f50515253
esp_pair "$A" "$B" 0x1000 0x2000
monitor_start "$B"
check_eq "SAs in B at start" "$(metric "rekeygap_sas{netns=\"$B\"")" 2

# episode_of OLD NEW: B's episode from SPI OLD to NEW (JSON), once final
episode_of() {
	local deadline=$((SECONDS + 30)) ep
	until ep=$(curl -sS --max-time 10 "$MON_URL/episodes" | jq -ce --arg old "$1" --arg new "$2" \
		'[.[] | select(.old_spi == $old and .new_spi == $new)] | last'); do
		[ $SECONDS -lt $deadline ] || fail "no episode $1 -> $2: $(curl -sS "$MON_URL/episodes")"
		sleep 0.5
	done
	echo "$ep"
}

echo "--- 1. larval: B's SA for 0x3000 made by ALLOCSPI, completed 100 ms after A switched"
traffic_start "$A" "$B" 1250 500
sleep 0.5
ip -n "$B" xfrm state allocspi src "$OUTER_A" dst "$OUTER_B" proto esp mode tunnel reqid 1 \
	min 0x3000 max 0x3000 >/dev/null
esp_sa "$A" "$OUTER_A" "$OUTER_B" 0x3000 1 "$KEY_NEW" # the newest SA: A sends on it now
sleep 0.1
ip -n "$B" xfrm state update src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x3000 reqid 1 \
	mode tunnel aead "$AEAD_ALG" "$KEY_NEW" 128 &
update_pid=$!
wait $update_pid
ip -n "$A" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x1000
sleep 1
ip -n "$B" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x1000
traffic_wait
LOST_LARVAL=$LOST
ep=$(episode_of 0x00001000 0x00003000)
echo "episode: $ep"
check_ge "datagrams lost while A was ahead of B's larval SA" "$LOST_LARVAL" 1
check_eq "larval: the episode lost what the receiver did not get" "$(jq .dropped <<<"$ep")" \
	"$LOST_LARVAL"
check_eq "larval: verdict" "$(jq -r .verdict <<<"$ep")" peer_early
check_eq "larval: all of it before the SA was valid" "$(jq '.loss.peer_early.dropped' <<<"$ep")" \
	"$LOST_LARVAL"
check_eq "larval: the UPDSA's actor" "$(jq -r '.insert_actor | "\(.comm) \(.pid)"' <<<"$ep")" \
	"ip $update_pid"

echo "--- 2. unknown: A on 0x4000 300 ms before B has any SA for it"
traffic_start "$A" "$B" 1250 500
sleep 0.5
esp_sa "$A" "$OUTER_A" "$OUTER_B" 0x4000 1 "$KEY_NEW"
sleep 0.3
esp_sa "$B" "$OUTER_A" "$OUTER_B" 0x4000 1 "$KEY_NEW"
ip -n "$A" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x3000
sleep 1
ip -n "$B" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x3000
traffic_wait
LOST_UNKNOWN=$LOST
ep=$(episode_of 0x00003000 0x00004000)
echo "episode: $ep"
check_ge "datagrams lost while A was ahead of B" "$LOST_UNKNOWN" 1
check_eq "unknown SPI: the episode lost what the receiver did not get" \
	"$(jq .dropped <<<"$ep")" "$LOST_UNKNOWN"
check_eq "unknown SPI: verdict" "$(jq -r .verdict <<<"$ep")" peer_early
LOST=$((LOST_LARVAL + LOST_UNKNOWN))

xfrm_acq=$(ip netns exec "$B" awk '$1 == "XfrmAcquireError" { print $2 }' /proc/net/xfrm_stat)
xfrm_nostate=$(ip netns exec "$B" awk '$1 == "XfrmInNoStates" { print $2 }' /proc/net/xfrm_stat)
echo "B's kernel: XfrmAcquireError $xfrm_acq, XfrmInNoStates $xfrm_nostate"
check_ge "larval drops in B's kernel" "$xfrm_acq" 1
check_ge "unknown-SPI drops in B's kernel" "$xfrm_nostate" 1

wait_metric "rekeygap_rekeys_total{netns=\"$B\",dir=\"in\",kind=\"replaced\"," 2 30
wait_metric "rekeygap_rekey_dropped_packets_total{netns=\"$B\",dir=\"in\"" "$LOST" 30
check_eq "in_acquire drops in B's episodes = B's XfrmAcquireError" \
	"$(metric "rekeygap_rekey_dropped_packets_total{netns=\"$B\",dir=\"in\",cause=\"in_acquire\"}")" \
	"$xfrm_acq"
check_eq "in_no_state drops in B's episodes = B's XfrmInNoStates" \
	"$(metric "rekeygap_rekey_dropped_packets_total{netns=\"$B\",dir=\"in\",cause=\"in_no_state\"}")" \
	"$xfrm_nostate"
curl -sS "$MON_URL/episodes" >"$WORK/episodes"
check_eq "episode 0x1000 -> 0x3000: its drops" \
	"$(jq '[.[] | select(.old_spi == "0x00001000" and .new_spi == "0x00003000") | .drops.in_acquire] | add' "$WORK/episodes")" \
	"$xfrm_acq"
check_eq "episode 0x3000 -> 0x4000: its drops" \
	"$(jq '[.[] | select(.old_spi == "0x00003000" and .new_spi == "0x00004000") | .drops.in_no_state] | add' "$WORK/episodes")" \
	"$xfrm_nostate"
"$REKEYGAP" explain "$MON_URL" >"$WORK/explain" || fail "explain exited $?"
cat "$WORK/explain"
check_eq "episodes explain calls peer_early" "$(grep -c 'verdict peer_early' "$WORK/explain")" 2
check_eq "drops waiting for an SA refused" "$(metric 'rekeygap_limit_reached_total{limit="preinstall"}')" 0
echo "PASS"
