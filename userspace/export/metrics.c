// SPDX-License-Identifier: BSD-2-Clause
/* Prometheus series of the monitor: see metrics.h. */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>

#include "addr.h"
#include "names.h"


/* Histogram buckets, seconds: 10 us to 60 s, 1-2.5-5 steps at the short end. */
static const double buckets[] = { 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
				  0.001,   0.0025,   0.005,   0.01,   0.025,   0.05,
				  0.1,     0.25,     0.5,     1,      2.5,     5,
				  10,      30,       60 };
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

enum family { F_REKEYS, F_DROPPED, F_XFRM_DROPS, F_SA_EVENTS, F_LAST_GAP, F_MAX };
enum hist { H_GAP, H_OVERLAP, H_OUTAGE, H_MAX };
#define N_DIRS 3 /* SA_DIR_UNKNOWN, SA_DIR_IN, SA_DIR_OUT */

/*
 * A series is its family and its label values, as values: formatted (and escaped) only
 * when rendered. Which fields a family uses: see render_labels.
 */
struct series_key {
	__u8 family;       /* enum family */
	__u8 dir;          /* SA_DIR_* */
	__u8 what;         /* the episode kind, drop cause or SA event, by family */
	__u8 addr_family;  /* of saddr and daddr */
	__u8 proto;
	__u8 verdict;      /* F_REKEYS: enum episode_verdict */
	__u8 pad[2];
	__u32 reqid;
	__u32 saddr[4], daddr[4];
	char netns[METRICS_NETNS_LEN];
};

struct series {
	struct series_key key;
	__u64 count;  /* counters */
	double value; /* gauges */
	struct series *prev, *next; /* the family's list: oldest update first */
	UT_hash_handle hh;
};

struct histogram {
	__u64 bucket[N_BUCKETS]; /* not cumulative: summed when rendered */
	__u64 count;
	double sum;
};

/* A lossy episode for the operators' table: its labels' values and its numbers. */
struct lossy {
	char netns[METRICS_NETNS_LEN];
	__u64 id;
	__u8 dir;
	enum episode_verdict verdict;
	__u32 old_spi, new_spi;
	struct actor insert_actor, delete_actor;
	__u64 dropped;
	bool has_gap, has_switchover;
	double gap_s, switchover_s;
};

struct metrics {
	struct series *table;
	struct lossy lossy[METRICS_LOSSY_KEPT]; /* a ring: the newest at lossy_next - 1 */
	unsigned int lossy_next, lossy_n;
	struct {
		struct series *head; /* utlist: head->prev is the tail */
		unsigned int n;
	} list[F_MAX];
	struct histogram hist[H_MAX][N_DIRS];
	unsigned int max_series;
	__u64 evicted;
};

static const struct {
	const char *name, *type, *help;
} families[F_MAX] = {
	[F_REKEYS] = { "rekeygap_rekeys", "counter",
		       "Rekey episodes completed, by namespace, SA direction, kind and verdict." },
	[F_DROPPED] = { "rekeygap_rekey_dropped_packets", "counter",
			"Packets dropped by XFRM inside rekey episodes, by cause." },
	[F_XFRM_DROPS] = { "rekeygap_xfrm_drops", "counter",
			   "Every XFRM packet drop seen, by namespace and cause." },
	[F_SA_EVENTS] = { "rekeygap_sa_events", "counter",
			  "SA inserts, updates, deletes and expiries, by namespace." },
	[F_LAST_GAP] = { "rekeygap_last_rekey_gap_seconds", "gauge",
			 "Gap of the last rekey of each flow: time without a valid SA." },
};

static const struct {
	const char *name, *help;
} hists[H_MAX] = {
	[H_GAP] = { "rekeygap_rekey_gap_seconds",
		    "Time without a valid SA during a rekey (replaced episodes)." },
	[H_OVERLAP] = { "rekeygap_rekey_overlap_seconds",
			"Time with both the old and the new SA during a rekey." },
	[H_OUTAGE] = { "rekeygap_rekey_outage_seconds",
		       "Time from the first to the last packet dropped in a rekey episode." },
};

struct metrics *metrics_new(unsigned int max_series)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m)
		m->max_series = max_series ? max_series : 1;
	return m;
}

void metrics_free(struct metrics *m)
{
	struct series *s, *tmp;

	if (!m)
		return;
	HASH_ITER(hh, m->table, s, tmp) {
		HASH_DEL(m->table, s);
		free(s);
	}
	free(m);
}

void metrics_label_escape(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 3 < len; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

/* A key of family f in namespace netns, every other label zero until set. */
static struct series_key series_key(enum family f, const char *netns)
{
	struct series_key k;

	memset(&k, 0, sizeof(k)); /* hashed as bytes: padding included */
	k.family = (__u8)f;
	snprintf(k.netns, sizeof(k.netns), "%s", netns);
	return k;
}

/* The series of this key, created at 0 if new. */
static struct series *series_get(struct metrics *m, const struct series_key *k)
{
	struct series *s;

	HASH_FIND(hh, m->table, k, sizeof(*k), s);
	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->key = *k;
	HASH_ADD(hh, m->table, key, sizeof(s->key), s);
	DL_APPEND(m->list[k->family].head, s);
	m->list[k->family].n++;
	return s;
}

static void series_drop(struct metrics *m, struct series *s)
{
	DL_DELETE(m->list[s->key.family].head, s);
	m->list[s->key.family].n--;
	HASH_DEL(m->table, s);
	free(s);
}

static void observe(struct histogram *h, double v)
{
	size_t i = 0;

	while (i < N_BUCKETS && v > buckets[i])
		i++;
	if (i < N_BUCKETS)
		h->bucket[i]++;
	h->count++;
	h->sum += v;
}

static void lossy_add(struct metrics *m, const struct episode *ep, const char *netns)
{
	struct lossy *l = &m->lossy[m->lossy_next];

	memset(l, 0, sizeof(*l));
	snprintf(l->netns, sizeof(l->netns), "%s", netns);
	l->id = ep->id;
	l->dir = ep->flow.dir;
	l->verdict = ep->verdict;
	l->old_spi = ep->old_spi;
	l->new_spi = ep->new_spi;
	l->insert_actor = ep->insert_actor;
	l->delete_actor = ep->delete_actor;
	l->dropped = ep->drops_total;
	l->has_gap = ep->has_gap;
	l->gap_s = ep->gap_ns / 1e9;
	l->has_switchover = ep->old_last_packet_ns && ep->new_first_packet_ns;
	l->switchover_s = ((double)ep->new_first_packet_ns - (double)ep->old_last_packet_ns) / 1e9;
	m->lossy_next = (m->lossy_next + 1) % METRICS_LOSSY_KEPT;
	if (m->lossy_n < METRICS_LOSSY_KEPT)
		m->lossy_n++;
}

void metrics_episode(struct metrics *m, const struct episode *ep, const char *netns)
{
	int d = ep->flow.dir < N_DIRS ? ep->flow.dir : SA_DIR_UNKNOWN;
	struct series_key k = series_key(F_REKEYS, netns);
	struct series *s;

	k.dir = (__u8)d;
	k.what = (__u8)ep->kind;
	k.verdict = (__u8)ep->verdict;
	s = series_get(m, &k);
	if (s)
		s->count++;
	k.verdict = 0;
	k.family = F_DROPPED;
	for (int c = 0; c < DROP_CAUSE_MAX; c++) {
		if (!ep->drops[c])
			continue;
		k.what = (__u8)c;
		s = series_get(m, &k);
		if (s)
			s->count += ep->drops[c];
	}
	/* a migration's moment without its SA (one syscall's) is no rekey gap */
	if (ep->has_gap && ep->kind != EPISODE_MIGRATED) {
		observe(&m->hist[H_GAP][d], ep->gap_ns / 1e9);
		observe(&m->hist[H_OVERLAP][d], ep->overlap_ns / 1e9);
		k = series_key(F_LAST_GAP, netns);
		k.dir = (__u8)d;
		k.addr_family = ep->flow.family;
		k.proto = ep->flow.proto;
		k.reqid = ep->flow.reqid;
		memcpy(k.saddr, ep->flow.saddr, sizeof(k.saddr));
		memcpy(k.daddr, ep->flow.daddr, sizeof(k.daddr));
		s = series_get(m, &k);
		if (s) {
			s->value = ep->gap_ns / 1e9;
			/* the most recently updated last: eviction takes the head */
			DL_DELETE(m->list[F_LAST_GAP].head, s);
			DL_APPEND(m->list[F_LAST_GAP].head, s);
			while (m->list[F_LAST_GAP].n > m->max_series) {
				series_drop(m, m->list[F_LAST_GAP].head);
				m->evicted++;
			}
		}
	}
	observe(&m->hist[H_OUTAGE][d], ep->outage_ns / 1e9);
	if (ep->drops_total)
		lossy_add(m, ep, netns);
}

void metrics_sa_event(struct metrics *m, const char *netns, __u8 kind)
{
	struct series_key k = series_key(F_SA_EVENTS, netns);
	struct series *s;

	if (kind < SA_EVENT_ADD || kind > SA_EVENT_EXPIRE)
		return;
	k.what = kind;
	s = series_get(m, &k);
	if (s)
		s->count++;
}

void metrics_drops(struct metrics *m, const char *netns, __u8 cause, __u64 count)
{
	struct series_key k = series_key(F_XFRM_DROPS, netns);
	struct series *s;

	k.what = cause;
	s = series_get(m, &k);
	if (s)
		s->count += count;
}

void metrics_forget_netns(struct metrics *m, const char *netns)
{
	struct series *s, *tmp;

	HASH_ITER(hh, m->table, s, tmp) {
		if (!strncmp(s->key.netns, netns, sizeof(s->key.netns)))
			series_drop(m, s);
	}
	/* the ring closes up over the namespace's episodes, oldest first as before */
	unsigned int first = (m->lossy_next + METRICS_LOSSY_KEPT - m->lossy_n) % METRICS_LOSSY_KEPT;
	unsigned int kept = 0;
	struct lossy all[METRICS_LOSSY_KEPT];

	for (unsigned int i = 0; i < m->lossy_n; i++) {
		const struct lossy *l = &m->lossy[(first + i) % METRICS_LOSSY_KEPT];

		if (strncmp(l->netns, netns, sizeof(l->netns)))
			all[kept++] = *l;
	}
	memcpy(m->lossy, all, kept * sizeof(all[0]));
	m->lossy_n = kept;
	m->lossy_next = kept % METRICS_LOSSY_KEPT;
}

/* ---- exposition ---- */

/* "# HELP" and "# TYPE": OpenMetrics names counter families without _total. */
static void header(FILE *out, const char *name, const char *type, const char *help, bool om)
{
	size_t n = strlen(name);

	if (!om && !strcmp(type, "counter"))
		fprintf(out, "# HELP %s_total %s\n# TYPE %s_total counter\n", name, help, name);
	else if (om && !strcmp(type, "counter") && n > 6 && !strcmp(name + n - 6, "_total"))
		fprintf(out, "# HELP %.*s %s\n# TYPE %.*s counter\n", (int)n - 6, name, help,
			(int)n - 6, name);
	else
		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A series' labels, name="value",... in its family's order, escaped. */
static void render_labels(const struct series_key *k, FILE *out)
{
	char ns[2 * METRICS_NETNS_LEN], src[ADDR_STRLEN], dst[ADDR_STRLEN];
	const char *dir = sa_dir_label(k->dir);

	metrics_label_escape(k->netns, ns, sizeof(ns));
	switch (k->family) {
	case F_REKEYS:
		fprintf(out, "netns=\"%s\",dir=\"%s\",kind=\"%s\",verdict=\"%s\"", ns, dir,
			episode_kind_name(k->what), verdict_name(k->verdict));
		break;
	case F_DROPPED:
		fprintf(out, "netns=\"%s\",dir=\"%s\",cause=\"%s\"", ns, dir,
			drop_cause_name(k->what));
		break;
	case F_XFRM_DROPS:
		fprintf(out, "netns=\"%s\",cause=\"%s\"", ns, drop_cause_name(k->what));
		break;
	case F_SA_EVENTS:
		fprintf(out, "netns=\"%s\",event=\"%s\"", ns, sa_event_label(k->what));
		break;
	case F_LAST_GAP:
		addr_format(k->addr_family, (const xfrm_address_t *)k->saddr, src, sizeof(src));
		addr_format(k->addr_family, (const xfrm_address_t *)k->daddr, dst, sizeof(dst));
		fprintf(out, "netns=\"%s\",src=\"%s\",dst=\"%s\",proto=\"%s\",reqid=\"%u\",dir=\"%s\"",
			ns, src, dst, proto_label(k->proto), k->reqid, dir);
		break;
	}
}

static void render_family(struct metrics *m, enum family f, bool om, FILE *out)
{
	bool counter = !strcmp(families[f].type, "counter");

	header(out, families[f].name, families[f].type, families[f].help, om);
	for (struct series *s = m->list[f].head; s; s = s->next) {
		fprintf(out, "%s%s{", families[f].name, counter ? "_total" : "");
		render_labels(&s->key, out);
		if (counter)
			fprintf(out, "} %llu\n", (unsigned long long)s->count);
		else
			fprintf(out, "} %.9g\n", s->value);
	}
}

static void render_hist(struct metrics *m, enum hist h, bool om, FILE *out)
{
	header(out, hists[h].name, "histogram", hists[h].help, om);
	for (int d = 0; d < N_DIRS; d++) {
		const struct histogram *hg = &m->hist[h][d];
		const char *dir = sa_dir_label((__u8)d);
		__u64 cum = 0;

		if (!hg->count && d == SA_DIR_UNKNOWN)
			continue; /* kernels that say, or addresses that tell: no such series */
		for (size_t i = 0; i < N_BUCKETS; i++) {
			cum += hg->bucket[i];
			fprintf(out, "%s_bucket{dir=\"%s\",le=\"%g\"} %llu\n", hists[h].name, dir,
				buckets[i], (unsigned long long)cum);
		}
		fprintf(out, "%s_bucket{dir=\"%s\",le=\"+Inf\"} %llu\n", hists[h].name, dir,
			(unsigned long long)hg->count);
		fprintf(out, "%s_sum{dir=\"%s\"} %.9g\n", hists[h].name, dir, hg->sum);
		fprintf(out, "%s_count{dir=\"%s\"} %llu\n", hists[h].name, dir,
			(unsigned long long)hg->count);
	}
}

/* The last lossy episodes: three gauges on the same labels, for one table. */
static void render_lossy(const struct metrics *m, bool om, FILE *out)
{
	static const struct {
		const char *name, *help;
	} g[] = {
		{ "rekeygap_recent_lossy_episode_dropped_packets",
		  "Packets lost by each of the last lossy rekey episodes." },
		{ "rekeygap_recent_lossy_episode_gap_seconds",
		  "Time without a valid SA in each of the last lossy rekey episodes." },
		{ "rekeygap_recent_lossy_episode_switchover_seconds",
		  "New SA's first packet minus old SA's last, in each of the last lossy rekey "
		  "episodes (negative: both carried traffic)." },
	};
	unsigned int first = (m->lossy_next + METRICS_LOSSY_KEPT - m->lossy_n) % METRICS_LOSSY_KEPT;

	for (size_t gi = 0; gi < sizeof(g) / sizeof(g[0]); gi++) {
		header(out, g[gi].name, "gauge", g[gi].help, om);
		for (unsigned int i = 0; i < m->lossy_n; i++) {
			const struct lossy *l = &m->lossy[(first + i) % METRICS_LOSSY_KEPT];
			char ns[2 * METRICS_NETNS_LEN], old[SPI_STRLEN], new[SPI_STRLEN];
			char ia[ACTOR_STRLEN], da[ACTOR_STRLEN], ia_esc[2 * ACTOR_STRLEN],
				da_esc[2 * ACTOR_STRLEN];

			if ((gi == 1 && !l->has_gap) || (gi == 2 && !l->has_switchover))
				continue;
			metrics_label_escape(l->netns, ns, sizeof(ns));
			metrics_label_escape(actor_label(&l->insert_actor, ia), ia_esc, sizeof(ia_esc));
			metrics_label_escape(actor_label(&l->delete_actor, da), da_esc, sizeof(da_esc));
			fprintf(out,
				"%s{netns=\"%s\",dir=\"%s\",episode=\"%llu\",old_spi=\"%s\","
				"new_spi=\"%s\",verdict=\"%s\",insert_actor=\"%s\",delete_actor=\"%s\"} ",
				g[gi].name, ns, sa_dir_label(l->dir), (unsigned long long)l->id,
				spi_format(l->old_spi, old), l->new_spi ? spi_format(l->new_spi, new) : "",
				verdict_name(l->verdict), ia_esc, da_esc);
			if (gi == 0)
				fprintf(out, "%llu\n", (unsigned long long)l->dropped);
			else
				fprintf(out, "%.9g\n", gi == 1 ? l->gap_s : l->switchover_s);
		}
	}
}

static void single_counter(FILE *out, const char *name, const char *help, __u64 v, bool om)
{
	header(out, name, "counter", help, om);
	fprintf(out, "%s_total %llu\n", name, (unsigned long long)v);
}

bool metrics_wants_openmetrics(const char *accept)
{
	return strstr(accept, "application/openmetrics-text") != NULL;
}

int metrics_render(struct metrics *m, const struct metrics_snapshot *v, bool om, FILE *out)
{
	char mode[32], src[32], note[256], ns[2 * METRICS_NETNS_LEN], name[96];

	render_family(m, F_REKEYS, om, out);
	for (int h = 0; h < H_MAX; h++)
		render_hist(m, h, om, out);
	render_family(m, F_DROPPED, om, out);
	render_family(m, F_LAST_GAP, om, out);
	render_lossy(m, om, out);
	single_counter(out, "rekeygap_series_evicted",
		       "rekeygap_last_rekey_gap_seconds series evicted (--max-series).", m->evicted,
		       om);
	render_family(m, F_XFRM_DROPS, om, out);
	render_family(m, F_SA_EVENTS, om, out);

	header(out, "rekeygap_sas", "gauge", "SAs present, by namespace and direction.", om);
	for (size_t i = 0; i < v->n_sas; i++) {
		metrics_label_escape(v->sas[i].netns, ns, sizeof(ns));
		fprintf(out, "rekeygap_sas{netns=\"%s\",dir=\"%s\"} %llu\n", ns,
			sa_dir_label(v->sas[i].dir), (unsigned long long)v->sas[i].n);
	}
	header(out, "rekeygap_xfrm_mib_packets", "counter",
	       "Every line of /proc/net/xfrm_stat in each watched namespace.", om);
	for (size_t i = 0; i < v->n_mib; i++) {
		metrics_label_escape(v->mib[i].netns, ns, sizeof(ns));
		metrics_label_escape(v->mib[i].name, name, sizeof(name));
		fprintf(out, "rekeygap_xfrm_mib_packets_total{netns=\"%s\",name=\"%s\"} %llu\n",
			ns, name, (unsigned long long)v->mib[i].value);
	}

	metrics_label_escape(v->probe_mode ? v->probe_mode : "", mode, sizeof(mode));
	metrics_label_escape(v->sa_source ? v->sa_source : "", src, sizeof(src));
	metrics_label_escape(v->mib_note ? v->mib_note : "", note, sizeof(note));
	header(out, "rekeygap_probe_info", "gauge",
	       "How rekeygap observes: probe mode, where SA events come from, MIB notes.", om);
	fprintf(out, "rekeygap_probe_info{mode=\"%s\",sa_source=\"%s\",mib_note=\"%s\"} 1\n", mode,
		src, note);
	single_counter(out, "rekeygap_events_lost",
		       "SA events lost: BPF ring buffer full or a BPF run the kernel skipped, netlink overruns or malformed notifications, queue full.",
		       v->events_lost, om);
	single_counter(out, "rekeygap_resyncs",
		       "SA re-dumps after events were lost (netlink overrun, ring buffer full, BPF run skipped).", v->resyncs, om);
	single_counter(out, "rekeygap_drop_map_overflow",
		       "Drops not counted: the kernel's drop map was full.", v->drops_overflow, om);
	single_counter(out, "rekeygap_drops_missed",
		       "Drops not counted: the kernel skipped a run of a drop-counting BPF program, the same program being busy on that CPU (preempted: kernels with full or lazy preemption).",
		       v->drops_missed, om);
	header(out, "rekeygap_limit_reached", "counter",
	       "What a table's cap kept out: SAs of new flows (flows), a flow's oldest SA "
	       "(flow_sas), outbound policies naming an SPI (policy_pins), episodes (episodes), "
	       "drops on SPIs waiting for their SA (preinstall).",
	       om);
	fprintf(out,
		"rekeygap_limit_reached_total{limit=\"flows\"} %llu\n"
		"rekeygap_limit_reached_total{limit=\"flow_sas\"} %llu\n"
		"rekeygap_limit_reached_total{limit=\"policy_pins\"} %llu\n"
		"rekeygap_limit_reached_total{limit=\"episodes\"} %llu\n"
		"rekeygap_limit_reached_total{limit=\"preinstall\"} %llu\n",
		(unsigned long long)v->flows_refused, (unsigned long long)v->flow_sas_evicted,
		(unsigned long long)v->pins_refused, (unsigned long long)v->episodes_refused,
		(unsigned long long)v->preinstall_refused);
	header(out, "rekeygap_build_info", "gauge", "rekeygap's version.", om);
	fprintf(out, "rekeygap_build_info{version=\"%s\"} 1\n", REKEYGAP_VERSION);
	header(out, "rekeygap_up", "gauge", "1 while rekeygap monitor runs.", om);
	fputs("rekeygap_up 1\n", out);
	if (om)
		fputs("# EOF\n", out);
	return ferror(out) ? -ENOMEM : 0;
}
