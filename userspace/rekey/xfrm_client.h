/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * XFRM netlink transport (libmnl): a request socket in a namespace; read, add, update and
 * delete SAs, allocate SPIs, read, add, update and delete policies; several requests in one
 * sendmsg. The kernel runs every message of a buffer in order, under one hold of its config
 * mutex, and acks each: errors come back per message and are matched to their request by
 * sequence number. The SAs and policies themselves: xfrm_sa.h.
 *
 * Batches keep keys in their buffer: xfrm_batch_wipe clears it. Nothing here prints.
 */
#ifndef REKEYGAP_XFRM_CLIENT_H
#define REKEYGAP_XFRM_CLIENT_H

#include <libmnl/libmnl.h>
#include <linux/xfrm.h>
#include <stdbool.h>
#include <stddef.h>

#include "xfrm_sa.h"

/* One NETLINK_XFRM request socket. Counters feed the rekey report. */
struct xfrm_client {
	struct mnl_socket *nl;
	__u32 portid;
	__u32 seq;
	__u64 messages; /* requests sent */
	__u64 syscalls; /* sendmsg and recvmsg calls */
};

/* nsfd: a namespace descriptor (netns_open) to work in, or -1 for ours. 0 or -errno. */
int xfrm_client_open(struct xfrm_client *c, int nsfd);
void xfrm_client_close(struct xfrm_client *c);

/* Requests to send together. */
#define XFRM_BATCH_MAX 32
#define XFRM_BATCH_BYTES (XFRM_BATCH_MAX * (NLMSG_HDRLEN + sizeof(struct xfrm_usersa_info) + \
					     XFRM_ATTRS_MAX))

struct xfrm_batch {
	unsigned int n;
	size_t len;
	__u16 type[XFRM_BATCH_MAX]; /* XFRM_MSG_* of each request */
	int err[XFRM_BATCH_MAX];    /* after xfrm_client_run: 0 or -errno, per request */
	char buf[XFRM_BATCH_BYTES] __attribute__((aligned(4)));
};

void xfrm_batch_init(struct xfrm_batch *b);
/* NEWSA / UPDSA with every attribute of sa. -ENOSPC if the batch is full. */
int xfrm_batch_add_sa(struct xfrm_batch *b, __u16 type, const struct xfrm_sa *sa);
/* DELSA of sa (its daddr, spi, proto, family, mark). */
int xfrm_batch_add_delsa(struct xfrm_batch *b, const struct xfrm_sa *sa);
/* A request of any type: its fixed part only, no attributes (a feature probe's). */
int xfrm_batch_add_msg(struct xfrm_batch *b, __u16 type, const void *body, size_t len);
/* Wipes the buffer (it holds keys) and empties the batch. */
void xfrm_batch_wipe(struct xfrm_batch *b);

/*
 * Send the whole batch in one sendmsg (NLM_F_ACK on each request) and read every ack.
 * Returns 0 if all succeeded, else the first request's error; b->err[] has each one.
 */
int xfrm_client_run(struct xfrm_client *c, struct xfrm_batch *b);

/* GETSA of one SA. mark: the SA's mark (0/0 for none). -ENOENT if there is none. */
int xfrm_sa_get(struct xfrm_client *c, __u16 family, const xfrm_address_t *daddr, __be32 spi,
		__u8 proto, const struct xfrm_mark *mark, struct xfrm_sa *out);

/*
 * GETSA dump; fn sees each SA (then wiped) and returns 0 to go on, non-zero to stop.
 * 0, fn's non-zero value (the rest of the dump is read and dropped), or -errno.
 */
typedef int (*xfrm_sa_fn)(void *ctx, const struct xfrm_sa *sa);
int xfrm_sa_dump(struct xfrm_client *c, xfrm_sa_fn fn, void *ctx);

/*
 * ALLOCSPI: a larval SA like tmpl (addresses, proto, reqid, mode, mark) with a free SPI in
 * [min, max] (host order). *spi in network order. The larval SA must be completed by UPDSA
 * or deleted.
 */
int xfrm_spi_alloc(struct xfrm_client *c, const struct xfrm_sa *tmpl, __u32 min, __u32 max,
		   __be32 *spi);

/* --- policies ---------------------------------------------------------------------------- */

/*
 * GETPOLICY of the policy that like names: by like->info.index if it is non-zero, else by
 * its selector, direction and security context; and by its mark, if_id and type, as the
 * kernel looks them up. -ENOENT if there is none.
 */
int xfrm_pol_get(struct xfrm_client *c, const struct xfrm_pol *like, struct xfrm_pol *out);

/* GETPOLICY dump, as xfrm_sa_dump. */
typedef int (*xfrm_pol_fn)(void *ctx, const struct xfrm_pol *p);
int xfrm_pol_dump(struct xfrm_client *c, xfrm_pol_fn fn, void *ctx);

/* NEWPOLICY / UPDPOLICY with every attribute of p. -ENOSPC if the batch is full. */
int xfrm_batch_add_pol(struct xfrm_batch *b, __u16 type, const struct xfrm_pol *p);
/* DELPOLICY of p, named as xfrm_pol_get names it. */
int xfrm_batch_add_delpol(struct xfrm_batch *b, const struct xfrm_pol *p);

#endif
