/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The last episodes, for /episodes: a ring of EPISODE_LOG_KEPT, the oldest dropped, written
 * out as a JSON array (oldest first). Episode ids show what was dropped.
 *
 * Not thread safe: the caller serializes adding and writing.
 */
#ifndef REKEYGAP_EPISODE_LOG_H
#define REKEYGAP_EPISODE_LOG_H

#include <stdio.h>

#include "episode.h"

#define EPISODE_LOG_KEPT 100

struct episode_log;

struct episode_log *episode_log_new(void);
void episode_log_free(struct episode_log *log);

/* netns: the namespace's label (a name in /run/netns, or the inode number) */
void episode_log_add(struct episode_log *log, const struct episode *ep, const char *netns);

/* The episodes kept, oldest first, as a JSON array into out. 0 or -ENOMEM. */
int episode_log_write_json(const struct episode_log *log, FILE *out);

#endif
