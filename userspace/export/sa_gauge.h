/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The SAs present, per namespace and direction, for the rekeygap_sas gauge: kept as the
 * episode engine reports its SAs coming and going (episode_on_sa_change), so that a scrape
 * reads one number per namespace and direction and never walks the flows.
 */
#ifndef REKEYGAP_SA_GAUGE_H
#define REKEYGAP_SA_GAUGE_H

#include <linux/types.h>

struct sa_gauge;

struct sa_gauge *sa_gauge_new(void);
void sa_gauge_free(struct sa_gauge *g);

/* netns, dir (SA_DIR_*): delta SAs more (or fewer); a count back at 0 is forgotten */
void sa_gauge_add(struct sa_gauge *g, __u32 netns, __u8 dir, int delta);

typedef void (*sa_gauge_fn)(void *ctx, __u32 netns, __u8 dir, __u64 n);
void sa_gauge_foreach(const struct sa_gauge *g, sa_gauge_fn fn, void *ctx);
/* How many (namespace, direction) counts there are. */
unsigned int sa_gauge_count(const struct sa_gauge *g);

#endif
