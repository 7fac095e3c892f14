#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# rekey_variants: rekeys of SAs other than lib.sh's (IPv4, tunnel, host selectors, AES-GCM),
# one VARIANT a run, each in namespaces of its own; sourced by a thin scenario per variant
# (rekey_tunnel, rekey_ipv6, rekey_natt, rekey_esn, rekey_cbc), not a scenario itself:
#   tunnel  IPv4 in IPv4 between subnets: the SAs carry selectors (sel src/dst /24) and a
#           replay window of 32
#   ipv6    IPv6 in IPv6: outer 2001:db8::1 <-> 2001:db8::2, inner 2001:db8:a::1 <-> b::1
#   natt    ESP in UDP (encap espinudp 4500 4500), a UDP_ENCAP_ESPINUDP socket on port
#           4500 in each namespace to take it in
#   esn     extended sequence numbers with a replay window of 128 (flag esn)
#   cbc     transport mode, cbc(aes) + hmac(sha256) truncated to 128 bits
# Under sequence-numbered UDP both ways, with 'rekeygap monitor' watching both namespaces:
#   1. K make-before-break rekeys of both SA pairs at once: the receivers get every datagram
#      (ground truth); the monitor has K replaced episodes per namespace and direction, none
#      with a drop; afterwards each namespace holds one SA per direction, on the last new SPI,
#      with every setting of the original (as 'ip xfrm state' shows it: mode, selector,
#      encap, flags, replay window, algorithms and key lengths) and it carried the traffic;
#   2. D delete-add rekeys of the A->B pair: they lose datagrams, and the monitor's D
#      episodes in A (out) and B (in) hold exactly what the receiver did not get; B->A, not
#      rekeyed, loses nothing; the settings are still the original's. (rekeygap rekey's own
#      BPF drop count is left out: loading it took 40 s of a loaded TCG; rekey_delete_add
#      checks it.)
#
#      netns A                                              netns B
#   +-----------------------+                    +-----------------------+
#   | lo   INNER_A          |                    | lo   INNER_B          |
#   | veth OUTER_A  ========|== ESP (VARIANT) ===|======== veth OUTER_B  |
#   |   [natt: udp 4500 encap socket]            |   [natt: udp 4500]    |
#   +-----------------------+                    +-----------------------+
#     SA A->B: spi 0x1000, reqid 1 (out in A, in in B)  -- rekeyed K times, then D times
#     SA B->A: spi 0x2000, reqid 2 (out in B, in in A)  -- rekeyed K times
#     sequdp INNER_A -> INNER_B port 5001 (flow ab), INNER_B -> INNER_A port 5002 (flow ba);
#     cbc (transport): INNER = OUTER, no lo addresses
#     rekeygap monitor in the root namespace, --netns A --netns B
#   (topology: veth_pair in lib.sh, its addresses set per variant below)
source "$(dirname "$0")/lib.sh"

VARIANT=${VARIANT:-}
K=${REKEYGAP_REKEYS:-3} D=4 RATE=1000
A="$NS_PREFIX-a" B="$NS_PREFIX-b"
MODE=tunnel OPTS_AB=() OPTS_BA=() EXPECT=()
# test keys: cbc(aes) 128 bits, hmac(sha256) 256 bits
ENC_KEY_AB=0x404142434445464748494a4b4c4d4e4f
ENC_KEY_BA=0x505152535455565758595a5b5c5d5e5f
AUTH_KEY_AB=0x606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f
AUTH_KEY_BA=0x808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f
# EXPECT: "N PATTERN": 'ip xfrm state' of each namespace has N lines with PATTERN, before
# the rekeys and after (what makes the variant the variant: never its keys)
case $VARIANT in
tunnel)
	INNER_A=198.51.100.1 INNER_B=203.0.113.1
	NET_A=198.51.100.0/24 NET_B=203.0.113.0/24
	OPTS_AB=(sel src "$NET_A" dst "$NET_B" replay-window 32)
	OPTS_BA=(sel src "$NET_B" dst "$NET_A" replay-window 32)
	EXPECT=("2 mode tunnel" "1 sel src $NET_A dst $NET_B" "1 sel src $NET_B dst $NET_A"
		"2 replay-window 32")
	;;
ipv6)
	OUTER_A=2001:db8::1 OUTER_B=2001:db8::2
	INNER_A=2001:db8:a::1 INNER_B=2001:db8:b::1
	EXPECT=("1 src $OUTER_A dst $OUTER_B" "1 src $OUTER_B dst $OUTER_A" "2 mode tunnel")
	;;
natt)
	OPTS_AB=(encap espinudp 4500 4500 0.0.0.0)
	OPTS_BA=("${OPTS_AB[@]}")
	EXPECT=("2 encap type espinudp sport 4500 dport 4500 addr 0.0.0.0")
	;;
esn)
	OPTS_AB=(flag esn replay-window 128)
	OPTS_BA=("${OPTS_AB[@]}")
	EXPECT=("2 flag.* esn" "2 replay_window 128, bitmap-length 4")
	;;
cbc)
	MODE=transport INNER_A=$OUTER_A INNER_B=$OUTER_B
	EXPECT=("2 mode transport" "2 enc cbc(aes) " "2 auth-trunc hmac(sha256) .* 128$")
	;;
*) fail "VARIANT must be tunnel, ipv6, natt, esn or cbc (got '$VARIANT')" ;;
esac
NET_A=${NET_A:-$INNER_A} NET_B=${NET_B:-$INNER_B}
echo "variant $VARIANT: mode $MODE, $OUTER_A <-> $OUTER_B, inner $NET_A <-> $NET_B"

# sa_add NS ab|ba SPI: the variant's SA of that direction in NS, with that direction's key
sa_add() {
	local src=$OUTER_A dst=$OUTER_B reqid=1 algs opts=(${OPTS_AB[@]+"${OPTS_AB[@]}"})
	local enc=$ENC_KEY_AB auth=$AUTH_KEY_AB aead=$KEY_AB
	if [ "$2" = ba ]; then
		src=$OUTER_B dst=$OUTER_A reqid=2 opts=(${OPTS_BA[@]+"${OPTS_BA[@]}"})
		enc=$ENC_KEY_BA auth=$AUTH_KEY_BA aead=$KEY_BA
	fi
	if [ "$VARIANT" = cbc ]; then
		algs=(enc 'cbc(aes)' "$enc" auth-trunc 'hmac(sha256)' "$auth" 128)
	else
		algs=(aead "$AEAD_ALG" "$aead" 128)
	fi
	ip -n "$1" xfrm state add src "$src" dst "$dst" proto esp spi "$3" reqid "$reqid" \
		mode "$MODE" "${algs[@]}" ${opts[@]+"${opts[@]}"}
}

# check_variant WHEN: the variant's settings (EXPECT) in both namespaces' SAs (not larval
# states: sa_states)
check_variant() {
	local ns e
	for ns in "$A" "$B"; do
		for e in "${EXPECT[@]}"; do
			check_eq "$1: SAs in ${ns##*-} with '${e#* }'" \
				"$(sa_states "$ns" | grep -c -- "${e#* }" || true)" "${e%% *}"
		done
	done
}

# encap_socket NS: a UDP socket on port 4500 that hands ESP in UDP to the kernel
# (UDP_ENCAP 100, UDP_ENCAP_ESPINUDP 2: linux/udp.h), as an IKE daemon's would
encap_socket() {
	bg ip netns exec "$1" python3 -c '
import signal, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 4500))
s.setsockopt(socket.IPPROTO_UDP, 100, 2)
print("listening", flush=True)
signal.pause()' >"$WORK/encap-${1##*-}"
	wait_for_line "$WORK/encap-${1##*-}" listening 20 "${BG_PIDS[-1]}"
}

# xfrm_errors WHEN: what each kernel counted, to read a loss by (not a check)
xfrm_errors() {
	local ns
	for ns in "$A" "$B"; do
		echo "$1: ${ns##*-}'s kernel: $(ip netns exec "$ns" awk '$2 != 0 { printf "%s %s ", $1, $2; n++ }
			END { if (!n) print "no XFRM errors" }' /proc/net/xfrm_stat)"
	done
}

# episodes NS DIR JQ_CONDITION: NS's replaced episodes of DIR in $WORK/episodes matching
episodes() {
	jq --arg ns "$1" --arg dir "$2" \
		"[.[] | select(.netns == \$ns and .dir == \$dir and .kind == \"replaced\" and ($3))]" \
		"$WORK/episodes"
}

if [ "$MODE" = transport ]; then veth_pair "$A" "$B" outer-only; else veth_pair "$A" "$B"; fi
sa_add "$A" ab 0x1000
sa_add "$B" ab 0x1000
sa_add "$B" ba 0x2000
sa_add "$A" ba 0x2000
esp_policies "$A" "$NET_A" "$NET_B" "$OUTER_A" "$OUTER_B" 1 2 "$MODE"
esp_policies "$B" "$NET_B" "$NET_A" "$OUTER_B" "$OUTER_A" 2 1 "$MODE"
[ "$VARIANT" != natt ] || { encap_socket "$A"; encap_socket "$B"; }
check_variant "before"
# a few datagrams each way first: the SAs carry traffic before any rekey, and the neighbours
# are resolved outside the measurement (under a loaded TCG, the first datagrams of a flow
# once waited in the neighbour queue longer than a rekey's grace)
both_flows_start "$A" "$B" 50 100
both_flows_wait
check_eq "before the rekeys: lost A->B, B->A (ground truth, of 50 each)" "$LOST_AB $LOST_BA" "0 0"
before_a=$(sa_settings "$A") before_b=$(sa_settings "$B")
algs_a=$(sa_algs "$A") algs_b=$(sa_algs "$B")
monitor_start "$A" "$B"

echo "--- 1. $K make-before-break rekeys of both pairs (at $SECONDS s)"
both_flows_start "$A" "$B" $((RATE * 600)) "$RATE"
sleep 1
# Rekeys 1.1 s apart, the old outbound SA kept 2 s (drain), the old inbound one 3 s (grace).
# At 500 ms apart the kernel now and then went on sending on the old outbound SA until it
# was deleted (the monitor: the old SA's last packet 3,012 ms after the new one's insert;
# twice a datagram died on its way out then, out_state_invalid). xfrm_state_find takes the
# newest valid SA by add_time, in whole seconds, and on a tie the first in its hash chain:
# the newest goes to the head, but (likely here) the namespace's 8th SA makes the kernel
# grow its hash table, which reverses each chain. SAs a whole second apart never tie. The
# engine's make-before-break counts on the newest SA taking the traffic at once: left open
# (README, "rekey_variants"). A grace longer than the drain keeps the old inbound SA for
# what the old outbound one sent last.
for d in ab ba; do
	if [ $d = ab ]; then from=$A to=$B src=$OUTER_A dst=$OUTER_B; else from=$B to=$A src=$OUTER_B dst=$OUTER_A; fi
	bg "$REKEYGAP" rekey --json --no-loss-count --count "$K" --interval 1100 --drain 2000 \
		--grace 3000 --from-netns "$from" --to-netns "$to" --src "$src" --dst "$dst" >"$WORK/mbb-$d"
	eval "mbb_$d=${BG_PIDS[-1]}"
done
wait_pid "$mbb_ab" 120 "rekey A->B" || fail "rekey A->B exited $?: $(tail -2 "$WORK/mbb-ab")"
wait_pid "$mbb_ba" 120 "rekey B->A" || fail "rekey B->A exited $?: $(tail -2 "$WORK/mbb-ba")"
sleep 0.5
flow_stop ab
LOST_AB=$LOST SENT_AB=$(awk '/^sent/ { print $2 }' "$WORK/send-ab")
flow_stop ba
LOST_BA=$LOST SENT_BA=$(awk '/^sent/ { print $2 }' "$WORK/send-ba")
xfrm_errors "make-before-break"
# (the monitor closes each episode a second after the old SA is gone)
for ns in "$A" "$B"; do
	for dir in in out; do
		wait_metric "rekeygap_rekeys_total{netns=\"$ns\",dir=\"$dir\",kind=\"replaced\"" "$K" 60
	done
done
curl -sS --max-time 10 "$MON_URL/episodes" >"$WORK/episodes"
# (to read a loss by, not a check: how long after the new SA was in the old one still
# carried packets, by the monitor)
jq -c '.[] | {ns: (.netns | sub(".*-"; "")), dir, old_spi, new_spi, dropped, verdict, drops,
	old_used_after_insert_ms: ((((.old_last_packet_ns // 0) - .t_insert_new_ns) / 1e6) | floor)}' \
	"$WORK/episodes"
check_eq "make-before-break: lost A->B (ground truth, of $SENT_AB)" "$LOST_AB" 0
check_eq "make-before-break: lost B->A (ground truth, of $SENT_BA)" "$LOST_BA" 0
for d in ab ba; do
	check_eq "make-before-break rekeys done ($d)" \
		"$(jq -s '[.[] | select(.event=="rekey" and .ok)] | length' "$WORK/mbb-$d")" "$K"
done
new_ab=$(jq -r 'select(.event=="rekey") | .new_spi' "$WORK/mbb-ab" | tail -1)
new_ba=$(jq -r 'select(.event=="rekey") | .new_spi' "$WORK/mbb-ba" | tail -1)
for ns in "$A" "$B"; do
	check_eq "SAs left in ${ns##*-} (one per direction)" "$(sa_count "$ns")" 2
	check_eq "A->B SA in ${ns##*-}: the last new SPI" "$(sa_spis "$ns" "$OUTER_A" "$OUTER_B")" "$new_ab"
	check_eq "B->A SA in ${ns##*-}: the last new SPI" "$(sa_spis "$ns" "$OUTER_B" "$OUTER_A")" "$new_ba"
done
[ "$new_ab" != 0x00001000 ] && [ "$new_ba" != 0x00002000 ] || fail "an SPI did not change"
check_ge "packets B's new inbound SA $new_ab took in" "$(sa_packets "$B" "$new_ab" "$OUTER_A" "$OUTER_B")" 1
check_ge "packets A's new inbound SA $new_ba took in" "$(sa_packets "$A" "$new_ba" "$OUTER_B" "$OUTER_A")" 1
check_variant "after make-before-break"
check_eq "SA settings in A after make-before-break" "$(sa_settings "$A")" "$before_a"
check_eq "SA settings in B after make-before-break" "$(sa_settings "$B")" "$before_b"
check_eq "algorithms and key lengths in A after make-before-break" "$(sa_algs "$A")" "$algs_a"
check_eq "algorithms and key lengths in B after make-before-break" "$(sa_algs "$B")" "$algs_b"
for ns in "$A" "$B"; do
	for dir in in out; do
		check_eq "make-before-break episodes in ${ns##*-}, dir $dir, new SPI, nothing dropped" \
			"$(episodes "$ns" "$dir" '.old_spi != .new_spi and .dropped == 0' | jq length)" "$K"
	done
done

echo "--- 2. $D delete-add rekeys of A->B ($new_ab, at $SECONDS s)"
both_flows_start "$A" "$B" $((RATE * 600)) "$RATE"
sleep 1
"$REKEYGAP" rekey --json --no-loss-count --strategy delete-add --count "$D" --interval 300 \
	--from-netns "$A" --to-netns "$B" --src "$OUTER_A" --dst "$OUTER_B" >"$WORK/da" ||
	fail "delete-add exited $?: $(tail -2 "$WORK/da")"
sleep 0.5
flow_stop ab
LOST_AB=$LOST SENT_AB=$(awk '/^sent/ { print $2 }' "$WORK/send-ab")
flow_stop ba
LOST_BA=$LOST SENT_BA=$(awk '/^sent/ { print $2 }' "$WORK/send-ba")
xfrm_errors "delete-add"
check_eq "delete-add rekeys done" "$(jq -s '[.[] | select(.event=="rekey" and .ok)] | length' "$WORK/da")" "$D"
check_eq "delete-add kept the SPI" "$(jq -r 'select(.event=="rekey") | .new_spi' "$WORK/da" | sort -u)" "$new_ab"
check_ge "delete-add: lost A->B (ground truth, of $SENT_AB)" "$LOST_AB" 1
check_eq "delete-add: lost B->A, not rekeyed (ground truth, of $SENT_BA)" "$LOST_BA" 0
wait_metric "rekeygap_rekeys_total{netns=\"$A\",dir=\"out\",kind=\"replaced\"" $((K + D)) 60
wait_metric "rekeygap_rekeys_total{netns=\"$B\",dir=\"in\",kind=\"replaced\"" $((K + D)) 60
curl -sS --max-time 10 "$MON_URL/episodes" >"$WORK/episodes"
same_spi=".old_spi == \"$new_ab\" and .new_spi == \"$new_ab\""
check_eq "delete-add episodes in A, dir out" "$(episodes "$A" out "$same_spi" | jq length)" "$D"
check_eq "delete-add episodes in B, dir in" "$(episodes "$B" in "$same_spi" | jq length)" "$D"
episodes "$A" out "$same_spi" | jq -c '.[] | {netns, dir, dropped, verdict, drops}'
episodes "$B" in "$same_spi" | jq -c '.[] | {netns, dir, dropped, verdict, drops}'
attributed=$(($(episodes "$A" out "$same_spi" | jq 'map(.dropped) | add') +
	$(episodes "$B" in "$same_spi" | jq 'map(.dropped) | add')))
check_eq "delete-add: the monitor's episodes dropped what the receiver did not get" \
	"$attributed" "$LOST_AB"
check_eq "B->A episodes after the delete-adds (none more)" \
	"$(( $(episodes "$A" in 'true' | jq length) + $(episodes "$B" out 'true' | jq length) ))" $((2 * K))
check_variant "after delete-add"
check_eq "SA settings in A after delete-add" "$(sa_settings "$A")" "$before_a"
check_eq "SA settings in B after delete-add" "$(sa_settings "$B")" "$before_b"
check_eq "algorithms and key lengths in A after delete-add" "$(sa_algs "$A")" "$algs_a"
check_eq "algorithms and key lengths in B after delete-add" "$(sa_algs "$B")" "$algs_b"
echo "variant $VARIANT (at $SECONDS s): make-before-break $K x 2 lost 0; delete-add $D lost $LOST_AB of $SENT_AB," \
	"attributed $attributed"
echo "PASS"
