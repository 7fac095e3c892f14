#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# trace_migrate: an SA moved to a new address under traffic (XFRM_MSG_MIGRATE_STATE, Linux
# 7.2: SPI, keys and sequence numbers kept), as a peer's address change (MOBIKE) moves it.
# It is no rekey: each side's migration is one episode of kind "migrated", none "replaced",
# and what the receiver did not get is what those episodes lost, no more, no less.
#
#   netns A 192.0.2.1 ==== ESP A->B spi 0x1000 ====> netns B 192.0.2.2, then 192.0.2.3
#
# B gets its second address, its inbound SA and policy move to it, then A's outbound SA and
# policy do (tests/tools/xfrm-migrate, one process): datagrams A sends to the old address in
# between are lost at B, and those A sends between its SA's move and its policy's at A.
# Two traces watch: in fentry mode BPF tells the migrations; in tracepoint mode netlink does
# (XFRM_MSG_MIGRATE_STATE, which names the SA by destination and SPI only): both must find
# the same episodes. On a kernel without MIGRATE_STATE (the probe says so) the request must
# be refused and change nothing: no episode, no loss.
source "$(dirname "$0")/lib.sh"

PACKETS=5000 RATE=1000
A="$NS_PREFIX-a" B="$NS_PREFIX-b"
SPI=0x1000 NEW_B=192.0.2.3
MIGRATE="$BUILD/tools/xfrm-migrate"

esp_pair "$A" "$B" "$SPI" 0x2000
ip -n "$B" addr add "$NEW_B/24" dev veth-b
has_migrate=$("$REKEYGAP" probe --json | jq -r .migrate_state)
echo "kernel $(uname -r): migrate_state $has_migrate"

MODES="fentry tracepoint"
declare -A TRACERS
for mode in $MODES; do
	trace_start "$WORK/trace-$mode" "$mode" "$A" "$B"
	TRACERS[$mode]=$TRACER
done
flow_start ab "$A" "$INNER_A" "$B" "$INNER_B" 5001 "$PACKETS" "$RATE"
sleep 1.5 # traffic well under way
if [ "$has_migrate" = true ]; then
	"$MIGRATE" "$OUTER_A" "$OUTER_B" "$SPI" "$OUTER_A" "$NEW_B" "$B" "$A" ||
		fail "xfrm-migrate failed"
	check_eq "B's inbound policy template, moved" \
		"$(ip -n "$B" xfrm policy get src "$INNER_A/32" dst "$INNER_B/32" dir in | grep -c "dst $NEW_B")" 1
	check_eq "A's outbound policy template, moved" \
		"$(ip -n "$A" xfrm policy get src "$INNER_A/32" dst "$INNER_B/32" dir out | grep -c "dst $NEW_B")" 1
else
	rc=0
	"$MIGRATE" "$OUTER_A" "$OUTER_B" "$SPI" "$OUTER_A" "$NEW_B" "$A" 2>"$WORK/migrate.err" || rc=$?
	cat "$WORK/migrate.err"
	check_eq "xfrm-migrate's exit where the kernel has no MIGRATE_STATE" "$rc" 1
	grep -q "Invalid argument" "$WORK/migrate.err" || fail "not refused as unknown"
fi
flow_wait ab
echo "ground truth: B received $((PACKETS - LOST)) of $PACKETS, lost $LOST"
for mode in $MODES; do
TRACER=${TRACERS[$mode]}
T="$WORK/trace-$mode"
trace_stop "$T" >/dev/null
echo "--- the $mode trace"
# the episodes the trace handed out, and its SA events
episodes() { jq -s -c "[.[] | select(.event == \"episode\") | $1]" "$T"; }
jq -c 'select(.event == "episode") | {netns, dir, kind, old_spi, new_spi, gap_ns, dropped, verdict}' \
	"$T"
dropped=$(jq -s '[.[] | select(.event == "episode") | .dropped] | add // 0' "$T")
if [ "$has_migrate" = true ]; then
	check_eq "SA events sa_migrate_out (A's outbound, B's inbound)" \
		"$(events "$T" '.event == "sa_migrate_out" and .spi == "0x00001000"')" 2
	check_eq "SA events sa_migrate_in, to the new address" \
		"$(events "$T" ".event == \"sa_migrate_in\" and .dst == \"$NEW_B\"")" 2
	[ "$mode" = fentry ] || check_eq "migrations netlink told, by the SA's identity" \
		"$(events "$T" '(.event | startswith("sa_migrate")) and .source == "netlink" and .identity_only')" 4
	check_eq "deletes and adds of the migrated SA (a migration is neither)" \
		"$(events "$T" '(.event == "sa_add" or .event == "sa_delete") and .spi == "0x00001000"')" 0
	check_eq "episodes' kinds" "$(episodes .kind)" '["migrated","migrated"]'
	check_eq "episodes' SPIs, old = new" "$(episodes '"\(.old_spi)>\(.new_spi)"' | jq -c unique)" \
		'["0x00001000>0x00001000"]'
	if [ "$mode" = fentry ]; then
		check_eq "what the migrations lost (the trace) = what B did not get (ground truth)" \
			"$dropped" "$LOST"
	else
		# netlink tells a migration once it is over, some ms later: A's packets dropped
		# between its SA's move and its policy's (no SA to name) may come before the news
		# and be in no episode; every loss is a drop of the trace all the same, and those
		# on the migrated SPI are in the episodes
		check_eq "drops the $mode trace saw = what B did not get (ground truth)" \
			"$(drops "$T" 'true')" "$LOST"
		check_ge "what the migrations lost (the $mode trace) >= drops on the migrated SPI" \
			"$dropped" "$(drops "$T" '.spi == "0x00001000"')"
	fi
	# a migration without loss is clean; with loss, the moment without the SA is why
	check_eq "verdicts: clean exactly where nothing was lost" \
		"$(jq -s -c '[.[] | select(.event == "episode") | (.dropped == 0) == (.verdict == "clean")] | unique' "$T")" \
		'[true]'
	check_ge "datagrams through B's migrated SA (to $NEW_B)" \
		"$(sa_packets "$B" "$SPI" "$OUTER_A" "$NEW_B")" 1
else
	check_eq "episodes where nothing migrated" "$(episodes .kind)" '[]'
	check_eq "datagrams lost where nothing migrated" "$LOST" 0
	check_eq "SA events of a refused migration" \
		"$(events "$T" '.event == "sa_migrate_out" or .event == "sa_migrate_in" or .event == "sa_delete"')" 0
fi
echo "trace_migrate ($mode): migrate_state $has_migrate, lost $LOST, attributed $dropped"
done
