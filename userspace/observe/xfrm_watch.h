/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The netlink side of observation: XFRM notifications (SA, EXPIRE, ACQUIRE, POLICY groups)
 * from each watched namespace. Works without BPF and is the only source of policy changes.
 * This is where netlink events enter userspace. The messages carry keys: the receive buffer
 * is wiped after each read and the parser copies none.
 */
#ifndef REKEYGAP_XFRM_WATCH_H
#define REKEYGAP_XFRM_WATCH_H

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stddef.h>

#include "local_addr.h"
#include "xfrm_msg.h"

#define XFRM_WATCH_NETNS_MAX 64

/* m->sa.ts_ns / m->pol.ts_ns: CLOCK_MONOTONIC when read; netns: the socket's namespace */
typedef void (*xfrm_watch_fn)(void *ctx, const struct xfrm_msg *m);

struct xfrm_watch_ns {
	struct mnl_socket *xfrm;  /* subscribed to the notifications */
	struct mnl_socket *route; /* for local_addr: which SAs are inbound */
	struct local_addrs *addrs; /* its addresses, read at most every 100 ms */
	__u32 netns;
	char name[64]; /* in /run/netns; empty for our own namespace or a path */
};

struct xfrm_watch {
	struct xfrm_watch_ns ns[XFRM_WATCH_NETNS_MAX];
	int n;
	xfrm_watch_fn fn;
	void *ctx;
	__u64 overruns; /* ENOBUFS: the socket buffer overflowed, notifications were lost */
	__u64 bad_msgs; /* malformed messages skipped */
	int over_cap;   /* following all: named namespaces not watched (XFRM_WATCH_NETNS_MAX) */
	int inotify_fd; /* on /run/netns, see xfrm_watch_follow; -1 if not following */
	/* a watched namespace let go by xfrm_watch_rescan (deleted): called before it goes */
	void (*gone)(void *ctx, __u32 netns, const char *name);
	bool all;       /* follow: also watch namespaces created in /run/netns */
	bool silent;    /* set before adding: sockets bound but subscribed to nothing */
};

void xfrm_watch_init(struct xfrm_watch *w, xfrm_watch_fn fn, void *ctx);

/*
 * Watch a namespace (name in /run/netns, a path, or NULL for ours). Needs CAP_NET_ADMIN.
 * A namespace already watched is not added twice. 0 or -errno, with one line in err.
 */
int xfrm_watch_add(struct xfrm_watch *w, const char *netns, char *err, size_t errlen);

/* Our own namespace and every one in /run/netns. */
int xfrm_watch_add_all(struct xfrm_watch *w, char *err, size_t errlen);

int xfrm_watch_fd(const struct xfrm_watch *w, int i);

/*
 * Follow /run/netns: our sockets hold a namespace alive, so when 'ip netns del' removes a
 * watched one we must let it go; with all, namespaces created later are watched too.
 * Returns an fd that becomes readable on a change, or -errno. Call xfrm_watch_rescan when
 * it is readable, and every second or so: a new name is mounted a moment after its
 * creation event, and inotify does not report mounts.
 */
int xfrm_watch_follow(struct xfrm_watch *w, bool all);
void xfrm_watch_rescan(struct xfrm_watch *w);

/*
 * Read what is pending on watched namespace i (non-blocking) and hand each notification to
 * fn. A hard EXPIRE deletes the SA without a DELSA message: it is handed over as an SA
 * delete followed by the expiry, as the kernel's timer does it. 0 or -errno.
 */
int xfrm_watch_read(struct xfrm_watch *w, int i);

/* SA_DIR_* of an SA in a watched namespace from its local addresses; unknown elsewhere. */
__u8 xfrm_watch_sa_dir(struct xfrm_watch *w, const struct sa_event *e);

void xfrm_watch_close(struct xfrm_watch *w);

#endif
