#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# host_trace: runs on the host, not in the VM. The development host's kernel has no ESP,
# refuses fentry and has no kprobes: 'rekeygap trace' must still start in tracepoint mode,
# say what it cannot see, and exit 0 at --duration. A forced mode the kernel cannot do is
# one error line and exit 1.
source "$(dirname "$0")/lib.sh"

mode=$("$REKEYGAP" probe --json | jq -r .mode)
echo "probe mode on this kernel: $mode"
[ "$mode" = tracepoint ] || { echo "SKIP: this kernel allows $mode mode, not the degraded one"; exit 0; }

start=$(date +%s%N)
"$REKEYGAP" trace --duration 2 >"$WORK/out" 2>"$WORK/err" || fail "trace exited $?: $(cat "$WORK/err")"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
cat "$WORK/out"
grep -q '^# probe mode tracepoint; cannot see: ' "$WORK/out" || fail "no start line naming the mode"
check_ge "run time in ms (--duration 2)" "$elapsed_ms" 2000
[ "$elapsed_ms" -lt 4000 ] || fail "--duration 2 took $elapsed_ms ms"

"$REKEYGAP" trace --json --duration 1 >"$WORK/json"
check_eq "JSON start line mode" "$(jq -r 'select(.event=="start") | .probe' "$WORK/json")" tracepoint

rc=0
"$REKEYGAP" trace --probe fentry --duration 1 >/dev/null 2>"$WORK/err" || rc=$?
check_eq "forced fentry: exit status" "$rc" 1
check_eq "forced fentry: error lines" "$(wc -l <"$WORK/err")" 1
cat "$WORK/err"
rc=0
"$REKEYGAP" trace --probe bogus 2>/dev/null || rc=$?
check_eq "unknown --probe: exit status" "$rc" 2
