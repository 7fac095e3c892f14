#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# rekey_natt: rekey_variants.sh's natt variant: ESP in UDP on port 4500 both ways (NAT-T's
# encapsulation, encap espinudp), an encap socket in each namespace.
# Make-before-break rekeys of both pairs, delete-add ones of A->B, checked against the
# receivers and the kernel's SAs (see rekey_variants.sh).
VARIANT=natt
source "$(dirname "$0")/rekey_variants.sh"
