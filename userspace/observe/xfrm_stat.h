/* SPDX-License-Identifier: BSD-2-Clause */
/* /proc/net/xfrm_stat: the kernel's XFRM MIB, "Name value" a line, names as they come. */
#ifndef REKEYGAP_XFRM_STAT_H
#define REKEYGAP_XFRM_STAT_H

#include <linux/types.h>
#include <stdio.h>

/*
 * Each "Name value" line of f to fn, names newer kernels add included. Stops at the first
 * line that is not one (names are at most 79 bytes of non-space). Returns the lines read.
 */
int xfrm_stat_parse(FILE *f, void (*fn)(void *ctx, const char *name, __u64 value), void *ctx);

#endif
