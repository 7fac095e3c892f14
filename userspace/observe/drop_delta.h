/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Drop deltas: the kernel counts XFRM drops per key (namespace, SA or destination, cause,
 * reason, location) cumulatively in a BPF map; consumers want what is new since the last
 * scan, and when it fell. This table remembers each key's last count and turns a scan into
 * deltas. Keys idle long enough are taken out of the map (SPIs change with every rekey, so
 * a map never pruned fills up), their last drops delivered on the way out; a drop counted
 * after that starts the key afresh.
 *
 * Pure bookkeeping: no BPF, time from the caller. Not thread safe.
 */
#ifndef REKEYGAP_DROP_DELTA_H
#define REKEYGAP_DROP_DELTA_H

#include <linux/types.h>
#include <stdbool.h>

#include "xfrm_trace.h"

/* What a key gained since it was last seen. */
struct drop_delta {
	const struct drop_key *key;
	const struct drop_value *value; /* cumulative, as the kernel has it */
	__u64 count;                    /* new drops */
	__u64 first_ns, last_ns;        /* the time range they fell in */
};

typedef void (*drop_delta_fn)(void *ctx, const struct drop_delta *d);

/* Take a key out of the map with its final value: 0, -ENOENT (not there), other -errno. */
typedef int (*drop_take_fn)(void *ctx, const struct drop_key *k, struct drop_value *v);

struct drop_deltas;

struct drop_deltas *drop_deltas_new(void);
void drop_deltas_free(struct drop_deltas *d);

/*
 * A key's cumulative value, read now: fn gets the delta if it gained drops. Call for every
 * key of a scan; drop_deltas_scanned(now) after it. 0 or -ENOMEM (counted in full next time).
 */
int drop_deltas_update(struct drop_deltas *d, const struct drop_key *k,
		       const struct drop_value *v, drop_delta_fn fn, void *ctx);
void drop_deltas_scanned(struct drop_deltas *d, __u64 now_ns);

/*
 * Keys whose last drop is older than now - idle_ns: taken with take, what came since the
 * last scan delivered to fn, then forgotten. A key that cannot be taken (a kernel before
 * 5.14 cannot take from a hash map) stays, and pruning stops for good: forgotten while
 * still in the map, its drops would count twice.
 */
void drop_deltas_prune(struct drop_deltas *d, __u64 now_ns, __u64 idle_ns, drop_take_fn take,
		       drop_delta_fn fn, void *ctx);

/* Keys remembered; pruning given up. */
unsigned int drop_deltas_count(const struct drop_deltas *d);
bool drop_deltas_prune_failed(const struct drop_deltas *d);

#endif
