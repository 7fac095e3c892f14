#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# rekey_ipv6: rekey_variants.sh's ipv6 variant: IPv6 in IPv6, outer and inner addresses
# IPv6.
# Make-before-break rekeys of both pairs, delete-add ones of A->B, checked against the
# receivers and the kernel's SAs (see rekey_variants.sh).
VARIANT=ipv6
source "$(dirname "$0")/rekey_variants.sh"
