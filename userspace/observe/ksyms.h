/* SPDX-License-Identifier: BSD-2-Clause */
/* Kernel symbols from /proc/kallsyms: drop locations to names, function names to ranges. */
#ifndef REKEYGAP_KSYMS_H
#define REKEYGAP_KSYMS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct ksym {
	__u64 addr;
	char *name;
};

struct ksyms {
	struct ksym *syms; /* sorted by address */
	size_t n;
};

/* Read a kallsyms-format stream; text symbols only. 0 or -errno. Addresses read as 0
 * (kptr_restrict, no privileges) give -EPERM: nothing could be symbolized. */
int ksyms_load(struct ksyms *ks, FILE *kallsyms);
void ksyms_free(struct ksyms *ks);

/* The symbol containing addr (greatest start <= addr), or NULL. */
const struct ksym *ksyms_find(const struct ksyms *ks, __u64 addr);

/* "name+0xoff" into buf, or "0x<addr>" when unknown. Returns buf. */
const char *ksyms_format(const struct ksyms *ks, __u64 addr, char *buf, size_t len);

/* [start, end) of the function called name: end is the next symbol's start. -ENOENT. */
int ksyms_range(const struct ksyms *ks, const char *name, __u64 *start, __u64 *end);

/* Whether the kernel has a function of that name. */
bool ksyms_has(const struct ksyms *ks, const char *name);

#endif
