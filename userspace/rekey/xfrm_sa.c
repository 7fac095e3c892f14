// SPDX-License-Identifier: BSD-2-Clause
/*
 * XFRM SAs and policies as messages (xfrm_sa.h): checked on the way in, their attributes
 * found and appended, an SA's key located, its successor built, siblings told apart. No
 * socket here: userspace/rekey/xfrm_client.c sends and receives them.
 */
#include "xfrm_sa.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xfrm_uapi.h"

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

int xfrm_sa_check(const struct xfrm_sa *sa, size_t *size)
{
	return attrs_check(sa->attrs, sa->attrs_len, sa_attr_check, size);
}

int xfrm_pol_check(const struct xfrm_pol *p, size_t *size)
{
	return attrs_check(p->attrs, p->attrs_len, pol_attr_check, size);
}

static const struct nlattr *attrs_find(const __u8 *attrs, __u32 attrs_len, __u16 type)
{
	const struct nlattr *a;

	for (a = (const struct nlattr *)attrs; mnl_attr_ok(a, xfrm_attrs_left(attrs, attrs_len, a));
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

bool xfrm_sa_pcpu(const struct xfrm_sa *sa, __u32 *num)
{
	const struct nlattr *a = xfrm_sa_attr(sa, XFRM_UAPI_ATTR_SA_PCPU);

	*num = UINT32_MAX;
	if (!a || mnl_attr_get_payload_len(a) != sizeof(*num))
		return false;
	*num = mnl_attr_get_u32(a);
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

	err = xfrm_sa_check(old, NULL);
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
	xfrm_for_each_attr(a, old)
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
