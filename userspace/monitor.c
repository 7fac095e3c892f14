// SPDX-License-Identifier: BSD-2-Clause
/*
 * The monitor: SA events (BPF, or netlink in tracepoint mode) and drops (BPF) enter here,
 * become episodes in episode.c, and leave as Prometheus series through metrics.c, served by
 * http_server.c. 'rekeygap monitor' (monitor_cmd.c) runs it alone, 'rekeygap lab' inside.
 */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <unistd.h>

#include "cli.h"
#include "episode.h"
#include "http_server.h"
#include "metrics.h"
#include "netns.h"
#include "priv.h"
#include "tracer.h"
#include "xfrm_client.h"
#include "xfrm_stat.h"
#include "xfrm_watch.h"

#define DROP_SCAN_MS 50
#define NETNS_RESCAN_MS 1000
/*
 * A drop key idle this long after the episode timeout is no episode's any more: it leaves
 * the BPF drop map (DROP_KEYS_MAX keys; SPIs change with every rekey, so a monitor that
 * never pruned would fill it) and drops_seen. Its counts are in the metrics already.
 */
#define DROP_KEY_IDLE_NS (2 * EPISODE_SETTLE_NS + EPISODE_REORDER_NS)

/* What a drop key had at the last scan: the next delta starts there. */
struct drop_seen {
	struct drop_key key;
	__u64 count, last_ts;
	UT_hash_handle hh;
};

/*
 * What the monitor keeps open per watched namespace, from the start, so that it never has to
 * enter one again: a request socket to re-dump the SAs, and /proc/net/xfrm_stat as the
 * namespace shows it (a seq file, read again from offset 0 at each scrape).
 */
struct ns_handles {
	__u32 netns; /* 0: free */
	struct xfrm_client c;
	int stat_fd;
};

struct monitor {
	pthread_mutex_t lock; /* engine, metrics, counters: the HTTP thread reads them */
	struct episode_engine *eng;
	struct metrics *metrics;
	struct tracer tracer;
	struct xfrm_watch watch;
	bool sa_from_netlink;
	struct drop_seen *drops_seen;
	__u64 last_scan_ns;
	__u64 eng_timeout_ns;
	bool drop_take_failed; /* idle drop keys stay in the map (counted if it fills) */
	__u64 resyncs;
	__u64 ring_lost; /* BPF ring buffer losses already answered by a re-dump */
	__u64 queue_lost; /* the same for events the episode engine's queue refused */
	struct monitor_options opt;
	struct http_server *http;
	bool tracer_up;
	__u64 next_scan, next_rescan;
	const char *probe_mode;
	bool ready; /* probes on, baseline in: until then /metrics answers 503 */
	char mib_note[256]; /* set while rendering: why a namespace has no MIB */
	struct ns_handles handles[XFRM_WATCH_NETNS_MAX];
};

/* ---- namespaces ---- */

static bool netns_watched(const struct monitor *mon, __u32 inum, int *idx)
{
	for (int i = 0; i < mon->watch.n; i++)
		if (mon->watch.ns[i].netns == inum) {
			if (idx)
				*idx = i;
			return true;
		}
	return false;
}

/* A namespace's label: its name in /run/netns, else its inode number. */
static const char *netns_label(const struct monitor *mon, __u32 inum, char buf[16])
{
	int i;

	if (netns_watched(mon, inum, &i) && mon->watch.ns[i].name[0])
		return mon->watch.ns[i].name;
	snprintf(buf, 16, "%u", inum);
	return buf;
}

/* ---- input ---- */

static void take_sa(struct monitor *mon, const struct sa_event *e)
{
	struct sa_event with_dir;
	char buf[16];

	if (!netns_watched(mon, e->netns, NULL))
		return;
	if (e->dir == SA_DIR_UNKNOWN) {
		/* kernels before 6.10 have no SA direction: the namespace's addresses tell */
		with_dir = *e;
		with_dir.dir = xfrm_watch_sa_dir(&mon->watch, e);
		e = &with_dir;
	}
	metrics_sa_event(mon->metrics, netns_label(mon, e->netns, buf), e->kind);
	episode_feed_sa(mon->eng, e);
	if (mon->opt.sa_event)
		mon->opt.sa_event(mon->opt.ctx, e);
}

static int on_sa(void *ctx, const struct sa_event *e)
{
	struct monitor *mon = ctx;

	pthread_mutex_lock(&mon->lock);
	take_sa(mon, e);
	pthread_mutex_unlock(&mon->lock);
	return 0;
}

static int on_policy(void *ctx, const struct policy_event *e)
{
	struct monitor *mon = ctx;

	pthread_mutex_lock(&mon->lock);
	if (netns_watched(mon, e->netns, NULL))
		episode_feed_policy(mon->eng, e);
	pthread_mutex_unlock(&mon->lock);
	return 0;
}

static bool policy_from_netlink(const struct monitor *mon, __u8 kind)
{
	switch (kind) {
	case POLICY_EVENT_ADD:
	case POLICY_EVENT_UPDATE:
		return !mon->tracer.policy_insert;
	case POLICY_EVENT_DELETE:
		return !mon->tracer.policy_delete;
	default:
		return true;
	}
}

/* Netlink: SA events in tracepoint mode, what BPF misses of policies, flushes. */
static void on_netlink(void *ctx, const struct xfrm_msg *m)
{
	struct monitor *mon = ctx;

	switch (m->kind) {
	case XFRM_MSG_KIND_SA:
		if (mon->sa_from_netlink)
			take_sa(mon, &m->sa);
		break;
	case XFRM_MSG_KIND_POLICY:
		if (policy_from_netlink(mon, m->pol.kind))
			episode_feed_policy(mon->eng, &m->pol);
		break;
	case XFRM_MSG_KIND_SA_FLUSH:
		episode_feed_flush(mon->eng, m->sa.netns, m->flush_proto, m->sa.ts_ns);
		break;
	default:
		break;
	}
}

/* Drops since the last scan, per key: counted, and handed to the episodes. */
static void on_drop(void *ctx, const struct drop_key *k, const struct drop_value *v)
{
	struct monitor *mon = ctx;
	struct drop_seen *seen;
	__u64 delta, first;
	char buf[16];

	/* kept for every namespace (BPF counts them all), so that prune_drop_keys sees it */
	HASH_FIND(hh, mon->drops_seen, k, sizeof(*k), seen);
	if (!seen) {
		seen = calloc(1, sizeof(*seen));
		if (!seen)
			return; /* counted in full next scan */
		seen->key = *k;
		HASH_ADD(hh, mon->drops_seen, key, sizeof(seen->key), seen);
		first = v->first_ts_ns;
	} else {
		/* the first new drop came after the previous one and after the last scan */
		first = seen->last_ts + 1 > mon->last_scan_ns ? seen->last_ts + 1 : mon->last_scan_ns;
	}
	if (v->count <= seen->count)
		return;
	delta = v->count - seen->count;
	seen->count = v->count;
	seen->last_ts = v->last_ts_ns;
	if (!netns_watched(mon, k->netns, NULL))
		return;
	metrics_drops(mon->metrics, netns_label(mon, k->netns, buf), k->cause, delta);
	if (mon->opt.drops)
		mon->opt.drops(mon->opt.ctx, k, delta, v->last_ts_ns);
	episode_feed_drops(mon->eng, k, delta, first < v->last_ts_ns ? first : v->last_ts_ns,
			   v->last_ts_ns);
}

/* Idle drop keys leave the map, their last counts taken on the way out. */
static void prune_drop_keys(struct monitor *mon, __u64 now)
{
	__u64 idle = mon->eng_timeout_ns + DROP_KEY_IDLE_NS;
	struct drop_seen *seen, *tmp;
	struct drop_value v;

	if (mon->drop_take_failed)
		return;
	HASH_ITER(hh, mon->drops_seen, seen, tmp) {
		int ret;

		if (seen->last_ts + idle > now)
			continue;
		ret = tracer_drop_take(&mon->tracer, &seen->key, &v);
		if (!ret) {
			on_drop(mon, &seen->key, &v); /* what came since the last scan */
		} else if (ret != -ENOENT) {
			/* still in the map, so still seen (forgotten, it would count twice); a
			 * kernel before 5.14 cannot take from a hash map: no pruning then */
			mon->drop_take_failed = true;
			return;
		}
		HASH_DEL(mon->drops_seen, seen);
		free(seen);
	}
}

/* ---- the SAs there before us, and again after lost notifications ---- */

struct dump_ctx {
	struct monitor *mon;
	__u32 netns;
};

static int baseline_sa(void *ctx, const struct xfrm_sa *sa)
{
	struct dump_ctx *d = ctx;
	const struct nlattr *a;
	struct xfrm_mark mark;
	struct sa_event e = {
		.netns = d->netns,
		.kind = SA_EVENT_ADD,
		.family = (__u8)sa->info.family,
		.proto = sa->info.id.proto,
		.km_state = XFRM_KM_VALID,
		.spi = sa->info.id.spi,
		.reqid = sa->info.reqid,
		.mode = sa->info.mode,
	};

	if (!sa->info.id.spi)
		return 0; /* larval (ACQ) states are not SAs yet */
	memcpy(e.saddr, &sa->info.saddr, sizeof(e.saddr));
	memcpy(e.daddr, &sa->info.id.daddr, sizeof(e.daddr));
	if (xfrm_sa_mark(sa, &mark)) {
		e.mark_v = mark.v;
		e.mark_m = mark.m;
	}
	a = xfrm_sa_attr(sa, XFRMA_IF_ID);
	if (a && mnl_attr_get_payload_len(a) == sizeof(__u32))
		e.if_id = mnl_attr_get_u32(a);
	a = xfrm_sa_attr(sa, XFRM_MSG_ATTR_SA_DIR);
	if (a && mnl_attr_get_payload_len(a) >= 1)
		e.dir = mnl_attr_get_u8(a);
	if (e.dir == SA_DIR_UNKNOWN)
		e.dir = xfrm_watch_sa_dir(&d->mon->watch, &e);
	episode_baseline(d->mon->eng, &e);
	return 0;
}

static struct ns_handles *handles_of(struct monitor *mon, __u32 netns)
{
	for (int i = 0; i < XFRM_WATCH_NETNS_MAX; i++)
		if (mon->handles[i].netns == netns)
			return &mon->handles[i];
	return NULL;
}

static void handles_close(struct ns_handles *h)
{
	if (!h || !h->netns)
		return;
	xfrm_client_close(&h->c);
	if (h->stat_fd >= 0)
		close(h->stat_fd);
	memset(h, 0, sizeof(*h));
	h->stat_fd = -1;
}

struct stat_open_job {
	int nsfd, fd;
};

/* In a thread of its own (setns changes only the calling thread), inside the namespace. */
static void *stat_open_in_ns(void *arg)
{
	struct stat_open_job *j = arg;

	if (j->nsfd < 0 || !setns(j->nsfd, CLONE_NEWNET))
		j->fd = open("/proc/thread-self/net/xfrm_stat", O_RDONLY | O_CLOEXEC);
	return NULL;
}

/* The handles of watched namespace i. 0 or -errno with one line in err. */
static int handles_open(struct monitor *mon, int i, char *err, size_t errlen)
{
	const struct xfrm_watch_ns *ns = &mon->watch.ns[i];
	struct ns_handles *h = handles_of(mon, 0);
	struct stat_open_job job = { .nsfd = -1, .fd = -1 };
	pthread_t t;
	__u32 inum;
	int ret;

	if (handles_of(mon, ns->netns))
		return 0;
	if (!h) {
		snprintf(err, errlen, "too many namespaces");
		return -ENOSPC;
	}
	if (ns->name[0]) {
		ret = netns_open(ns->name, &job.nsfd, &inum);
		if (ret) {
			snprintf(err, errlen, "cannot open network namespace '%s': %s", ns->name,
				 strerror(-ret));
			return ret;
		}
	}
	ret = xfrm_client_open(&h->c, job.nsfd);
	if (ret) {
		snprintf(err, errlen, "XFRM netlink: %s", strerror(-ret));
		if (job.nsfd >= 0)
			close(job.nsfd);
		return ret;
	}
	if (!pthread_create(&t, NULL, stat_open_in_ns, &job))
		pthread_join(t, NULL);
	if (job.nsfd >= 0)
		close(job.nsfd);
	h->stat_fd = job.fd; /* -1: no xfrm_stat there (said in probe_info at scrape time) */
	h->netns = ns->netns;
	return 0;
}

/* Dump the SAs of watched namespace i into the engine; with resync, forget the others. */
static int dump_netns(struct monitor *mon, int i, bool resync, char *err, size_t errlen)
{
	const struct xfrm_watch_ns *ns = &mon->watch.ns[i];
	struct dump_ctx d = { .mon = mon, .netns = ns->netns };
	struct ns_handles *h;
	int ret = handles_open(mon, i, err, errlen);

	if (ret)
		return ret;
	h = handles_of(mon, ns->netns);
	if (resync)
		episode_resync_begin(mon->eng, ns->netns);
	ret = xfrm_sa_dump(&h->c, baseline_sa, &d);
	if (resync && !ret)
		episode_resync_end(mon->eng, ns->netns);
	if (ret)
		snprintf(err, errlen, "cannot list the SAs: %s", strerror(-ret));
	return ret;
}

/* ---- scrape time ---- */

struct sa_count_ctx {
	struct monitor *mon;
	void (*fn)(void *fctx, const char *netns, const char *dir, __u64 n);
	void *fctx;
};

static void each_sa_count(void *ctx, __u32 netns, __u8 dir, __u64 n)
{
	struct sa_count_ctx *c = ctx;
	char buf[16];

	c->fn(c->fctx, netns_label(c->mon, netns, buf), sa_dir_label(dir), n);
}

static void view_sas(void *ctx, void (*fn)(void *fctx, const char *netns, const char *dir, __u64 n),
		     void *fctx)
{
	struct sa_count_ctx c = { ctx, fn, fctx };

	episode_sa_counts(((struct monitor *)ctx)->eng, each_sa_count, &c);
}

struct mib_line_ctx {
	const char *netns;
	void (*fn)(void *fctx, const char *netns, const char *name, __u64 v);
	void *fctx;
};

static void mib_line(void *ctx, const char *name, __u64 v)
{
	struct mib_line_ctx *c = ctx;

	c->fn(c->fctx, c->netns, name, v);
}

static void view_mib(void *ctx, void (*fn)(void *fctx, const char *netns, const char *name, __u64 v),
		     void *fctx)
{
	struct monitor *mon = ctx;
	char text[16384];

	mon->mib_note[0] = '\0';
	for (int i = 0; i < mon->watch.n; i++) {
		const struct xfrm_watch_ns *ns = &mon->watch.ns[i];
		const struct ns_handles *h = handles_of(mon, ns->netns);
		char buf[16];
		struct mib_line_ctx c = { netns_label(mon, ns->netns, buf), fn, fctx };
		ssize_t n = h && h->stat_fd >= 0 ? pread(h->stat_fd, text, sizeof(text) - 1, 0) : -1;
		FILE *f;

		if (n < 0) {
			if (!mon->mib_note[0])
				snprintf(mon->mib_note, sizeof(mon->mib_note),
					 "no /proc/net/xfrm_stat in %s", c.netns);
			continue;
		}
		f = fmemopen(text, (size_t)n, "r");
		if (f) {
			xfrm_stat_parse(f, mib_line, &c);
			fclose(f);
		}
	}
}

static const char index_page[] =
	"<!DOCTYPE html>\n<html><head><title>rekeygap monitor</title></head><body>\n"
	"<h1>rekeygap monitor</h1>\n<ul>\n"
	"<li><a href=\"metrics\">/metrics</a>: Prometheus metrics</li>\n"
	"<li><a href=\"episodes\">/episodes</a>: the last rekey episodes, JSON</li>\n"
	"</ul>\n</body></html>\n";

static int serve(void *ctx, const char *path, const char *accept, struct http_reply *r)
{
	struct monitor *mon = ctx;
	FILE *out = open_memstream(&r->body, &r->len);
	int ret = 0;

	if (!out)
		return -ENOMEM;
	r->status = 200;
	pthread_mutex_lock(&mon->lock);
	if (!mon->ready && (!strcmp(path, "/metrics") || !strcmp(path, "/episodes"))) {
		pthread_mutex_unlock(&mon->lock);
		fputs("starting: probes and the SA baseline are not ready yet\n", out);
		r->status = 503;
		r->content_type = "text/plain; charset=utf-8";
		return fclose(out) ? -ENOMEM : 0;
	}
	pthread_mutex_unlock(&mon->lock);
	if (!strcmp(path, "/metrics")) {
		bool om = metrics_wants_openmetrics(accept);
		struct metrics_view v = { .probe_mode = mon->probe_mode,
					  .sa_source = mon->sa_from_netlink ? "netlink" : "bpf",
					  .sas = view_sas,
					  .mib = view_mib,
					  .ctx = mon };
		__u64 larval;
		struct episode_stats st;

		pthread_mutex_lock(&mon->lock);
		tracer_counters(&mon->tracer, &v.events_lost, &v.drops_overflow, &larval);
		episode_get_stats(mon->eng, &st);
		/* a malformed notification is an event lost too */
		v.netlink_overruns = mon->watch.overruns + mon->watch.bad_msgs;
		v.resyncs = mon->resyncs;
		v.queue_full = st.queue_full;
		v.flows_refused = st.flows_refused;
		v.flow_sas_evicted = st.flow_sas_evicted;
		v.pins_refused = st.pins_refused;
		v.episodes_refused = st.episodes_refused;
		/* read after the MIB series, which leave it */
		v.mib_note = mon->mib_note;
		ret = metrics_render(mon->metrics, &v, om, out);
		pthread_mutex_unlock(&mon->lock);
		r->content_type = om ? METRICS_CT_OPENMETRICS : METRICS_CT_TEXT;
	} else if (!strcmp(path, "/episodes")) {
		pthread_mutex_lock(&mon->lock);
		ret = metrics_episodes_json(mon->metrics, out);
		pthread_mutex_unlock(&mon->lock);
		r->content_type = "application/json";
	} else if (!strcmp(path, "/")) {
		fputs(index_page, out);
		r->content_type = "text/html; charset=utf-8";
	} else {
		fputs("not found: try /metrics, /episodes or /\n", out);
		r->status = 404;
		r->content_type = "text/plain; charset=utf-8";
	}
	if (fclose(out) && !ret)
		ret = -ENOMEM;
	return ret;
}


/* ---- life ---- */

/* A watched namespace was deleted: what we know of it goes, its series too. */
static void on_netns_gone(void *ctx, __u32 netns, const char *name)
{
	struct monitor *mon = ctx;
	char buf[16];

	handles_close(handles_of(mon, netns));
	episode_forget_netns(mon->eng, netns);
	metrics_forget_netns(mon->metrics, name[0] ? name : netns_label(mon, netns, buf));
}

static void on_episode(void *ctx, const struct episode *ep)
{
	struct monitor *mon = ctx;
	char buf[16];
	const char *label = netns_label(mon, ep->flow.netns, buf);

	metrics_episode(mon->metrics, ep, label);
	if (mon->opt.episode)
		mon->opt.episode(mon->opt.ctx, ep, label);
}

/* Read what netlink has for us; after lost notifications (tracepoint mode) re-dump. */
static int read_netlink(struct monitor *mon, int i)
{
	__u64 overruns = mon->watch.overruns;
	char err[256];
	int ret;

	pthread_mutex_lock(&mon->lock);
	ret = xfrm_watch_read(&mon->watch, i);
	if (!ret && mon->watch.overruns != overruns && mon->sa_from_netlink) {
		if (dump_netns(mon, i, true, err, sizeof(err)))
			cli_error("monitor: resync: %s", err);
		else
			mon->resyncs++;
	}
	pthread_mutex_unlock(&mon->lock);
	return ret;
}

int monitor_open(struct monitor **monp, const struct monitor_options *opt, char *err,
		 size_t errlen)
{
	struct monitor *mon = calloc(1, sizeof(*mon));
	int ret = 0;

	if (!mon) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	mon->opt = *opt;
	pthread_mutex_init(&mon->lock, NULL);
	for (int i = 0; i < XFRM_WATCH_NETNS_MAX; i++)
		mon->handles[i].stat_fd = -1;
	mon->eng = episode_engine_new(on_episode, mon);
	if (mon->eng && opt->max_flows)
		episode_set_max_flows(mon->eng, opt->max_flows);
	mon->metrics = metrics_new(opt->max_series ? opt->max_series : MONITOR_MAX_SERIES);
	xfrm_watch_init(&mon->watch, on_netlink, mon);
	mon->watch.gone = on_netns_gone;
	if (!mon->eng || !mon->metrics) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	mon->eng_timeout_ns = opt->timeout_ns ? opt->timeout_ns : EPISODE_TIMEOUT_NS;
	episode_set_timeout(mon->eng, mon->eng_timeout_ns);
	for (int i = 0; i < opt->n_netns && !ret; i++)
		ret = xfrm_watch_add(&mon->watch, opt->netns[i], err, errlen);
	if (!opt->n_netns)
		ret = xfrm_watch_add(&mon->watch, NULL, err, errlen);
	if (!ret && xfrm_watch_follow(&mon->watch, false) < 0) {
		snprintf(err, errlen, "cannot follow %s", NETNS_RUN_DIR);
		ret = -EIO;
	}
	if (ret)
		goto fail;
	/* the port first: taken, we stop before loading anything */
	if (opt->listen) {
		ret = http_server_bind(&mon->http, opt->listen, serve, mon, err, errlen);
		if (ret)
			goto fail;
	}
	ret = tracer_open(&mon->tracer, opt->probe_forced, opt->probe,
			  &(struct tracer_handlers){ .sa = on_sa, .policy = on_policy, .ctx = mon },
			  err, errlen);
	if (ret)
		goto fail;
	mon->tracer_up = true;
	/* the kernel's symbols served to find the drop sites; the monitor exports no drop
	 * location, so its megabytes go now */
	ksyms_free(&mon->tracer.ksyms);
	mon->probe_mode = probe_mode_name(mon->tracer.mode);
	mon->sa_from_netlink = mon->tracer.mode == PROBE_TRACEPOINT;
	/* the baseline: after the probes are on, so that nothing falls between */
	for (int i = 0; i < mon->watch.n; i++) {
		char why[200];

		ret = dump_netns(mon, i, false, why, sizeof(why));
		if (ret) {
			snprintf(err, errlen, "%s: %s",
				 mon->watch.ns[i].name[0] ? mon->watch.ns[i].name : "this namespace",
				 why);
			goto fail;
		}
	}
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
	struct pollfd fds[2 + XFRM_WATCH_NETNS_MAX];
	int n_watched = mon->watch.n, ret = 0;
	__u64 now;

	fds[0] = (struct pollfd){ .fd = tracer_fd(&mon->tracer), .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = mon->watch.inotify_fd, .events = POLLIN };
	for (int i = 0; i < n_watched; i++)
		fds[2 + i] = (struct pollfd){ .fd = xfrm_watch_fd(&mon->watch, i), .events = POLLIN };
	if (poll(fds, 2 + n_watched, timeout_ms) < 0) {
		if (errno == EINTR)
			return 0;
		cli_error("monitor: poll: %s", strerror(errno));
		return -errno;
	}
	if (fds[0].revents) {
		ret = tracer_poll(&mon->tracer, 0);
		if (ret == -EINTR || ret > 0)
			ret = 0;
		if (ret) {
			cli_error("monitor: ring buffer: %s", strerror(-ret));
			return ret;
		}
	}
	for (int i = 0; i < n_watched; i++) {
		if (fds[2 + i].revents)
			ret = read_netlink(mon, i);
		if (ret) {
			cli_error("monitor: netlink: %s", strerror(-ret));
			return ret;
		}
	}
	now = monotonic_ns();
	pthread_mutex_lock(&mon->lock);
	if (fds[1].revents || now >= mon->next_rescan) {
		/* a deleted namespace is let go (our sockets would keep it alive) */
		xfrm_watch_rescan(&mon->watch);
		mon->next_rescan = now + NETNS_RESCAN_MS * NSEC_PER_MSEC;
	}
	if (now >= mon->next_scan) {
		__u64 lost, overflow, larval;
		struct episode_stats st;

		/* SA events lost in the ring buffer or refused by a full reorder queue: what is
		 * there now is the truth */
		tracer_counters(&mon->tracer, &lost, &overflow, &larval);
		episode_get_stats(mon->eng, &st);
		if ((lost != mon->ring_lost && !mon->sa_from_netlink) ||
		    st.queue_full != mon->queue_lost) {
			char err[256];

			mon->ring_lost = lost;
			mon->queue_lost = st.queue_full;
			for (int i = 0; i < mon->watch.n; i++)
				if (dump_netns(mon, i, true, err, sizeof(err)))
					cli_error("monitor: resync: %s", err);
			mon->resyncs++;
		}
		tracer_drops_foreach(&mon->tracer, on_drop, mon);
		prune_drop_keys(mon, now);
		mon->last_scan_ns = now;
		mon->next_scan = now + DROP_SCAN_MS * NSEC_PER_MSEC;
	}
	episode_advance(mon->eng, now, false);
	pthread_mutex_unlock(&mon->lock);
	return 0;
}

void monitor_settle(struct monitor *mon)
{
	pthread_mutex_lock(&mon->lock);
	tracer_poll(&mon->tracer, 0);
	tracer_drops_foreach(&mon->tracer, on_drop, mon);
	episode_advance(mon->eng, monotonic_ns(), true);
	pthread_mutex_unlock(&mon->lock);
}

const char *monitor_probe_mode(const struct monitor *mon)
{
	return mon->probe_mode;
}

bool monitor_sa_from_netlink(const struct monitor *mon)
{
	return mon->sa_from_netlink;
}

int monitor_n_netns(const struct monitor *mon)
{
	return mon->watch.n;
}

void monitor_close(struct monitor *mon)
{
	struct drop_seen *seen, *tmp;

	if (!mon)
		return;
	http_server_stop(mon->http); /* first: its thread reads the rest */
	if (mon->tracer_up)
		tracer_close(&mon->tracer);
	xfrm_watch_close(&mon->watch);
	for (int i = 0; i < XFRM_WATCH_NETNS_MAX; i++)
		handles_close(&mon->handles[i]);
	HASH_ITER(hh, mon->drops_seen, seen, tmp) {
		HASH_DEL(mon->drops_seen, seen);
		free(seen);
	}
	episode_engine_free(mon->eng);
	metrics_free(mon->metrics);
	pthread_mutex_destroy(&mon->lock);
	free(mon);
}
