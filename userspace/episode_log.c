// SPDX-License-Identifier: BSD-2-Clause
/* The last episodes, for /episodes: see episode_log.h. */
#include "episode_log.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "metrics.h"
#include "names.h"

struct episode_log {
	struct episode ring[EPISODE_LOG_KEPT];
	char ring_netns[EPISODE_LOG_KEPT][64];
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

	fputs("[", out);
	for (unsigned int i = 0; i < m->ring_n; i++) {
		unsigned int k = (first + i) % EPISODE_LOG_KEPT;
		const struct episode *ep = &m->ring[k];
		char ns[160], src[ADDR_STRLEN], dst[ADDR_STRLEN], old[SPI_STRLEN], new[SPI_STRLEN];

		metrics_label_escape(m->ring_netns[k], ns, sizeof(ns));
		addr_format(ep->flow.family, (const xfrm_address_t *)ep->flow.saddr, src, sizeof(src));
		addr_format(ep->flow.family, (const xfrm_address_t *)ep->flow.daddr, dst, sizeof(dst));
		fprintf(out,
			"%s\n{\"id\":%llu,\"netns\":\"%s\",\"src\":\"%s\",\"dst\":\"%s\","
			"\"proto\":\"%s\",\"reqid\":%u,\"dir\":\"%s\",\"kind\":\"%s\","
			"\"old_spi\":\"%s\",\"new_spi\":\"%s\"",
			i ? "," : "", (unsigned long long)ep->id, ns, src, dst,
			proto_label(ep->flow.proto), ep->flow.reqid, sa_dir_label(ep->flow.dir),
			episode_kind_name(ep->kind), spi_format(ep->old_spi, old),
			ep->new_spi ? spi_format(ep->new_spi, new) : "");
		fprintf(out, ",\"t_delete_old_ns\":%llu,\"t_insert_new_ns\":%llu",
			(unsigned long long)ep->t_delete_old, (unsigned long long)ep->t_insert_new);
		if (ep->has_gap)
			fprintf(out, ",\"gap_ns\":%llu,\"overlap_ns\":%llu",
				(unsigned long long)ep->gap_ns, (unsigned long long)ep->overlap_ns);
		fprintf(out, ",\"dropped\":%llu,\"outage_ns\":%llu,\"drops\":{",
			(unsigned long long)ep->drops_total, (unsigned long long)ep->outage_ns);
		for (int c = 0, n = 0; c < DROP_CAUSE_MAX; c++)
			if (ep->drops[c])
				fprintf(out, "%s\"%s\":%llu", n++ ? "," : "", drop_cause_name(c),
					(unsigned long long)ep->drops[c]);
		fputs("}}", out);
	}
	fputs("\n]\n", out);
	return ferror(out) ? -ENOMEM : 0;
}
