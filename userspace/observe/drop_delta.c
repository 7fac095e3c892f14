// SPDX-License-Identifier: BSD-2-Clause
/* Drop deltas: see drop_delta.h. */
#include "drop_delta.h"

#include <errno.h>
#include <stdlib.h>
#include <uthash.h>

/* What a drop key had at the last scan: the next delta starts there. */
struct drop_seen {
	struct drop_key key;
	__u64 count, last_ts;
	UT_hash_handle hh;
};

struct drop_deltas {
	struct drop_seen *seen;
	__u64 last_scan_ns;
	bool take_failed;
};

struct drop_deltas *drop_deltas_new(void)
{
	return calloc(1, sizeof(struct drop_deltas));
}

void drop_deltas_free(struct drop_deltas *d)
{
	struct drop_seen *s, *tmp;

	if (!d)
		return;
	HASH_ITER(hh, d->seen, s, tmp) {
		HASH_DEL(d->seen, s);
		free(s);
	}
	free(d);
}

int drop_deltas_update(struct drop_deltas *d, const struct drop_key *k,
		       const struct drop_value *v, drop_delta_fn fn, void *ctx)
{
	struct drop_seen *s;
	__u64 first;

	HASH_FIND(hh, d->seen, k, sizeof(*k), s);
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
		s->key = *k;
		HASH_ADD(hh, d->seen, key, sizeof(s->key), s);
		first = v->first_ts_ns;
	} else {
		/* the first new drop came after the previous one and after the last scan */
		first = s->last_ts + 1 > d->last_scan_ns ? s->last_ts + 1 : d->last_scan_ns;
	}
	if (v->count <= s->count)
		return 0;
	struct drop_delta delta = {
		.key = &s->key,
		.value = v,
		.count = v->count - s->count,
		.first_ns = first < v->last_ts_ns ? first : v->last_ts_ns,
		.last_ns = v->last_ts_ns,
	};
	s->count = v->count;
	s->last_ts = v->last_ts_ns;
	fn(ctx, &delta);
	return 0;
}

void drop_deltas_scanned(struct drop_deltas *d, __u64 now_ns)
{
	d->last_scan_ns = now_ns;
}

void drop_deltas_prune(struct drop_deltas *d, __u64 now_ns, __u64 idle_ns, drop_take_fn take,
		       drop_delta_fn fn, void *ctx)
{
	struct drop_seen *s, *tmp;
	struct drop_value v;

	if (d->take_failed)
		return;
	HASH_ITER(hh, d->seen, s, tmp) {
		int ret;

		if (s->last_ts + idle_ns > now_ns)
			continue;
		ret = take(ctx, &s->key, &v);
		if (!ret) {
			/* what came since the last scan; s->key is still valid during fn */
			drop_deltas_update(d, &s->key, &v, fn, ctx);
		} else if (ret != -ENOENT) {
			d->take_failed = true;
			return;
		}
		HASH_DEL(d->seen, s);
		free(s);
	}
}

unsigned int drop_deltas_count(const struct drop_deltas *d)
{
	return HASH_COUNT(d->seen);
}

bool drop_deltas_prune_failed(const struct drop_deltas *d)
{
	return d->take_failed;
}
