// SPDX-License-Identifier: BSD-2-Clause
#include "drop_reason.h"

#include <bpf/btf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Values beyond this are not drop reasons but subsystem-tagged ones (6.8+): not ours. */
#define DROP_REASONS_MAX 4096

int drop_reasons_load(struct drop_reasons *dr, const struct btf *btf)
{
	const struct btf_enum *e;
	const struct btf_type *t;
	__u32 max = 0;
	int id, i, n;

	memset(dr, 0, sizeof(*dr));
	id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
	if (id < 0)
		return -ENOENT;
	t = btf__type_by_id(btf, id);
	n = btf_vlen(t);
	e = btf_enum(t);
	for (i = 0; i < n; i++)
		if ((__u32)e[i].val < DROP_REASONS_MAX && (__u32)e[i].val > max)
			max = e[i].val;
	dr->names = calloc(max + 1, sizeof(*dr->names));
	if (!dr->names)
		return -ENOMEM;
	dr->n = max + 1;
	for (i = 0; i < n; i++) {
		const char *name = btf__name_by_offset(btf, e[i].name_off);
		__u32 v = e[i].val;

		if (v >= dr->n || !name || dr->names[v])
			continue;
		if (strncmp(name, DROP_REASON_PREFIX, strlen(DROP_REASON_PREFIX)) == 0) {
			name += strlen(DROP_REASON_PREFIX);
			if (strcmp(name, "MAX") == 0)
				continue; /* the enum's end marker, not a reason */
		} else if (strcmp(name, "SKB_NOT_DROPPED_YET") && strcmp(name, "SKB_CONSUMED"))
			continue; /* SKB_DROP_REASON_MAX and friends */
		dr->names[v] = strdup(name);
		if (!dr->names[v]) {
			drop_reasons_free(dr);
			return -ENOMEM;
		}
	}
	return 0;
}

void drop_reasons_free(struct drop_reasons *dr)
{
	for (__u32 i = 0; i < dr->n; i++)
		free(dr->names[i]);
	free(dr->names);
	memset(dr, 0, sizeof(*dr));
}

const char *drop_reason_name(const struct drop_reasons *dr, __u32 value)
{
	return value < dr->n && dr->names[value] ? dr->names[value] : "unknown";
}

bool drop_reason_value(const struct drop_reasons *dr, const char *name, __u32 *value)
{
	for (__u32 i = 0; i < dr->n; i++) {
		if (dr->names[i] && strcmp(dr->names[i], name) == 0) {
			*value = i;
			return true;
		}
	}
	return false;
}

bool drop_reason_may_be_xfrm(const char *name)
{
	return !strcmp(name, "NOT_SPECIFIED") || strstr(name, "XFRM") || strstr(name, "IPSEC");
}
