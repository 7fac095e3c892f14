#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# rekey_cbc: rekey_variants.sh's cbc variant: transport mode, cbc(aes) + hmac(sha256)
# truncated to 128 bits.
# Make-before-break rekeys of both pairs, delete-add ones of A->B, checked against the
# receivers and the kernel's SAs (see rekey_variants.sh).
VARIANT=cbc
source "$(dirname "$0")/rekey_variants.sh"
