// SPDX-License-Identifier: BSD-2-Clause
#include "xfrm_watch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "local_addr.h"
#include "netns.h"
#include "nlmsg.h"

#define XFRM_WATCH_RCVBUF (4 << 20)

static const unsigned int xfrm_groups[] = {
	XFRMNLGRP_ACQUIRE,
	XFRMNLGRP_EXPIRE,
	XFRMNLGRP_SA,
	XFRMNLGRP_POLICY,
	XFRMNLGRP_MIGRATE, /* 7.2's MIGRATE_STATE, in the SA's namespace */
};

void xfrm_watch_init(struct xfrm_watch *w, xfrm_watch_fn fn, void *ctx)
{
	memset(w, 0, sizeof(*w));
	w->fn = fn;
	w->ctx = ctx;
	w->inotify_fd = -1;
}

static struct mnl_socket *open_in(int nsfd, int protocol, int *err)
{
	struct mnl_socket *nl;
	int fd = netns_socket(nsfd, AF_NETLINK, SOCK_RAW, protocol);

	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	nl = mnl_socket_fdopen(fd);
	if (!nl) {
		*err = -errno;
		close(fd);
	}
	return nl;
}

static int subscribe(struct mnl_socket *nl)
{
	int rcvbuf = XFRM_WATCH_RCVBUF;

	/* a flush of thousands of SAs arrives at once: room for it, else ENOBUFS is counted */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID))
		return -errno;
	for (size_t i = 0; i < sizeof(xfrm_groups) / sizeof(xfrm_groups[0]); i++)
		if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, (void *)&xfrm_groups[i],
					  sizeof(xfrm_groups[i])))
			return -errno;
	return 0;
}

int xfrm_watch_add(struct xfrm_watch *w, const char *netns, char *err, size_t errlen)
{
	const char *what = netns ? netns : "this namespace";
	struct xfrm_watch_ns *ns;
	int nsfd, ret = 0;
	__u32 inum;

	ret = netns_open(netns, &nsfd, &inum);
	if (ret) {
		snprintf(err, errlen, "no network namespace '%s': %s", what, strerror(-ret));
		return ret;
	}
	for (int i = 0; i < w->n; i++) {
		if (w->ns[i].netns == inum) {
			close(nsfd);
			return 0;
		}
	}
	if (w->n == XFRM_WATCH_NETNS_MAX) {
		close(nsfd);
		snprintf(err, errlen, "more than %d namespaces to watch", XFRM_WATCH_NETNS_MAX);
		return -E2BIG;
	}
	ns = &w->ns[w->n];
	memset(ns, 0, sizeof(*ns));
	ns->netns = inum;
	if (netns && !strchr(netns, '/'))
		snprintf(ns->name, sizeof(ns->name), "%s", netns);
	ns->xfrm = open_in(nsfd, NETLINK_XFRM, &ret);
	if (ns->xfrm)
		ret = w->silent ? (mnl_socket_bind(ns->xfrm, 0, MNL_SOCKET_AUTOPID) ? -errno : 0)
				: subscribe(ns->xfrm);
	if (!ret)
		ns->route = open_in(nsfd, NETLINK_ROUTE, &ret);
	if (!ret && mnl_socket_bind(ns->route, 0, MNL_SOCKET_AUTOPID))
		ret = -errno;
	if (!ret && !(ns->addrs = calloc(1, sizeof(*ns->addrs))))
		ret = -ENOMEM;
	close(nsfd);
	if (ret) {
		snprintf(err, errlen, "XFRM netlink in '%s': %s%s", what, strerror(-ret),
			 ret == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
		if (ns->xfrm)
			mnl_socket_close(ns->xfrm);
		if (ns->route)
			mnl_socket_close(ns->route);
		free(ns->addrs);
		memset(ns, 0, sizeof(*ns));
		return ret;
	}
	w->n++;
	return 0;
}

struct add_named {
	struct xfrm_watch *w;
	char *err;
	size_t errlen;
};

static int add_named(void *ctx, const char *name)
{
	struct add_named *a = ctx;
	int ret = xfrm_watch_add(a->w, name, a->err, a->errlen);

	/* more than we can watch: counted, the others still added */
	if (ret == -E2BIG) {
		a->w->over_cap++;
		return 0;
	}
	/* a namespace deleted since we listed it is not an error */
	return ret == -ENOENT ? 0 : ret;
}

int xfrm_watch_add_all(struct xfrm_watch *w, char *err, size_t errlen)
{
	struct add_named a = { w, err, errlen };
	int ret = xfrm_watch_add(w, NULL, err, errlen);

	w->over_cap = 0;
	if (!ret)
		ret = netns_foreach_named(add_named, &a);
	if (ret > 0)
		ret = -ret;
	return ret;
}

int xfrm_watch_fd(const struct xfrm_watch *w, int i)
{
	return mnl_socket_get_fd(w->ns[i].xfrm);
}

static void deliver(struct xfrm_watch *w, struct xfrm_msg *m, __u32 netns)
{
	m->sa.ts_ns = m->pol.ts_ns = monotonic_ns();
	m->sa.netns = m->pol.netns = netns;
	if (m->kind == XFRM_MSG_KIND_SA_MIGRATE) {
		/* one message, two events at one time: the SA leaves its identity, then
		 * arrives (the episode engine keeps their order) */
		struct xfrm_msg out = *m;

		out.kind = m->kind = XFRM_MSG_KIND_SA;
		out.sa = m->sa_old;
		out.sa.ts_ns = m->sa.ts_ns;
		out.sa.netns = netns;
		w->fn(w->ctx, &out);
	}
	if (m->kind == XFRM_MSG_KIND_SA && m->sa.kind == SA_EVENT_EXPIRE && m->sa.hard) {
		struct xfrm_msg del = *m;

		del.sa.kind = SA_EVENT_DELETE;
		del.sa.hard = 0;
		w->fn(w->ctx, &del);
	}
	w->fn(w->ctx, m);
}

int xfrm_watch_read(struct xfrm_watch *w, int i)
{
	static char buf[1 << 16];
	struct xfrm_watch_ns *ns = &w->ns[i];
	int ret = 0;

	for (;;) {
		ssize_t n = recv(mnl_socket_get_fd(ns->xfrm), buf, sizeof(buf), MSG_DONTWAIT);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		size_t left = n > 0 ? (size_t)n : 0;

		if (n < 0) {
			if (errno == ENOBUFS) {
				w->overruns++;
				continue;
			}
			if (errno != EAGAIN && errno != EINTR)
				ret = -errno;
			break;
		}
		while (left) {
			struct xfrm_msg m;
			size_t step;
			int err;

			if (!nlmsg_whole(nlh, left)) {
				w->bad_msgs++; /* the rest of the datagram cannot be walked */
				break;
			}
			err = xfrm_msg_parse(nlh, left, &m);
			if (!err)
				deliver(w, &m, ns->netns);
			else if (err == -EBADMSG)
				w->bad_msgs++;
			step = MNL_ALIGN(nlh->nlmsg_len);
			if (step >= left)
				break;
			nlh = (const struct nlmsghdr *)((const char *)nlh + step);
			left -= step;
		}
		/* NEWSA and UPDSA notifications carry the keys */
		explicit_bzero(buf, (size_t)n);
		if (n == 0)
			break;
	}
	return ret;
}

__u8 xfrm_watch_sa_dir(struct xfrm_watch *w, const struct sa_event *e)
{
	for (int i = 0; i < w->n; i++)
		if (w->ns[i].netns == e->netns)
			return local_addr_sa_dir(w->ns[i].addrs, w->ns[i].route, e->family, e->saddr,
						 e->daddr);
	return SA_DIR_UNKNOWN;
}

static void drop_ns(struct xfrm_watch *w, int i)
{
	mnl_socket_close(w->ns[i].xfrm);
	mnl_socket_close(w->ns[i].route);
	free(w->ns[i].addrs);
	w->ns[i] = w->ns[--w->n];
	memset(&w->ns[w->n], 0, sizeof(w->ns[w->n]));
}

int xfrm_watch_follow(struct xfrm_watch *w, bool all)
{
	/* ip netns creates the directory on first use */
	if (mkdir(NETNS_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->inotify_fd < 0)
		return -errno;
	/* a namespace file is bind-mounted, then unmounted and unlinked */
	if (inotify_add_watch(w->inotify_fd, NETNS_RUN_DIR, IN_CREATE | IN_DELETE | IN_MOVED_TO |
						IN_MOVED_FROM) < 0) {
		int err = -errno;

		close(w->inotify_fd);
		w->inotify_fd = -1;
		return err;
	}
	w->all = all;
	return w->inotify_fd;
}

void xfrm_watch_rescan(struct xfrm_watch *w)
{
	char buf[4096], err[256];
	struct stat st;

	/* which names changed matters less than what /run/netns holds now */
	while (w->inotify_fd >= 0 && read(w->inotify_fd, buf, sizeof(buf)) > 0)
		;
	for (int i = w->n - 1; i >= 0; i--) {
		char path[sizeof(NETNS_RUN_DIR) + sizeof(w->ns[i].name) + 1];

		if (!w->ns[i].name[0])
			continue;
		snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", w->ns[i].name);
		if (stat(path, &st) || (__u32)st.st_ino != w->ns[i].netns) {
			if (w->gone)
				w->gone(w->ctx, w->ns[i].netns, w->ns[i].name);
			drop_ns(w, i);
		}
	}
	/* a name just created may not be mounted yet (setns fails): the next rescan adds it */
	if (w->all) {
		w->over_cap = 0;
		netns_foreach_named(add_named, &(struct add_named){ w, err, sizeof(err) });
	}
}

void xfrm_watch_close(struct xfrm_watch *w)
{
	while (w->n)
		drop_ns(w, w->n - 1);
	if (w->inotify_fd >= 0)
		close(w->inotify_fd);
	w->inotify_fd = -1;
}
