// SPDX-License-Identifier: BSD-2-Clause
#include "xfrm_client.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "netns.h"
#include "nlmsg.h"

/* A dump fills at most 32 KiB per read (af_netlink's max_recvmsg_len): take it whole. */
#define RECV_BUF_SIZE 32768
/* Acks are queued as they are made, during sendmsg: each costs ~1 KiB of receive buffer. */
#define RCVBUF_BYTES (256 * 1024)
/* Requests are answered inside sendmsg: a reply this late is not coming. */
#define RECV_TIMEOUT_S 5
/* b->err[i] until request i is answered: errors are 0 or negative */
#define ANSWER_PENDING 1
/* Types below this are checked for duplicates (6.1 ends at XFRMA_MTIMER_THRESH, 32). */
#define ATTR_SEEN_BITS 64
/* Templates a policy may have: a bundle's depth (XFRM_MAX_DEPTH, include/net/xfrm.h) */
#define POL_TMPL_MAX 6

/* --- attributes ------------------------------------------------------------------------ */

/*
 * Key bytes of an algorithm attribute: alg_key_len (bits) follows the 64-byte name in all
 * three layouts; the key follows the struct, whose size is hdr.
 */
static int algo_key(const struct nlattr *a, size_t hdr, size_t *len)
{
	size_t plen = mnl_attr_get_payload_len(a);
	__u32 bits;

	if (plen < hdr)
		return -EBADMSG;
	memcpy(&bits,
	       (const char *)mnl_attr_get_payload(a) + offsetof(struct xfrm_algo, alg_key_len),
	       sizeof(bits));
	*len = bits / 8 + (bits % 8 != 0);
	return plen - hdr < *len ? -EBADMSG : 0;
}

static size_t algo_hdr(__u16 type)
{
	switch (type) {
	case XFRMA_ALG_AEAD:
		return offsetof(struct xfrm_algo_aead, alg_key);
	case XFRMA_ALG_AUTH_TRUNC:
		return offsetof(struct xfrm_algo_auth, alg_key);
	default:
		return offsetof(struct xfrm_algo, alg_key);
	}
}

static int esn_check(const struct nlattr *a)
{
	size_t plen = mnl_attr_get_payload_len(a);
	struct xfrm_replay_state_esn esn;

	if (plen < sizeof(esn))
		return -EBADMSG;
	memcpy(&esn, mnl_attr_get_payload(a), sizeof(esn));
	if (esn.bmp_len > XFRMA_REPLAY_ESN_MAX / 32)
		return -EBADMSG;
	/* the kernel takes the bare struct too, and sizes the bitmap itself */
	if (plen != sizeof(esn) && plen < sizeof(esn) + esn.bmp_len * sizeof(__u32))
		return -EBADMSG;
	return 0;
}

static int sec_ctx_check(const struct nlattr *a)
{
	size_t plen = mnl_attr_get_payload_len(a);
	struct xfrm_user_sec_ctx uctx;

	if (plen < sizeof(uctx))
		return -EBADMSG;
	memcpy(&uctx, mnl_attr_get_payload(a), sizeof(uctx));
	if (uctx.len != sizeof(uctx) + uctx.ctx_len || uctx.len > plen)
		return -EBADMSG;
	return 0;
}

/* One attribute of an SA: the size of those we know, or that it holds what it says. */
static int sa_attr_check(const struct nlattr *a)
{
	size_t key;

	switch (mnl_attr_get_type(a)) {
	case XFRMA_ALG_AUTH:
	case XFRMA_ALG_CRYPT:
	case XFRMA_ALG_COMP:
	case XFRMA_ALG_AUTH_TRUNC:
	case XFRMA_ALG_AEAD:
		return algo_key(a, algo_hdr(mnl_attr_get_type(a)), &key);
	case XFRMA_REPLAY_ESN_VAL:
		return esn_check(a);
	case XFRMA_SEC_CTX:
		return sec_ctx_check(a);
	case XFRMA_ENCAP:
		return mnl_attr_validate2(a, MNL_TYPE_UNSPEC, sizeof(struct xfrm_encap_tmpl));
	case XFRMA_LTIME_VAL:
		return mnl_attr_validate2(a, MNL_TYPE_UNSPEC, sizeof(struct xfrm_lifetime_cur));
	case XFRMA_REPLAY_VAL:
		return mnl_attr_validate2(a, MNL_TYPE_UNSPEC, sizeof(struct xfrm_replay_state));
	case XFRMA_SRCADDR:
	case XFRMA_COADDR:
		return mnl_attr_validate2(a, MNL_TYPE_UNSPEC, sizeof(xfrm_address_t));
	case XFRMA_MARK:
		return mnl_attr_validate2(a, MNL_TYPE_UNSPEC, sizeof(struct xfrm_mark));
	case XFRMA_OFFLOAD_DEV:
		return mnl_attr_validate2(a, MNL_TYPE_UNSPEC, sizeof(struct xfrm_user_offload));
	case XFRMA_LASTUSED:
		return mnl_attr_validate(a, MNL_TYPE_U64);
	case XFRMA_REPLAY_THRESH:
	case XFRMA_ETIMER_THRESH:
	case XFRMA_TFCPAD:
	case XFRMA_SA_EXTRA_FLAGS:
	case XFRMA_SET_MARK:
	case XFRMA_SET_MARK_MASK:
	case XFRMA_IF_ID:
	case XFRMA_MTIMER_THRESH:
		return mnl_attr_validate(a, MNL_TYPE_U32);
	default:
		return 0; /* newer than us: carried as it is */
	}
}

/* One attribute of a policy, likewise. */
static int pol_attr_check(const struct nlattr *a)
{
	size_t plen = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case XFRMA_TMPL:
		/* an array of templates, at most a bundle's depth (validate_tmpl) */
		if (plen % sizeof(struct xfrm_user_tmpl) ||
		    plen / sizeof(struct xfrm_user_tmpl) > POL_TMPL_MAX)
			return -EBADMSG;
		return 0;
	case XFRMA_SEC_CTX:
		return sec_ctx_check(a);
	case XFRMA_POLICY_TYPE:
		return mnl_attr_validate2(a, MNL_TYPE_UNSPEC, sizeof(struct xfrm_userpolicy_type));
	case XFRMA_MARK:
		return mnl_attr_validate2(a, MNL_TYPE_UNSPEC, sizeof(struct xfrm_mark));
	case XFRMA_IF_ID:
		return mnl_attr_validate(a, MNL_TYPE_U32);
	default:
		return 0;
	}
}

typedef int (*attr_check_fn)(const struct nlattr *a);

/*
 * The attributes of an SA or a policy: each whole and inside the block, known ones of the
 * right size, none twice (the kernel would take the last, we the first: a key could be left
 * behind). Only the last one may lack its padding. *size: their length once each is padded.
 */
static int attrs_check(const __u8 *buf, size_t len, attr_check_fn attr_check, size_t *size)
{
	const struct nlattr *a = (const struct nlattr *)buf;
	int rest = (int)len;
	__u64 seen = 0;

	if (len > XFRM_ATTRS_MAX)
		return -EMSGSIZE;
	while (rest > 0) {
		__u16 type;

		if (!mnl_attr_ok(a, rest))
			return -EBADMSG;
		type = mnl_attr_get_type(a);
		if (type < ATTR_SEEN_BITS) {
			if (seen & (1ull << type))
				return -EBADMSG;
			seen |= 1ull << type;
		}
		if (attr_check(a) < 0)
			return -EBADMSG;
		a = mnl_attr_next(a);
		rest = (int)len - (int)((const __u8 *)a - buf);
	}
	if (size)
		*size = MNL_ALIGN(len);
	return 0;
}

/* Bytes left in an attribute block from a on, up to the first attribute that is not whole. */
static int attrs_left(const __u8 *attrs, __u32 attrs_len, const struct nlattr *a)
{
	size_t len = attrs_len > XFRM_ATTRS_MAX ? 0 : attrs_len;

	return (int)len - (int)((const __u8 *)a - attrs);
}

/* every attribute of an SA or a policy (anything with attrs and attrs_len) */
#define for_each_attr(a, obj)                                                              \
	for ((a) = (const struct nlattr *)(obj)->attrs;                                    \
	     mnl_attr_ok((a), attrs_left((obj)->attrs, (obj)->attrs_len, (a))); \
	     (a) = mnl_attr_next(a))

static const struct nlattr *attrs_find(const __u8 *attrs, __u32 attrs_len, __u16 type)
{
	const struct nlattr *a;

	for (a = (const struct nlattr *)attrs; mnl_attr_ok(a, attrs_left(attrs, attrs_len, a));
	     a = mnl_attr_next(a))
		if (mnl_attr_get_type(a) == type)
			return a;
	return NULL;
}

/* One more attribute at the end of an attribute block of XFRM_ATTRS_MAX bytes. */
static int attrs_put(__u8 *attrs, __u32 *attrs_len, __u16 type, const void *data, size_t len)
{
	struct nlattr *a;

	if (*attrs_len > XFRM_ATTRS_MAX || len > UINT16_MAX - MNL_ATTR_HDRLEN ||
	    MNL_ATTR_HDRLEN + MNL_ALIGN(len) > XFRM_ATTRS_MAX - *attrs_len)
		return -ENOSPC;
	a = (struct nlattr *)(attrs + *attrs_len);
	a->nla_type = type;
	a->nla_len = (__u16)(MNL_ATTR_HDRLEN + len);
	memcpy((__u8 *)a + MNL_ATTR_HDRLEN, data, len);
	memset((__u8 *)a + MNL_ATTR_HDRLEN + len, 0, MNL_ALIGN(len) - len);
	*attrs_len += MNL_ATTR_HDRLEN + MNL_ALIGN(len);
	return 0;
}

int xfrm_sa_put_attr(struct xfrm_sa *sa, __u16 type, const void *data, size_t len)
{
	return attrs_put(sa->attrs, &sa->attrs_len, type, data, len);
}

int xfrm_pol_put_attr(struct xfrm_pol *p, __u16 type, const void *data, size_t len)
{
	return attrs_put(p->attrs, &p->attrs_len, type, data, len);
}

const struct nlattr *xfrm_sa_attr(const struct xfrm_sa *sa, __u16 type)
{
	return attrs_find(sa->attrs, sa->attrs_len, type);
}

bool xfrm_sa_mark(const struct xfrm_sa *sa, struct xfrm_mark *mark)
{
	const struct nlattr *a = xfrm_sa_attr(sa, XFRMA_MARK);

	memset(mark, 0, sizeof(*mark));
	if (!a || mnl_attr_get_payload_len(a) != sizeof(*mark))
		return false;
	memcpy(mark, mnl_attr_get_payload(a), sizeof(*mark));
	return true;
}

/*
 * The fixed body (info_size bytes into info) and the attributes of a message of type t1 or
 * t2, into attrs (XFRM_ATTRS_MAX bytes), checked by attr_check. Nothing is left on failure.
 */
static int msg_copy(const struct nlmsghdr *nlh, size_t len, __u16 t1, __u16 t2, void *info,
		    size_t info_size, __u8 *attrs, __u32 *attrs_len, attr_check_fn attr_check)
{
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(info_size), alen, size;
	int err;

	if (len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > len)
		return -EBADMSG;
	if (nlh->nlmsg_type != t1 && nlh->nlmsg_type != t2)
		return -EBADMSG;
	if (nlh->nlmsg_len < NLMSG_HDRLEN + info_size)
		return -EBADMSG;
	alen = nlh->nlmsg_len > off ? nlh->nlmsg_len - off : 0;
	if (alen > XFRM_ATTRS_MAX)
		return -EMSGSIZE;
	memcpy(info, mnl_nlmsg_get_payload(nlh), info_size);
	memcpy(attrs, (const char *)nlh + off, alen);
	err = attrs_check(attrs, alen, attr_check, &size);
	if (err)
		return err;
	*attrs_len = size; /* the last attribute's padding, if it came without: zeroes */
	return 0;
}

int xfrm_sa_from_msg(const struct nlmsghdr *nlh, size_t len, struct xfrm_sa *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	/* GETSA and ALLOCSPI answer with a NEWSA; notifications of UPDSA look the same */
	err = msg_copy(nlh, len, XFRM_MSG_NEWSA, XFRM_MSG_UPDSA, &out->info, sizeof(out->info),
		       out->attrs, &out->attrs_len, sa_attr_check);
	if (err)
		xfrm_sa_wipe(out);
	return err;
}

/* --- keys ------------------------------------------------------------------------------ */

/* Where an SA's key material lies in sa->attrs, in the order of xfrm_sa_key_len. */
struct key_layout {
	unsigned int n;
	struct {
		__u16 type;
		size_t off; /* of the first key byte, in sa->attrs */
		size_t len;
	} part[2];
	size_t total;
};

static int key_part(const struct xfrm_sa *sa, const struct nlattr *a, struct key_layout *kl)
{
	__u16 type = mnl_attr_get_type(a);
	size_t hdr = algo_hdr(type), len;
	int err;

	err = algo_key(a, hdr, &len);
	if (err)
		return err;
	kl->part[kl->n].type = type;
	kl->part[kl->n].off = (const __u8 *)mnl_attr_get_payload(a) + hdr - sa->attrs;
	kl->part[kl->n].len = len;
	kl->n++;
	kl->total += len;
	return 0;
}

/*
 * The kernel (xfrm_state_construct) takes AUTH_TRUNC and ignores AUTH when both are there,
 * and reports both for every auth algorithm: AUTH_TRUNC is the one that counts.
 */
static int key_layout(const struct xfrm_sa *sa, struct key_layout *kl)
{
	const struct nlattr *aead = xfrm_sa_attr(sa, XFRMA_ALG_AEAD);
	const struct nlattr *crypt = xfrm_sa_attr(sa, XFRMA_ALG_CRYPT);
	const struct nlattr *auth = xfrm_sa_attr(sa, XFRMA_ALG_AUTH_TRUNC);
	int err = 0;

	memset(kl, 0, sizeof(*kl));
	if (!auth)
		auth = xfrm_sa_attr(sa, XFRMA_ALG_AUTH);
	if (aead && (crypt || auth))
		return -EINVAL; /* verify_newsa_info refuses it too */
	if (!aead && !crypt && !auth)
		return -ENOENT;
	if (aead)
		return key_part(sa, aead, kl);
	if (crypt)
		err = key_part(sa, crypt, kl);
	if (!err && auth)
		err = key_part(sa, auth, kl);
	return err;
}

int xfrm_sa_key_len(const struct xfrm_sa *sa, size_t *len)
{
	struct key_layout kl;
	int err;

	*len = 0;
	err = key_layout(sa, &kl);
	if (!err)
		*len = kl.total;
	return err;
}

void xfrm_sa_describe_algs(const struct xfrm_sa *sa, char *buf, size_t len)
{
	struct key_layout kl;
	size_t at = 0;

	if (!len)
		return;
	buf[0] = '\0';
	if (key_layout(sa, &kl)) {
		snprintf(buf, len, "no keyed algorithm");
		return;
	}
	for (unsigned int i = 0; i < kl.n && at < len; i++) {
		/* the name starts the attribute's payload: never read past it, nor the key */
		const char *name =
			(const char *)sa->attrs + kl.part[i].off - algo_hdr(kl.part[i].type);
		int w = (int)strnlen(name, sizeof(((struct xfrm_algo *)0)->alg_name));
		int n = snprintf(buf + at, len - at, "%s%.*s %zu bits", i ? " + " : "", w, name,
				 kl.part[i].len * 8);

		if (n < 0)
			break;
		at += (size_t)n;
	}
}

/* The replay state a new SA starts from: its size (bitmap length, window), nothing seen. */
static void esn_reset(__u8 *payload, size_t plen)
{
	struct xfrm_replay_state_esn esn;

	memcpy(&esn, payload, sizeof(esn));
	esn.oseq = esn.seq = esn.oseq_hi = esn.seq_hi = 0;
	memset(payload, 0, plen);
	memcpy(payload, &esn, sizeof(esn));
}

int xfrm_sa_rekeyed(const struct xfrm_sa *old, __be32 spi, const __u8 *key, size_t key_len,
		    struct xfrm_sa *out)
{
	bool trunc = xfrm_sa_attr(old, XFRMA_ALG_AUTH_TRUNC) != NULL;
	struct key_layout kl;
	struct xfrm_sa new;
	const struct nlattr *a;
	size_t used = 0;
	int err;

	err = attrs_check(old->attrs, old->attrs_len, sa_attr_check, NULL);
	if (err)
		return err;
	err = key_layout(old, &kl);
	if (err)
		return err;
	if (key_len != kl.total || (key_len && !key))
		return -EINVAL;

	/* built aside: out may be old */
	memset(&new, 0, sizeof(new));
	new.info = old->info;
	new.info.id.spi = spi;
	memset(&new.info.curlft, 0, sizeof(new.info.curlft));
	memset(&new.info.stats, 0, sizeof(new.info.stats));
	new.info.seq = 0; /* the ACQUIRE it answered, if any */
	for_each_attr(a, old)
	{
		size_t alen = MNL_ALIGN(a->nla_len);

		switch (mnl_attr_get_type(a)) {
		case XFRMA_LTIME_VAL:  /* current lifetime: the kernel would take it as ours */
		case XFRMA_LASTUSED:   /* the old SA's last use */
		case XFRMA_REPLAY_VAL: /* sequence numbers and bitmap; the window is in info */
			continue;
		case XFRMA_ALG_AUTH:
			if (trunc)
				continue; /* the same algorithm, less its ICV length */
			break;
		}
		memcpy(new.attrs + used, a, a->nla_len);
		if (mnl_attr_get_type(a) == XFRMA_REPLAY_ESN_VAL)
			esn_reset(new.attrs + used + MNL_ATTR_HDRLEN, mnl_attr_get_payload_len(a));
		used += alen;
	}
	new.attrs_len = used;

	/* the same algorithms in the same order: the key goes where the layout says */
	err = key_layout(&new, &kl);
	if (err || kl.total != key_len) {
		explicit_bzero(&new, sizeof(new));
		return err ? err : -EINVAL;
	}
	for (unsigned int i = 0; i < kl.n; i++) {
		memcpy(new.attrs + kl.part[i].off, key, kl.part[i].len);
		key += kl.part[i].len;
	}
	memcpy(out, &new, sizeof(new));
	explicit_bzero(&new, sizeof(new));
	return 0;
}

bool xfrm_sa_same_key(const struct xfrm_sa *a, const struct xfrm_sa *b)
{
	struct key_layout ka, kb;
	unsigned char diff = 0;

	if (key_layout(a, &ka) || key_layout(b, &kb) || ka.n != kb.n)
		return false;
	for (unsigned int i = 0; i < ka.n; i++)
		if (ka.part[i].type != kb.part[i].type || ka.part[i].len != kb.part[i].len)
			return false;
	/* lengths are no secret; the bytes are all compared, whatever they hold */
	for (unsigned int i = 0; i < ka.n; i++)
		for (size_t k = 0; k < ka.part[i].len; k++)
			diff |= a->attrs[ka.part[i].off + k] ^ b->attrs[kb.part[i].off + k];
	return diff == 0;
}

bool xfrm_sa_siblings(const struct xfrm_sa *a, const struct xfrm_sa *b)
{
	static const __u8 no_key[512];
	struct xfrm_sa *na = malloc(sizeof(*na)), *nb = malloc(sizeof(*nb));
	size_t la, lb;
	bool same;

	/* both as successors with SPI 0 and a zero key: what is left must be the same bytes */
	same = na && nb && !xfrm_sa_key_len(a, &la) && !xfrm_sa_key_len(b, &lb) && la == lb &&
	       la <= sizeof(no_key) && !xfrm_sa_rekeyed(a, 0, no_key, la, na) &&
	       !xfrm_sa_rekeyed(b, 0, no_key, lb, nb) && na->attrs_len == nb->attrs_len &&
	       !memcmp(&na->info, &nb->info, sizeof(na->info)) &&
	       !memcmp(na->attrs, nb->attrs, na->attrs_len);
	if (na)
		xfrm_sa_wipe(na);
	if (nb)
		xfrm_sa_wipe(nb);
	free(na);
	free(nb);
	return same;
}

void xfrm_sa_wipe(struct xfrm_sa *sa)
{
	explicit_bzero(sa, sizeof(*sa));
}

/* --- batches --------------------------------------------------------------------------- */

void xfrm_batch_init(struct xfrm_batch *b)
{
	b->n = 0;
	b->len = 0;
	memset(b->type, 0, sizeof(b->type));
	memset(b->err, 0, sizeof(b->err));
}

void xfrm_batch_wipe(struct xfrm_batch *b)
{
	/* only what was written: the buffer is 40 KiB, a rekey's requests about 1 KiB, and
	 * clearing all of it three times a rekey was a quarter of rekeygap's CPU time */
	explicit_bzero(b->buf, b->len);
	xfrm_batch_init(b);
}

/*
 * A new request of size bytes (header included) at the end of the batch, or NULL if it is
 * full. Its sequence number is its place (1, 2...) until xfrm_client_run numbers it.
 */
/*
 * mnl_attr_put, and the attribute's padding zeroed: libmnl 1.0.4 leaves it as the buffer
 * had it, which would send old bytes (of an earlier request's key, say) to the kernel.
 */
static void put_attr(struct nlmsghdr *nlh, __u16 type, size_t len, const void *data)
{
	mnl_attr_put(nlh, type, len, data);
	memset((char *)nlh + nlh->nlmsg_len - (MNL_ALIGN(len) - len), 0, MNL_ALIGN(len) - len);
}

static struct nlmsghdr *batch_put(struct xfrm_batch *b, __u16 type, size_t size)
{
	struct nlmsghdr *nlh;

	if (b->n >= XFRM_BATCH_MAX || size > sizeof(b->buf) - b->len)
		return NULL;
	nlh = mnl_nlmsg_put_header(b->buf + b->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = b->n + 1;
	return nlh;
}

static void batch_commit(struct xfrm_batch *b, const struct nlmsghdr *nlh)
{
	b->type[b->n] = nlh->nlmsg_type;
	b->err[b->n] = 0;
	b->n++;
	b->len += nlh->nlmsg_len;
}

int xfrm_batch_add_sa(struct xfrm_batch *b, __u16 type, const struct xfrm_sa *sa)
{
	struct xfrm_usersa_info *info;
	const struct nlattr *a;
	struct nlmsghdr *nlh;
	size_t size;
	int err;

	if (type != XFRM_MSG_NEWSA && type != XFRM_MSG_UPDSA)
		return -EINVAL;
	err = attrs_check(sa->attrs, sa->attrs_len, sa_attr_check, &size);
	if (err)
		return err == -EMSGSIZE ? -EINVAL : err;
	nlh = batch_put(b, type, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*info)) + size);
	if (!nlh)
		return -ENOSPC;
	info = mnl_nlmsg_put_extra_header(nlh, sizeof(*info));
	memcpy(info, &sa->info, sizeof(*info));
	for_each_attr(a, sa)
	{
		put_attr(nlh, a->nla_type, mnl_attr_get_payload_len(a),
			     mnl_attr_get_payload(a));
	}
	batch_commit(b, nlh);
	return 0;
}

int xfrm_batch_add_delsa(struct xfrm_batch *b, const struct xfrm_sa *sa)
{
	struct xfrm_usersa_id *id;
	struct nlmsghdr *nlh;
	struct xfrm_mark mark;
	bool has_mark = xfrm_sa_mark(sa, &mark);
	/* xfrm_user_state_lookup: ESP, AH and IPComp are found by SPI, the others by address */
	bool by_addr = sa->info.id.proto != IPPROTO_ESP && sa->info.id.proto != IPPROTO_AH &&
		       sa->info.id.proto != IPPROTO_COMP;
	size_t size = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*id));

	if (has_mark)
		size += MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(mark));
	if (by_addr)
		size += MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(xfrm_address_t));
	nlh = batch_put(b, XFRM_MSG_DELSA, size);
	if (!nlh)
		return -ENOSPC;
	id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));
	id->daddr = sa->info.id.daddr;
	id->spi = sa->info.id.spi;
	id->family = sa->info.family;
	id->proto = sa->info.id.proto;
	if (has_mark)
		put_attr(nlh, XFRMA_MARK, sizeof(mark), &mark);
	if (by_addr)
		put_attr(nlh, XFRMA_SRCADDR, sizeof(sa->info.saddr), &sa->info.saddr);
	batch_commit(b, nlh);
	return 0;
}

/* The attributes that name a policy for GETPOLICY and DELPOLICY (xfrm_get_policy). */
static void put_pol_name(struct nlmsghdr *nlh, const struct xfrm_pol *p)
{
	static const __u16 names[] = { XFRMA_MARK, XFRMA_IF_ID, XFRMA_POLICY_TYPE, XFRMA_SEC_CTX };
	struct xfrm_userpolicy_id *id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));

	id->sel = p->info.sel;
	id->index = p->info.index;
	id->dir = p->info.dir;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct nlattr *a = xfrm_pol_attr(p, names[i]);

		/* by index, the context is not looked at */
		if (a && !(names[i] == XFRMA_SEC_CTX && p->info.index))
			put_attr(nlh, names[i], mnl_attr_get_payload_len(a),
				     mnl_attr_get_payload(a));
	}
}

/* What put_pol_name may take: the id and the attributes, at most all of them. */
static size_t pol_name_size(const struct xfrm_pol *p)
{
	return NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct xfrm_userpolicy_id)) +
	       MNL_ALIGN(p->attrs_len);
}

int xfrm_batch_add_pol(struct xfrm_batch *b, __u16 type, const struct xfrm_pol *p)
{
	const struct nlattr *a;
	struct nlmsghdr *nlh;
	size_t size;
	int err;

	if (type != XFRM_MSG_NEWPOLICY && type != XFRM_MSG_UPDPOLICY)
		return -EINVAL;
	err = attrs_check(p->attrs, p->attrs_len, pol_attr_check, &size);
	if (err)
		return err == -EMSGSIZE ? -EINVAL : err;
	nlh = batch_put(b, type, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(p->info)) + size);
	if (!nlh)
		return -ENOSPC;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(p->info)), &p->info, sizeof(p->info));
	for_each_attr(a, p)
	{
		put_attr(nlh, a->nla_type, mnl_attr_get_payload_len(a),
			     mnl_attr_get_payload(a));
	}
	batch_commit(b, nlh);
	return 0;
}

int xfrm_batch_add_delpol(struct xfrm_batch *b, const struct xfrm_pol *p)
{
	struct nlmsghdr *nlh;

	if (attrs_check(p->attrs, p->attrs_len, pol_attr_check, NULL))
		return -EINVAL;
	nlh = batch_put(b, XFRM_MSG_DELPOLICY, pol_name_size(p));
	if (!nlh)
		return -ENOSPC;
	put_pol_name(nlh, p);
	batch_commit(b, nlh);
	return 0;
}

/* --- the socket ------------------------------------------------------------------------ */

/* A socket buffer of at least want bytes: raised if need be, never lowered. 0 or -ENOBUFS. */
static int sock_buf(int fd, int opt, int force_opt, int want)
{
	socklen_t sl = sizeof(int);
	int have = 0, half = want / 2 + 1; /* the kernel doubles what it is given */

	if (!getsockopt(fd, SOL_SOCKET, opt, &have, &sl) && have >= want)
		return 0;
	/* FORCE goes past [wr]mem_max (CAP_NET_ADMIN, which XFRM needs anyway) */
	if (setsockopt(fd, SOL_SOCKET, force_opt, &half, sizeof(half)))
		setsockopt(fd, SOL_SOCKET, opt, &half, sizeof(half));
	sl = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, opt, &have, &sl) || have < want)
		return -ENOBUFS;
	return 0;
}

int xfrm_client_open(struct xfrm_client *c, int nsfd)
{
	struct timeval tv = { .tv_sec = RECV_TIMEOUT_S };
	int one = 1, fd, err;

	memset(c, 0, sizeof(*c));
	if (nsfd >= 0) {
		fd = netns_socket(nsfd, AF_NETLINK, SOCK_RAW, NETLINK_XFRM);
		if (fd < 0)
			return fd;
	} else {
		fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_XFRM);
		if (fd < 0)
			return -errno;
	}
	/* the kernel refuses a message longer than its sk_sndbuf - 32 (netlink_sendmsg) */
	if (sock_buf(fd, SO_SNDBUF, SO_SNDBUFFORCE, XFRM_BATCH_BYTES + 32)) {
		close(fd);
		return -ENOBUFS;
	}
	/* room for a batch's acks and a dump's reads; short of it, answers_wait says ENOBUFS */
	sock_buf(fd, SO_RCVBUF, SO_RCVBUFFORCE, RCVBUF_BYTES);
	/* failed requests are not echoed back in their ack: they hold keys (Linux 4.2+) */
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	c->nl = mnl_socket_fdopen(fd);
	if (!c->nl) {
		err = -errno;
		close(fd);
		return err ? err : -ENOMEM;
	}
	if (mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		xfrm_client_close(c);
		return err;
	}
	c->portid = mnl_socket_get_portid(c->nl);
	return 0;
}

void xfrm_client_close(struct xfrm_client *c)
{
	if (c->nl)
		mnl_socket_close(c->nl);
	c->nl = NULL;
}

/* n sequence numbers for the next requests: the first. 0 is never used (libmnl: "any"). */
static __u32 client_seq(struct xfrm_client *c, unsigned int n)
{
	if (c->seq > UINT32_MAX - n)
		c->seq = 0;
	c->seq += n;
	return c->seq - n + 1;
}

static int client_send(struct xfrm_client *c, const void *buf, size_t len, unsigned int n)
{
	ssize_t ret;

	ret = mnl_socket_sendto(c->nl, buf, len);
	c->syscalls++;
	if (ret < 0)
		return -errno;
	if ((size_t)ret != len)
		return -EIO;
	c->messages += n;
	return 0;
}

/* --- answers --------------------------------------------------------------------------- */

/*
 * Requests sent together, numbered seq, seq + 1... and what came back for each. A request is
 * answered by its ack (NLMSG_ERROR, error 0 or -errno), by the end of its dump (NLMSG_DONE),
 * or, when it asked for one reply (GETSA, ALLOCSPI), by that reply. Anything else (other
 * sequence numbers, answers to requests already answered) is not ours and is skipped.
 */
struct answers {
	__u32 seq;
	unsigned int n;
	unsigned int pending;
	int *err; /* per request: ANSWER_PENDING, then 0 or -errno */
	bool dump;
	bool reply;
	bool ack_last_only; /* a batch: only errors and the last request are acked */
	/* data messages of ours; with reply, its result answers the request */
	int (*fn)(const struct nlmsghdr *nlh, void *ctx);
	void *ctx;
};

static int answers_index(const struct answers *w, const struct nlmsghdr *nlh)
{
	__u32 i = nlh->nlmsg_seq - w->seq;

	return i < w->n && w->err[i] == ANSWER_PENDING ? (int)i : -1;
}

static void answers_set(struct answers *w, int i, int err)
{
	w->err[i] = err;
	w->pending--;
}

static int answers_ctl(const struct nlmsghdr *nlh, void *data)
{
	struct answers *w = data;
	int i = answers_index(w, nlh), err = 0;

	switch (nlh->nlmsg_type) {
	case NLMSG_ERROR:
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nlmsgerr)) {
			errno = EBADMSG;
			return MNL_CB_ERROR;
		}
		if (i < 0)
			break;
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
		answers_set(w, i, err > 0 ? -err : err); /* signs differ between subsystems */
		/* the kernel ran the batch in order and acked every error as it went: the
		 * last request's answer means the others, still unanswered, succeeded */
		if (w->ack_last_only && i == (int)w->n - 1)
			for (int j = 0; j < i; j++)
				if (w->err[j] == ANSWER_PENDING)
					answers_set(w, j, 0);
		break;
	case NLMSG_DONE:
		if (i < 0 || !w->dump)
			break;
		/* since 4.20 it carries the dump's error, if it broke off */
		if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(err))
			memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
		answers_set(w, i, err > 0 ? -err : err);
		break;
	default: /* NOOP, OVERRUN */
		break;
	}
	return MNL_CB_OK;
}

static int answers_data(const struct nlmsghdr *nlh, void *data)
{
	struct answers *w = data;
	int i = answers_index(w, nlh), err;

	if (i < 0 || !w->fn)
		return MNL_CB_OK;
	err = w->fn(nlh, w->ctx);
	if (w->reply)
		answers_set(w, i, err);
	return MNL_CB_OK;
}

/*
 * One datagram from the kernel: whole messages only (a cut one would leave its request
 * waiting forever), each to its request. 0 or -errno.
 */
static int answers_process(struct answers *w, const void *buf, size_t len, __u32 portid)
{
	static const mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_NOOP] = answers_ctl,
		[NLMSG_ERROR] = answers_ctl,
		[NLMSG_DONE] = answers_ctl,
		[NLMSG_OVERRUN] = answers_ctl,
	};
	if (len > INT32_MAX)
		return -EMSGSIZE;
	if (!nlmsg_buffer_ok(buf, len))
		return -EBADMSG;
	errno = 0;
	if (mnl_cb_run2(buf, len, 0, portid, answers_data, w, (mnl_cb_t *)ctl, NLMSG_MIN_TYPE) <
	    MNL_CB_STOP)
		return errno ? -errno : -EBADMSG;
	return 0;
}

/*
 * One datagram: a dump's part, a reply or an ack. A batch's acks are all queued by the time
 * its sendmsg returns (the kernel runs it inside), errors first and the last request's ack
 * at the end, so reading them one at a time costs one recvmsg when all went well. Returns
 * its length, 0 if it did not fit, or -errno.
 */
static ssize_t receive(struct xfrm_client *c, char *buf, size_t size)
{
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(mnl_socket_get_fd(c->nl), &msg, 0);

	c->syscalls++;
	if (n < 0)
		return -errno;
	return msg.msg_flags & MSG_TRUNC ? 0 : n;
}

/* Read until every request is answered; on failure, those not yet answered get its error. */
static int answers_wait(struct xfrm_client *c, struct answers *w)
{
	char buf[RECV_BUF_SIZE] __attribute__((aligned(8)));
	int err = 0;

	while (w->pending && !err) {
		ssize_t n = receive(c, buf, sizeof(buf));

		if (n == -EINTR)
			continue;
		if (n < 0) {
			/* EAGAIN: SO_RCVTIMEO ran out; ENOBUFS: answers were dropped */
			err = n == -EAGAIN || n == -EWOULDBLOCK ? -ETIMEDOUT : (int)n;
			break;
		}
		err = n ? answers_process(w, buf, (size_t)n, c->portid) : -EMSGSIZE;
		/* replies and echoed requests hold keys: what was written, wiped */
		explicit_bzero(buf, n ? (size_t)n : sizeof(buf));
	}
	for (unsigned int i = 0; err && i < w->n; i++)
		if (w->err[i] == ANSWER_PENDING)
			answers_set(w, (int)i, err);
	return err;
}

int xfrm_client_run(struct xfrm_client *c, struct xfrm_batch *b)
{
	struct answers w = { .n = b->n, .err = b->err };
	struct nlmsghdr *nlh = (struct nlmsghdr *)b->buf;
	int rest = (int)b->len, err;
	unsigned int i = 0;

	if (!b->n)
		return 0;
	w.seq = client_seq(c, b->n);
	w.ack_last_only = true;
	for (; mnl_nlmsg_ok(nlh, rest) && i < b->n; i++, nlh = mnl_nlmsg_next(nlh, &rest)) {
		nlh->nlmsg_seq = w.seq + i;
		/* errors are acked anyway (netlink_rcv_skb): successes need no ack of
		 * their own but the last, which tells the batch is done */
		if (i + 1 < b->n)
			nlh->nlmsg_flags &= ~NLM_F_ACK;
		else
			nlh->nlmsg_flags |= NLM_F_ACK;
	}
	if (i != b->n || rest > 0)
		return -EINVAL; /* not built by xfrm_batch_add_* */
	for (i = 0; i < b->n; i++)
		b->err[i] = ANSWER_PENDING;
	w.pending = b->n;

	err = client_send(c, b->buf, b->len, b->n);
	if (err) {
		for (i = 0; i < b->n; i++)
			b->err[i] = err;
		return err;
	}
	err = answers_wait(c, &w);
	if (err)
		return err;
	for (i = 0; i < b->n; i++)
		if (b->err[i])
			return b->err[i];
	return 0;
}

/* --- single requests ------------------------------------------------------------------- */

/* Send the request in buf (one, numbered here) and wait for its answer. */
static int client_request(struct xfrm_client *c, struct nlmsghdr *nlh, struct answers *w)
{
	int err, answer = ANSWER_PENDING;

	nlh->nlmsg_seq = client_seq(c, 1);
	w->seq = nlh->nlmsg_seq;
	w->n = w->pending = 1;
	w->err = &answer;
	err = client_send(c, nlh, nlh->nlmsg_len, 1);
	if (!err)
		err = answers_wait(c, w);
	return err ? err : answer;
}

static int get_reply(const struct nlmsghdr *nlh, void *ctx)
{
	if (nlh->nlmsg_type != XFRM_MSG_NEWSA)
		return -EBADMSG;
	return xfrm_sa_from_msg(nlh, nlh->nlmsg_len, ctx);
}

int xfrm_sa_get(struct xfrm_client *c, __u16 family, const xfrm_address_t *daddr, __be32 spi,
		__u8 proto, const struct xfrm_mark *mark, struct xfrm_sa *out)
{
	char buf[MNL_NLMSG_HDRLEN + 64] __attribute__((aligned(8)));
	struct answers w = { .reply = true, .fn = get_reply, .ctx = out };
	struct xfrm_usersa_id *id;
	struct nlmsghdr *nlh;
	int err;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_GETSA;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));
	id->daddr = *daddr;
	id->spi = spi;
	id->family = family;
	id->proto = proto;
	if (mark && (mark->v || mark->m))
		put_attr(nlh, XFRMA_MARK, sizeof(*mark), mark);
	xfrm_sa_wipe(out); /* only now: daddr or mark may lie in it */
	err = client_request(c, nlh, &w);
	if (err)
		xfrm_sa_wipe(out);
	return err == -ESRCH ? -ENOENT : err;
}

struct dump_ctx {
	xfrm_sa_fn fn;
	void *ctx;
	int ret; /* fn's non-zero, or why the dump could not be read: then fn is not called */
	struct xfrm_sa sa;
};

static int dump_reply(const struct nlmsghdr *nlh, void *ctx)
{
	struct dump_ctx *d = ctx;
	int err;

	/* once stopped, the rest of the dump is read all the same, and dropped */
	if (d->ret || nlh->nlmsg_type != XFRM_MSG_NEWSA)
		return 0;
	err = xfrm_sa_from_msg(nlh, nlh->nlmsg_len, &d->sa);
	d->ret = err ? err : d->fn(d->ctx, &d->sa);
	xfrm_sa_wipe(&d->sa);
	return 0;
}

int xfrm_sa_dump(struct xfrm_client *c, xfrm_sa_fn fn, void *ctx)
{
	char buf[MNL_NLMSG_HDRLEN] __attribute__((aligned(8)));
	struct dump_ctx d;
	struct answers w = { .dump = true, .fn = dump_reply, .ctx = &d };
	struct nlmsghdr *nlh;
	int err;

	memset(&d, 0, sizeof(d));
	d.fn = fn;
	d.ctx = ctx;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_GETSA;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	err = client_request(c, nlh, &w);
	xfrm_sa_wipe(&d.sa);
	return err ? err : d.ret;
}

static int spi_reply(const struct nlmsghdr *nlh, void *ctx)
{
	struct xfrm_sa *sa = ctx;
	int err;

	if (nlh->nlmsg_type != XFRM_MSG_NEWSA)
		return -EBADMSG;
	err = xfrm_sa_from_msg(nlh, nlh->nlmsg_len, sa);
	return err ? err : sa->info.id.spi ? 0 : -EBADMSG;
}

int xfrm_spi_alloc(struct xfrm_client *c, const struct xfrm_sa *tmpl, __u32 min, __u32 max,
		   __be32 *spi)
{
	char buf[MNL_NLMSG_HDRLEN + 512] __attribute__((aligned(8)));
	struct xfrm_sa larval;
	struct answers w = { .reply = true, .fn = spi_reply, .ctx = &larval };
	const struct nlattr *if_id = xfrm_sa_attr(tmpl, XFRMA_IF_ID);
	struct xfrm_userspi_info *sp;
	struct xfrm_mark mark;
	struct nlmsghdr *nlh;
	int err;

	*spi = 0;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_ALLOCSPI;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	sp = mnl_nlmsg_put_extra_header(nlh, sizeof(*sp));
	/* what xfrm_alloc_userspi looks at; seq 0: a new larval SA, not an ACQUIRE's */
	sp->info.family = tmpl->info.family;
	sp->info.id.daddr = tmpl->info.id.daddr;
	sp->info.id.proto = tmpl->info.id.proto;
	sp->info.saddr = tmpl->info.saddr;
	sp->info.mode = tmpl->info.mode;
	sp->info.reqid = tmpl->info.reqid;
	sp->min = min;
	sp->max = max;
	if (xfrm_sa_mark(tmpl, &mark))
		put_attr(nlh, XFRMA_MARK, sizeof(mark), &mark);
	if (if_id && mnl_attr_get_payload_len(if_id) == sizeof(__u32))
		mnl_attr_put_u32(nlh, XFRMA_IF_ID, mnl_attr_get_u32(if_id)); /* 4 bytes: no padding */
	err = client_request(c, nlh, &w);
	if (!err)
		*spi = larval.info.id.spi;
	xfrm_sa_wipe(&larval);
	return err;
}

/* --- policies -------------------------------------------------------------------------- */

int xfrm_pol_from_msg(const struct nlmsghdr *nlh, size_t len, struct xfrm_pol *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	err = msg_copy(nlh, len, XFRM_MSG_NEWPOLICY, XFRM_MSG_UPDPOLICY, &out->info,
		       sizeof(out->info), out->attrs, &out->attrs_len, pol_attr_check);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

const struct nlattr *xfrm_pol_attr(const struct xfrm_pol *p, __u16 type)
{
	return attrs_find(p->attrs, p->attrs_len, type);
}

unsigned int xfrm_pol_tmpl_count(const struct xfrm_pol *p)
{
	const struct nlattr *a = xfrm_pol_attr(p, XFRMA_TMPL);

	return a ? mnl_attr_get_payload_len(a) / sizeof(struct xfrm_user_tmpl) : 0;
}

int xfrm_pol_tmpl(const struct xfrm_pol *p, unsigned int i, struct xfrm_user_tmpl *t)
{
	const struct nlattr *a = xfrm_pol_attr(p, XFRMA_TMPL);

	if (i >= xfrm_pol_tmpl_count(p))
		return -ENOENT;
	memcpy(t, (const char *)mnl_attr_get_payload(a) + i * sizeof(*t), sizeof(*t));
	return 0;
}

int xfrm_pol_set_tmpl(struct xfrm_pol *p, unsigned int i, const struct xfrm_user_tmpl *t)
{
	const struct nlattr *a = xfrm_pol_attr(p, XFRMA_TMPL);

	if (i >= xfrm_pol_tmpl_count(p))
		return -ENOENT;
	/* a points into p->attrs: p is ours to change */
	memcpy((char *)mnl_attr_get_payload(a) + i * sizeof(*t), t, sizeof(*t));
	return 0;
}

static int pol_reply(const struct nlmsghdr *nlh, void *ctx)
{
	return xfrm_pol_from_msg(nlh, nlh->nlmsg_len, ctx);
}

int xfrm_pol_get(struct xfrm_client *c, const struct xfrm_pol *like, struct xfrm_pol *out)
{
	char buf[MNL_NLMSG_HDRLEN + sizeof(struct xfrm_userpolicy_id) + XFRM_ATTRS_MAX]
		__attribute__((aligned(8)));
	struct answers w = { .reply = true, .fn = pol_reply, .ctx = out };
	struct nlmsghdr *nlh;
	int err;

	if (attrs_check(like->attrs, like->attrs_len, pol_attr_check, NULL))
		return -EINVAL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_GETPOLICY;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	put_pol_name(nlh, like);
	memset(out, 0, sizeof(*out)); /* only now: like may be out */
	err = client_request(c, nlh, &w);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

struct pol_dump_ctx {
	xfrm_pol_fn fn;
	void *ctx;
	int ret;
	struct xfrm_pol p;
};

static int pol_dump_reply(const struct nlmsghdr *nlh, void *ctx)
{
	struct pol_dump_ctx *d = ctx;
	int err;

	if (d->ret || nlh->nlmsg_type != XFRM_MSG_NEWPOLICY)
		return 0;
	err = xfrm_pol_from_msg(nlh, nlh->nlmsg_len, &d->p);
	d->ret = err ? err : d->fn(d->ctx, &d->p);
	return 0;
}

int xfrm_pol_dump(struct xfrm_client *c, xfrm_pol_fn fn, void *ctx)
{
	struct pol_dump_ctx d = { .fn = fn, .ctx = ctx };
	struct answers w = { .dump = true, .fn = pol_dump_reply, .ctx = &d };
	char buf[MNL_NLMSG_HDRLEN] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	int err;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_GETPOLICY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	err = client_request(c, nlh, &w);
	return err ? err : d.ret;
}
