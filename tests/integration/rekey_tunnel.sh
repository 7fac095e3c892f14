#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# rekey_tunnel: rekey_variants.sh's tunnel variant: IPv4 in IPv4 between subnets, the SAs
# with selectors (sel src/dst /24) and a replay window of 32.
# Make-before-break rekeys of both pairs, delete-add ones of A->B, checked against the
# receivers and the kernel's SAs (see rekey_variants.sh).
VARIANT=tunnel
source "$(dirname "$0")/rekey_variants.sh"
