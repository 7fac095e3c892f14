// SPDX-License-Identifier: BSD-2-Clause
#include "trace_output.h"

#include <inttypes.h>
#include <linux/ipsec.h>
#include <netinet/in.h>
#include <string.h>

#include "addr.h"
#include "episode_json.h"
#include "json_out.h"

void trace_print_start(const struct trace_output *o, const char *mode, const char *blind,
		       int netlink_netns)
{
	if (o->json)
		json_out_line(o->out, json_pack("{s:s,s:o,s:o,s:i}", "event", "start",
						"probe", json_out_string(mode),
						"unavailable", json_out_string(blind),
						"netlink_netns", netlink_netns));
	else
		fprintf(o->out, "# probe mode %s, netlink in %d namespace%s%s%s\n", mode,
			netlink_netns, netlink_netns == 1 ? "" : "s",
			blind && *blind ? "; cannot see: " : "", blind ? blind : "");
	fflush(o->out);
}

/* The actor for a text line: a comm is any process's choice, so no control bytes pass. */
static char *text_actor(const struct actor *a, char buf[ACTOR_STRLEN])
{
	actor_format(a, buf);
	for (char *c = buf; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	return buf;
}

void trace_print_sa(const struct trace_output *o, const struct sa_event *e,
		    enum event_source source)
{
	char src[ADDR_STRLEN], dst[ADDR_STRLEN], spi[SPI_STRLEN], actor[ACTOR_STRLEN];
	/* a first packet is the SA's doing, no one's change: it has no actor */
	bool changed = e->kind != SA_EVENT_FIRST_PACKET;
	bool last_packet = e->kind == SA_EVENT_DELETE && e->last_packet_ns;

	addr_format(e->family, (const xfrm_address_t *)e->saddr, src, sizeof(src));
	/* a migration told by netlink names the leaving SA by destination and SPI only */
	if ((e->flags & SA_EVENT_F_IDENTITY_ONLY) && e->kind == SA_EVENT_MIGRATE_OUT)
		snprintf(src, sizeof(src), "?");
	addr_format(e->family, (const xfrm_address_t *)e->daddr, dst, sizeof(dst));
	spi_format(e->spi, spi);
	if (o->json) {
		/* hard: expiries only */
		json_t *hard = e->kind == SA_EVENT_EXPIRE ? json_boolean(e->hard) : NULL;
		json_t *j = json_pack(
			"{s:o,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:I,s:I,s:I,s:s,s:o*,s:s}",
			"ts_ns", json_out_u64(e->ts_ns), "event", sa_event_name(e->kind),
			"netns", (json_int_t)e->netns, "family", family_name(e->family),
			"src", src, "dst", dst, "proto", proto_name(e->proto), "spi", spi,
			"reqid", (json_int_t)e->reqid, "dir", sa_dir_label(e->dir),
			"mark", (json_int_t)e->mark_v, "mark_mask", (json_int_t)e->mark_m,
			"if_id", (json_int_t)e->if_id, "km_state", km_state_name(e->km_state),
			"hard", hard, "source", event_source_name(source));

		if (e->pcpu)
			j = json_out_extend(j, json_pack("{s:I}", "pcpu", (json_int_t)e->pcpu_num));
		if (e->flags & SA_EVENT_F_IDENTITY_ONLY)
			j = json_out_extend(j, json_pack("{s:b}", "identity_only", 1));
		if (changed)
			j = json_out_extend(j, json_pack("{s:o}", "actor", actor_json(&e->actor)));
		if (last_packet)
			j = json_out_extend(j, json_pack("{s:o}", "last_packet_ns",
							 json_out_u64(e->last_packet_ns)));
		json_out_line(o->out, j);
	} else {
		fprintf(o->out, "%.6f %-13s netns %u %s %s -> %s %s spi %s reqid %u dir %s%s",
			e->ts_ns / 1e9, sa_event_name(e->kind), e->netns, family_name(e->family), src,
			dst, proto_name(e->proto), spi, e->reqid, sa_dir_label(e->dir),
			e->kind == SA_EVENT_EXPIRE ? (e->hard ? " hard" : " soft") : "");
		if (e->pcpu)
			fprintf(o->out, " pcpu %u", e->pcpu_num);
		if (changed)
			fprintf(o->out, " by %s", text_actor(&e->actor, actor));
		if (last_packet)
			fprintf(o->out, " last packet %.6f", e->last_packet_ns / 1e9);
		fputc('\n', o->out);
	}
	fflush(o->out);
}

void trace_print_drop(const struct trace_output *o, const struct drop_key *k,
		      const struct drop_value *v, __u64 count)
{
	char dst[ADDR_STRLEN], spi[SPI_STRLEN], loc[128];
	char reason_num[16];
	const char *reason;

	addr_format(k->family, (const xfrm_address_t *)k->daddr, dst, sizeof(dst));
	spi_format(k->spi, spi);
	if (!k->location)
		snprintf(loc, sizeof(loc), "audit");
	else if (o->ksyms)
		ksyms_format(o->ksyms, k->location, loc, sizeof(loc));
	else
		snprintf(loc, sizeof(loc), "0x%" PRIx64, (uint64_t)k->location);
	if (o->reasons && o->reasons->n) {
		reason = drop_reason_name(o->reasons, k->reason);
	} else {
		snprintf(reason_num, sizeof(reason_num), "%u", k->reason);
		reason = reason_num;
	}
	if (!k->location)
		reason = "none"; /* seen at an audit hook, before kfree_skb */
	if (o->json) {
		json_t *j = json_pack(
			"{s:o,s:s,s:I,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o}",
			"ts_ns", json_out_u64(v->last_ts_ns), "event", "drop",
			"netns", (json_int_t)k->netns, "family", family_name(k->family),
			"dst", dst, "spi", spi, "cause", drop_cause_name(k->cause),
			"reason", json_out_string(reason), "location", json_out_string(loc),
			"count", json_out_u64(count), "total", json_out_u64(v->count),
			"first_ts_ns", json_out_u64(v->first_ts_ns),
			"last_ts_ns", json_out_u64(v->last_ts_ns));

		json_out_line(o->out, j);
	} else {
		fprintf(o->out, "%.6f drop          netns %u dst %s spi %s %s x%" PRIu64
			" (total %" PRIu64 ") reason %s at %s\n",
			v->last_ts_ns / 1e9, k->netns, dst, spi, drop_cause_name(k->cause),
			(uint64_t)count, (uint64_t)v->count, reason, loc);
	}
	fflush(o->out);
}

/* A policy's selector side as "addr/prefix" */
static void format_prefix(__u16 family, const __u32 *addr, __u8 prefixlen, char *buf,
			  size_t len)
{
	char a[ADDR_STRLEN];

	addr_format(family, (const xfrm_address_t *)addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, prefixlen);
}

void trace_print_policy(const struct trace_output *o, const struct policy_event *p,
			enum event_source source)
{
	char src[ADDR_STRLEN + 4], dst[ADDR_STRLEN + 4], tsrc[ADDR_STRLEN], tdst[ADDR_STRLEN];
	char spi[SPI_STRLEN], actor[ACTOR_STRLEN];
	__u16 tfamily = p->tmpl_family ? p->tmpl_family : p->family;

	format_prefix(p->family, p->sel_saddr, p->sel_prefixlen_s, src, sizeof(src));
	format_prefix(p->family, p->sel_daddr, p->sel_prefixlen_d, dst, sizeof(dst));
	addr_format(tfamily, (const xfrm_address_t *)p->tmpl_saddr, tsrc, sizeof(tsrc));
	addr_format(tfamily, (const xfrm_address_t *)p->tmpl_daddr, tdst, sizeof(tdst));
	spi_format(p->tmpl_spi, spi);
	if (o->json) {
		json_t *j = json_pack(
			"{s:o,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}",
			"ts_ns", json_out_u64(p->ts_ns), "event", policy_event_name(p->kind),
			"netns", (json_int_t)p->netns, "family", family_name(p->family),
			"src", src, "dst", dst, "dir", policy_dir_name(p->dir),
			"action", policy_action_name(p->action),
			"priority", (json_int_t)p->priority, "index", (json_int_t)p->index,
			"mark", (json_int_t)p->mark_v, "mark_mask", (json_int_t)p->mark_m,
			"if_id", (json_int_t)p->if_id, "templates", (json_int_t)p->n_tmpl);

		/* the first template, if any; hard: expiries only */
		if (p->n_tmpl)
			j = json_out_extend(j, json_pack("{s:s,s:s,s:I,s:s,s:s}",
							 "proto", proto_name(p->tmpl_proto),
							 "spi", spi,
							 "reqid", (json_int_t)p->tmpl_reqid,
							 "tmpl_src", tsrc, "tmpl_dst", tdst));
		if (p->kind == POLICY_EVENT_EXPIRE)
			j = json_out_extend(j, json_pack("{s:b}", "hard", p->hard));
		j = json_out_extend(j, json_pack("{s:s,s:o}", "source", event_source_name(source),
						 "actor", actor_json(&p->actor)));
		json_out_line(o->out, j);
	} else {
		fprintf(o->out, "%.6f %-13s netns %u %s %s -> %s dir %s %s", p->ts_ns / 1e9,
			policy_event_name(p->kind), p->netns, family_name(p->family), src, dst,
			policy_dir_name(p->dir), policy_action_name(p->action));
		if (p->n_tmpl)
			fprintf(o->out, " tmpl %s %s -> %s spi %s reqid %u", proto_name(p->tmpl_proto),
				tsrc, tdst, spi, p->tmpl_reqid);
		fprintf(o->out, " by %s\n", text_actor(&p->actor, actor));
	}
	fflush(o->out);
}

void trace_print_flush(const struct trace_output *o, const struct xfrm_msg *m)
{
	const char *event = m->kind == XFRM_MSG_KIND_SA_FLUSH ? "sa_flush" : "policy_flush";
	/* a flush names a protocol (SAs) or nothing (policies); 255 is "any" */
	const char *proto = m->kind == XFRM_MSG_KIND_SA_FLUSH && m->flush_proto != IPSEC_PROTO_ANY
				    ? proto_name(m->flush_proto)
				    : "any";

	if (o->json)
		json_out_line(o->out, json_pack("{s:o,s:s,s:I,s:s,s:s}",
						"ts_ns", json_out_u64(m->sa.ts_ns), "event", event,
						"netns", (json_int_t)m->sa.netns, "proto", proto,
						"source", event_source_name(SOURCE_NETLINK)));
	else
		fprintf(o->out, "%.6f %-13s netns %u proto %s\n", m->sa.ts_ns / 1e9, event,
			m->sa.netns, proto);
	fflush(o->out);
}

void trace_print_episode(const struct trace_output *o, const struct episode *ep,
			 const char *netns)
{
	char old[SPI_STRLEN], new[SPI_STRLEN], by_in[ACTOR_STRLEN], by_out[ACTOR_STRLEN];
	/* when it was final: its end, or its start for one that never got a successor */
	__u64 ts = ep->t_insert_new > ep->t_delete_old ? ep->t_insert_new : ep->t_delete_old;

	if (o->json) {
		json_out_line(o->out, json_out_extend(json_pack("{s:o,s:s}", "ts_ns",
								json_out_u64(ts), "event",
								"episode"),
						      episode_json(ep, netns)));
	} else {
		fprintf(o->out, "%.6f %-13s netns %s dir %s spi %s -> %s %s: lost %" PRIu64,
			ts / 1e9, "episode", netns, sa_dir_label(ep->flow.dir),
			spi_format(ep->old_spi, old), ep->new_spi ? spi_format(ep->new_spi, new) : "-",
			verdict_name(ep->verdict), (uint64_t)ep->drops_total);
		if (ep->has_gap)
			fprintf(o->out, ", gap %.3f ms, overlap %.3f ms", ep->gap_ns / 1e6,
				ep->overlap_ns / 1e6);
		if (ep->t_insert_new)
			fprintf(o->out, ", added by %s", actor_format(&ep->insert_actor, by_in));
		if (ep->t_delete_old)
			fprintf(o->out, ", deleted by %s", actor_format(&ep->delete_actor, by_out));
		fputc('\n', o->out);
	}
	fflush(o->out);
}

void trace_print_end(const struct trace_output *o, const struct trace_counters *c)
{
	if (o->json)
		json_out_line(o->out, json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "event", "end",
			"events_lost", json_out_u64(c->events_lost),
			"drops_overflow", json_out_u64(c->drops_overflow),
			"drops_missed", json_out_u64(c->drops_missed),
			"larval_states", json_out_u64(c->larval),
			"netlink_overruns", json_out_u64(c->netlink_overruns),
			"netlink_malformed", json_out_u64(c->netlink_bad)));
	else
		fprintf(o->out,
			"# end: %" PRIu64 " events lost, %" PRIu64 " drops over the map's capacity, %" PRIu64
			" drop-counting runs skipped by the kernel, %" PRIu64
			" larval state events skipped, %" PRIu64 " netlink overruns, %" PRIu64
			" malformed netlink messages\n",
			(uint64_t)c->events_lost, (uint64_t)c->drops_overflow,
			(uint64_t)c->drops_missed, (uint64_t)c->larval,
			(uint64_t)c->netlink_overruns, (uint64_t)c->netlink_bad);
	fflush(o->out);
}
