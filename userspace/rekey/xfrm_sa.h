/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * XFRM SAs and policies as the kernel reports them, kept verbatim, and what the rekey engine
 * does with them: check a message, find and append attributes, size and place an SA's key,
 * build its successor, tell a leftover sibling from an SA set up on purpose. No socket
 * here: xfrm_client.h sends and receives them.
 *
 * SAs carry keys: struct xfrm_sa keeps them inside its copy of the attributes; xfrm_sa_wipe
 * clears it. Nothing here prints.
 */
#ifndef REKEYGAP_XFRM_SA_H
#define REKEYGAP_XFRM_SA_H

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

/* A policy as the kernel reports it: the fixed part and every attribute, verbatim. */
struct xfrm_pol {
	struct xfrm_userpolicy_info info;
	__u32 attrs_len;
	__u8 attrs[XFRM_ATTRS_MAX] __attribute__((aligned(4)));
};

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
/* A per-CPU SA's CPU (XFRMA_SA_PCPU, 6.13+): false, *num UINT32_MAX, if it has none. */
bool xfrm_sa_pcpu(const struct xfrm_sa *sa, __u32 *num);

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

/*
 * Are the attributes of sa (of p) what xfrm_sa_from_msg (xfrm_pol_from_msg) accepts? 0,
 * -EBADMSG or -EMSGSIZE; *size, if size is not NULL: their length, each padded.
 */
int xfrm_sa_check(const struct xfrm_sa *sa, size_t *size);
int xfrm_pol_check(const struct xfrm_pol *p, size_t *size);

/* Bytes left in an attribute block from a on, up to the first attribute that is not whole. */
static inline int xfrm_attrs_left(const __u8 *attrs, __u32 attrs_len, const struct nlattr *a)
{
	size_t len = attrs_len > XFRM_ATTRS_MAX ? 0 : attrs_len;

	return (int)len - (int)((const __u8 *)a - attrs);
}

/* every attribute of an SA or a policy (anything with attrs and attrs_len) */
#define xfrm_for_each_attr(a, obj)                                                          \
	for ((a) = (const struct nlattr *)(obj)->attrs;                                     \
	     mnl_attr_ok((a), xfrm_attrs_left((obj)->attrs, (obj)->attrs_len, (a)));        \
	     (a) = mnl_attr_next(a))

/* --- policies ---------------------------------------------------------------------------- */

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

/* Append an attribute to a policy being built. -ENOSPC. */
int xfrm_pol_put_attr(struct xfrm_pol *p, __u16 type, const void *data, size_t len);

#endif
