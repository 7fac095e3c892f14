#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# rekey_pcpu: per-CPU SAs (Linux 6.13+, XFRMA_SA_PCPU; RFC 9611): one SA per CPU for the
# same flow, each rekeyed on its own. Four per direction, under sequence-numbered UDP sent
# from each CPU (a sender pinned to it: its datagrams take that CPU's SA), rekeyed
#  1. one by one, make-before-break ('rekeygap rekey --pcpu C', each CPU in turn),
#  2. all at once, make-before-break ('rekeygap rekey --pcpu all'),
#  3. one by one, delete-add, which loses what each CPU's flow sends into its gap.
# The monitor must keep each CPU's SAs a flow of their own: per namespace, direction and
# CPU, one replaced episode per rekey of that CPU's SA (not one endless overlap), and the
# drops of each CPU's episodes are what that CPU's receivers did not get (ground truth).
# Afterwards each namespace holds four SAs per direction, one per CPU. On a kernel without
# per-CPU SAs (the probe says so) the lab and the rekey engine must refuse --pcpu in one
# line, and leave nothing changed. Needs a VM of 4 CPUs (tests/run gives it one).
#
#   netns A  ==== ESP A->B: CPU c's SA spi 0x1001 + c, c = 0..3 ====>  netns B
#            <=== ESP B->A: CPU c's SA spi 0x2001 + c =============
#   sequdp per CPU c: A -> B port 5100 + c, B -> A port 5200 + c, each sender on CPU c
#   (topology: esp_pair in lib.sh, its SAs then replaced by per-CPU copies: tests/tools/xfrm-pcpu)
# timeout: 900
source "$(dirname "$0")/lib.sh"

CPUS=4 RATE=100 PACKETS=$((100 * 900)) # flows stopped when the rekeys are done
A="$NS_PREFIX-a" B="$NS_PREFIX-b"
PCPU="$BUILD/tools/xfrm-pcpu"
MBB_ROUNDS=2 ALL_ROUNDS=2 DA_ROUNDS=2

esp_pair "$A" "$B" 0x1000 0x2000
has_pcpu=$("$REKEYGAP" probe --json | jq -r .pcpu_sa)
echo "kernel $(uname -r): pcpu_sa $has_pcpu, $(nproc) CPUs"

if [ "$has_pcpu" != true ]; then
	rc=0
	"$REKEYGAP" lab --pcpu 4 --rekeys 1 >"$WORK/lab.out" 2>"$WORK/lab.err" || rc=$?
	cat "$WORK/lab.err"
	check_eq "lab --pcpu's exit where the kernel has no per-CPU SAs" "$rc" 1
	check_eq "lab --pcpu: one error line" "$(wc -l <"$WORK/lab.err")" 1
	grep -q "no per-CPU SAs" "$WORK/lab.err" || fail "lab --pcpu: not refused for the kernel"
	check_eq "lab namespaces left" "$(ip netns list | grep -c '^rkg-lab-' || true)" 0
	before=$(ip -n "$A" xfrm state; ip -n "$B" xfrm state)
	rc=0
	"$REKEYGAP" rekey --pcpu 0 --no-loss-count --from-netns "$A" --to-netns "$B" \
		--src "$OUTER_A" --dst "$OUTER_B" 2>"$WORK/rekey.err" || rc=$?
	cat "$WORK/rekey.err"
	check_eq "rekey --pcpu's exit where the flow has no per-CPU SAs" "$rc" 1
	grep -q "no per-CPU SAs there: leave out --pcpu" "$WORK/rekey.err" ||
		fail "rekey --pcpu: not refused for the SAs"
	check_eq "SAs after the refusals" "$(ip -n "$A" xfrm state; ip -n "$B" xfrm state)" "$before"
	echo "PASS"
	exit 0
fi
[ "$(nproc)" -ge $CPUS ] || fail "$CPUS CPUs needed, $(nproc) here (REKEYGAP_VM_SMP=$CPUS)"

# the per-CPU copies of esp_pair's SAs, CPU c's key the pair's with its last byte c; then
# the pair's own SAs go, so that only per-CPU SAs carry the flows
key_of() { printf '%s%02x' "${1%??}" "$2"; }
# pcpu_sa NS SRC DST SPI NEW_SPI CPU DIR KEY: CPU's copy of SA SPI, the key on stdin
pcpu_sa() {
	key_of "$8" "$6" | "$PCPU" "$1" "$2" "$3" "$4" "$5" "$6" "$7" >/dev/null ||
		fail "xfrm-pcpu $1 $5 cpu $6 $7 failed"
}
for ((c = 0; c < CPUS; c++)); do
	pcpu_sa "$A" "$OUTER_A" "$OUTER_B" 0x1000 $((0x1001 + c)) $c out "$KEY_AB"
	pcpu_sa "$B" "$OUTER_A" "$OUTER_B" 0x1000 $((0x1001 + c)) $c in "$KEY_AB"
	pcpu_sa "$B" "$OUTER_B" "$OUTER_A" 0x2000 $((0x2001 + c)) $c out "$KEY_BA"
	pcpu_sa "$A" "$OUTER_B" "$OUTER_A" 0x2000 $((0x2001 + c)) $c in "$KEY_BA"
done
for ns in "$A" "$B"; do
	ip -n "$ns" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi 0x1000
	ip -n "$ns" xfrm state delete src "$OUTER_B" dst "$OUTER_A" proto esp spi 0x2000
done
check_eq "SAs in A and B, 2 x $CPUS each" "$(sa_count "$A") $(sa_count "$B")" \
	"$((2 * CPUS)) $((2 * CPUS))"

monitor_start "$A" "$B"
for ((c = 0; c < CPUS; c++)); do
	FLOW_CPU=$c flow_start "ab$c" "$A" "$INNER_A" "$B" "$INNER_B" $((5100 + c)) "$PACKETS" "$RATE"
	FLOW_CPU=$c flow_start "ba$c" "$B" "$INNER_B" "$A" "$INNER_A" $((5200 + c)) "$PACKETS" "$RATE"
done
sleep 2

# rekey_both ARGS...: 'rekeygap rekey ARGS' of A->B and of B->A at once, JSON lines kept
n_rekey=0
rekey_both() {
	local ab ba
	n_rekey=$((n_rekey + 1))
	bg "$REKEYGAP" rekey --json --no-loss-count "$@" --from-netns "$A" --to-netns "$B" \
		--src "$OUTER_A" --dst "$OUTER_B" >"$WORK/rekey-$n_rekey-ab"
	ab=${BG_PIDS[-1]}
	bg "$REKEYGAP" rekey --json --no-loss-count "$@" --from-netns "$B" --to-netns "$A" \
		--src "$OUTER_B" --dst "$OUTER_A" >"$WORK/rekey-$n_rekey-ba"
	ba=${BG_PIDS[-1]}
	wait_pid "$ab" 120 "rekey A->B $*" || fail "rekey A->B $* exited $?: $(tail -2 "$WORK/rekey-$n_rekey-ab")"
	wait_pid "$ba" 120 "rekey B->A $*" || fail "rekey B->A $* exited $?: $(tail -2 "$WORK/rekey-$n_rekey-ba")"
}

echo "--- 1. one by one, make-before-break: $MBB_ROUNDS rekeys of each CPU's SAs"
for ((c = 0; c < CPUS; c++)); do
	rekey_both --pcpu $c --count $MBB_ROUNDS --interval 300 --grace 300 --drain 300
done
echo "--- 2. all at once, make-before-break: $ALL_ROUNDS rounds of every CPU's SAs"
rekey_both --pcpu all --count $ALL_ROUNDS --interval 500 --grace 300 --drain 300
echo "--- 3. one by one, delete-add: $DA_ROUNDS rekeys of each CPU's SAs"
for ((c = 0; c < CPUS; c++)); do
	rekey_both --pcpu $c --strategy delete-add --count $DA_ROUNDS --interval 300
done
sleep 1
declare -A LOST_OF
for ((c = 0; c < CPUS; c++)); do
	for f in ab ba; do
		flow_stop "$f$c" >/dev/null
		LOST_OF[$f$c]=$LOST
	done
done

rekeys_each=$((MBB_ROUNDS + ALL_ROUNDS + DA_ROUNDS))
check_eq "rekeys done, per CPU and direction" \
	"$(cat "$WORK"/rekey-*-ab "$WORK"/rekey-*-ba | jq -s -c '[.[] | select(.event == "rekey" and .ok)]
		| group_by(.pcpu) | map(length)')" \
	"$(jq -c -n "[range($CPUS)] | map($((2 * rekeys_each)))")"
[ "$(sa_count "$A") $(sa_count "$B")" = "$((2 * CPUS)) $((2 * CPUS))" ] ||
	{ ip -n "$A" xfrm state; ip -n "$B" xfrm state; } | grep -E '^src|spi|pcpu'
check_eq "SAs in A and B afterwards, 2 x $CPUS each" "$(sa_count "$A") $(sa_count "$B")" \
	"$((2 * CPUS)) $((2 * CPUS))"

# every rekey's episodes closed (or 90 s): per namespace and direction, one per rekey of
# each CPU; the monitor's /episodes keeps the last 100, more than these 4 x 4 x 6
deadline=$((SECONDS + 90))
until [ "$(metric 'rekeygap_rekeys_total{')" -ge $((4 * CPUS * rekeys_each)) ] ||
	[ $SECONDS -ge $deadline ]; do
	sleep 0.5
done
curl -sS --max-time 10 "$MON_URL/episodes" >"$WORK/episodes"
jq -r 'group_by([.netns, .dir, .pcpu, .kind]) | .[] |
	"\(.[0].netns) \(.[0].dir) cpu \(.[0].pcpu) \(.[0].kind): \(length) episodes, \(map(.dropped) | add) dropped"' \
	"$WORK/episodes"
for ns in "$A" "$B"; do
	for dir in in out; do
		if ! jq -e --arg ns "$ns" --arg dir "$dir" --argjson n "$rekeys_each" '[.[] |
			select(.netns == $ns and .dir == $dir)] | group_by(.pcpu) |
			all(length == $n)' "$WORK/episodes" >/dev/null; then
			# which rekey has no episode: each CPU's SPIs, as the episodes chain them
			jq -r --arg ns "$ns" --arg dir "$dir" '.[] | select(.netns == $ns and
				.dir == $dir) | "cpu \(.pcpu) \(.kind) \(.old_spi) -> \(.new_spi) at \(.t_insert_new_ns)"' \
				"$WORK/episodes" | sort
			f=$([ "$ns/$dir" = "$A/out" ] || [ "$ns/$dir" = "$B/in" ] && echo ab || echo ba)
			echo "the rekeys ($f):"
			cat "$WORK"/rekey-*-$f | jq -r 'select(.event == "rekey") |
				"cpu \(.pcpu) \(.strategy) \(.old_spi) -> \(.new_spi) ok \(.ok)"' | sort
		fi
		check_eq "replaced episodes in $ns, dir $dir, per CPU" \
			"$(jq -c --arg ns "$ns" --arg dir "$dir" '[.[] | select(.netns == $ns and
				.dir == $dir and .kind == "replaced")] | group_by(.pcpu) |
				map({pcpu: .[0].pcpu, n: length})' "$WORK/episodes")" \
			"$(jq -c -n "[range($CPUS)] | map({pcpu: ., n: $rekeys_each})")"
	done
done
# each episode's SAs are of its CPU: CPU c's SPIs were 0x1001 + c / 0x2001 + c at first, and
# each rekey's new SPI is what 'rekeygap rekey' said for that CPU
check_eq "episodes whose SPIs the rekeys of their CPU made (old -> new)" \
	"$(cat "$WORK"/rekey-*-ab "$WORK"/rekey-*-ba | jq -s --slurpfile eps "$WORK/episodes" '
		[.[] | select(.event == "rekey" and .ok) | "\(.pcpu) \(.old_spi) \(.new_spi)"] as $made
		| [$eps[0][] | select(.kind == "replaced") | "\(.pcpu) \(.old_spi) \(.new_spi)"
		   | select(IN($made[]))] | length')" \
	$((4 * CPUS * rekeys_each))

# ground truth, CPU by CPU: what flow c's receiver did not get is what the episodes of CPU c
# dropped (the sender's outbound ones and the receiver's inbound ones)
total=0
for ((c = 0; c < CPUS; c++)); do
	for f in ab ba; do
		if [ $f = ab ]; then s=$A r=$B; else s=$B r=$A; fi
		dropped=$(jq --arg s "$s" --arg r "$r" --argjson c $c '[.[] | select(.pcpu == $c and
			((.netns == $s and .dir == "out") or (.netns == $r and .dir == "in")))
			| .dropped] | add // 0' "$WORK/episodes")
		check_eq "CPU $c, $f: drops of its episodes = datagrams its receiver lost" \
			"$dropped" "${LOST_OF[$f$c]}"
		total=$((total + LOST_OF[$f$c]))
	done
done
check_eq "make-before-break episodes (new SPI) with drops" \
	"$(jq '[.[] | select(.kind == "replaced" and .old_spi != .new_spi and .dropped > 0)] | length' \
		"$WORK/episodes")" 0
check_ge "datagrams the delete-add rekeys lost, all CPUs" "$total" 1
echo "PASS"
