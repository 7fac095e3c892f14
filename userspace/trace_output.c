// SPDX-License-Identifier: BSD-2-Clause
#include "trace_output.h"

#include <inttypes.h>
#include <netinet/in.h>
#include <string.h>

#include "addr.h"

static const char *const sa_event_names[] = {
	[SA_EVENT_ADD] = "sa_add",
	[SA_EVENT_UPDATE] = "sa_update",
	[SA_EVENT_DELETE] = "sa_delete",
	[SA_EVENT_EXPIRE] = "sa_expire",
};

static const char *const drop_cause_names[DROP_CAUSE_MAX] = {
	[DROP_OTHER] = "other",
	[DROP_IN_NO_STATE] = "in_no_state",
	[DROP_IN_ICV_FAIL] = "in_icv_fail",
	[DROP_IN_STATE_INVALID] = "in_state_invalid",
	[DROP_IN_ACQUIRE] = "in_acquire",
	[DROP_IN_EXPIRED] = "in_expired",
	[DROP_OUT_NO_STATE] = "out_no_state",
	[DROP_OUT_STATE_INVALID] = "out_state_invalid",
	[DROP_POLICY_BLOCK] = "policy_block",
};

const char *sa_event_name(enum sa_event_kind kind)
{
	return kind >= SA_EVENT_ADD && kind <= SA_EVENT_EXPIRE ? sa_event_names[kind] : "?";
}

const char *drop_cause_name(enum drop_cause cause)
{
	return cause < DROP_CAUSE_MAX ? drop_cause_names[cause] : "other";
}

static const char *family_name(__u16 family)
{
	return family == AF_INET ? "ipv4" : family == AF_INET6 ? "ipv6" : "?";
}

static const char *proto_name(__u8 proto)
{
	switch (proto) {
	case IPPROTO_ESP:
		return "esp";
	case IPPROTO_AH:
		return "ah";
	case IPPROTO_COMP:
		return "comp";
	default:
		return "?";
	}
}

static const char *dir_name(__u8 dir)
{
	return dir == SA_DIR_IN ? "in" : dir == SA_DIR_OUT ? "out" : "unknown";
}

static const char *km_state_name(__u8 state)
{
	static const char *const names[] = { "void", "acquire", "valid", "error", "expired",
					     "dead" };

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

void trace_print_start(const struct trace_output *o, const char *mode, const char *blind)
{
	if (o->json)
		fprintf(o->out, "{\"event\":\"start\",\"probe\":\"%s\",\"unavailable\":\"%s\"}\n",
			mode, blind ? blind : "");
	else
		fprintf(o->out, "# probe mode %s%s%s\n", mode, blind && *blind ? "; cannot see: " : "",
			blind ? blind : "");
	fflush(o->out);
}

void trace_print_sa(const struct trace_output *o, const struct sa_event *e)
{
	char src[ADDR_STRLEN], dst[ADDR_STRLEN], spi[SPI_STRLEN];

	addr_format(e->family, (const xfrm_address_t *)e->saddr, src, sizeof(src));
	addr_format(e->family, (const xfrm_address_t *)e->daddr, dst, sizeof(dst));
	spi_format(e->spi, spi);
	if (o->json) {
		fprintf(o->out,
			"{\"ts_ns\":%" PRIu64 ",\"event\":\"%s\",\"netns\":%u,\"family\":\"%s\","
			"\"src\":\"%s\",\"dst\":\"%s\",\"proto\":\"%s\",\"spi\":\"%s\","
			"\"reqid\":%u,\"dir\":\"%s\",\"mark\":%u,\"mark_mask\":%u,\"if_id\":%u,"
			"\"km_state\":\"%s\"",
			(uint64_t)e->ts_ns, sa_event_name(e->kind), e->netns, family_name(e->family),
			src, dst, proto_name(e->proto), spi, e->reqid, dir_name(e->dir), e->mark_v,
			e->mark_m, e->if_id, km_state_name(e->km_state));
		if (e->kind == SA_EVENT_EXPIRE)
			fprintf(o->out, ",\"hard\":%s", e->hard ? "true" : "false");
		fputs("}\n", o->out);
	} else {
		fprintf(o->out, "%.6f %-9s netns %u %s %s -> %s %s spi %s reqid %u dir %s%s\n",
			e->ts_ns / 1e9, sa_event_name(e->kind), e->netns, family_name(e->family), src,
			dst, proto_name(e->proto), spi, e->reqid, dir_name(e->dir),
			e->kind == SA_EVENT_EXPIRE ? (e->hard ? " hard" : " soft") : "");
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
	if (o->json)
		fprintf(o->out,
			"{\"ts_ns\":%" PRIu64 ",\"event\":\"drop\",\"netns\":%u,\"family\":\"%s\","
			"\"dst\":\"%s\",\"spi\":\"%s\",\"cause\":\"%s\",\"reason\":\"%s\","
			"\"location\":\"%s\",\"count\":%" PRIu64 ",\"total\":%" PRIu64
			",\"first_ts_ns\":%" PRIu64 ",\"last_ts_ns\":%" PRIu64 "}\n",
			(uint64_t)v->last_ts_ns, k->netns, family_name(k->family), dst, spi,
			drop_cause_name(k->cause), reason, loc, (uint64_t)count, (uint64_t)v->count,
			(uint64_t)v->first_ts_ns, (uint64_t)v->last_ts_ns);
	else
		fprintf(o->out, "%.6f drop      netns %u dst %s spi %s %s x%" PRIu64
			" (total %" PRIu64 ") reason %s at %s\n",
			v->last_ts_ns / 1e9, k->netns, dst, spi, drop_cause_name(k->cause),
			(uint64_t)count, (uint64_t)v->count, reason, loc);
	fflush(o->out);
}

void trace_print_end(const struct trace_output *o, __u64 events_lost, __u64 drops_overflow,
		     __u64 larval)
{
	if (o->json)
		fprintf(o->out,
			"{\"event\":\"end\",\"events_lost\":%" PRIu64 ",\"drops_overflow\":%" PRIu64
			",\"larval_states\":%" PRIu64 "}\n",
			(uint64_t)events_lost, (uint64_t)drops_overflow, (uint64_t)larval);
	else
		fprintf(o->out, "# end: %" PRIu64 " events lost, %" PRIu64
			" drops over the map's capacity, %" PRIu64 " larval state events skipped\n",
			(uint64_t)events_lost, (uint64_t)drops_overflow, (uint64_t)larval);
	fflush(o->out);
}
