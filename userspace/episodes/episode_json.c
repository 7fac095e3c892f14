// SPDX-License-Identifier: BSD-2-Clause
/* One episode as JSON: see episode_json.h. */
#include "episode_json.h"

#include <string.h>

#include "addr.h"
#include "json_out.h"
#include "names.h"

json_t *actor_json(const struct actor *a)
{
	char comm[ACTOR_COMM_LEN + 1];

	if (a->kind != ACTOR_PROCESS)
		return json_pack("{s:s}", "kind", actor_kind_name(a->kind));
	/* comm is the kernel's, NUL-terminated there; not trusted to be here */
	memcpy(comm, a->comm, ACTOR_COMM_LEN);
	comm[ACTOR_COMM_LEN] = '\0';
	return json_pack("{s:s,s:I,s:o}", "kind", "process", "pid", (json_int_t)a->pid, "comm",
			 json_out_string(comm));
}

static json_t *drops_json(const struct episode *ep)
{
	json_t *drops = json_object();

	for (int c = 0; drops && c < DROP_CAUSE_MAX; c++)
		if (ep->drops[c] && json_object_set_new(drops, drop_cause_name(c),
							json_out_u64(ep->drops[c]))) {
			json_decref(drops);
			return NULL;
		}
	return drops;
}

static json_t *loss_json(const struct episode *ep)
{
	json_t *loss = json_object();

	for (int p = 0; loss && p < LOSS_PHASE_MAX; p++) {
		const struct loss_span *s = &ep->phase[p];

		if (s->drops && json_object_set_new(loss, loss_phase_name(p),
						    json_pack("{s:o,s:o,s:o}", "dropped",
							      json_out_u64(s->drops), "first_ns",
							      json_out_u64(s->first_ns), "last_ns",
							      json_out_u64(s->last_ns)))) {
			json_decref(loss);
			return NULL;
		}
	}
	return loss;
}

/* {key: v} when v is known (not 0), else {} */
static json_t *known_ns(const char *key, __u64 v)
{
	return v ? json_pack("{s:o}", key, json_out_u64(v)) : json_object();
}

json_t *episode_json(const struct episode *ep, const char *netns)
{
	char src[ADDR_STRLEN], dst[ADDR_STRLEN], old[SPI_STRLEN], new[SPI_STRLEN];
	json_t *j;

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
	if (ep->flow.pcpu)
		j = json_out_extend(j, json_pack("{s:I}", "pcpu", (json_int_t)ep->flow.pcpu_num));
	j = json_out_extend(j, known_ns("t_policy_switch_ns", ep->t_switch));
	/* (only when so: an insert or delete of it was lost, its times are the re-dump's) */
	if (ep->resynced)
		j = json_out_extend(j, json_pack("{s:b}", "resynced", 1));
	if (ep->has_gap)
		j = json_out_extend(j, json_pack("{s:o,s:o}", "gap_ns", json_out_u64(ep->gap_ns),
						 "overlap_ns", json_out_u64(ep->overlap_ns)));
	j = json_out_extend(j, json_pack("{s:o,s:o,s:o,s:s,s:s}", "dropped",
					 json_out_u64(ep->drops_total), "outage_ns",
					 json_out_u64(ep->outage_ns), "drops", drops_json(ep),
					 "verdict", verdict_name(ep->verdict), "why",
					 verdict_why(ep->verdict)));
	if (ep->t_insert_new)
		j = json_out_extend(j, json_pack("{s:o}", "insert_actor",
						 actor_json(&ep->insert_actor)));
	if (ep->t_delete_old)
		j = json_out_extend(j, json_pack("{s:o}", "delete_actor",
						 actor_json(&ep->delete_actor)));
	j = json_out_extend(j, known_ns("old_last_packet_ns", ep->old_last_packet_ns));
	j = json_out_extend(j, known_ns("new_first_packet_ns", ep->new_first_packet_ns));
	return json_out_extend(j, json_pack("{s:o}", "loss", loss_json(ep)));
}
