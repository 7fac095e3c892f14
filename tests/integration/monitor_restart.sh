#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# monitor_restart: the monitor killed (SIGKILL) in the middle of a series of rekeys, then
# started again. Nothing of the first one may stay behind (its BPF programs go with its
# file descriptors); the second one starts from the SAs as they are (a baseline), counts
# only the rekeys and drops it sees: its episodes and dropped packets equal what happened
# after it started (ground truth: sequence-numbered traffic), not that plus what the first
# one saw, and the kernel's own counters (xfrm_stat) are exported as the kernel has them,
# not added up across runs.
#
#   netns A  ==== ESP A->B (delete-add rekeys) ====>  netns B
#            <=== ESP B->A =====================
#   (topology: esp_pair in lib.sh)
source "$(dirname "$0")/lib.sh"

A="$NS_PREFIX-a" B="$NS_PREFIX-b"
esp_pair "$A" "$B" 0x1000 0x2000
REKEY=("$REKEYGAP" rekey --strategy delete-add --interval 1s --no-loss-count
	--from-netns "$A" --to-netns "$B" --src "$OUTER_A" --dst "$OUTER_B")
# rekeygap's BPF programs loaded now (names as bpftool shows them, 15 characters)
progs() {
	bpftool prog show 2>/dev/null | grep -cE 'name (fexit|fentry|kprobe|kretprobe)_(state|timer|policy)' || true
}
check_eq "rekeygap BPF programs before" "$(progs)" 0

echo "--- first monitor, killed during the rekeys"
monitor_start "$A" "$B"
first=$MON
check_ge "BPF programs while it runs" "$(progs)" 1
traffic_start "$A" "$B" 8000 1000
bg "${REKEY[@]}" --count 6 >"$WORK/rekeys-1"
rk=${BG_PIDS[-1]}
wait_for_line "$WORK/rekeys-1" "rekey 3:" 60 "$rk"
kill -KILL "$first"
wait "$first" 2>/dev/null || true
wait_pid "$rk" 60 "the rekeys" || fail "the rekeys failed while the monitor was killed"
traffic_wait
echo "while the first monitor ran and after: $LOST datagrams lost"
deadline=$((SECONDS + 20))
until [ "$(progs)" = 0 ]; do
	[ $SECONDS -lt $deadline ] || fail "BPF programs left 20 s after the monitor was killed: $(progs)"
	sleep 0.5
done
echo "ok: no BPF program left by the killed monitor"

echo "--- second monitor"
MON_OPTS=(--timeout 2s) # idle drop keys leave the BPF map 2 s + 2.05 s after their last drop
monitor_start "$A" "$B"
check_eq "episodes at start" "$(metric rekeygap_rekeys_total)" 0
check_eq "SAs at start" "$(metric rekeygap_sas)" 4
traffic_start "$A" "$B" 6000 1000
"${REKEY[@]}" --count 4 >/dev/null || fail "the rekeys under the second monitor failed"
traffic_wait
echo "under the second monitor: $LOST datagrams lost (ground truth)"
wait_metric "rekeygap_rekeys_total{netns=\"$A\",dir=\"out\",kind=\"replaced\"," 4 30
wait_metric "rekeygap_rekeys_total{netns=\"$B\",dir=\"in\",kind=\"replaced\"," 4 30
wait_metric rekeygap_rekey_dropped_packets_total "$LOST" 30
check_eq "XFRM drops counted by the second monitor" "$(metric rekeygap_xfrm_drops_total)" "$LOST"
check_eq "total episodes" "$(metric rekeygap_rekeys_total)" 8

# the kernel's counters, line by line, as the kernel has them now (one scrape)
curl -sS "$MON_URL/metrics" >"$WORK/scrape"
n=0
for ns in "$A" "$B"; do
	ip netns exec "$ns" cat /proc/net/xfrm_stat >"$WORK/xfrm_stat"
	while read -r name value; do
		got=$(awk -v sel="rekeygap_xfrm_mib_packets_total{netns=\"$ns\",name=\"$name\"}" \
			'$1 == sel { print $2 }' "$WORK/scrape")
		[ "$got" = "$value" ] || fail "$ns $name: exported $got, the kernel has $value"
		n=$((n + 1))
	done <"$WORK/xfrm_stat"
done
check_ge "xfrm_stat lines exported as the kernel has them" "$n" 50

# idle drop keys leave the BPF drop map (it holds 4,096); their counts stay, and drops that
# come later under the same key are counted once, not again with the old ones
deadline=$((SECONDS + 30))
until [ "$(bpftool -j map dump name drops | jq length)" = 0 ]; do
	[ $SECONDS -lt $deadline ] || fail "drop keys still in the map 30 s after the last drop: $(bpftool -j map dump name drops | jq length)"
	sleep 1
done
echo "ok: idle drop keys taken out of the map"
check_eq "XFRM drops after the keys left the map" "$(metric rekeygap_xfrm_drops_total)" "$LOST"
before=$LOST
traffic_start "$A" "$B" 3000 1000
"${REKEY[@]}" --count 2 >/dev/null || fail "the rekeys after the pruning failed"
traffic_wait
wait_metric rekeygap_xfrm_drops_total $((before + LOST)) 30

kill -TERM "$MON"
rc=0
wait_pid "$MON" 10 "the monitor" || rc=$?
check_eq "monitor exit status" "$rc" 0
