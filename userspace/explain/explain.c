// SPDX-License-Identifier: BSD-2-Clause
/* 'rekeygap explain': episode JSON in, explanations out; see explain.h. */
#include "explain.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"
#include "names.h"

#define WRAP_COLUMNS 88

struct explainer {
	FILE *out;
	struct explain_options opt;
	struct explain_counts counts;
};

/* ---- an episode object, checked: strings are borrowed from the JSON ---- */

struct phase_view {
	bool present;
	__u64 dropped, first_ns, last_ns;
};

struct actor_view {
	bool present;
	const char *kind, *comm; /* comm: NULL when not given */
	__u64 pid;
	bool has_pid;
};

struct episode_view {
	__u64 id;
	const char *netns, *src, *dst, *proto, *dir, *kind, *old_spi, *new_spi, *verdict_word, *why;
	__u64 reqid;
	bool has_pcpu; /* a per-CPU SA's flow, of CPU pcpu */
	__u64 pcpu;
	enum episode_verdict verdict; /* 0: verdict_word is not one this version knows */
	__u64 t_delete_old, t_insert_new, t_switch; /* 0: not known */
	bool has_gap, has_overlap;
	__u64 gap_ns, overlap_ns;
	__u64 dropped, outage_ns;
	const json_t *drops; /* {cause: n}, every n checked */
	struct phase_view phase[LOSS_PHASE_MAX];
	struct actor_view insert_actor, delete_actor;
	__u64 old_last_packet, new_first_packet; /* 0: not known */
};

/* Where a problem is, for the one error line: "line 12: episode 17: ..." */
struct reader {
	const char *where; /* NULL or "line 12", "element 3" */
	bool has_id;
	__u64 id;
	char *err;
	size_t errlen;
};

static int bad(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct reader *r, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (r->has_id)
		snprintf(r->err, r->errlen, "%s%sepisode %llu: %s", r->where ? r->where : "",
			 r->where ? ": " : "", (unsigned long long)r->id, what);
	else
		snprintf(r->err, r->errlen, "%s%san episode without an id: %s",
			 r->where ? r->where : "", r->where ? ": " : "", what);
	return -EINVAL;
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return json_integer_value(v) < 0 ? "negative" : "an integer";
	case JSON_REAL:
		return "a real";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* obj.key as a non-negative integer; *present false (and 0) when absent and optional */
static int get_u64(struct reader *r, const json_t *obj, const char *path, const char *key,
		   bool required, __u64 *out, bool *present)
{
	const json_t *v = json_object_get(obj, key);

	*out = 0;
	if (present)
		*present = v != NULL;
	if (!v)
		return required ? bad(r, "\"%s%s\" missing", path, key) : 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return bad(r, "\"%s%s\" is %s, not a non-negative integer", path, key,
			   json_type_name(v));
	*out = (__u64)json_integer_value(v);
	return 0;
}

static int get_str(struct reader *r, const json_t *obj, const char *path, const char *key,
		   bool required, const char **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v)
		return required ? bad(r, "\"%s%s\" missing", path, key) : 0;
	if (!json_is_string(v))
		return bad(r, "\"%s%s\" is %s, not a string", path, key, json_type_name(v));
	*out = json_string_value(v);
	return 0;
}

static int get_object(struct reader *r, const json_t *obj, const char *key, bool required,
		      const json_t **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v)
		return required ? bad(r, "\"%s\" missing", key) : 0;
	if (!json_is_object(v))
		return bad(r, "\"%s\" is %s, not an object", key, json_type_name(v));
	*out = v;
	return 0;
}

static int read_actor(struct reader *r, const json_t *ep, const char *key, struct actor_view *a)
{
	char path[32];
	const json_t *obj;
	int ret = get_object(r, ep, key, false, &obj);

	memset(a, 0, sizeof(*a));
	if (ret || !obj)
		return ret;
	snprintf(path, sizeof(path), "%s.", key);
	a->present = true;
	ret = get_str(r, obj, path, "kind", true, &a->kind);
	if (!ret)
		ret = get_u64(r, obj, path, "pid", false, &a->pid, &a->has_pid);
	if (!ret)
		ret = get_str(r, obj, path, "comm", false, &a->comm);
	return ret;
}

/* loss {phase: {dropped, first_ns, last_ns}}: phases this version has no word for skipped */
static int read_loss(struct reader *r, const json_t *ep, struct episode_view *v)
{
	const json_t *loss, *span;
	const char *name;
	char path[64];
	int ret = get_object(r, ep, "loss", true, &loss);

	if (ret)
		return ret;
	json_object_foreach((json_t *)loss, name, span) {
		struct phase_view *p = NULL;

		for (int i = 0; i < LOSS_PHASE_MAX; i++)
			if (!strcmp(name, loss_phase_name(i)))
				p = &v->phase[i];
		if (!p)
			continue;
		snprintf(path, sizeof(path), "loss.%s.", name);
		if (!json_is_object(span))
			return bad(r, "\"loss.%s\" is %s, not an object", name,
				   json_type_name(span));
		p->present = true;
		ret = get_u64(r, span, path, "dropped", true, &p->dropped, NULL);
		if (!ret)
			ret = get_u64(r, span, path, "first_ns", true, &p->first_ns, NULL);
		if (!ret)
			ret = get_u64(r, span, path, "last_ns", true, &p->last_ns, NULL);
		if (ret)
			return ret;
	}
	return 0;
}

static int read_drops(struct reader *r, const json_t *ep, struct episode_view *v)
{
	const char *cause;
	const json_t *n;
	int ret = get_object(r, ep, "drops", true, &v->drops);

	if (ret)
		return ret;
	json_object_foreach((json_t *)v->drops, cause, n)
		if (!json_is_integer(n) || json_integer_value(n) < 0)
			return bad(r, "\"drops.%s\" is %s, not a non-negative integer", cause,
				   json_type_name(n));
	return 0;
}

static enum episode_verdict verdict_of_word(const char *word)
{
	for (int v = 1; v < VERDICT_MAX; v++)
		if (!strcmp(word, verdict_name(v)))
			return v;
	return 0;
}

static int read_episode(struct reader *r, const json_t *ep, struct episode_view *v)
{
	static const struct {
		const char *key;
		size_t at;
	} strings[] = {
		{ "netns", offsetof(struct episode_view, netns) },
		{ "src", offsetof(struct episode_view, src) },
		{ "dst", offsetof(struct episode_view, dst) },
		{ "proto", offsetof(struct episode_view, proto) },
		{ "dir", offsetof(struct episode_view, dir) },
		{ "kind", offsetof(struct episode_view, kind) },
		{ "old_spi", offsetof(struct episode_view, old_spi) },
		{ "new_spi", offsetof(struct episode_view, new_spi) },
		{ "verdict", offsetof(struct episode_view, verdict_word) },
		{ "why", offsetof(struct episode_view, why) },
	};
	static const struct {
		const char *key;
		bool required;
		size_t at, present; /* present: 0 when required */
	} numbers[] = {
		{ "reqid", true, offsetof(struct episode_view, reqid), 0 },
		{ "pcpu", false, offsetof(struct episode_view, pcpu),
		  offsetof(struct episode_view, has_pcpu) },
		{ "t_delete_old_ns", true, offsetof(struct episode_view, t_delete_old), 0 },
		{ "t_insert_new_ns", true, offsetof(struct episode_view, t_insert_new), 0 },
		{ "t_policy_switch_ns", false, offsetof(struct episode_view, t_switch), 0 },
		{ "gap_ns", false, offsetof(struct episode_view, gap_ns),
		  offsetof(struct episode_view, has_gap) },
		{ "overlap_ns", false, offsetof(struct episode_view, overlap_ns),
		  offsetof(struct episode_view, has_overlap) },
		{ "dropped", true, offsetof(struct episode_view, dropped), 0 },
		{ "outage_ns", true, offsetof(struct episode_view, outage_ns), 0 },
		{ "old_last_packet_ns", false, offsetof(struct episode_view, old_last_packet), 0 },
		{ "new_first_packet_ns", false, offsetof(struct episode_view, new_first_packet),
		  0 },
	};
	char *base = (char *)v;
	int ret;

	memset(v, 0, sizeof(*v));
	ret = get_u64(r, ep, "", "id", true, &v->id, NULL);
	if (ret)
		return ret;
	r->has_id = true;
	r->id = v->id;
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		ret = get_str(r, ep, "", strings[i].key, true,
			      (const char **)(base + strings[i].at));
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		bool *present = numbers[i].present ? (bool *)(base + numbers[i].present) : NULL;

		ret = get_u64(r, ep, "", numbers[i].key, numbers[i].required,
			      (__u64 *)(base + numbers[i].at), present);
		if (ret)
			return ret;
	}
	ret = read_drops(r, ep, v);
	if (!ret)
		ret = read_loss(r, ep, v);
	if (!ret)
		ret = read_actor(r, ep, "insert_actor", &v->insert_actor);
	if (!ret)
		ret = read_actor(r, ep, "delete_actor", &v->delete_actor);
	v->verdict = verdict_of_word(v->verdict_word);
	return ret;
}

/* ---- the explanation: built once, written as text or as JSON ---- */

#define TIMELINE_MAX (2 * LOSS_PHASE_MAX + 5)

struct moment {
	__u64 ns;
	int seq; /* order of addition: ties keep it */
	char what[256];
};

struct explanation {
	char head[512];
	__u64 t0; /* the first event's time: the timeline counts from it */
	struct moment timeline[TIMELINE_MAX];
	int n;
	char lost[512];
	char switchover[256]; /* "": no packet of either SA seen */
	char advice[1024];
};

/* ns as milliseconds for people: "84", "84.2", below 1 ms "0.446" */
static const char *ms_text(__u64 ns, char buf[32])
{
	char *end;

	snprintf(buf, 32, ns < NSEC_PER_MSEC ? "%.3f" : "%.1f", (double)ns / NSEC_PER_MSEC);
	end = buf + strlen(buf);
	while (end > buf && end[-1] == '0')
		*--end = '\0';
	if (end > buf && end[-1] == '.')
		*--end = '\0';
	return buf;
}

/* "charon[812]", "the kernel", "an unknown actor"; "" when the episode has none */
static const char *actor_text(const struct actor_view *a, char *buf, size_t len)
{
	if (!a->present)
		snprintf(buf, len, "%s", "");
	else if (!strcmp(a->kind, "process") && a->comm && a->has_pid)
		snprintf(buf, len, " by %s[%llu]", a->comm, (unsigned long long)a->pid);
	else if (!strcmp(a->kind, "process"))
		snprintf(buf, len, " by %s", a->comm ? a->comm : "a process");
	else if (!strcmp(a->kind, "kernel"))
		snprintf(buf, len, " by the kernel");
	else
		snprintf(buf, len, " by an unknown actor");
	return buf;
}

static void add_moment(struct explanation *x, __u64 ns, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_moment(struct explanation *x, __u64 ns, const char *fmt, ...)
{
	struct moment *m;
	va_list ap;

	if (!ns || x->n == TIMELINE_MAX)
		return;
	m = &x->timeline[x->n];
	m->ns = ns;
	m->seq = x->n++;
	va_start(ap, fmt);
	vsnprintf(m->what, sizeof(m->what), fmt, ap);
	va_end(ap);
}

static int moment_cmp(const void *a, const void *b)
{
	const struct moment *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns < y->ns ? -1 : 1;
	return x->seq - y->seq;
}

static const char *spi_or_none(const char *spi)
{
	return *spi ? spi : "(none)";
}

/* The SPI of a loss phase's packets: the new one early, the old one late. */
static const char *phase_spi(const struct episode_view *v, enum loss_phase p)
{
	if (p == LOSS_PEER_EARLY || (p == LOSS_KEY_MISMATCH && *v->new_spi))
		return v->new_spi;
	return v->old_spi;
}

/* Causes ("12 in_acquire, 2 in_no_state") into buf; "" when none. */
static const char *causes_text(const struct episode_view *v, char *buf, size_t len)
{
	const char *cause;
	const json_t *n;
	size_t used = 0;

	buf[0] = '\0';
	json_object_foreach((json_t *)v->drops, cause, n)
		if (json_integer_value(n) && used < len)
			used += snprintf(buf + used, len - used, "%s%lld %s", used ? ", " : "",
					 (long long)json_integer_value(n), cause);
	return buf;
}

static int lossy_phases(const struct episode_view *v)
{
	int n = 0;

	for (int p = 0; p < LOSS_PHASE_MAX; p++)
		n += v->phase[p].present && v->phase[p].dropped;
	return n;
}

static void add_loss_moments(struct explanation *x, const struct episode_view *v)
{
	static const char *const what[LOSS_PHASE_MAX] = {
		[LOSS_GAP] = "lost while the flow had no SA",
		[LOSS_PEER_EARLY] = "lost on %s before its SA was here",
		[LOSS_OLD_REMOVED_EARLY] = "lost on %s after its SA was deleted",
		[LOSS_KEY_MISMATCH] = "failing the integrity check on %s",
		[LOSS_OTHER] = "lost for another cause (replay, invalid state...)",
	};
	char causes[256], count[300], desc[200];
	bool single = lossy_phases(v) == 1;

	for (int p = 0; p < LOSS_PHASE_MAX; p++) {
		const struct phase_view *s = &v->phase[p];

		if (!s->present || !s->dropped)
			continue;
		/* the episode's causes are this phase's when it is the only one */
		if (single && *causes_text(v, causes, sizeof(causes)))
			snprintf(count, sizeof(count), "%s", causes);
		else
			snprintf(count, sizeof(count), "%llu %s", (unsigned long long)s->dropped,
				 loss_phase_name(p));
		snprintf(desc, sizeof(desc), what[p], phase_spi(v, p));
		if (s->dropped == 1 || s->first_ns == s->last_ns) {
			add_moment(x, s->first_ns, "%s %s (%s)", s->dropped == 1 ? "a packet" :
				   "packets", desc, count);
			continue;
		}
		add_moment(x, s->first_ns, "first packet %s (%s)", desc, count);
		add_moment(x, s->last_ns, "last packet %s", desc);
	}
}

static void build_timeline(struct explanation *x, const struct episode_view *v)
{
	bool expired = !strcmp(v->kind, "expired") || v->verdict == VERDICT_EXPIRED;
	char by[ACTOR_STRLEN + 300];

	add_moment(x, v->t_delete_old, expired ? "%s expired (hard lifetime), removed%s" :
		   "%s deleted%s", v->old_spi,
		   actor_text(&v->delete_actor, by, sizeof(by)));
	add_moment(x, v->t_insert_new, "%s installed%s", spi_or_none(v->new_spi),
		   actor_text(&v->insert_actor, by, sizeof(by)));
	add_moment(x, v->t_switch, "outbound policy switched to %s", spi_or_none(v->new_spi));
	add_moment(x, v->old_last_packet, "last packet on %s", v->old_spi);
	add_moment(x, v->new_first_packet, "first packet on %s", spi_or_none(v->new_spi));
	add_loss_moments(x, v);
	qsort(x->timeline, x->n, sizeof(x->timeline[0]), moment_cmp);
	x->t0 = x->n ? x->timeline[0].ns : 0;
}

static void build_lost(struct explanation *x, const struct episode_view *v)
{
	char causes[256], ms[2][32];
	size_t used = 0, len = sizeof(x->lost);
	bool first = true;

	if (!v->dropped) {
		used += snprintf(x->lost, len, "lost nothing");
	} else {
		used += snprintf(x->lost, len, "lost %llu", (unsigned long long)v->dropped);
		if (v->dropped > 1 && v->outage_ns)
			used += snprintf(x->lost + used, len - used, " over %s ms",
					 ms_text(v->outage_ns, ms[0]));
		for (int p = 0; p < LOSS_PHASE_MAX && used < len; p++)
			if (v->phase[p].present && v->phase[p].dropped) {
				used += snprintf(x->lost + used, len - used, "%s%llu %s",
						 first ? " (" : ", ",
						 (unsigned long long)v->phase[p].dropped,
						 loss_phase_name(p));
				first = false;
			}
		if (!first && used < len)
			used += snprintf(x->lost + used, len - used, ")");
		if (*causes_text(v, causes, sizeof(causes)) && used < len)
			used += snprintf(x->lost + used, len - used, ", by cause: %s", causes);
	}
	if (used >= len)
		return;
	if (v->has_gap)
		snprintf(x->lost + used, len - used, "; gap %s ms, overlap %s ms",
			 ms_text(v->gap_ns, ms[0]), ms_text(v->overlap_ns, ms[1]));
	else
		snprintf(x->lost + used, len - used, "; no gap measured (no successor)");
}

static void build_switchover(struct explanation *x, const struct episode_view *v)
{
	char at[2][32];
	const char *where = "";

	if (!v->old_last_packet && !v->new_first_packet)
		return;
	snprintf(at[0], sizeof(at[0]), "+%.1f", (double)(v->old_last_packet - x->t0) / 1e6);
	snprintf(at[1], sizeof(at[1]), "+%.1f", (double)(v->new_first_packet - x->t0) / 1e6);
	if (v->old_last_packet && v->new_first_packet && v->t_insert_new && v->t_delete_old &&
	    v->t_insert_new <= v->t_delete_old) {
		bool inside = v->new_first_packet >= v->t_insert_new &&
			      v->new_first_packet <= v->t_delete_old &&
			      v->old_last_packet >= v->t_insert_new &&
			      v->old_last_packet <= v->t_delete_old;

		where = inside ? " (inside the overlap)" : " (not inside the overlap)";
	}
	snprintf(x->switchover, sizeof(x->switchover),
		 "switchover: old SA's last packet at %s, new SA's first at %s%s",
		 v->old_last_packet ? at[0] : "(not seen)",
		 v->new_first_packet ? at[1] : "(not seen)", where);
}

/* b - a, or 0 when either is unknown or b is not after a */
static __u64 after(__u64 a, __u64 b)
{
	return a && b && b > a ? b - a : 0;
}

/* before + "84 ms" + after_, or "" when nothing was measured (0) */
static const char *ms_phrase(const char *before, __u64 ns, const char *after_, char *buf,
			     size_t len)
{
	char ms[32];

	if (!ns)
		return "";
	snprintf(buf, len, "%s%s ms%s", before, ms_text(ns, ms), after_);
	return buf;
}

static void build_advice(struct explanation *x, const struct episode_view *v)
{
	const struct phase_view *p = v->phase;
	char ms[2][64], by[ACTOR_STRLEN + 300], causes[256];
	size_t len = sizeof(x->advice), used = 0;
	unsigned long long lost = v->dropped;
	__u64 n;

	switch (v->verdict) {
	case VERDICT_GAP:
		n = v->has_gap ? v->gap_ns : after(p[LOSS_GAP].first_ns, p[LOSS_GAP].last_ns);
		used = snprintf(x->advice, len,
				"the flow had no SA%s (%llu lost): the old SA was deleted before "
				"the new one was added. Add the new SA before deleting the old one "
				"(make-before-break: `rekeygap rekey --strategy "
				"make-before-break`; strongSwan reauthentication: "
				"charon.make_before_break = yes)",
				ms_phrase(" for ", n, "", ms[0], sizeof(ms[0])), lost);
		break;
	case VERDICT_PEER_EARLY:
		n = after(p[LOSS_PEER_EARLY].first_ns, v->t_insert_new);
		used = snprintf(x->advice, len,
				"the peer sent on %s%s before it was installed here (%llu lost): "
				"install the inbound SA before the peer's outbound one. An IKE "
				"responder that installs both directions of a new CHILD SA at once "
				"does this: it should install its outbound SA only once the "
				"initiator has the inbound one",
				spi_or_none(v->new_spi),
				ms_phrase(" ", n, "", ms[0], sizeof(ms[0])), lost);
		break;
	case VERDICT_OLD_REMOVED_EARLY:
		n = after(v->t_delete_old, p[LOSS_OLD_REMOVED_EARLY].last_ns);
		if (!strcmp(v->dir, "out")) {
			/* this side's own packets, on their way out through the old SA */
			used = snprintf(x->advice, len,
					"packets sent on %s died%s after its delete (%llu lost): "
					"they were on their way out through it; delete the old "
					"outbound SA a moment after the new one is in, not at once "
					"(`rekeygap rekey --drain`)",
					v->old_spi, ms_phrase(" up to ", n, "", ms[0], sizeof(ms[0])),
					lost);
			break;
		}
		used = snprintf(x->advice, len,
				"packets on %s came%s after its delete (%llu lost): keep the old "
				"inbound SA longer: raise the grace time above the peer's delay "
				"(%s`rekeygap rekey --grace`)",
				v->old_spi, ms_phrase(" up to ", n, "", ms[0], sizeof(ms[0])), lost,
				ms_phrase("more than ", n, "; ", ms[1], sizeof(ms[1])));
		break;
	case VERDICT_KEY_MISMATCH:
		n = p[LOSS_KEY_MISMATCH].present ? p[LOSS_KEY_MISMATCH].dropped : v->dropped;
		used = snprintf(x->advice, len,
				"the two sides hold different keys for SPI %s (%llu integrity "
				"failures): check the key exchange and both sides' configuration "
				"of that SA",
				phase_spi(v, LOSS_KEY_MISMATCH), (unsigned long long)n);
		break;
	case VERDICT_NOT_REPLACED:
		used = snprintf(x->advice, len,
				"%s was deleted%s and no successor came within the monitor's "
				"timeout (%llu lost): find out why the rekey did not complete (the "
				"IKE daemon's log around the delete), and add the new SA before "
				"deleting the old one",
				v->old_spi, actor_text(&v->delete_actor, by, sizeof(by)), lost);
		break;
	case VERDICT_EXPIRED:
		used = snprintf(x->advice, len,
				"%s reached its hard lifetime and the kernel removed it (%llu "
				"lost): rekey before it: set the soft lifetime (the IKE daemon's "
				"rekey margin) early enough that a rekey completes before the hard "
				"one",
				v->old_spi, lost);
		break;
	case VERDICT_CLEAN:
		if (v->dropped)
			used = snprintf(x->advice, len,
					"nothing in the rekey's order; its %llu drops had other "
					"causes (%s): see them in `rekeygap trace`",
					lost, causes_text(v, causes, sizeof(causes)));
		else
			used = snprintf(x->advice, len, "nothing");
		return;
	default:
		snprintf(x->advice, len,
			 "no advice for the verdict '%s' (newer than this rekeygap)",
			 v->verdict_word);
		return;
	}
	if (p[LOSS_OTHER].present && p[LOSS_OTHER].dropped && used < len)
		snprintf(x->advice + used, len - used,
			 "; %llu more drops had other causes (replay, invalid state...)",
			 (unsigned long long)p[LOSS_OTHER].dropped);
}

static void explain_build(struct explanation *x, const struct episode_view *v)
{
	char pcpu[32] = "";

	memset(x, 0, sizeof(*x));
	if (v->has_pcpu)
		snprintf(pcpu, sizeof(pcpu), " pcpu %llu", (unsigned long long)v->pcpu);
	snprintf(x->head, sizeof(x->head),
		 "episode %llu  netns %s  %s %s -> %s %s reqid %llu%s  %s -> %s",
		 (unsigned long long)v->id, v->netns, v->dir, v->src, v->dst, v->proto,
		 (unsigned long long)v->reqid, pcpu, v->old_spi, spi_or_none(v->new_spi));
	build_timeline(x, v);
	build_lost(x, v);
	build_switchover(x, v);
	build_advice(x, v);
}

/* ---- writing ---- */

/* Bytes from the input, for a terminal: control bytes become '?' (no escape sequences). */
static void put_clean(FILE *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fputc((unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i], out);
}

/* indent + label + text, broken at spaces to WRAP_COLUMNS; continuation lines indented
 * by indent + 2. (Columns are bytes: a long UTF-8 name wraps a little early.) */
static void put_wrapped(FILE *out, int indent, const char *label, const char *text)
{
	int col = indent + (int)strlen(label);
	bool line_start = true; /* no word on this line yet */

	fprintf(out, "%*s%s", indent, "", label);
	for (;;) {
		size_t word;

		text += strspn(text, " ");
		word = strcspn(text, " ");
		if (!word)
			break;
		if (!line_start && col + 1 + (int)word > WRAP_COLUMNS) {
			fprintf(out, "\n%*s", indent + 2, "");
			col = indent + 2;
			line_start = true;
		}
		if (!line_start) {
			fputc(' ', out);
			col++;
		}
		put_clean(out, text, word);
		col += (int)word;
		text += word;
		line_start = false;
	}
	fputc('\n', out);
}

static int write_text(FILE *out, const struct explanation *x, const struct episode_view *v)
{
	char label[32], why[600];
	int width = 0;

	put_clean(out, x->head, strlen(x->head));
	fputc('\n', out);
	snprintf(why, sizeof(why), "%s: %s", v->verdict_word, v->why);
	put_wrapped(out, 2, "verdict ", why);
	if (x->n) {
		fputs("  what happened (ms from the first event):\n", out);
		for (int i = 0; i < x->n; i++) {
			int w = snprintf(label, sizeof(label), "+%.1f",
					 (double)(x->timeline[i].ns - x->t0) / 1e6);

			width = w > width ? w : width;
		}
		for (int i = 0; i < x->n; i++) {
			snprintf(label, sizeof(label), "+%.1f",
				 (double)(x->timeline[i].ns - x->t0) / 1e6);
			fprintf(out, "    %-*s ", width, label);
			put_clean(out, x->timeline[i].what, strlen(x->timeline[i].what));
			fputc('\n', out);
		}
	}
	put_wrapped(out, 2, "", x->lost);
	if (*x->switchover)
		put_wrapped(out, 2, "", x->switchover);
	put_wrapped(out, 2, "what to change: ", x->advice);
	fputc('\n', out);
	return ferror(out) ? -EIO : 0;
}

static int write_json(FILE *out, const struct explanation *x, const struct episode_view *v)
{
	char flow[512];
	json_t *timeline = json_array(), *j;

	for (int i = 0; i < x->n && timeline; i++)
		timeline = json_out_append(
			timeline, json_pack("{s:o,s:o,s:o}", "ms",
					    json_out_real((double)(x->timeline[i].ns - x->t0) / 1e6,
							  3),
					    "ns", json_out_u64(x->timeline[i].ns), "what",
					    json_out_string(x->timeline[i].what)));
	snprintf(flow, sizeof(flow), "%s %s -> %s %s reqid %llu", v->dir, v->src, v->dst, v->proto,
		 (unsigned long long)v->reqid);
	j = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "event", "explanation",
		      "id", json_out_u64(v->id), "netns", json_out_string(v->netns), "flow",
		      json_out_string(flow), "old_spi", json_out_string(v->old_spi), "new_spi",
		      json_out_string(v->new_spi), "verdict", json_out_string(v->verdict_word),
		      "why", json_out_string(v->why), "dropped", json_out_u64(v->dropped), "lost",
		      json_out_string(x->lost), "timeline", timeline, "advice",
		      json_out_string(x->advice));
	if (*x->switchover)
		j = json_out_extend(j, json_pack("{s:o}", "switchover",
						 json_out_string(x->switchover)));
	return json_out_line(out, j);
}

/* ---- the interface ---- */

struct explainer *explainer_new(FILE *out, const struct explain_options *opt)
{
	struct explainer *ex = calloc(1, sizeof(*ex));

	if (!ex)
		return NULL;
	ex->out = out;
	ex->opt = *opt;
	return ex;
}

void explainer_free(struct explainer *ex)
{
	free(ex);
}

const struct explain_counts *explainer_counts(const struct explainer *ex)
{
	return &ex->counts;
}

int explain_episode(struct explainer *ex, const json_t *ep, const char *where, char *err,
		    size_t errlen)
{
	struct reader r = { .where = where, .err = err, .errlen = errlen };
	struct episode_view v;
	struct explanation x;
	int ret;

	if (!json_is_object(ep)) {
		snprintf(err, errlen, "%s: %s, not an episode object", where ? where : "episode",
			 json_type_name(ep));
		return -EINVAL;
	}
	ret = read_episode(&r, ep, &v);
	if (ret)
		return ret;
	ex->counts.episodes++;
	if (v.dropped) {
		ex->counts.lossy++;
		ex->counts.by_verdict[v.verdict]++;
	}
	if (!v.dropped && !ex->opt.all)
		return 0;
	explain_build(&x, &v);
	ret = ex->opt.json ? write_json(ex->out, &x, &v) : write_text(ex->out, &x, &v);
	if (ret)
		snprintf(err, errlen, "cannot write the explanation: %s", strerror(-ret));
	return ret;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int not_json(char *err, size_t errlen, const char *where, const json_error_t *e)
{
	snprintf(err, errlen, "%snot JSON: %s (line %d, column %d)", where, e->text, e->line,
		 e->column);
	return -EINVAL;
}

int explain_line(struct explainer *ex, const char *line, size_t len, unsigned long lineno,
		 char *err, size_t errlen)
{
	char where[40];
	json_error_t e;
	const json_t *event;
	json_t *j;
	size_t i;
	int ret = 0;

	for (i = 0; i < len && is_blank(line[i]); i++)
		;
	if (i == len)
		return 0;
	snprintf(where, sizeof(where), "line %lu", lineno);
	j = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
	if (!j) {
		snprintf(where, sizeof(where), "line %lu: ", lineno);
		return not_json(err, errlen, where, &e);
	}
	event = json_object_get(j, "event");
	if (json_is_string(event) && !strcmp(json_string_value(event), "episode"))
		ret = explain_episode(ex, j, where, err, errlen);
	json_decref(j);
	return ret;
}

static int explain_array(struct explainer *ex, const char *text, size_t len, char *err,
			 size_t errlen)
{
	json_error_t e;
	json_t *all = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e), *ep;
	char where[40];
	size_t i;
	int ret = 0;

	if (!all)
		return not_json(err, errlen, "", &e);
	if (!json_is_array(all)) {
		json_decref(all);
		snprintf(err, errlen, "not a JSON array of episodes");
		return -EINVAL;
	}
	json_array_foreach(all, i, ep) {
		snprintf(where, sizeof(where), "element %zu", i + 1);
		ret = explain_episode(ex, ep, where, err, errlen);
		if (ret)
			break;
	}
	json_decref(all);
	return ret;
}

int explain_document(struct explainer *ex, const char *text, size_t len, char *err,
		     size_t errlen)
{
	unsigned long lineno = 1;
	size_t i;

	for (i = 0; i < len && is_blank(text[i]); i++)
		;
	if (i == len) {
		snprintf(err, errlen, "empty input: neither episodes nor trace lines");
		return -EINVAL;
	}
	if (text[i] == '[')
		return explain_array(ex, text, len, err, errlen);
	if (text[i] != '{') {
		unsigned char c = (unsigned char)text[i];
		char first[16];

		snprintf(first, sizeof(first), c >= 0x20 && c < 0x7f ? "'%c'" : "byte 0x%02x", c);
		snprintf(err, errlen,
			 "neither a JSON array of episodes ('[') nor a trace's JSON lines ('{'): "
			 "the input starts with %s",
			 first);
		return -EINVAL;
	}
	for (i = 0; i < len; lineno++) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
		int ret = explain_line(ex, text + i, n, lineno, err, errlen);

		if (ret)
			return ret;
		i += n + 1;
	}
	return 0;
}

int explain_summary(struct explainer *ex)
{
	const struct explain_counts *c = &ex->counts;
	bool done[VERDICT_MAX] = { false };
	json_t *verdicts = json_object();
	int listed = 0;

	if (!ex->opt.json)
		fprintf(ex->out, "%llu of %llu episode%s lost packets",
			(unsigned long long)c->lossy, (unsigned long long)c->episodes,
			c->episodes == 1 ? "" : "s");
	/* the commonest verdict first */
	for (;;) {
		int best = -1;

		for (int v = 0; v < VERDICT_MAX; v++)
			if (!done[v] && c->by_verdict[v] &&
			    (best < 0 || c->by_verdict[v] > c->by_verdict[best]))
				best = v;
		if (best < 0)
			break;
		if (!ex->opt.json)
			fprintf(ex->out, "%s %llu %s", listed++ ? "," : ":",
				(unsigned long long)c->by_verdict[best],
				best ? verdict_name(best) : "unknown verdict");
		if (verdicts && json_object_set_new(verdicts, best ? verdict_name(best) : "unknown",
						    json_out_u64(c->by_verdict[best]))) {
			json_decref(verdicts);
			verdicts = NULL;
		}
		done[best] = true;
	}
	if (!ex->opt.json) {
		json_decref(verdicts);
		fputc('\n', ex->out);
		return ferror(ex->out) ? -EIO : 0;
	}
	return json_out_line(ex->out, json_pack("{s:s,s:o,s:o,s:o}", "event", "summary",
						"episodes", json_out_u64(c->episodes), "lossy",
						json_out_u64(c->lossy), "verdicts", verdicts));
}
