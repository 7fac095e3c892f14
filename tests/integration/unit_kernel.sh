#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# unit_kernel: every cmocka driver (build/unit/test_*) again, here in the VM, where their
# kernel cases (test_kernel_*: real XFRM netlink and ESP in a namespace of their own) can
# run; on the development host those skip, as it has no ESP. Here none may skip or fail,
# and each kernel case registered in tests/unit/test_*.c must have its OK line.
source "$(dirname "$0")/lib.sh"

rc=0
"$TOP/tests/unit/run" --build "$BUILD" >"$WORK/out" 2>&1 || rc=$?
grep -v '^\[       OK \]\|^\[ RUN      \]' "$WORK/out"
read -r passed failed skipped <<<"$(awk '/^unit:/ { print $2, $4, $6 }' "$WORK/out")"
check_eq "tests/unit/run exit status" "$rc" 0
check_eq "unit tests failed" "${failed:-no summary}" 0
check_eq "unit tests skipped" "$skipped" 0
check_ge "unit tests passed" "$passed" 100

kernel_cases=$(grep -ohE 'cmocka_unit_test[a-z_]*\(test_kernel_[a-z0-9_]+' "$TOP"/tests/unit/test_*.c |
	sed 's/.*(//' | sort -u)
check_ge "kernel cases registered" "$(echo "$kernel_cases" | grep -c .)" 1
for t in $kernel_cases; do
	grep -q "^\[       OK \] $t\$" "$WORK/out" || fail "kernel case $t did not pass"
done
echo "ok: kernel cases passed: $(echo $kernel_cases)"
