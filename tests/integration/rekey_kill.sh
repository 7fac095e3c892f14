#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# rekey_kill: 'rekeygap rekey' (make-before-break) killed with SIGKILL at each of its steps,
# under sequence-numbered traffic A->B. strace delivers the SIGKILL as the Nth sendto starts
# (the request is never sent), so the process dies with steps 1..N-1 done:
#
#   kill at   done before it                        SAs A->B left: in A / in B
#   step 1    nothing (the SA lists were read)      old / old
#   step 2    the receiver's NEWSA                  old / old + new
#   step 3    the sender's NEWSA                    old + new / old + new   (traffic on new)
#   step 4    the old outbound SA's DELSA           new / old + new
#
# Each time no datagram may be lost (there is always an SA pair the traffic can use), and
# running the same command again must complete: exit 0, one note naming the leftovers
# (their SPIs), one SA pair A->B afterwards with the same SPI on both sides, B->A untouched,
# traffic still flowing.
#
#   netns A  ==== ESP A->B (rekeyed, killed) ====>  netns B
#            <=== ESP B->A spi 0x2000 ============
#   (topology: esp_pair in lib.sh)
source "$(dirname "$0")/lib.sh"

A="$NS_PREFIX-a" B="$NS_PREFIX-b"
esp_pair "$A" "$B" 0x1000 0x2000
REKEY=("$REKEYGAP" rekey --strategy make-before-break --no-loss-count --grace 300ms
	--drain 300ms --from-netns "$A" --to-netns "$B" --src "$OUTER_A" --dst "$OUTER_B")

# the journal of this pair: SPIs a make-before-break may leave, written before it starts
JOURNAL="/run/rekeygap/mbb-$(ns_inode "$A")-$(ns_inode "$B")-$OUTER_A-$OUTER_B"

# spis NS: the SPIs of the SAs A->B in NS, sorted
spis() {
	sa_spis "$1" "$OUTER_A" "$OUTER_B"
}

# One undisturbed rekey under strace: how many sendto calls a whole run makes. The last four
# are the steps (two NEWSA batches, two DELSA batches); the ones before read the SA and
# policy lists.
strace -f -qq -e trace=sendto -o "$WORK/strace" "${REKEY[@]}" >/dev/null ||
	fail "the undisturbed rekey failed"
total=$(grep -c 'sendto(' "$WORK/strace")
echo "an undisturbed make-before-break makes $total sendto calls"
[ "$total" -ge 4 ] || fail "fewer sendto calls than steps: $(cat "$WORK/strace")"

for step in 1 2 3 4; do
	echo "--- SIGKILL at step $step"
	before=$(spis "$A")
	traffic_start "$A" "$B" 4000 1000
	rc=0
	strace -f -qq -e trace=sendto -e inject=sendto:signal=KILL:when=$((total - 4 + step)) \
		-o /dev/null "${REKEY[@]}" >"$WORK/out" 2>"$WORK/err" || rc=$?
	check_eq "step $step: killed (strace passes the signal on)" "$rc" 137
	[ -s "$JOURNAL" ] || fail "step $step: no journal after the kill"
	a=$(spis "$A") b=$(spis "$B")
	echo "left: A has $a, B has $b"
	case $step in
	1) check_eq "step 1: A unchanged" "$a" "$before"
	   check_eq "step 1: B unchanged" "$b" "$before" ;;
	2) check_eq "step 2: A unchanged" "$a" "$before"
	   check_eq "step 2: B has old and new" "$(echo "$b" | wc -w)" 2 ;;
	3) check_eq "step 3: A has old and new" "$(echo "$a" | wc -w)" 2
	   check_eq "step 3: B has the same" "$b" "$a" ;;
	4) check_eq "step 4: A has one SA" "$(echo "$a" | wc -w)" 1
	   [ "$a" != "$before" ] || fail "step 4: A still has the old SA"
	   check_eq "step 4: B has old and new" "$(echo "$b" | wc -w)" 2 ;;
	esac

	# the same command again completes what was left
	"${REKEY[@]}" >"$WORK/out" 2>"$WORK/err" || fail "step $step: re-run exited $?: $(cat "$WORK/err")"
	cat "$WORK/err"
	if [ "$step" = 1 ]; then
		check_eq "step 1: re-run notes" "$(wc -l <"$WORK/err")" 0
	else
		check_eq "step $step: re-run notes" "$(grep -c 'left by an interrupted make-before-break' "$WORK/err")" 1
		# what the traffic used when the rekey died: the sender's new SA if it had one
		live=$a
		[ "$(echo "$a" | wc -w)" = 2 ] && live=$(echo "$a" | tr ' ' '\n' | grep -v "^$before\$")
		for spi in $a $b; do
			[ "$spi" = "$live" ] && continue
			grep -q "$spi" "$WORK/err" || fail "step $step: the note does not name $spi"
		done
		! grep -q "$live" "$WORK/err" || fail "step $step: the note names $live, the SA in use"
	fi
	[ ! -e "$JOURNAL" ] || fail "step $step: the journal is left after the re-run"
	check_eq "step $step: after re-run, SAs A->B in A" "$(spis "$A" | wc -w)" 1
	check_eq "step $step: after re-run, the pair" "$(spis "$B")" "$(spis "$A")"
	check_eq "step $step: B->A untouched in A" "$(sa_spis "$A" "$OUTER_B" "$OUTER_A")" 0x00002000
	check_eq "step $step: B->A untouched in B" "$(sa_spis "$B" "$OUTER_B" "$OUTER_A")" 0x00002000
	traffic_wait
	check_eq "step $step: datagrams lost A->B" "$LOST" 0
done

# SAs that only look like leftovers are not touched, the command refuses as before: one the
# journal does not name (an IKE daemon's own rekey looks like this: same reqid, same
# everything but SPI and key), and one with another reqid
for sa in "0x7777 1" "0x7778 7"; do
	set -- $sa
	esp_sa "$A" "$OUTER_A" "$OUTER_B" "$1" "$2" "$KEY_AB"
	esp_sa "$B" "$OUTER_A" "$OUTER_B" "$1" "$2" "$KEY_AB"
	rc=0
	"${REKEY[@]}" >"$WORK/out" 2>"$WORK/err" || rc=$?
	cat "$WORK/err"
	check_eq "an SA of its own (spi $1, reqid $2): exit status" "$rc" 1
	grep -q "choose one with --spi" "$WORK/err" || fail "spi $1 was taken for a leftover"
	check_eq "an SA of its own (spi $1): still there" "$(spis "$A" | wc -w)" 2
	for ns in "$A" "$B"; do
		ip -n "$ns" xfrm state delete src "$OUTER_A" dst "$OUTER_B" proto esp spi "$1"
	done
done
