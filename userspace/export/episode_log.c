// SPDX-License-Identifier: BSD-2-Clause
/* The last episodes, for /episodes: see episode_log.h. */
#include "episode_log.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "episode_json.h"
#include "json_out.h"

struct episode_log {
	struct episode ring[EPISODE_LOG_KEPT];
	char ring_netns[EPISODE_LOG_KEPT][64]; /* the label as it was when the episode ended */
	unsigned int ring_next, ring_n;
};

struct episode_log *episode_log_new(void)
{
	return calloc(1, sizeof(struct episode_log));
}

void episode_log_free(struct episode_log *log)
{
	free(log);
}

void episode_log_add(struct episode_log *m, const struct episode *ep, const char *netns)
{
	m->ring[m->ring_next] = *ep;
	snprintf(m->ring_netns[m->ring_next], sizeof(m->ring_netns[0]), "%s", netns);
	m->ring_next = (m->ring_next + 1) % EPISODE_LOG_KEPT;
	if (m->ring_n < EPISODE_LOG_KEPT)
		m->ring_n++;
}

int episode_log_write_json(const struct episode_log *m, FILE *out)
{
	unsigned int first = (m->ring_next + EPISODE_LOG_KEPT - m->ring_n) % EPISODE_LOG_KEPT;
	json_t *all = json_array();

	for (unsigned int i = 0; all && i < m->ring_n; i++) {
		unsigned int k = (first + i) % EPISODE_LOG_KEPT;

		if (json_array_append_new(all, episode_json(&m->ring[k], m->ring_netns[k]))) {
			json_decref(all);
			all = NULL;
		}
	}
	return json_out_line(out, all);
}
