// SPDX-License-Identifier: BSD-2-Clause
/*
 * The monitor: the observer's events (observer.c) become episodes in episode.c and leave
 * as Prometheus series through metrics.c, served by http_server.c; the last episodes also
 * as JSON (episode_log.c). Data flows one way: observer -> sink below -> engine, metrics,
 * gauge; at scrape time a snapshot of the present -> metrics_render.
 * 'rekeygap monitor' (monitor_cmd.c) runs it alone, 'rekeygap lab' inside.
 */
#include "monitor.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utarray.h>

#include "cli.h"
#include "episode.h"
#include "episode_log.h"
#include "http_server.h"
#include "metrics.h"
#include "observer.h"
#include "priv.h"
#include "sa_gauge.h"

/*
 * A drop key idle this long after the episode timeout is no episode's any more: it leaves
 * the BPF drop map (see drop_delta.h). Its counts are in the metrics already.
 */
#define DROP_KEY_IDLE_NS (2 * EPISODE_SETTLE_NS + EPISODE_REORDER_NS)

struct monitor {
	/* the HTTP thread reads everything below: held while events are handled */
	pthread_mutex_t lock;
	struct observer *obs;
	struct episode_engine *eng;
	struct metrics *metrics;
	struct sa_gauge *sas;
	struct episode_log *episodes;
	__u64 queue_lost; /* episode engine queue refusals already answered by a re-dump */
	struct monitor_options opt;
	struct http_server *http;
	const char *probe_mode;
	bool ready; /* probes on, baseline in: until then /metrics answers 503 */
};

static const char *label(const struct monitor *mon, __u32 netns, char buf[16])
{
	return observer_netns_label(mon->obs, netns, buf);
}

/* ---- the observer's sink: where events become episodes and series ---- */

static void on_sa(void *ctx, const struct sa_event *e, enum event_source src)
{
	struct monitor *mon = ctx;
	char buf[16];

	(void)src;
	metrics_sa_event(mon->metrics, label(mon, e->netns, buf), e->kind);
	episode_feed_sa(mon->eng, e);
	if (mon->opt.sa_event)
		mon->opt.sa_event(mon->opt.ctx, e);
}

static void on_policy(void *ctx, const struct policy_event *e, enum event_source src)
{
	struct monitor *mon = ctx;

	(void)src;
	episode_feed_policy(mon->eng, e);
}

static void on_flush(void *ctx, const struct xfrm_msg *m)
{
	struct monitor *mon = ctx;

	if (m->kind == XFRM_MSG_KIND_SA_FLUSH)
		episode_feed_flush(mon->eng, m->sa.netns, m->flush_proto, m->sa.ts_ns);
}

static void on_drops(void *ctx, const struct drop_delta *d)
{
	struct monitor *mon = ctx;
	char buf[16];

	metrics_drops(mon->metrics, label(mon, d->key->netns, buf), d->key->cause, d->count);
	if (mon->opt.drops)
		mon->opt.drops(mon->opt.ctx, d->key, d->count, d->last_ns);
	episode_feed_drops(mon->eng, d->key, d->count, d->first_ns, d->last_ns);
}

static void on_dump_begin(void *ctx, __u32 netns, bool resync)
{
	struct monitor *mon = ctx;

	if (resync)
		episode_resync_begin(mon->eng, netns);
}

static void on_dump_sa(void *ctx, const struct sa_event *e)
{
	episode_baseline(((struct monitor *)ctx)->eng, e);
}

static void on_dump_end(void *ctx, __u32 netns, bool resync, bool complete)
{
	struct monitor *mon = ctx;

	if (resync && complete)
		episode_resync_end(mon->eng, netns);
}

/* A watched namespace was deleted: what we know of it goes, its series too. */
static void on_netns_gone(void *ctx, __u32 netns, const char *netns_label)
{
	struct monitor *mon = ctx;

	episode_forget_netns(mon->eng, netns);
	metrics_forget_netns(mon->metrics, netns_label);
}

/* ---- what the engine hands out ---- */

static void on_episode(void *ctx, const struct episode *ep)
{
	struct monitor *mon = ctx;
	char buf[16];
	const char *netns = label(mon, ep->flow.netns, buf);

	metrics_episode(mon->metrics, ep, netns);
	episode_log_add(mon->episodes, ep, netns);
	if (mon->opt.episode)
		mon->opt.episode(mon->opt.ctx, ep, netns);
}

static void on_sa_change(void *ctx, __u32 netns, __u8 dir, int delta)
{
	sa_gauge_add(((struct monitor *)ctx)->sas, netns, dir, delta);
}

/* ---- scrape time: a snapshot of the present, rendered ---- */

static const UT_icd sa_count_icd = { sizeof(struct metrics_sa_count), NULL, NULL, NULL };
static const UT_icd mib_line_icd = { sizeof(struct metrics_mib_line), NULL, NULL, NULL };

struct snapshot_ctx {
	struct monitor *mon;
	UT_array *sas, *mib;
};

static void snap_sa_count(void *ctx, __u32 netns, __u8 dir, __u64 n)
{
	struct snapshot_ctx *c = ctx;
	struct metrics_sa_count sc = { .dir = dir, .n = n };
	char buf[16];

	snprintf(sc.netns, sizeof(sc.netns), "%s", label(c->mon, netns, buf));
	utarray_push_back(c->sas, &sc);
}

static void snap_mib_line(void *ctx, const char *netns, const char *name, __u64 value)
{
	struct snapshot_ctx *c = ctx;
	struct metrics_mib_line l = { .value = value };

	snprintf(l.netns, sizeof(l.netns), "%s", netns);
	snprintf(l.name, sizeof(l.name), "%s", name);
	utarray_push_back(c->mib, &l);
}

/* The exposition, with the monitor's lock held. */
static int render_metrics(struct monitor *mon, bool om, FILE *out)
{
	struct snapshot_ctx c = { .mon = mon };
	struct observer_counters oc;
	struct episode_stats st;
	char missing[64], note[128] = "";
	int ret;

	utarray_new(c.sas, &sa_count_icd);
	utarray_new(c.mib, &mib_line_icd);
	sa_gauge_foreach(mon->sas, snap_sa_count, &c);
	if (observer_mib(mon->obs, snap_mib_line, &c, missing, sizeof(missing)))
		snprintf(note, sizeof(note), "no /proc/net/xfrm_stat in %s", missing);
	observer_counters(mon->obs, &oc);
	episode_get_stats(mon->eng, &st);
	struct metrics_snapshot snap = {
		.probe_mode = mon->probe_mode,
		.sa_source = observer_sa_from_netlink(mon->obs) ? "netlink" : "bpf",
		.mib_note = note,
		/* a malformed notification is an event lost too */
		.events_lost = oc.ring_lost + oc.missed.sa + oc.netlink_overruns + oc.netlink_bad +
			       st.queue_full,
		.drops_overflow = oc.drops_overflow,
		.drops_missed = oc.missed.drops,
		.resyncs = oc.resyncs,
		.flows_refused = st.flows_refused,
		.flow_sas_evicted = st.flow_sas_evicted,
		.pins_refused = st.pins_refused,
		.episodes_refused = st.episodes_refused,
		.preinstall_refused = st.preinstall_refused,
		.sas = (const struct metrics_sa_count *)utarray_front(c.sas),
		.n_sas = utarray_len(c.sas),
		.mib = (const struct metrics_mib_line *)utarray_front(c.mib),
		.n_mib = utarray_len(c.mib),
	};
	ret = metrics_render(mon->metrics, &snap, om, out);
	utarray_free(c.sas);
	utarray_free(c.mib);
	return ret;
}

static const char index_page[] =
	"<!DOCTYPE html>\n<html><head><title>rekeygap monitor</title></head><body>\n"
	"<h1>rekeygap monitor</h1>\n<ul>\n"
	"<li><a href=\"metrics\">/metrics</a>: Prometheus metrics</li>\n"
	"<li><a href=\"episodes\">/episodes</a>: the last rekey episodes, JSON</li>\n"
	"</ul>\n</body></html>\n";

/* The HTTP thread's routing. */
static int serve(void *ctx, const char *path, const char *accept, struct http_reply *r)
{
	struct monitor *mon = ctx;
	FILE *out = open_memstream(&r->body, &r->len);
	bool metrics = !strcmp(path, "/metrics"), episodes = !strcmp(path, "/episodes");
	int ret = 0;

	if (!out)
		return -ENOMEM;
	r->status = 200;
	pthread_mutex_lock(&mon->lock);
	if (!mon->ready && (metrics || episodes)) {
		fputs("starting: probes and the SA baseline are not ready yet\n", out);
		r->status = 503;
		r->content_type = "text/plain; charset=utf-8";
	} else if (metrics) {
		bool om = metrics_wants_openmetrics(accept);

		ret = render_metrics(mon, om, out);
		r->content_type = om ? METRICS_CT_OPENMETRICS : METRICS_CT_TEXT;
	} else if (episodes) {
		ret = episode_log_write_json(mon->episodes, out);
		r->content_type = "application/json";
	} else if (!strcmp(path, "/")) {
		fputs(index_page, out);
		r->content_type = "text/html; charset=utf-8";
	} else {
		fputs("not found: try /metrics, /episodes or /\n", out);
		r->status = 404;
		r->content_type = "text/plain; charset=utf-8";
	}
	pthread_mutex_unlock(&mon->lock);
	if (fclose(out) && !ret)
		ret = -ENOMEM;
	return ret;
}

/* ---- life ---- */

int monitor_open(struct monitor **monp, const struct monitor_options *opt, char *err,
		 size_t errlen)
{
	struct monitor *mon = calloc(1, sizeof(*mon));
	__u64 timeout_ns = opt->timeout_ns ? opt->timeout_ns : EPISODE_TIMEOUT_NS;
	struct observer_options oo = {
		.who = "monitor",
		.netns = opt->netns,
		.n_netns = opt->n_netns,
		.probe = opt->probe,
		.probe_forced = opt->probe_forced,
		.no_switchover = opt->no_switchover,
		.drop_idle_ns = timeout_ns + DROP_KEY_IDLE_NS,
		.dump_sas = true,
	};
	struct observer_sink sink = {
		.sa = on_sa,
		.policy = on_policy,
		.flush = on_flush,
		.drops = on_drops,
		.dump_begin = on_dump_begin,
		.dump_sa = on_dump_sa,
		.dump_end = on_dump_end,
		.netns_gone = on_netns_gone,
		.ctx = mon,
	};
	int ret = 0;

	if (!mon) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	mon->opt = *opt;
	pthread_mutex_init(&mon->lock, NULL);
	mon->eng = episode_engine_new(on_episode, mon);
	mon->metrics = metrics_new(opt->max_series ? opt->max_series : MONITOR_MAX_SERIES);
	mon->sas = sa_gauge_new();
	mon->episodes = episode_log_new();
	if (!mon->eng || !mon->metrics || !mon->sas || !mon->episodes) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	if (opt->max_flows)
		episode_set_max_flows(mon->eng, opt->max_flows);
	episode_set_timeout(mon->eng, timeout_ns);
	episode_on_sa_change(mon->eng, on_sa_change);
	ret = observer_open(&mon->obs, &oo, &sink, err, errlen);
	if (ret)
		goto fail;
	/* the port first: taken, we stop before loading anything */
	if (opt->listen) {
		ret = http_server_bind(&mon->http, opt->listen, serve, mon, err, errlen);
		if (ret)
			goto fail;
	}
	/* probes, then the baseline (sink calls, before the HTTP thread exists) */
	ret = observer_start(mon->obs, err, errlen);
	if (ret)
		goto fail;
	mon->probe_mode = probe_mode_name(observer_tracer(mon->obs)->mode);
	if (opt->drop_privileges) {
		static const int kept[] = MONITOR_KEPT_CAPS;

		ret = priv_drop(kept, (int)(sizeof(kept) / sizeof(kept[0])), opt->user, err, errlen);
		if (ret)
			goto fail;
	}
	/* its thread starts now, with what the process kept */
	if (mon->http) {
		ret = http_server_run(mon->http, err, errlen);
		if (ret)
			goto fail;
	}
	pthread_mutex_lock(&mon->lock);
	mon->ready = true;
	pthread_mutex_unlock(&mon->lock);
	*monp = mon;
	return 0;
fail:
	monitor_close(mon);
	return ret ? ret : -EINVAL;
}

int monitor_step(struct monitor *mon, int timeout_ms)
{
	struct episode_stats st;
	__u64 now;
	int ret = observer_wait(mon->obs, timeout_ms);

	if (ret)
		return ret;
	now = monotonic_ns();
	pthread_mutex_lock(&mon->lock);
	ret = observer_process(mon->obs, now);
	/* input the engine's queue refused: what is there now is the truth */
	episode_get_stats(mon->eng, &st);
	if (!ret && st.queue_full != mon->queue_lost) {
		mon->queue_lost = st.queue_full;
		observer_resync(mon->obs);
	}
	episode_drops_known_until(mon->eng, observer_drops_read_at(mon->obs));
	episode_advance(mon->eng, now, false);
	pthread_mutex_unlock(&mon->lock);
	return ret;
}

void monitor_settle(struct monitor *mon)
{
	pthread_mutex_lock(&mon->lock);
	observer_flush(mon->obs);
	episode_advance(mon->eng, monotonic_ns(), true);
	pthread_mutex_unlock(&mon->lock);
}

const char *monitor_probe_mode(const struct monitor *mon)
{
	return mon->probe_mode;
}

__u64 monitor_drops_missed(const struct monitor *mon)
{
	struct observer_counters oc;

	observer_counters(mon->obs, &oc);
	return oc.missed.drops;
}

bool monitor_sa_from_netlink(const struct monitor *mon)
{
	return observer_sa_from_netlink(mon->obs);
}

int monitor_n_netns(const struct monitor *mon)
{
	return observer_n_netns(mon->obs);
}

void monitor_close(struct monitor *mon)
{
	if (!mon)
		return;
	http_server_stop(mon->http); /* first: its thread reads the rest */
	observer_close(mon->obs);
	episode_engine_free(mon->eng);
	metrics_free(mon->metrics);
	sa_gauge_free(mon->sas);
	episode_log_free(mon->episodes);
	pthread_mutex_destroy(&mon->lock);
	free(mon);
}
