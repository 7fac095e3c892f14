# SPDX-License-Identifier: BSD-2-Clause
# lib.sh: helpers sourced by the benchmarks (not executable: tests/bench/run skips it).
#
# Builds on tests/integration/lib.sh: the same namespace naming (rkg-<bench>-<pid>-<role>),
# background processes and cleanup on exit or signal, the same ESP topology (esp_pair).
# A benchmark measures a figure with and without 'rekeygap trace', alternated in one run so
# that both sides see the same machine (and, in the VM, the same TCG slowdown); it reports
# ratios, never bare times, and fails only when the measurement itself went wrong.
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

# bench_trace_on FILE ARGS...: 'rekeygap trace --json ARGS' in the background into FILE;
# returns once its start line is out, i.e. once its programs are attached. BENCH_TRACER is
# its pid.
bench_trace_on() {
	local file=$1
	shift
	bg "$REKEYGAP" trace --json "$@" >"$file"
	BENCH_TRACER=${BG_PIDS[-1]}
	wait_for_line "$file" '"event":"start"' 60 "$BENCH_TRACER"
}

# bench_trace_off FILE: stop the tracer (SIGINT); it must exit 0 and print its end line, so
# the programs are detached when this returns.
bench_trace_off() {
	kill -INT "$BENCH_TRACER"
	wait "$BENCH_TRACER" || fail "rekeygap trace exited with an error: $(tail -3 "$1")"
	grep -q '"event":"end"' "$1" || fail "rekeygap trace printed no end line"
}

# median NUMBER...
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# spread NUMBER...: "MIN-MAX (+P%)", P the distance from MIN to MAX in percent of MIN
spread() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		printf "%s-%s (+%.0f%%)\n", v[1], v[NR], 100 * (v[NR] - v[1]) / v[1] }'
}

# ratio A B: A / B with 3 decimals
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a / b }'
}

# verdict RATIO GOAL: "met" or "not met"
verdict() {
	awk -v r="$1" -v g="$2" 'BEGIN { print (r >= g ? "met" : "not met") }'
}

# sent_seconds FILE: the sending time from 'sequdp send' output; fails on send errors
sent_seconds() {
	local line
	line=$(grep '^sent ' "$1") || fail "no result from sequdp send: $(cat "$1")"
	[[ "$line" =~ in\ ([0-9.]+)\ s,\ ([0-9]+)\ send\ errors ]] || fail "cannot parse: $line"
	[ "${BASH_REMATCH[2]}" = 0 ] || fail "sequdp send: ${BASH_REMATCH[2]} send errors"
	echo "${BASH_REMATCH[1]}"
}

# rate COUNT SECONDS: COUNT / SECONDS, a whole number
rate() {
	awk -v n="$1" -v s="$2" 'BEGIN { if (s <= 0) exit 1; printf "%.0f\n", n / s }' ||
		fail "no time measured for $1 datagrams"
}

# alternate ROUND: the order of the round's two measurements, "off on" or "on off", swapped
# every round so that a drift of the machine (warming up, a neighbour's load) does not
# always favour the same side
alternate() {
	if (($1 % 2)); then echo off on; else echo on off; fi
}

# ---- ESP throughput in the VM (trace_overhead_vm, switchover_overhead) ----

# bench_esp_flow COUNT: COUNT datagrams back to back from A's inner address to B's through
# the esp_pair tunnel (A, B, PORT set by the caller), the sender on vCPU 0 and the receiver
# on vCPU 1 (the scheduler's placement must not vary). RATE is what B received per second
# of sending, SEND_RATE what A sent per second, RECEIVED what B received; TOTAL_SENT and
# TOTAL_RECEIVED add up every flow.
TOTAL_SENT=0 TOTAL_RECEIVED=0
bench_esp_flow() {
	local secs recv
	ip netns exec "$B" taskset -c 1 "$SEQUDP" recv --bind "$INNER_B" --port "$PORT" \
		--expect "$1" --idle 1000 --timeout 60 >"$WORK/recv" &
	recv=$!
	wait_for_line "$WORK/recv" listening 60 "$recv"
	ip netns exec "$A" taskset -c 0 "$SEQUDP" send --src "$INNER_A" --dst "$INNER_B" \
		--port "$PORT" --count "$1" --rate 0 >"$WORK/send" 2>&1 ||
		fail "sequdp send: $(cat "$WORK/send")"
	wait "$recv" || fail "sequdp recv: $(cat "$WORK/recv")"
	secs=$(sent_seconds "$WORK/send")
	RECEIVED=$(awk '/^received/ { print $2 }' "$WORK/recv")
	[ "${RECEIVED:-0}" -gt 0 ] || fail "nothing went through the tunnel: $(cat "$WORK/recv")"
	TOTAL_SENT=$((TOTAL_SENT + $1)) TOTAL_RECEIVED=$((TOTAL_RECEIVED + RECEIVED))
	RATE=$(rate "$RECEIVED" "$secs")
	SEND_RATE=$(rate "$1" "$secs")
}

# bench_alternate ROUNDS BASE_RUN TEST_RUN: the shell functions BASE_RUN and TEST_RUN each
# measure one run and leave its figure in RATE; they alternate base test base ... base,
# ROUNDS runs of test. Each test run is compared with the mean of the base runs just before
# and after it, which cancels a drift of the machine's speed (other VMs on the host come and
# go). Leaves BASES, TESTS (the figures) and RATIOS (one per round).
bench_alternate() {
	local r
	BASES=() TESTS=() RATIOS=()
	"$2"
	BASES+=("$RATE")
	for ((r = 1; r <= $1; r++)); do
		"$3"
		TESTS+=("$RATE")
		"$2"
		BASES+=("$RATE")
		RATIOS+=("$(awk -v t="${TESTS[-1]}" -v a="${BASES[-2]}" -v b="${BASES[-1]}" \
			'BEGIN { printf "%.3f", 2 * t / (a + b) }')")
		echo "round $r: $3 / mean of the $2 runs around it = ${RATIOS[-1]}"
	done
}
