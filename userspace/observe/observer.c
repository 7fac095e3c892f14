// SPDX-License-Identifier: BSD-2-Clause
/*
 * The observer: see observer.h. SA and policy events enter from BPF in on_bpf_sa and
 * on_bpf_policy, from netlink in on_netlink; drops in scan_drops. Each leaves through the
 * sink once.
 */
#include "observer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "netns.h"
#include "xfrm_client.h"
#include "xfrm_stat.h"
#include "xfrm_watch.h"

#define NETNS_RESCAN_NS (1000 * NSEC_PER_MSEC)

/*
 * What is kept open per watched namespace from the start (dump_sas), so that it never has
 * to be entered again: a request socket to dump the SAs, and /proc/net/xfrm_stat as the
 * namespace shows it (a seq file, read again from offset 0 each time).
 */
struct ns_handles {
	__u32 netns; /* 0: free */
	struct xfrm_client c;
	int stat_fd;
};

struct observer {
	struct observer_options opt;
	struct observer_sink sink;
	struct tracer tracer;
	bool tracer_up;
	bool sa_from_netlink; /* tracepoint mode: no BPF SA probes */
	struct xfrm_watch watch;
	struct drop_deltas *drops;
	struct pollfd fds[2 + XFRM_WATCH_NETNS_MAX];
	int n_fds;
	__u64 next_scan, next_rescan;
	__u64 drops_read_at; /* the last drop scan: drops before it are delivered */
	__u64 ring_lost;        /* BPF ring buffer losses already answered by a re-dump */
	__u64 sa_runs_missed;   /* skipped SA-event program runs, likewise */
	__u64 netlink_larval;   /* acquires seen by netlink in tracepoint mode */
	__u64 resyncs;
	int over_cap;           /* last said to the sink */
	struct ns_handles handles[XFRM_WATCH_NETNS_MAX];
};

/* ---- namespaces ---- */

static int watched_index(const struct observer *obs, __u32 netns)
{
	for (int i = 0; i < obs->watch.n; i++)
		if (obs->watch.ns[i].netns == netns)
			return i;
	return -1;
}

/* Is an event of this namespace wanted? BPF sees every namespace. */
static bool netns_wanted(const struct observer *obs, __u32 netns)
{
	return obs->opt.follow_all || watched_index(obs, netns) >= 0;
}

const char *observer_netns_label(const struct observer *obs, __u32 netns, char buf[16])
{
	int i = watched_index(obs, netns);

	if (i >= 0 && obs->watch.ns[i].name[0])
		return obs->watch.ns[i].name;
	snprintf(buf, 16, "%u", netns);
	return buf;
}

int observer_n_netns(const struct observer *obs)
{
	return obs->watch.n;
}

static struct ns_handles *handles_of(struct observer *obs, __u32 netns)
{
	for (int i = 0; i < XFRM_WATCH_NETNS_MAX; i++)
		if (obs->handles[i].netns == netns)
			return &obs->handles[i];
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
static int handles_open(struct observer *obs, int i, char *err, size_t errlen)
{
	const struct xfrm_watch_ns *ns = &obs->watch.ns[i];
	struct ns_handles *h = handles_of(obs, 0);
	struct stat_open_job job = { .nsfd = -1, .fd = -1 };
	pthread_t t;
	__u32 inum;
	int ret;

	if (handles_of(obs, ns->netns))
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
	h->stat_fd = job.fd; /* -1: no xfrm_stat there (observer_mib says so) */
	h->netns = ns->netns;
	return 0;
}

/* A watched namespace was deleted: its handles go, the sink is told. */
static void on_netns_gone(void *ctx, __u32 netns, const char *name)
{
	struct observer *obs = ctx;
	char buf[16];

	handles_close(handles_of(obs, netns));
	if (obs->sink.netns_gone)
		obs->sink.netns_gone(obs->sink.ctx, netns,
				     name[0] ? name : observer_netns_label(obs, netns, buf));
}

static void rescan_netns(struct observer *obs)
{
	/* a deleted namespace is let go (our sockets would keep it alive) */
	xfrm_watch_rescan(&obs->watch);
	if (obs->watch.over_cap && obs->watch.over_cap != obs->over_cap && obs->sink.over_cap)
		obs->sink.over_cap(obs->sink.ctx, obs->watch.over_cap);
	obs->over_cap = obs->watch.over_cap;
}

/* ---- SA and policy events ---- */

static void take_sa(struct observer *obs, const struct sa_event *e, enum event_source src)
{
	struct sa_event with_dir;

	if (!netns_wanted(obs, e->netns))
		return;
	if (e->dir == SA_DIR_UNKNOWN) {
		/* kernels before 6.10 have no SA direction: the namespace's addresses tell */
		with_dir = *e;
		with_dir.dir = xfrm_watch_sa_dir(&obs->watch, e);
		e = &with_dir;
	}
	if (obs->sink.sa)
		obs->sink.sa(obs->sink.ctx, e, src);
}

static int on_bpf_sa(void *ctx, const struct sa_event *e)
{
	take_sa(ctx, e, SOURCE_BPF);
	return 0;
}

static int on_bpf_policy(void *ctx, const struct policy_event *e)
{
	struct observer *obs = ctx;

	if (netns_wanted(obs, e->netns) && obs->sink.policy)
		obs->sink.policy(obs->sink.ctx, e, SOURCE_BPF);
	return 0;
}

/* Is a policy change from netlink one that BPF does not see in this probe mode? */
static bool policy_from_netlink(const struct observer *obs, __u8 kind)
{
	switch (kind) {
	case POLICY_EVENT_ADD:
	case POLICY_EVENT_UPDATE:
		return !obs->tracer.policy_insert;
	case POLICY_EVENT_DELETE:
		return !obs->tracer.policy_delete;
	default:
		return true; /* expiries: netlink only */
	}
}

/* Netlink: SA events in tracepoint mode, what BPF misses of policies, flushes. */
static void on_netlink(void *ctx, const struct xfrm_msg *m)
{
	struct observer *obs = ctx;

	switch (m->kind) {
	case XFRM_MSG_KIND_SA:
		if (obs->sa_from_netlink)
			take_sa(obs, &m->sa, SOURCE_NETLINK);
		break;
	case XFRM_MSG_KIND_ACQUIRE:
		if (obs->sa_from_netlink)
			obs->netlink_larval++;
		break;
	case XFRM_MSG_KIND_POLICY:
		if (netns_wanted(obs, m->pol.netns) && policy_from_netlink(obs, m->pol.kind) &&
		    obs->sink.policy)
			obs->sink.policy(obs->sink.ctx, &m->pol, SOURCE_NETLINK);
		break;
	case XFRM_MSG_KIND_SA_FLUSH:
	case XFRM_MSG_KIND_POLICY_FLUSH:
		if (netns_wanted(obs, m->sa.netns) && obs->sink.flush)
			obs->sink.flush(obs->sink.ctx, m);
		break;
	case XFRM_MSG_KIND_SA_MIGRATE: /* xfrm_watch hands it out as its two SA events */
		break;
	}
}

/* ---- the SAs there before us, and again after lost events ---- */

struct dump_ctx {
	struct observer *obs;
	__u32 netns;
};

static int dumped_sa(void *ctx, const struct xfrm_sa *sa)
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
	a = xfrm_sa_attr(sa, XFRM_UAPI_ATTR_SA_DIR);
	if (a && mnl_attr_get_payload_len(a) >= 1)
		e.dir = mnl_attr_get_u8(a);
	a = xfrm_sa_attr(sa, XFRM_UAPI_ATTR_SA_PCPU);
	if (a && mnl_attr_get_payload_len(a) == sizeof(__u32)) {
		e.pcpu = 1;
		e.pcpu_num = mnl_attr_get_u32(a);
	}
	if (e.dir == SA_DIR_UNKNOWN)
		e.dir = xfrm_watch_sa_dir(&d->obs->watch, &e);
	if (d->obs->sink.dump_sa)
		d->obs->sink.dump_sa(d->obs->sink.ctx, &e);
	return 0;
}

/* Dump the SAs of watched namespace i to the sink. 0 or -errno with one line in err. */
static int dump_netns(struct observer *obs, int i, bool resync, char *err, size_t errlen)
{
	__u32 netns = obs->watch.ns[i].netns;
	struct dump_ctx d = { .obs = obs, .netns = netns };
	const struct observer_sink *s = &obs->sink;
	int ret = handles_open(obs, i, err, errlen);

	if (ret)
		return ret;
	if (s->dump_begin)
		s->dump_begin(s->ctx, netns, resync);
	ret = xfrm_sa_dump(&handles_of(obs, netns)->c, dumped_sa, &d);
	if (s->dump_end)
		s->dump_end(s->ctx, netns, resync, !ret);
	if (ret)
		snprintf(err, errlen, "cannot list the SAs: %s", strerror(-ret));
	return ret;
}

static void resync_netns(struct observer *obs, int i)
{
	char err[256];

	if (dump_netns(obs, i, true, err, sizeof(err)))
		cli_error("%s: resync: %s", obs->opt.who, err);
}

void observer_resync(struct observer *obs)
{
	if (!obs->opt.dump_sas)
		return;
	for (int i = 0; i < obs->watch.n; i++)
		resync_netns(obs, i);
	obs->resyncs++;
}

/* ---- drops ---- */

static void on_drop_delta(void *ctx, const struct drop_delta *d)
{
	struct observer *obs = ctx;

	if (netns_wanted(obs, d->key->netns) && obs->sink.drops)
		obs->sink.drops(obs->sink.ctx, d);
}

/* Every key is followed, wanted or not, so that pruning sees it. */
static void on_drop_value(void *ctx, const struct drop_key *k, const struct drop_value *v)
{
	struct observer *obs = ctx;

	drop_deltas_update(obs->drops, k, v, on_drop_delta, obs); /* -ENOMEM: in full next scan */
}

static int take_drop_key(void *ctx, const struct drop_key *k, struct drop_value *v)
{
	return tracer_drop_take(&((struct observer *)ctx)->tracer, k, v);
}

static void scan_drops(struct observer *obs, __u64 now)
{
	tracer_drops_foreach(&obs->tracer, on_drop_value, obs);
	if (obs->opt.drop_idle_ns)
		drop_deltas_prune(obs->drops, now, obs->opt.drop_idle_ns, take_drop_key,
				  on_drop_delta, obs);
	drop_deltas_scanned(obs->drops, now);
}

/* ---- life ---- */

int observer_open(struct observer **obsp, const struct observer_options *opt,
		  const struct observer_sink *sink, char *err, size_t errlen)
{
	struct observer *obs = calloc(1, sizeof(*obs));
	int ret = 0;

	*obsp = NULL;
	if (!obs || !(obs->drops = drop_deltas_new())) {
		free(obs);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	obs->opt = *opt;
	if (!obs->opt.who)
		obs->opt.who = "observer";
	if (!obs->opt.drop_scan_ns)
		obs->opt.drop_scan_ns = OBSERVER_DROP_SCAN_NS;
	obs->sink = *sink;
	for (int i = 0; i < XFRM_WATCH_NETNS_MAX; i++)
		obs->handles[i].stat_fd = -1;
	xfrm_watch_init(&obs->watch, on_netlink, obs);
	obs->watch.gone = on_netns_gone;
	obs->watch.silent = opt->drops_only;
	for (int i = 0; i < opt->n_netns && !ret; i++)
		ret = xfrm_watch_add(&obs->watch, opt->netns[i], err, errlen);
	if (!opt->n_netns)
		ret = opt->follow_all ? xfrm_watch_add_all(&obs->watch, err, errlen)
				      : xfrm_watch_add(&obs->watch, NULL, err, errlen);
	if (!ret) {
		/* our sockets hold a namespace alive: a deleted one must be let go */
		ret = xfrm_watch_follow(&obs->watch, opt->follow_all && !opt->n_netns);
		if (ret < 0)
			snprintf(err, errlen, "cannot follow %s: %s", NETNS_RUN_DIR,
				 strerror(-ret));
		else
			ret = 0;
	}
	if (ret) {
		observer_close(obs);
		return ret;
	}
	*obsp = obs;
	return 0;
}

int observer_start(struct observer *obs, char *err, size_t errlen)
{
	int ret;

	ret = tracer_open(&obs->tracer, obs->opt.probe_forced, obs->opt.probe,
			  !obs->opt.no_switchover && !obs->opt.drops_only,
			  &(struct tracer_handlers){ .sa = on_bpf_sa, .policy = on_bpf_policy,
						     .ctx = obs },
			  err, errlen);
	if (ret)
		return ret;
	obs->tracer_up = true;
	obs->sa_from_netlink = obs->tracer.mode == PROBE_TRACEPOINT;
	/* the kernel's symbols served to find the drop sites; their megabytes go unless
	 * drop locations are to be named */
	if (!obs->opt.keep_ksyms)
		ksyms_free(&obs->tracer.ksyms);
	if (obs->over_cap != obs->watch.over_cap && obs->sink.over_cap)
		obs->sink.over_cap(obs->sink.ctx, obs->watch.over_cap);
	obs->over_cap = obs->watch.over_cap;
	if (!obs->opt.dump_sas)
		return 0;
	/* the baseline: after the probes are on, so that nothing falls between */
	for (int i = 0; i < obs->watch.n; i++) {
		char why[200];

		ret = dump_netns(obs, i, false, why, sizeof(why));
		if (ret) {
			snprintf(err, errlen, "%s: %s",
				 obs->watch.ns[i].name[0] ? obs->watch.ns[i].name : "this namespace",
				 why);
			return ret;
		}
	}
	return 0;
}

int observer_wait(struct observer *obs, int timeout_ms)
{
	int n_watched = obs->watch.n;

	obs->fds[0] = (struct pollfd){ .fd = tracer_fd(&obs->tracer), .events = POLLIN };
	obs->fds[1] = (struct pollfd){ .fd = obs->watch.inotify_fd, .events = POLLIN };
	for (int i = 0; i < n_watched; i++)
		obs->fds[2 + i] = (struct pollfd){ .fd = xfrm_watch_fd(&obs->watch, i),
						   .events = POLLIN };
	obs->n_fds = 2 + n_watched;
	if (poll(obs->fds, (nfds_t)obs->n_fds, timeout_ms) < 0) {
		obs->n_fds = 0;
		if (errno == EINTR)
			return 0;
		cli_error("%s: poll: %s", obs->opt.who, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Read what netlink has for namespace i; after lost notifications (tracepoint mode) re-dump. */
static int read_netlink(struct observer *obs, int i)
{
	__u64 overruns = obs->watch.overruns;
	int ret = xfrm_watch_read(&obs->watch, i);

	if (!ret && obs->watch.overruns != overruns && obs->sa_from_netlink && obs->opt.dump_sas) {
		resync_netns(obs, i);
		obs->resyncs++;
	}
	return ret;
}

int observer_process(struct observer *obs, __u64 now)
{
	int ret = 0;

	if (obs->n_fds && obs->fds[0].revents) {
		ret = tracer_poll(&obs->tracer, 0);
		if (ret == -EINTR || ret > 0)
			ret = 0;
		if (ret) {
			cli_error("%s: ring buffer: %s", obs->opt.who, strerror(-ret));
			return ret;
		}
	}
	/* the namespaces polled: a rescan below may change the list */
	for (int i = 0; i + 2 < obs->n_fds; i++) {
		if (obs->fds[2 + i].revents)
			ret = read_netlink(obs, i);
		if (ret) {
			cli_error("%s: netlink: %s", obs->opt.who, strerror(-ret));
			return ret;
		}
	}
	if ((obs->n_fds && obs->fds[1].revents) || now >= obs->next_rescan) {
		rescan_netns(obs);
		obs->next_rescan = now + NETNS_RESCAN_NS;
	}
	obs->n_fds = 0;
	if (now >= obs->next_scan) {
		__u64 lost, overflow, larval;
		struct tracer_missed missed;

		/* SA events lost in the ring buffer, or never made (a run the kernel skipped):
		 * what is there now is the truth */
		tracer_counters(&obs->tracer, &lost, &overflow, &larval);
		tracer_missed_runs(&obs->tracer, &missed);
		if ((lost != obs->ring_lost || missed.sa != obs->sa_runs_missed) &&
		    !obs->sa_from_netlink) {
			obs->ring_lost = lost;
			obs->sa_runs_missed = missed.sa;
			observer_resync(obs);
		}
		scan_drops(obs, now);
		obs->drops_read_at = now;
		obs->next_scan = now + obs->opt.drop_scan_ns;
	}
	return 0;
}

void observer_flush(struct observer *obs)
{
	tracer_poll(&obs->tracer, 0);
	for (int i = 0; i < obs->watch.n; i++)
		xfrm_watch_read(&obs->watch, i);
	tracer_drops_foreach(&obs->tracer, on_drop_value, obs);
	obs->drops_read_at = monotonic_ns();
}

__u64 observer_drops_read_at(const struct observer *obs)
{
	return obs->drops_read_at;
}

struct observer_mib_ctx {
	observer_mib_fn fn;
	void *ctx;
	const char *netns;
};

static void mib_line(void *ctx, const char *name, __u64 v)
{
	struct observer_mib_ctx *c = ctx;

	c->fn(c->ctx, c->netns, name, v);
}

int observer_mib(struct observer *obs, observer_mib_fn fn, void *ctx, char *missing, size_t len)
{
	char text[16384];
	int n_missing = 0;

	for (int i = 0; i < obs->watch.n; i++) {
		const struct xfrm_watch_ns *ns = &obs->watch.ns[i];
		const struct ns_handles *h = handles_of(obs, ns->netns);
		ssize_t n = h && h->stat_fd >= 0 ? pread(h->stat_fd, text, sizeof(text) - 1, 0) : -1;
		struct observer_mib_ctx c = { .fn = fn, .ctx = ctx };
		char buf[16];
		FILE *f;

		c.netns = observer_netns_label(obs, ns->netns, buf);
		if (n < 0) {
			if (!n_missing++ && missing)
				snprintf(missing, len, "%s", c.netns);
			continue;
		}
		f = fmemopen(text, (size_t)n, "r");
		if (f) {
			xfrm_stat_parse(f, mib_line, &c);
			fclose(f);
		}
	}
	return n_missing;
}

const struct tracer *observer_tracer(const struct observer *obs)
{
	return &obs->tracer;
}

bool observer_sa_from_netlink(const struct observer *obs)
{
	return obs->sa_from_netlink;
}

void observer_counters(struct observer *obs, struct observer_counters *c)
{
	__u64 larval = 0;

	memset(c, 0, sizeof(*c));
	if (obs->tracer_up) {
		tracer_counters(&obs->tracer, &c->ring_lost, &c->drops_overflow, &larval);
		tracer_missed_runs(&obs->tracer, &c->missed);
	}
	c->larval = larval + obs->netlink_larval;
	c->netlink_overruns = obs->watch.overruns;
	c->netlink_bad = obs->watch.bad_msgs;
	c->resyncs = obs->resyncs;
}

void observer_close(struct observer *obs)
{
	if (!obs)
		return;
	if (obs->tracer_up)
		tracer_close(&obs->tracer);
	xfrm_watch_close(&obs->watch);
	for (int i = 0; i < XFRM_WATCH_NETNS_MAX; i++)
		handles_close(&obs->handles[i]);
	drop_deltas_free(obs->drops);
	free(obs);
}
