// SPDX-License-Identifier: BSD-2-Clause
/* Rekey episodes from SA events and drops: see episode.h. */
#include "episode.h"

#include <errno.h>
#include <linux/ipsec.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

/*
 * Every table here has a cap, and what does not fit is counted (episode_stats), never
 * allocated: a storm of SA events or 100,000 SAs cost bounded memory.
 */
#define FLOW_SAS_MAX 8     /* SAs of one flow at once; more: the oldest is forgotten */
#define QUEUE_MAX 65536    /* input waiting for its reorder time */
#define POLICY_PINS_MAX 4096
#define ACTIVE_MAX 65536   /* episodes open or settling */

struct live_sa {
	__u32 spi;
	__u64 t_insert; /* 0: there before we started */
	bool hard_expired;
	bool seen; /* in the current re-dump */
};

struct active;

struct flow {
	struct flow_key key;
	struct live_sa sas[FLOW_SAS_MAX];
	int n_sas;
	__u32 pinned_spi;     /* an outbound policy template names this SPI; 0: none */
	__u64 pin_ts;         /* since when */
	int n_open;           /* its episodes in progress (one per SA replaced) */
	struct active *opened; /* those, newest first: an SA event looks at its flow's only */
	UT_hash_handle hh;
};

/*
 * An episode in progress (open: on the open list, newest first) or complete and waiting for
 * late drops (settling: on the settling list, in order of completion).
 */
struct active {
	struct episode ep;
	struct flow *flow; /* while open; NULL once complete */
	bool pinned;       /* a policy template names the flow's SPI: it moves the traffic */
	__u64 t_start, t_end; /* t_end: complete, or the last late drop since (extend_settle) */
	__u64 t_done;         /* when it completed */
	struct active *prev, *next;           /* on the open or settling list */
	struct active *flow_prev, *flow_next; /* on its flow's list, while open */
};

struct active_list {
	struct active *head, *tail;
};

/*
 * Outbound policies whose first template names an SPI, by (netns, index), with the event
 * that named it: a flow that appears later (its first SA, or a dump that listed the
 * policies before the SAs) is matched against it.
 */
struct policy_pin {
	struct {
		__u32 netns, index;
	} key;
	__u32 spi;
	struct policy_event pol;
	UT_hash_handle hh;
};

/*
 * Drops on an SPI no episode had when they came: the peer switched to an SPI this side has
 * not installed yet (larval, or absent). Kept for the episode its SA joins when it comes.
 */
struct preinstall {
	struct {
		__u32 netns, spi;
		__u32 daddr[4]; /* IPv4: the first word, the rest 0 */
	} key;
	__u64 drops[DROP_CAUSE_MAX];
	__u64 first, last;
	UT_hash_handle hh;
};

enum item_type { ITEM_SA, ITEM_POLICY, ITEM_FLUSH, ITEM_DROPS };

struct item {
	__u64 ts, seq;
	enum item_type type;
	union {
		struct sa_event sa;
		struct policy_event pol;
		struct {
			__u32 netns;
			__u8 proto;
		} flush;
		struct {
			struct drop_key k;
			__u64 count, first, last;
		} drops;
	};
};

struct episode_engine {
	episode_fn done;
	void *ctx;
	__u64 timeout_ns;
	__u32 max_flows;
	struct flow *flows;
	episode_sa_change_fn sa_change;
	size_t n_active; /* open and settling */
	struct policy_pin *pins;
	struct preinstall *preinstall;
	struct active_list open, settling;
	struct item *queue;
	size_t n_queue, cap_queue;
	__u64 seq, next_id;
	__u64 clock; /* what has been applied: now - EPISODE_REORDER_NS */
	__u64 drops_known; /* every drop before it fed (episode_drops_known_until) */
	__u32 resync_netns; /* between episode_resync_begin and _end; 0: none */
	__u64 resync_ts;    /* that re-dump's time: after all applied before it */
	struct episode_stats st;
};

struct episode_engine *episode_engine_new(episode_fn done, void *ctx)
{
	struct episode_engine *eng = calloc(1, sizeof(*eng));

	if (!eng)
		return NULL;
	eng->done = done;
	eng->ctx = ctx;
	eng->timeout_ns = EPISODE_TIMEOUT_NS;
	eng->max_flows = EPISODE_MAX_FLOWS;
	eng->drops_known = UINT64_MAX;
	return eng;
}

void episode_set_max_flows(struct episode_engine *eng, __u32 max_flows)
{
	eng->max_flows = max_flows ? max_flows : 1;
}

void episode_set_timeout(struct episode_engine *eng, __u64 timeout_ns)
{
	eng->timeout_ns = timeout_ns;
}

static void preinstall_key(struct preinstall *p, __u32 netns, __u32 spi, __u8 family,
			   const __u32 *daddr)
{
	memset(&p->key, 0, sizeof(p->key));
	p->key.netns = netns;
	p->key.spi = spi;
	memcpy(p->key.daddr, daddr, family == AF_INET ? 4 : sizeof(p->key.daddr));
}

/* Pre-install drops of netns (0: every namespace) whose last came before 'before' go. */
static void preinstall_forget(struct episode_engine *eng, __u32 netns, __u64 before)
{
	struct preinstall *p, *tmp;

	HASH_ITER(hh, eng->preinstall, p, tmp) {
		if ((netns && p->key.netns != netns) || p->last >= before)
			continue;
		HASH_DEL(eng->preinstall, p);
		free(p);
	}
}

void episode_engine_free(struct episode_engine *eng)
{
	struct flow *f, *ftmp;
	struct policy_pin *p, *ptmp;

	if (!eng)
		return;
	HASH_ITER(hh, eng->flows, f, ftmp) {
		HASH_DEL(eng->flows, f);
		free(f);
	}
	HASH_ITER(hh, eng->pins, p, ptmp) {
		HASH_DEL(eng->pins, p);
		free(p);
	}
	preinstall_forget(eng, 0, UINT64_MAX);
	for (struct active_list *l = &eng->open; l; l = l == &eng->open ? &eng->settling : NULL)
		while (l->head) {
			struct active *a = l->head;

			l->head = a->next;
			free(a);
		}
	free(eng->queue);
	free(eng);
}

/* ---- flows ---- */

static void flow_key_of(const struct sa_event *e, struct flow_key *k)
{
	size_t alen = e->family == AF_INET ? 4 : 16;

	memset(k, 0, sizeof(*k));
	k->netns = e->netns;
	k->reqid = e->reqid;
	k->mark_v = e->mark_v;
	k->mark_m = e->mark_m;
	k->if_id = e->if_id;
	memcpy(k->saddr, e->saddr, alen);
	memcpy(k->daddr, e->daddr, alen);
	k->family = e->family;
	k->proto = e->proto;
	k->dir = e->dir;
	k->pcpu = e->pcpu;
	k->pcpu_num = e->pcpu ? e->pcpu_num : 0;
}

static bool addr_eq(__u8 family, const __u32 *a, const __u32 *b);

/* Whether the outbound policy's first template feeds the flow: same namespace, tunnel
 * addresses and proto, and reqid unless the template takes any. */
static bool policy_feeds(const struct policy_event *e, const struct flow_key *k)
{
	return k->netns == e->netns && k->dir != SA_DIR_IN && k->family == e->tmpl_family &&
	       k->proto == e->tmpl_proto && (!e->tmpl_reqid || k->reqid == e->tmpl_reqid) &&
	       addr_eq(k->family, k->daddr, e->tmpl_daddr) &&
	       addr_eq(k->family, k->saddr, e->tmpl_saddr);
}

static struct flow *flow_get(struct episode_engine *eng, const struct flow_key *k, bool create)
{
	struct policy_pin *p, *ptmp;
	struct flow *f;

	HASH_FIND(hh, eng->flows, k, sizeof(*k), f);
	if (f || !create)
		return f;
	if (HASH_COUNT(eng->flows) >= eng->max_flows || !(f = calloc(1, sizeof(*f)))) {
		eng->st.flows_refused++; /* its SA is not followed */
		return NULL;
	}
	f->key = *k;
	HASH_ITER(hh, eng->pins, p, ptmp) {
		if (policy_feeds(&p->pol, k)) {
			f->pinned_spi = p->spi;
			f->pin_ts = p->pol.ts_ns;
		}
	}
	HASH_ADD(hh, eng->flows, key, sizeof(f->key), f);
	eng->st.flows++;
	return f;
}

/* A flow with no SA and no episode is forgotten. */
static void flow_maybe_free(struct episode_engine *eng, struct flow *f)
{
	if (f->n_sas || f->n_open || f->pinned_spi)
		return;
	HASH_DEL(eng->flows, f);
	free(f);
	eng->st.flows--;
}

static int flow_find_sa(const struct flow *f, __u32 spi)
{
	for (int i = 0; i < f->n_sas; i++)
		if (f->sas[i].spi == spi)
			return i;
	return -1;
}

/* The SAs of the flow's namespace and direction change by delta: said to the gauge. */
static void tally(struct episode_engine *eng, const struct flow *f, int delta)
{
	eng->st.sas += (__u64)(long)delta;
	if (eng->sa_change)
		eng->sa_change(eng->ctx, f->key.netns, f->key.dir, delta);
}

static void flow_add_sa(struct episode_engine *eng, struct flow *f, __u32 spi, __u64 ts)
{
	if (f->n_sas == FLOW_SAS_MAX) {
		/* the oldest makes room: a flow this crowded is not a rekey we can follow */
		memmove(f->sas, f->sas + 1, (FLOW_SAS_MAX - 1) * sizeof(f->sas[0]));
		f->n_sas--;
		tally(eng, f, -1);
		eng->st.flow_sas_evicted++;
	}
	f->sas[f->n_sas++] = (struct live_sa){ .spi = spi, .t_insert = ts };
	tally(eng, f, 1);
}

static struct live_sa flow_remove_sa(struct episode_engine *eng, struct flow *f, int i)
{
	struct live_sa sa = f->sas[i];

	memmove(f->sas + i, f->sas + i + 1, (f->n_sas - i - 1) * sizeof(f->sas[0]));
	f->n_sas--;
	tally(eng, f, -1);
	return sa;
}

/* ---- episodes ---- */

static void list_push_head(struct active_list *l, struct active *a)
{
	a->prev = NULL;
	a->next = l->head;
	if (l->head)
		l->head->prev = a;
	else
		l->tail = a;
	l->head = a;
}

static void list_push_tail(struct active_list *l, struct active *a)
{
	a->next = NULL;
	a->prev = l->tail;
	if (l->tail)
		l->tail->next = a;
	else
		l->head = a;
	l->tail = a;
}

static void list_unlink(struct active_list *l, struct active *a)
{
	if (a->prev)
		a->prev->next = a->next;
	else
		l->head = a->next;
	if (a->next)
		a->next->prev = a->prev;
	else
		l->tail = a->prev;
	a->prev = a->next = NULL;
}

static struct active *active_new(struct episode_engine *eng, struct flow *f, __u64 t_start)
{
	struct active *a;

	if (eng->n_active >= ACTIVE_MAX || !(a = calloc(1, sizeof(*a)))) {
		eng->st.episodes_refused++;
		return NULL;
	}
	eng->n_active++;
	a->ep.flow = f->key;
	a->ep.kind = EPISODE_REPLACED;
	a->flow = f;
	a->t_start = t_start;
	a->pinned = f->pinned_spi != 0;
	list_push_head(&eng->open, a);
	a->flow_next = f->opened;
	if (f->opened)
		f->opened->flow_prev = a;
	f->opened = a;
	f->n_open++;
	return a;
}

/* No longer open: off its flow's list. */
static void flow_unlink_active(struct active *a)
{
	struct flow *f = a->flow;

	if (a->flow_prev)
		a->flow_prev->flow_next = a->flow_next;
	else
		f->opened = a->flow_next;
	if (a->flow_next)
		a->flow_next->flow_prev = a->flow_prev;
	a->flow_prev = a->flow_next = NULL;
	f->n_open--;
}

/* The episode is over: it settles (late drops), then goes out. */
static void complete(struct episode_engine *eng, struct active *a, __u64 t_end)
{
	struct episode *ep = &a->ep;

	if (ep->new_spi && ep->t_insert_new && ep->t_delete_old) {
		__u64 old_end = ep->t_delete_old, new_start = ep->t_insert_new;

		/* with a template naming the SPI, traffic moves when the policy does */
		if (a->pinned && ep->t_switch) {
			old_end = ep->t_switch < old_end ? ep->t_switch : old_end;
			new_start = ep->t_switch > new_start ? ep->t_switch : new_start;
		}
		ep->has_gap = !ep->resynced;
		ep->gap_ns = new_start > old_end ? new_start - old_end : 0;
		ep->overlap_ns = old_end > new_start ? old_end - new_start : 0;
	}
	ep->id = ++eng->next_id;
	a->t_end = a->t_done = t_end;
	list_unlink(&eng->open, a);
	list_push_tail(&eng->settling, a);
	if (a->flow) {
		struct flow *f = a->flow;

		flow_unlink_active(a);
		a->flow = NULL;
		flow_maybe_free(eng, f);
	}
}

static void cancel(struct episode_engine *eng, struct active *a)
{
	struct flow *f = a->flow;

	list_unlink(&eng->open, a);
	if (f)
		flow_unlink_active(a);
	free(a);
	eng->n_active--;
	eng->st.cancelled++;
	if (f)
		flow_maybe_free(eng, f);
}

/* Both sides known, and the policy's switch when it names the SPI: complete. */
static void maybe_complete(struct episode_engine *eng, struct active *a, __u64 ts)
{
	const struct episode *ep = &a->ep;

	/* a migrated SA keeps its SPI: no policy has to move */
	if (ep->t_delete_old && ep->t_insert_new &&
	    (!a->pinned || ep->t_switch || ep->kind == EPISODE_MIGRATED))
		complete(eng, a, ts);
}

/* The flow's episode in progress that waits for a successor (delete first), if any. */
static struct active *waiting_successor(const struct flow *f)
{
	for (struct active *a = f->opened; a; a = a->flow_next)
		if (!a->ep.new_spi)
			return a;
	return NULL;
}

/* count drops of cause, between first and last, are the episode's, in phase. */
static void attribute(struct episode *ep, enum loss_phase phase, __u8 cause, __u64 count,
		      __u64 first, __u64 last)
{
	struct loss_span *s = &ep->phase[phase];

	ep->drops[cause < DROP_CAUSE_MAX ? cause : DROP_OTHER] += count;
	ep->drops_total += count;
	if (!ep->first_drop_ns || first < ep->first_drop_ns)
		ep->first_drop_ns = first;
	if (last > ep->last_drop_ns)
		ep->last_drop_ns = last;
	ep->outage_ns = ep->last_drop_ns - ep->first_drop_ns;
	s->drops += count;
	if (!s->first_ns || first < s->first_ns)
		s->first_ns = first;
	if (last > s->last_ns)
		s->last_ns = last;
}

/*
 * The phase of a drop the episode matched (drop_matches), from what is known when it comes:
 * the reorder queue has applied every SA event before it by then.
 */
static enum loss_phase phase_of(const struct episode *ep, const struct drop_key *k, __u64 first)
{
	if (k->cause == DROP_IN_ICV_FAIL)
		return LOSS_KEY_MISMATCH;
	/* an SA is VOID from its insert until its request returns: 7.2 drops a packet meeting
	 * it then as state invalid, still before the SA was valid */
	if (k->spi && k->spi == ep->new_spi && k->spi != ep->old_spi &&
	    (!ep->t_insert_new || first < ep->t_insert_new ||
	     (k->cause == DROP_IN_STATE_INVALID && first < ep->t_insert_new + EPISODE_REORDER_NS)))
		return LOSS_PEER_EARLY;
	/* no state for the old SPI: it was gone, whatever a delete timed on receipt (netlink,
	 * behind the drops' kernel times) says */
	if ((!k->spi || k->spi == ep->old_spi) && ep->t_delete_old &&
	    (first >= ep->t_delete_old || (k->spi && k->cause == DROP_IN_NO_STATE))) {
		/* the old SA gone: with its successor in place it was removed too early */
		if (ep->t_insert_new && ep->t_insert_new <= first && ep->new_spi != ep->old_spi &&
		    k->spi)
			return LOSS_OLD_REMOVED_EARLY;
		return LOSS_GAP;
	}
	if (!k->spi)
		return LOSS_GAP;
	return LOSS_OTHER;
}

/*
 * Drops are read as counts over a time range (a scan's worth): a range across the old SA's
 * delete or the new one's insert is shared between the phases on either side in proportion
 * to time, the total exact. (The observer scans every 50 ms; the trace every 250 ms.)
 */
static void attribute_split(struct episode *ep, const struct drop_key *k, __u64 count,
			    __u64 first, __u64 last)
{
	__u64 cut[4] = { first, 0, 0, last }, left = count;
	int n = 1;

	for (int i = 0; i < 2; i++) {
		__u64 t = i ? ep->t_insert_new : ep->t_delete_old;

		if (t > first && t <= last)
			cut[n++] = t;
	}
	if (n == 3 && cut[1] > cut[2]) { /* in time order */
		__u64 t = cut[1];

		cut[1] = cut[2];
		cut[2] = t;
	}
	cut[n] = last;
	for (int i = 0; i < n; i++) {
		__u64 share = i == n - 1 ? left
					 : (__u64)((double)count * (double)(cut[i + 1] - cut[i]) /
						   (double)(last - first));

		share = share < left ? share : left;
		left -= share;
		if (share)
			attribute(ep, phase_of(ep, k, cut[i]), k->cause, share, cut[i],
				  i == n - 1 ? last : cut[i + 1] - 1);
	}
}

enum episode_verdict episode_verdict_of(const struct episode *ep)
{
	/* on a tie the more specific cause wins */
	static const struct {
		enum loss_phase phase;
		enum episode_verdict verdict;
	} order[] = {
		{ LOSS_KEY_MISMATCH, VERDICT_KEY_MISMATCH },
		{ LOSS_PEER_EARLY, VERDICT_PEER_EARLY },
		{ LOSS_OLD_REMOVED_EARLY, VERDICT_OLD_REMOVED_EARLY },
		{ LOSS_GAP, VERDICT_GAP },
	};
	enum episode_verdict verdict = VERDICT_CLEAN;
	__u64 most = 0;

	if (ep->kind == EPISODE_EXPIRED)
		return VERDICT_EXPIRED;
	if (ep->kind == EPISODE_UNREPLACED)
		return VERDICT_NOT_REPLACED;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (ep->phase[order[i].phase].drops > most) {
			most = ep->phase[order[i].phase].drops;
			verdict = order[i].verdict;
		}
	/* losses no phase explains, or a time without an SA that nothing happened to fall in
	 * (a migration's is the kernel's, inside one request: only its losses count) */
	if (verdict == VERDICT_CLEAN &&
	    (ep->drops_total || (ep->has_gap && ep->gap_ns && ep->kind != EPISODE_MIGRATED)))
		verdict = VERDICT_GAP;
	return verdict;
}

/* Drops on an SPI no episode has: kept for the episode its SA may join. */
static void preinstall_add(struct episode_engine *eng, const struct drop_key *k, __u64 count,
			   __u64 first, __u64 last)
{
	struct preinstall probe, *p;

	preinstall_key(&probe, k->netns, k->spi, k->family, k->daddr);
	HASH_FIND(hh, eng->preinstall, &probe.key, sizeof(probe.key), p);
	if (!p) {
		if (HASH_COUNT(eng->preinstall) >= EPISODE_PREINSTALL_KEYS ||
		    !(p = calloc(1, sizeof(*p)))) {
			eng->st.preinstall_refused += count;
			return;
		}
		p->key = probe.key;
		p->first = first;
		HASH_ADD(hh, eng->preinstall, key, sizeof(p->key), p);
	}
	p->drops[k->cause < DROP_CAUSE_MAX ? k->cause : DROP_OTHER] += count;
	if (first < p->first)
		p->first = first;
	if (last > p->last)
		p->last = last;
}

/* The SA of e has come and joined episode a: the drops on its SPI before it are a's. */
static void preinstall_claim(struct episode_engine *eng, struct active *a,
			     const struct sa_event *e)
{
	struct preinstall probe, *p;

	preinstall_key(&probe, e->netns, e->spi, e->family, e->daddr);
	HASH_FIND(hh, eng->preinstall, &probe.key, sizeof(probe.key), p);
	if (!p)
		return;
	if (a && p->last + EPISODE_PREINSTALL_NS >= e->ts_ns)
		for (int c = 0; c < DROP_CAUSE_MAX; c++) {
			/* a migration keeps its SPI: what fell on it first was its own gap's */
			enum loss_phase phase =
				a->ep.kind == EPISODE_MIGRATED ? LOSS_GAP : LOSS_PEER_EARLY;

			if (c == DROP_IN_ICV_FAIL)
				phase = LOSS_KEY_MISMATCH;
			if (p->drops[c])
				attribute(&a->ep, phase, (__u8)c, p->drops[c], p->first, p->last);
		}
	HASH_DEL(eng->preinstall, p);
	free(p);
}

static void on_insert(struct episode_engine *eng, const struct sa_event *e)
{
	struct flow_key k;
	struct flow *f;
	struct active *a;

	flow_key_of(e, &k);
	f = flow_get(eng, &k, true);
	if (!f)
		return;
	if (flow_find_sa(f, e->spi) >= 0) {
		eng->st.duplicates++;
		return;
	}
	a = waiting_successor(f);
	if (a) {
		/* delete first: this is the successor (a new SPI or the same one again) */
		a->ep.new_spi = e->spi;
		a->ep.t_insert_new = e->ts_ns;
		a->ep.insert_actor = e->actor;
		preinstall_claim(eng, a, e);
		flow_add_sa(eng, f, e->spi, e->ts_ns);
		maybe_complete(eng, a, e->ts_ns);
		return;
	}
	if (f->n_sas) {
		/* insert first: it replaces the newest SA present. Rekeys faster than the old
		 * SAs go make a chain: each newcomer replaces the one before it. */
		a = active_new(eng, f, e->ts_ns);
		if (a) {
			a->ep.old_spi = f->sas[f->n_sas - 1].spi;
			a->ep.new_spi = e->spi;
			a->ep.t_insert_new = e->ts_ns;
			a->ep.insert_actor = e->actor;
			/* the policy named the newcomer before it came */
			if (a->pinned && f->pinned_spi == e->spi)
				a->ep.t_switch = f->pin_ts;
		}
	}
	/* (no episode: the flow's first SA; what fell on its SPI before is nobody's rekey) */
	preinstall_claim(eng, a, e);
	flow_add_sa(eng, f, e->spi, e->ts_ns);
}

/*
 * The flow of an SA known by its identity only (a migration told by netlink): in its
 * namespace, the one SA of that destination, SPI, proto, family and mark, as the kernel has
 * at most one. The flow's key then has what the event lacks.
 */
static struct flow *flow_of_identity(struct episode_engine *eng, const struct sa_event *e,
				     int *idx)
{
	struct flow *f, *tmp;

	HASH_ITER(hh, eng->flows, f, tmp) {
		const struct flow_key *k = &f->key;

		if (k->netns != e->netns || k->family != e->family || k->proto != e->proto ||
		    k->mark_v != e->mark_v || k->mark_m != e->mark_m ||
		    memcmp(k->daddr, e->daddr, e->family == AF_INET ? 4 : 16))
			continue;
		*idx = flow_find_sa(f, e->spi);
		if (*idx >= 0)
			return f;
	}
	*idx = -1;
	return NULL;
}

/*
 * The flow that holds the SA of e. An SA's direction comes from its namespace's addresses
 * on kernels without one of their own; addresses change (a veth gone with its peer), so a
 * delete may come with another direction than the insert had: the others are tried too.
 */
static struct flow *flow_of_sa(struct episode_engine *eng, const struct sa_event *e, int *idx)
{
	static const __u8 dirs[] = { SA_DIR_UNKNOWN, SA_DIR_IN, SA_DIR_OUT };
	struct flow_key k;
	struct flow *f;

	if (e->flags & SA_EVENT_F_IDENTITY_ONLY)
		return flow_of_identity(eng, e, idx);
	flow_key_of(e, &k);
	f = flow_get(eng, &k, false);
	*idx = f ? flow_find_sa(f, e->spi) : -1;
	for (size_t d = 0; *idx < 0 && d < sizeof(dirs); d++) {
		if (dirs[d] == e->dir)
			continue;
		k.dir = dirs[d];
		f = flow_get(eng, &k, false);
		*idx = f ? flow_find_sa(f, e->spi) : -1;
	}
	return *idx < 0 ? NULL : f;
}

/* The SA of e off its flow (into gone): the flow, or NULL for an SA not known (a duplicate). */
static struct flow *take_sa(struct episode_engine *eng, const struct sa_event *e,
			    struct live_sa *gone)
{
	struct flow *f;
	int i;

	f = flow_of_sa(eng, e, &i);
	if (!f) {
		eng->st.duplicates++;
		return NULL;
	}
	*gone = flow_remove_sa(eng, f, i);
	return f;
}

/*
 * The newcomer of episode 'orphan' went without having replaced anything (its old SA still
 * there, or gone with the policy never moved to it), and it was the old side of 'heir': a
 * rekey collision (both IKE peers rekeyed at once; one of the two new SAs is redundant and
 * deleted) or a chain whose middle SA went first. What heir's newcomer replaced is then
 * orphan's old SA: heir takes orphan's old side (and what it was losing: its drops were on
 * the old SPI or on the redundant one, which were lost all the same).
 */
static void inherit_old_side(struct active *heir, const struct active *orphan)
{
	struct episode *h = &heir->ep;
	const struct episode *o = &orphan->ep;

	h->old_spi = o->old_spi;
	h->t_delete_old = o->t_delete_old;
	h->delete_actor = o->delete_actor;
	h->old_last_packet_ns = o->old_last_packet_ns;
	if (o->kind == EPISODE_EXPIRED)
		h->kind = EPISODE_EXPIRED;
	if (orphan->t_start < heir->t_start)
		heir->t_start = orphan->t_start;
	for (int c = 0; c < DROP_CAUSE_MAX; c++)
		h->drops[c] += o->drops[c];
	for (int p = 0; p < LOSS_PHASE_MAX; p++) {
		struct loss_span *hs = &h->phase[p];
		const struct loss_span *os = &o->phase[p];

		if (!os->drops)
			continue;
		hs->drops += os->drops;
		if (!hs->first_ns || os->first_ns < hs->first_ns)
			hs->first_ns = os->first_ns;
		if (os->last_ns > hs->last_ns)
			hs->last_ns = os->last_ns;
	}
	if (o->drops_total) {
		h->drops_total += o->drops_total;
		if (!h->first_drop_ns || o->first_drop_ns < h->first_drop_ns)
			h->first_drop_ns = o->first_drop_ns;
		if (o->last_drop_ns > h->last_drop_ns)
			h->last_drop_ns = o->last_drop_ns;
		h->outage_ns = h->last_drop_ns - h->first_drop_ns;
	}
}

static void on_delete(struct episode_engine *eng, const struct sa_event *e)
{
	struct actor actor = e->actor;
	struct flow *f;
	struct live_sa gone;
	struct active *a, *next, *orphan = NULL, *heir = NULL;
	bool involved = false;

	f = take_sa(eng, e, &gone);
	if (!f)
		return;
	/* netlink does not say who deleted; after a hard expiry it was the kernel */
	if (actor.kind == ACTOR_UNKNOWN && gone.hard_expired)
		actor.kind = ACTOR_KERNEL;
	/*
	 * The SA going was an open episode's newcomer (orphan) and the old side of another
	 * (heir): it replaced nothing, and heir's newcomer replaced orphan's old SA. Orphan may
	 * have its old SA's delete already when a policy template pinned the traffic to that
	 * SA until it went, never moving to the newcomer: it waited for a switch to it.
	 */
	for (a = f->opened; a; a = a->flow_next) {
		if (a->ep.new_spi == gone.spi && a->ep.old_spi != gone.spi &&
		    (!a->ep.t_delete_old || (a->pinned && !a->ep.t_switch)))
			orphan = a;
		else if (a->ep.old_spi == gone.spi && a->ep.new_spi && !a->ep.t_delete_old)
			heir = a;
	}
	if (orphan && heir) {
		inherit_old_side(heir, orphan);
		cancel(eng, orphan); /* (the flow stays: heir is open on it, with its SA) */
		maybe_complete(eng, heir, e->ts_ns);
		return;
	}
	for (a = f->opened; a; a = next) {
		next = a->flow_next;
		if (!a->ep.new_spi || a->ep.t_delete_old)
			continue;
		if (gone.spi == a->ep.old_spi) {
			a->ep.t_delete_old = e->ts_ns;
			a->ep.delete_actor = actor;
			a->ep.old_last_packet_ns = e->last_packet_ns;
			if (gone.hard_expired)
				a->ep.kind = EPISODE_EXPIRED;
			maybe_complete(eng, a, e->ts_ns);
			involved = true;
		} else if (gone.spi == a->ep.new_spi) {
			cancel(eng, a); /* the newcomer went first: nothing was replaced */
			involved = true;
		}
	}
	if (!involved && !f->n_sas && !f->n_open) {
		/* delete first: the flow has no SA now */
		a = active_new(eng, f, e->ts_ns);
		if (a) {
			a->ep.old_spi = gone.spi;
			a->ep.t_delete_old = e->ts_ns;
			a->ep.delete_actor = actor;
			a->ep.old_last_packet_ns = e->last_packet_ns;
			/* the policy had moved away from it already */
			if (a->pinned && f->pinned_spi != gone.spi)
				a->ep.t_switch = f->pin_ts;
			if (gone.hard_expired)
				a->ep.kind = EPISODE_EXPIRED;
		}
	}
	flow_maybe_free(eng, f);
}

/*
 * An SA migration, its old identity leaving: the flow loses the SA, and an episode of its
 * own kind waits for the same SPI to arrive (MIGRATE_IN), on whatever flow its new
 * addresses, mark or reqid make it. Never a replacement: no other episode is touched.
 */
static void on_migrate_out(struct episode_engine *eng, const struct sa_event *e)
{
	struct live_sa gone;
	struct active *a;
	struct flow *f;

	f = take_sa(eng, e, &gone);
	if (!f)
		return;
	a = active_new(eng, f, e->ts_ns);
	if (a) {
		a->ep.kind = EPISODE_MIGRATED;
		a->ep.old_spi = gone.spi;
		a->ep.t_delete_old = e->ts_ns;
		a->ep.delete_actor = e->actor;
		a->ep.old_last_packet_ns = e->last_packet_ns;
		/* netlink tells a migration once it is over: drops on the SPI at its old
		 * address may have come first */
		preinstall_claim(eng, a, e);
	}
	flow_maybe_free(eng, f);
}

/* ...and arriving: the migration's episode complete, the SA on its new flow. */
static void on_migrate_in(struct episode_engine *eng, const struct sa_event *e)
{
	struct flow_key k;
	struct active *a;
	struct flow *f;

	for (a = eng->open.head; a; a = a->next)
		if (a->ep.kind == EPISODE_MIGRATED && !a->ep.t_insert_new &&
		    a->ep.flow.netns == e->netns && a->ep.old_spi == e->spi)
			break;
	flow_key_of(e, &k);
	if (e->flags & SA_EVENT_F_IDENTITY_ONLY) {
		/* what a migration keeps, as the leaving SA's flow had it; without that flow
		 * (BPF told it first, or it came before our baseline) nothing is known */
		if (!a)
			return;
		k.dir = a->ep.flow.dir;
		k.if_id = a->ep.flow.if_id;
		k.pcpu = a->ep.flow.pcpu;
		k.pcpu_num = a->ep.flow.pcpu_num;
	}
	f = flow_get(eng, &k, true);
	if (!f)
		return;
	if (flow_find_sa(f, e->spi) < 0)
		flow_add_sa(eng, f, e->spi, e->ts_ns);
	if (!a)
		return; /* its old identity was never seen (before our baseline) */
	a->ep.new_spi = e->spi;
	a->ep.t_insert_new = e->ts_ns;
	a->ep.insert_actor = e->actor;
	preinstall_claim(eng, a, e); /* (at its new address) */
	maybe_complete(eng, a, e->ts_ns);
	/* netlink tells a migration once it is over: no time without the SA is known */
	if (e->flags & SA_EVENT_F_IDENTITY_ONLY)
		a->ep.has_gap = false;
}

/* A hard expiry: before its delete (mark the SA) or after it (mark the episode). */
static void on_hard_expire(struct episode_engine *eng, const struct sa_event *e)
{
	struct flow_key k;
	struct flow *f;
	int i;

	flow_key_of(e, &k);
	f = flow_of_sa(eng, e, &i);
	if (f) {
		f->sas[i].hard_expired = true;
		return;
	}
	/* the episode its delete opened, or completed */
	for (struct active *a = eng->open.head; a; a = a->next)
		if (!memcmp(&a->ep.flow, &k, sizeof(k)) && a->ep.old_spi == e->spi &&
		    a->ep.t_delete_old) {
			a->ep.kind = EPISODE_EXPIRED;
			return;
		}
	for (struct active *a = eng->settling.tail; a; a = a->prev)
		if (!memcmp(&a->ep.flow, &k, sizeof(k)) && a->ep.old_spi == e->spi &&
		    a->ep.t_delete_old) {
			a->ep.kind = EPISODE_EXPIRED;
			return;
		}
}

/* Does episode a's flow, but for its direction, hold the SA of e? */
static bool same_flow_but_dir(const struct active *a, const struct sa_event *e)
{
	struct flow_key k;

	flow_key_of(e, &k);
	k.dir = a->ep.flow.dir;
	return !memcmp(&a->ep.flow, &k, sizeof(k));
}

/* An SA's first packet: the new side of the switchover of the episode it joined. */
static void on_first_packet(struct episode_engine *eng, const struct sa_event *e)
{
	for (struct active_list *l = &eng->open; l; l = l == &eng->open ? &eng->settling : NULL)
		for (struct active *a = l->head; a; a = a->next) {
			struct episode *ep = &a->ep;

			if (ep->new_spi != e->spi || !ep->t_insert_new ||
			    e->ts_ns < ep->t_insert_new || !same_flow_but_dir(a, e))
				continue;
			if (!ep->new_first_packet_ns || e->ts_ns < ep->new_first_packet_ns)
				ep->new_first_packet_ns = e->ts_ns;
		}
}

static void apply_sa(struct episode_engine *eng, const struct sa_event *e)
{
	switch (e->kind) {
	case SA_EVENT_ADD:
		on_insert(eng, e);
		break;
	case SA_EVENT_DELETE:
		on_delete(eng, e);
		break;
	case SA_EVENT_EXPIRE:
		if (e->hard)
			on_hard_expire(eng, e);
		break;
	case SA_EVENT_FIRST_PACKET:
		on_first_packet(eng, e);
		break;
	case SA_EVENT_MIGRATE_OUT:
		on_migrate_out(eng, e);
		break;
	case SA_EVENT_MIGRATE_IN:
		on_migrate_in(eng, e);
		break;
	default: /* updates change neither keys nor SPIs */
		break;
	}
}

static bool addr_eq(__u8 family, const __u32 *a, const __u32 *b)
{
	return !memcmp(a, b, family == AF_INET ? 4 : 16);
}

/*
 * An outbound policy whose template names an SPI: the flow it feeds (same namespace,
 * tunnel addresses, proto, reqid unless any) follows it. A change of that SPI is the
 * outbound switch of the flow's episode.
 */
static void apply_policy(struct episode_engine *eng, const struct policy_event *e)
{
	struct policy_pin *pin;
	struct flow *f, *tmp;
	struct {
		__u32 netns, index;
	} key = { e->netns, e->index };
	bool gone = e->kind == POLICY_EVENT_DELETE || (e->kind == POLICY_EVENT_EXPIRE && e->hard);
	__u32 spi = gone ? 0 : e->tmpl_spi;

	if (e->dir != XFRM_POLICY_OUT || !e->n_tmpl)
		return;
	HASH_FIND(hh, eng->pins, &key, sizeof(key), pin);
	if ((pin ? pin->spi : 0) == spi)
		return; /* the template did not change */
	if (!spi) {
		HASH_DEL(eng->pins, pin);
		free(pin);
	} else {
		if (!pin) {
			if (HASH_COUNT(eng->pins) >= POLICY_PINS_MAX ||
			    !(pin = calloc(1, sizeof(*pin)))) {
				eng->st.pins_refused++;
				return;
			}
			pin->key.netns = e->netns;
			pin->key.index = e->index;
			HASH_ADD(hh, eng->pins, key, sizeof(pin->key), pin);
		}
		pin->spi = spi;
		pin->pol = *e;
	}
	HASH_ITER(hh, eng->flows, f, tmp) {
		if (!policy_feeds(e, &f->key))
			continue;
		f->pinned_spi = spi;
		f->pin_ts = e->ts_ns;
		for (struct active *a = f->opened, *next; spi && a; a = next) {
			next = a->flow_next;
			if (a->ep.new_spi == spi && !a->ep.t_switch) {
				a->pinned = true;
				a->ep.t_switch = e->ts_ns;
				maybe_complete(eng, a, e->ts_ns);
			}
		}
		flow_maybe_free(eng, f);
	}
}

/* Netlink's flush has no per-SA deletes: every SA of the namespace (and proto) goes. */
static void apply_flush(struct episode_engine *eng, __u32 netns, __u8 proto, __u64 ts)
{
	struct flow *f, *tmp;

	HASH_ITER(hh, eng->flows, f, tmp) {
		struct sa_event e = { .ts_ns = ts, .kind = SA_EVENT_DELETE };

		if (f->key.netns != netns || (proto != IPSEC_PROTO_ANY && f->key.proto != proto))
			continue;
		e.netns = f->key.netns;
		e.family = f->key.family;
		e.proto = f->key.proto;
		e.reqid = f->key.reqid;
		e.mark_v = f->key.mark_v;
		e.mark_m = f->key.mark_m;
		e.if_id = f->key.if_id;
		e.dir = f->key.dir;
		memcpy(e.saddr, f->key.saddr, sizeof(e.saddr));
		memcpy(e.daddr, f->key.daddr, sizeof(e.daddr));
		/* the last delete may free the flow: n counts down without it */
		for (int n = f->n_sas; n > 0; n--) {
			e.spi = f->sas[n - 1].spi;
			on_delete(eng, &e);
		}
	}
}

/* Is this drop one of the episode's: its SA (or, without one, its outbound gap) and time? */
static bool drop_matches(const struct active *a, const struct drop_key *k, __u64 first,
			 __u64 last)
{
	const struct episode *ep = &a->ep;
	__u64 end = ep->id ? a->t_end + EPISODE_SETTLE_NS : UINT64_MAX;

	if (k->netns != ep->flow.netns || last < a->t_start || first > end)
		return false;
	if (k->spi)
		return (k->spi == ep->old_spi || k->spi == ep->new_spi) &&
		       addr_eq(ep->flow.family, k->daddr, ep->flow.daddr);
	/* no SA: an outbound packet that found none, in a gap of an outbound flow */
	return ep->flow.dir != SA_DIR_IN && (!ep->id || ep->gap_ns || !ep->has_gap);
}

/*
 * Drops still falling on a complete episode (packets on its old SPI after the new SA came,
 * from a peer slow to switch) keep it open to more: it is final once EPISODE_SETTLE_NS went
 * by without one, EPISODE_TIMEOUT_NS after it completed at the latest.
 */
static void extend_settle(struct active *a, __u64 last)
{
	__u64 limit = a->t_done + EPISODE_TIMEOUT_NS;

	if (a->ep.id && last > a->t_end)
		a->t_end = last < limit ? last : limit;
}

static void apply_drops(struct episode_engine *eng, const struct drop_key *k, __u64 count,
			__u64 first, __u64 last)
{
	struct active *best = NULL;

	/* of two episodes of one SA (delete-add, again and again), the later one */
	for (struct active *a = eng->open.head; a; a = a->next)
		if (drop_matches(a, k, first, last) && (!best || a->t_start > best->t_start))
			best = a;
	for (struct active *a = eng->settling.tail; a; a = a->prev)
		if (drop_matches(a, k, first, last) && (!best || a->t_start > best->t_start))
			best = a;
	if (count == 0)
		return;
	if (best) {
		attribute_split(&best->ep, k, count, first, last);
		extend_settle(best, last);
	}
	else if (k->spi)
		preinstall_add(eng, k, count, first, last);
}

/* ---- input and time ---- */

static struct item *enqueue(struct episode_engine *eng, __u64 ts, enum item_type type)
{
	struct item *it;

	if (eng->n_queue == eng->cap_queue) {
		size_t cap = eng->cap_queue ? 2 * eng->cap_queue : 256;
		struct item *q;

		if (cap > QUEUE_MAX || !(q = realloc(eng->queue, cap * sizeof(*q)))) {
			eng->st.queue_full++;
			return NULL;
		}
		eng->queue = q;
		eng->cap_queue = cap;
	}
	it = &eng->queue[eng->n_queue++];
	memset(it, 0, sizeof(*it));
	it->ts = ts;
	it->seq = eng->seq++;
	it->type = type;
	return it;
}

/* The episodes of f that a lost event belongs to are told so (struct episode, resynced). */
static void mark_resynced(struct flow *f, __u32 spi)
{
	for (struct active *a = f->opened; a; a = a->flow_next)
		if (a->ep.new_spi == spi || a->ep.old_spi == spi)
			a->ep.resynced = true;
}

void episode_baseline(struct episode_engine *eng, const struct sa_event *sa)
{
	struct flow_key k;
	struct flow *f;
	int i;

	flow_key_of(sa, &k);
	f = flow_get(eng, &k, true);
	if (!f)
		return;
	i = flow_find_sa(f, sa->spi);
	if (i < 0 && eng->resync_netns == sa->netns && (f->n_sas || waiting_successor(f))) {
		/* a re-dump found the newcomer whose insert was lost: the rekey is still one,
		 * only when it came is not known (now, as far as we can tell) */
		struct sa_event e = *sa;

		e.ts_ns = eng->resync_ts;
		on_insert(eng, &e);
		mark_resynced(f, sa->spi);
		i = flow_find_sa(f, sa->spi);
	}
	if (i < 0) {
		flow_add_sa(eng, f, sa->spi, 0);
		i = f->n_sas - 1;
	}
	f->sas[i].seen = true;
}

/* An SA event for the SA spi of flow f, at ts (as its insert made the flow). */
static void sa_event_of_flow(const struct flow *f, __u32 spi, __u64 ts, __u8 kind,
			     struct sa_event *e)
{
	const struct flow_key *k = &f->key;

	memset(e, 0, sizeof(*e));
	e->ts_ns = ts;
	e->netns = k->netns;
	e->kind = kind;
	e->family = k->family;
	e->proto = k->proto;
	e->km_state = XFRM_KM_VALID;
	e->spi = spi;
	e->reqid = k->reqid;
	e->mark_v = k->mark_v;
	e->mark_m = k->mark_m;
	e->if_id = k->if_id;
	e->dir = k->dir;
	e->pcpu = k->pcpu;
	e->pcpu_num = k->pcpu_num;
	memcpy(e->saddr, k->saddr, sizeof(e->saddr));
	memcpy(e->daddr, k->daddr, sizeof(e->daddr));
}

/* Whether SA spi is the old side of an episode of f still waiting for its delete. */
static bool awaits_delete(const struct flow *f, __u32 spi)
{
	for (const struct active *a = f->opened; a; a = a->flow_next)
		if (a->ep.old_spi == spi && a->ep.new_spi && !a->ep.t_delete_old)
			return true;
	return false;
}

static __u32 item_netns(const struct item *it);
static int item_cmp(const void *a, const void *b);
static void apply(struct episode_engine *eng, const struct item *it);

void episode_resync_begin(struct episode_engine *eng, __u32 netns)
{
	struct flow *f, *tmp;
	size_t kept = 0;

	/*
	 * What waits in the reorder queue for this namespace happened before the dump that
	 * follows: applied now (episodes still form), so that the dump has the last word. Left
	 * in the queue, a storm's stale inserts would come back after the resync.
	 */
	if (eng->n_queue)
		qsort(eng->queue, eng->n_queue, sizeof(*eng->queue), item_cmp);
	eng->resync_ts = eng->clock;
	for (size_t i = 0; i < eng->n_queue; i++) {
		if (item_netns(&eng->queue[i]) == netns) {
			apply(eng, &eng->queue[i]);
			if (eng->queue[i].ts > eng->resync_ts)
				eng->resync_ts = eng->queue[i].ts;
		} else {
			eng->queue[kept++] = eng->queue[i];
		}
	}
	eng->n_queue = kept;
	HASH_ITER(hh, eng->flows, f, tmp) {
		if (f->key.netns == netns)
			for (int i = 0; i < f->n_sas; i++)
				f->sas[i].seen = false;
	}
	eng->resync_netns = netns;
}

void episode_resync_end(struct episode_engine *eng, __u32 netns)
{
	struct flow *f, *tmp;

	HASH_ITER(hh, eng->flows, f, tmp) {
		struct sa_event late[FLOW_SAS_MAX];
		int n_late = 0;

		if (f->key.netns != netns)
			continue;
		for (int i = f->n_sas - 1; i >= 0; i--) {
			__u32 spi = f->sas[i].spi;

			if (f->sas[i].seen)
				continue;
			if (awaits_delete(f, spi)) {
				/* the old SA of a rekey, its delete lost: the rekey completes now */
				mark_resynced(f, spi);
				sa_event_of_flow(f, spi, eng->resync_ts, SA_EVENT_DELETE,
						 &late[n_late++]);
			} else {
				flow_remove_sa(eng, f, i);
			}
		}
		if (!n_late)
			flow_maybe_free(eng, f);
		/* (each finds its flow again: an earlier one may have freed it) */
		for (int i = 0; i < n_late; i++)
			on_delete(eng, &late[i]);
	}
	eng->resync_netns = 0;
}

static __u32 item_netns(const struct item *it)
{
	switch (it->type) {
	case ITEM_SA:
		return it->sa.netns;
	case ITEM_POLICY:
		return it->pol.netns;
	case ITEM_FLUSH:
		return it->flush.netns;
	default:
		return it->drops.k.netns;
	}
}

void episode_forget_netns(struct episode_engine *eng, __u32 netns)
{
	struct flow *f, *ftmp;
	struct policy_pin *p, *ptmp;
	struct active *a, *next;
	size_t kept = 0;

	for (struct active_list *l = &eng->open; l; l = l == &eng->open ? &eng->settling : NULL)
		for (a = l->head; a; a = next) {
			next = a->next;
			if (a->ep.flow.netns != netns)
				continue;
			list_unlink(l, a);
			free(a);
			eng->n_active--;
		}
	HASH_ITER(hh, eng->flows, f, ftmp) {
		if (f->key.netns != netns)
			continue;
		tally(eng, f, -f->n_sas);
		eng->st.flows--;
		HASH_DEL(eng->flows, f);
		free(f);
	}
	HASH_ITER(hh, eng->pins, p, ptmp) {
		if (p->key.netns == netns) {
			HASH_DEL(eng->pins, p);
			free(p);
		}
	}
	for (size_t i = 0; i < eng->n_queue; i++)
		if (item_netns(&eng->queue[i]) != netns)
			eng->queue[kept++] = eng->queue[i];
	eng->n_queue = kept;
	preinstall_forget(eng, netns, UINT64_MAX);
}

void episode_feed_sa(struct episode_engine *eng, const struct sa_event *e)
{
	struct item *it = enqueue(eng, e->ts_ns, ITEM_SA);

	if (it)
		it->sa = *e;
}

void episode_feed_policy(struct episode_engine *eng, const struct policy_event *e)
{
	struct item *it = enqueue(eng, e->ts_ns, ITEM_POLICY);

	if (it)
		it->pol = *e;
}

void episode_feed_flush(struct episode_engine *eng, __u32 netns, __u8 proto, __u64 ts_ns)
{
	struct item *it = enqueue(eng, ts_ns, ITEM_FLUSH);

	if (it) {
		it->flush.netns = netns;
		it->flush.proto = proto;
	}
}

void episode_feed_drops(struct episode_engine *eng, const struct drop_key *k, __u64 count,
			__u64 first_ns, __u64 last_ns)
{
	/* at the time of the last drop: the SA events before it are applied by then */
	struct item *it = enqueue(eng, last_ns, ITEM_DROPS);

	if (it) {
		it->drops.k = *k;
		it->drops.count = count;
		it->drops.first = first_ns < last_ns ? first_ns : last_ns;
		it->drops.last = last_ns;
	}
}

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void apply(struct episode_engine *eng, const struct item *it)
{
	switch (it->type) {
	case ITEM_SA:
		apply_sa(eng, &it->sa);
		break;
	case ITEM_POLICY:
		apply_policy(eng, &it->pol);
		break;
	case ITEM_FLUSH:
		apply_flush(eng, it->flush.netns, it->flush.proto, it->ts);
		break;
	case ITEM_DROPS:
		apply_drops(eng, &it->drops.k, it->drops.count, it->drops.first, it->drops.last);
		break;
	}
}

/* Open episodes that waited too long; settled ones handed out, in order of completion. */
static void expire_and_settle(struct episode_engine *eng, __u64 clock, __u64 settled)
{
	struct active *a, *next;

	for (a = eng->open.head; a; a = next) {
		next = a->next;
		if (a->t_start + eng->timeout_ns > clock)
			continue;
		if (!a->ep.t_delete_old) {
			cancel(eng, a); /* a second SA, and the first stayed: no rekey */
			continue;
		}
		/* deleted and nothing came (or came, but the policy never moved) */
		if (!a->ep.t_insert_new && a->ep.kind != EPISODE_EXPIRED)
			a->ep.kind = EPISODE_UNREPLACED;
		complete(eng, a, a->t_start + eng->timeout_ns);
	}
	if (clock > EPISODE_PREINSTALL_NS)
		preinstall_forget(eng, 0, clock - EPISODE_PREINSTALL_NS);
	while ((a = eng->settling.head) && a->t_end + EPISODE_SETTLE_NS <= settled) {
		list_unlink(&eng->settling, a);
		a->ep.verdict = episode_verdict_of(&a->ep);
		if (eng->done)
			eng->done(eng->ctx, &a->ep);
		free(a);
		eng->n_active--;
	}
}

void episode_advance(struct episode_engine *eng, __u64 now_ns, bool flush)
{
	__u64 clock = flush ? UINT64_MAX : now_ns > EPISODE_REORDER_NS ? now_ns - EPISODE_REORDER_NS : 0;
	size_t n = 0;

	if (eng->n_queue) { /* (qsort and memmove take no NULL, even for nothing) */
		qsort(eng->queue, eng->n_queue, sizeof(*eng->queue), item_cmp);
		while (n < eng->n_queue && eng->queue[n].ts <= clock)
			apply(eng, &eng->queue[n++]);
		memmove(eng->queue, eng->queue + n, (eng->n_queue - n) * sizeof(*eng->queue));
		eng->n_queue -= n;
	}
	if (clock > eng->clock)
		eng->clock = clock;
	expire_and_settle(eng, eng->clock,
			  flush || eng->drops_known > eng->clock ? eng->clock : eng->drops_known);
}

void episode_drops_known_until(struct episode_engine *eng, __u64 ts)
{
	eng->drops_known = ts;
}

void episode_get_stats(const struct episode_engine *eng, struct episode_stats *st)
{
	*st = eng->st;
}

void episode_on_sa_change(struct episode_engine *eng, episode_sa_change_fn fn)
{
	eng->sa_change = fn;
}
