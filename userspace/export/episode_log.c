// SPDX-License-Identifier: BSD-2-Clause
/* The last episodes, for /episodes: see episode_log.h. */
#include "episode_log.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "json_out.h"
#include "names.h"

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

/* One episode as /episodes shows it. NULL: out of memory. */
static json_t *episode_json(const struct episode *ep, const char *netns)
{
	char src[ADDR_STRLEN], dst[ADDR_STRLEN], old[SPI_STRLEN], new[SPI_STRLEN];
	json_t *j, *drops = json_object();

	for (int c = 0; drops && c < DROP_CAUSE_MAX; c++)
		if (ep->drops[c] && json_object_set_new(drops, drop_cause_name(c),
							json_out_u64(ep->drops[c]))) {
			json_decref(drops);
			drops = NULL;
		}
	addr_format(ep->flow.family, (const xfrm_address_t *)ep->flow.saddr, src, sizeof(src));
	addr_format(ep->flow.family, (const xfrm_address_t *)ep->flow.daddr, dst, sizeof(dst));
	j = json_pack("{s:o,s:o,s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:o,s:o}",
		      "id", json_out_u64(ep->id), "netns", json_out_string(netns),
		      "src", src, "dst", dst, "proto", proto_label(ep->flow.proto),
		      "reqid", (json_int_t)ep->flow.reqid, "dir", sa_dir_label(ep->flow.dir),
		      "kind", episode_kind_name(ep->kind), "old_spi", spi_format(ep->old_spi, old),
		      "new_spi", ep->new_spi ? spi_format(ep->new_spi, new) : "",
		      "t_delete_old_ns", json_out_u64(ep->t_delete_old),
		      "t_insert_new_ns", json_out_u64(ep->t_insert_new));
	if (ep->has_gap)
		j = json_out_extend(j, json_pack("{s:o,s:o}", "gap_ns", json_out_u64(ep->gap_ns),
						 "overlap_ns", json_out_u64(ep->overlap_ns)));
	return json_out_extend(j, json_pack("{s:o,s:o,s:o}", "dropped",
					    json_out_u64(ep->drops_total), "outage_ns",
					    json_out_u64(ep->outage_ns), "drops", drops));
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
