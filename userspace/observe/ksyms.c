// SPDX-License-Identifier: BSD-2-Clause
#include "ksyms.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int cmp_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int ksyms_load(struct ksyms *ks, FILE *kallsyms)
{
	char line[512], name[256], type;
	size_t cap = 0;
	bool nonzero = false;
	unsigned long long addr;

	memset(ks, 0, sizeof(*ks));
	while (fgets(line, sizeof(line), kallsyms)) {
		/* "ffffffff81000000 T name\t[module]" */
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if (type != 't' && type != 'T')
			continue;
		if (ks->n == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			struct ksym *n = realloc(ks->syms, ncap * sizeof(*n));

			if (!n) {
				ksyms_free(ks);
				return -ENOMEM;
			}
			ks->syms = n;
			cap = ncap;
		}
		ks->syms[ks->n].addr = addr;
		ks->syms[ks->n].name = strdup(name);
		if (!ks->syms[ks->n].name) {
			ksyms_free(ks);
			return -ENOMEM;
		}
		ks->n++;
		nonzero |= addr != 0;
	}
	if (ks->n && !nonzero) {
		ksyms_free(ks);
		return -EPERM;
	}
	qsort(ks->syms, ks->n, sizeof(*ks->syms), cmp_addr);
	return 0;
}

void ksyms_free(struct ksyms *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		free(ks->syms[i].name);
	free(ks->syms);
	memset(ks, 0, sizeof(*ks));
}

const struct ksym *ksyms_find(const struct ksyms *ks, __u64 addr)
{
	size_t lo = 0, hi = ks->n;

	/* first symbol with start > addr, minus one */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &ks->syms[lo - 1] : NULL;
}

const char *ksyms_format(const struct ksyms *ks, __u64 addr, char *buf, size_t len)
{
	const struct ksym *s = ksyms_find(ks, addr);

	if (s)
		snprintf(buf, len, "%s+0x%" PRIx64, s->name, (uint64_t)(addr - s->addr));
	else
		snprintf(buf, len, "0x%" PRIx64, (uint64_t)addr);
	return buf;
}

int ksyms_range(const struct ksyms *ks, const char *name, __u64 *start, __u64 *end)
{
	for (size_t i = 0; i < ks->n; i++) {
		if (strcmp(ks->syms[i].name, name) != 0)
			continue;
		*start = ks->syms[i].addr;
		/* aliases share an address: the end is the next greater one */
		*end = UINT64_MAX;
		for (size_t j = i + 1; j < ks->n; j++) {
			if (ks->syms[j].addr > *start) {
				*end = ks->syms[j].addr;
				break;
			}
		}
		return 0;
	}
	return -ENOENT;
}

bool ksyms_has(const struct ksyms *ks, const char *name)
{
	__u64 start, end;

	return ksyms_range(ks, name, &start, &end) == 0;
}
