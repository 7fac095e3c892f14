/* SPDX-License-Identifier: BSD-2-Clause */
/* Network namespaces by name ('ip netns') or path: their inode, and sockets made inside them. */
#ifndef REKEYGAP_NETNS_H
#define REKEYGAP_NETNS_H

#include <linux/types.h>

#define NETNS_RUN_DIR "/run/netns"

/*
 * Open a namespace: a name in /run/netns, a path (anything with a '/'), or NULL for our own.
 * *fd: an O_RDONLY descriptor for setns; *inum: its inode, as BPF sees it (net->ns.inum).
 * 0 or -errno.
 */
int netns_open(const char *name, int *fd, __u32 *inum);

/* socket(domain, type, protocol) inside the namespace nsfd; we stay in ours. fd or -errno. */
int netns_socket(int nsfd, int domain, int type, int protocol);

/* Calls fn for every name in /run/netns; stops at fn's first non-zero. 0, that, or -errno. */
int netns_foreach_named(int (*fn)(void *ctx, const char *name), void *ctx);

#endif
