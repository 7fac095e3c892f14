// SPDX-License-Identifier: BSD-2-Clause
/* The SAs present, per namespace and direction: see sa_gauge.h. */
#include "sa_gauge.h"

#include <stdlib.h>
#include <uthash.h>

struct sa_count {
	struct {
		__u32 netns;
		__u8 dir;
		__u8 pad[3];
	} key;
	__u64 n;
	UT_hash_handle hh;
};

struct sa_gauge {
	struct sa_count *counts;
};

struct sa_gauge *sa_gauge_new(void)
{
	return calloc(1, sizeof(struct sa_gauge));
}

void sa_gauge_free(struct sa_gauge *g)
{
	struct sa_count *c, *tmp;

	if (!g)
		return;
	HASH_ITER(hh, g->counts, c, tmp) {
		HASH_DEL(g->counts, c);
		free(c);
	}
	free(g);
}

void sa_gauge_add(struct sa_gauge *g, __u32 netns, __u8 dir, int delta)
{
	struct sa_count *c, k = { .key = { .netns = netns, .dir = dir } };

	HASH_FIND(hh, g->counts, &k.key, sizeof(k.key), c);
	if (!c) {
		/* one per namespace and direction: the namespaces are capped by the watch */
		c = calloc(1, sizeof(*c));
		if (!c)
			return;
		c->key = k.key;
		HASH_ADD(hh, g->counts, key, sizeof(c->key), c);
	}
	c->n += (__u64)(long)delta;
	if (!c->n) {
		HASH_DEL(g->counts, c);
		free(c);
	}
}

void sa_gauge_foreach(const struct sa_gauge *g, sa_gauge_fn fn, void *ctx)
{
	const struct sa_count *c, *tmp;

	HASH_ITER(hh, g->counts, c, tmp)
		fn(ctx, c->key.netns, c->key.dir, c->n);
}

unsigned int sa_gauge_count(const struct sa_gauge *g)
{
	return HASH_COUNT(g->counts);
}
