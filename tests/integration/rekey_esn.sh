#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# rekey_esn: rekey_variants.sh's esn variant: extended sequence numbers (flag esn) with a
# replay window of 128.
# Make-before-break rekeys of both pairs, delete-add ones of A->B, checked against the
# receivers and the kernel's SAs (see rekey_variants.sh).
VARIANT=esn
source "$(dirname "$0")/rekey_variants.sh"
