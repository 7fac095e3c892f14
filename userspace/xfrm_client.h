/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * XFRM netlink requests (libmnl): read, add, update and delete SAs, allocate SPIs, read,
 * add, update and delete policies; several requests in one sendmsg. The kernel runs every message of a
 * buffer in order, under one hold of its config mutex, and acks each: errors come back per
 * message and are matched to their request by sequence number.
 *
 * SAs carry keys: struct xfrm_sa keeps them inside its copy of the attributes, batches keep
 * them in their buffer; xfrm_sa_wipe and xfrm_batch_wipe clear both. Nothing here prints.
 */
#ifndef REKEYGAP_XFRM_CLIENT_H
#define REKEYGAP_XFRM_CLIENT_H

#include <libmnl/libmnl.h>
#include <linux/xfrm.h>
#include <stdbool.h>
#include <stddef.h>

/* The attributes of an SA or a policy, kept verbatim: at most this many bytes. */
#define XFRM_ATTRS_MAX 1024

/* An SA as the kernel reports it: the fixed part and every attribute, verbatim. */
struct xfrm_sa {
	struct xfrm_usersa_info info; /* info.id.spi in network order */
	__u32 attrs_len;
	__u8 attrs[XFRM_ATTRS_MAX] __attribute__((aligned(4)));
};

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

/*
 * One NEWSA or UPDSA message (a GETSA or ALLOCSPI reply, a dump entry) into out; len is how
 * many bytes are readable at nlh. Every attribute is checked (whole, known ones of their
 * size, key lengths within their attribute, none twice) and kept verbatim, unknown ones
 * included. -EBADMSG if cut short, malformed or of another type, -EMSGSIZE if the
 * attributes exceed XFRM_ATTRS_MAX; out is wiped on failure.
 */
int xfrm_sa_from_msg(const struct nlmsghdr *nlh, size_t len, struct xfrm_sa *out);

/* Attributes of an SA, found in its verbatim copy: NULL if absent. */
const struct nlattr *xfrm_sa_attr(const struct xfrm_sa *sa, __u16 type);
bool xfrm_sa_mark(const struct xfrm_sa *sa, struct xfrm_mark *mark);

/*
 * The key material an SA's algorithms take, in bytes: XFRMA_ALG_AEAD's, or XFRMA_ALG_CRYPT's
 * followed by XFRMA_ALG_AUTH_TRUNC's (or XFRMA_ALG_AUTH's); -ENOENT if it has none. Also a
 * short description of the algorithms for messages ("rfc4106(gcm(aes)) 160 bits"), never the
 * key.
 */
int xfrm_sa_key_len(const struct xfrm_sa *sa, size_t *len);
void xfrm_sa_describe_algs(const struct xfrm_sa *sa, char *buf, size_t len);

/*
 * The successor of old: every attribute copied (algorithms, mode, selector, reqid, flags and
 * extra flags, replay window or ESN state size, encap, marks, if_id, lifetimes, offload,
 * direction...), with SPI spi and key key (xfrm_sa_key_len bytes, same layout). What belongs
 * to the old SA's life is not carried over: current lifetime and statistics, sequence
 * numbers and replay bitmap, last-used time. XFRMA_ALG_AUTH is dropped when
 * XFRMA_ALG_AUTH_TRUNC is there: the kernel reports its one auth algorithm as both and
 * NEWSA takes only AUTH_TRUNC. -EINVAL if key_len does not fit.
 */
int xfrm_sa_rekeyed(const struct xfrm_sa *old, __be32 spi, const __u8 *key, size_t key_len,
		    struct xfrm_sa *out);

/* Is the key of a the key of b? (for the 'update' strategy's report; constant time) */
bool xfrm_sa_same_key(const struct xfrm_sa *a, const struct xfrm_sa *b);

/*
 * Is b what xfrm_sa_rekeyed makes of a: the same SA (addresses, selector, reqid, mode,
 * flags, algorithms, marks, lifetimes...) but for SPI, key and what belongs to its life?
 * Tells the leftover of an interrupted make-before-break from an SA set up on purpose.
 */
bool xfrm_sa_siblings(const struct xfrm_sa *a, const struct xfrm_sa *b);

void xfrm_sa_wipe(struct xfrm_sa *sa);

/* Append an attribute to an SA being built (sa->info filled by the caller). -ENOSPC. */
int xfrm_sa_put_attr(struct xfrm_sa *sa, __u16 type, const void *data, size_t len);

/* --- policies ---------------------------------------------------------------------------- */

/* A policy as the kernel reports it: the fixed part and every attribute, verbatim. */
struct xfrm_pol {
	struct xfrm_userpolicy_info info;
	__u32 attrs_len;
	__u8 attrs[XFRM_ATTRS_MAX] __attribute__((aligned(4)));
};

/*
 * One NEWPOLICY or UPDPOLICY message (a GETPOLICY reply, a dump entry) into out, checked
 * like xfrm_sa_from_msg (templates: whole ones, at most XFRM_MAX_DEPTH).
 */
int xfrm_pol_from_msg(const struct nlmsghdr *nlh, size_t len, struct xfrm_pol *out);
const struct nlattr *xfrm_pol_attr(const struct xfrm_pol *p, __u16 type);

/* The policy's templates (XFRMA_TMPL): how many; copy of the i-th; change the i-th in place. */
unsigned int xfrm_pol_tmpl_count(const struct xfrm_pol *p);
int xfrm_pol_tmpl(const struct xfrm_pol *p, unsigned int i, struct xfrm_user_tmpl *t);
int xfrm_pol_set_tmpl(struct xfrm_pol *p, unsigned int i, const struct xfrm_user_tmpl *t);

/*
 * GETPOLICY of the policy that like names: by like->info.index if it is non-zero, else by
 * its selector, direction and security context; and by its mark, if_id and type, as the
 * kernel looks them up. -ENOENT if there is none.
 */
int xfrm_pol_get(struct xfrm_client *c, const struct xfrm_pol *like, struct xfrm_pol *out);

/* GETPOLICY dump, as xfrm_sa_dump. */
typedef int (*xfrm_pol_fn)(void *ctx, const struct xfrm_pol *p);
int xfrm_pol_dump(struct xfrm_client *c, xfrm_pol_fn fn, void *ctx);

/* Append an attribute to a policy being built. -ENOSPC. */
int xfrm_pol_put_attr(struct xfrm_pol *p, __u16 type, const void *data, size_t len);

/* NEWPOLICY / UPDPOLICY with every attribute of p. -ENOSPC if the batch is full. */
int xfrm_batch_add_pol(struct xfrm_batch *b, __u16 type, const struct xfrm_pol *p);
/* DELPOLICY of p, named as xfrm_pol_get names it. */
int xfrm_batch_add_delpol(struct xfrm_batch *b, const struct xfrm_pol *p);

#endif
