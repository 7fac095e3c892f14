#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# host_lab: 'rekeygap lab' on the development host, whose kernel has no ESP: one line that
# names what is missing and points to 'make demo', exit 1, and nothing made (no namespace).
# Bad options: one line, exit 2.
source "$(dirname "$0")/lib.sh"

if "$REKEYGAP" probe --json | jq -e .esp >/dev/null; then
	skip "this kernel has ESP; the VM scenario 'lab' runs the lab itself"
fi
rc=0
"$REKEYGAP" lab --rekeys 2 >"$WORK/out" 2>"$WORK/err" || rc=$?
cat "$WORK/err"
check_eq "exit status without ESP" "$rc" 1
check_eq "error lines" "$(wc -l <"$WORK/err")" 1
grep -q 'no ESP (the esp4 module)' "$WORK/err" || fail "the error does not name ESP"
grep -q "make demo" "$WORK/err" || fail "the error does not point to 'make demo'"
check_eq "lab namespaces made" "$(ip netns list | grep -c '^rkg-lab-' || true)" 0

for bad in "--rekeys 0" "--strategies delete-add,bogus" "--strategies update,update" \
	"--interval 1ms" "--rate 0" "--aead des" "--progress loud" \
	"--rekeys 10000 --interval 60s --rate 100000"; do
	rc=0
	# shellcheck disable=SC2086
	"$REKEYGAP" lab $bad >/dev/null 2>"$WORK/err" || rc=$?
	check_eq "lab $bad: exit status" "$rc" 2
	check_eq "lab $bad: error lines" "$(wc -l <"$WORK/err")" 1
done
