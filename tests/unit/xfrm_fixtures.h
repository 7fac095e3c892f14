/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the drivers of userspace/rekey/xfrm_sa.c and userspace/rekey/xfrm_client.c share: the captured
 * GETSA replies (data/getsa-replies.h), a policy message like the kernel's, and an
 * independent check (plain arithmetic, no libmnl) that an SA is another's successor.
 * Include after cmocka.h and the module under test.
 */
#ifndef REKEYGAP_TEST_XFRM_FIXTURES_H
#define REKEYGAP_TEST_XFRM_FIXTURES_H

#include "data/getsa-replies.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* the fixed part of every SA message: header and xfrm_usersa_info */
#define BODY_END (NLMSG_HDRLEN + sizeof(struct xfrm_usersa_info))
/* XFRMA_SA_DIR (Linux 6.10), which Debian 12's uapi headers lack */
#define SA_DIR 33

struct capture {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	size_t key_len; /* what its algorithms take */
};

#define CAPTURE(m, k) { #m, m, sizeof(m), k }
static const struct capture captures[] __attribute__((unused)) = {
	CAPTURE(msg_esn_out, 48),  CAPTURE(msg_esn_in, 48),   CAPTURE(msg_aead_out, 20),
	CAPTURE(msg_aead_in, 20),  CAPTURE(msg_aead_full, 20), CAPTURE(msg_cbc_full, 48),
	CAPTURE(msg_sha1_v6, 36), CAPTURE(msg_cbc_only, 16),
};

/* A message to break: room for attributes to be added. */
union msgbuf {
	struct nlmsghdr nlh;
	uint8_t bytes[4096];
} __attribute__((aligned(8)));

static inline void load(union msgbuf *mb, const uint8_t *bytes, size_t len)
{
	memset(mb, 0, sizeof(*mb));
	memcpy(mb->bytes, bytes, len);
}

static inline void parse_ok(const uint8_t *bytes, size_t len, struct xfrm_sa *sa)
{
	assert_int_equal(xfrm_sa_from_msg((const struct nlmsghdr *)bytes, len, sa), 0);
}

/* --- an independent walk over raw attributes (plain arithmetic, no libmnl) -------------- */

struct raw_attr {
	uint16_t type;
	uint16_t len; /* nla_len */
	const uint8_t *at;
};

static inline size_t raw_attrs(const uint8_t *p, size_t len, struct raw_attr *out, size_t max)
{
	size_t n = 0, off = 0;

	while (off + 4 <= len && n < max) {
		struct nlattr h;

		memcpy(&h, p + off, sizeof(h));
		assert_true(h.nla_len >= 4 && off + h.nla_len <= len);
		out[n].type = h.nla_type;
		out[n].len = h.nla_len;
		out[n].at = p + off;
		n++;
		off += (h.nla_len + 3u) & ~3u;
	}
	return n;
}

static inline const struct raw_attr *raw_find(const struct raw_attr *a, size_t n, uint16_t type)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].type == type)
			return &a[i];
	return NULL;
}

static inline uint32_t raw_u32(const struct raw_attr *a, size_t off)
{
	uint32_t v;

	memcpy(&v, a->at + NLA_HDRLEN + off, sizeof(v));
	return v;
}

/* key bytes of an algorithm attribute: alg_key_len is at 64 in all three layouts */
static inline size_t raw_key_len(const struct raw_attr *a)
{
	return (raw_u32(a, 64) + 7) / 8;
}

static inline size_t raw_key_off(uint16_t type)
{
	/* xfrm_algo: name, key_len; xfrm_algo_auth: + trunc_len; xfrm_algo_aead: + icv_len */
	return NLA_HDRLEN + (type == XFRMA_ALG_AEAD || type == XFRMA_ALG_AUTH_TRUNC ? 72 : 68);
}

/*
 * new must be old's successor under spi and key: the same info but for the SPI and what
 * belongs to the old SA's life, the same attributes in the same order, byte for byte, but
 * for those dropped (LTIME_VAL, LASTUSED, REPLAY_VAL, AUTH next to AUTH_TRUNC), the keys
 * (in AEAD, else CRYPT then AUTH_TRUNC or AUTH) and the ESN state (zeroed, same size).
 */
static inline void check_successor(const struct xfrm_sa *old, const struct xfrm_sa *new, __be32 spi,
			    const uint8_t *key, size_t key_len)
{
	struct raw_attr oa[64], na[64];
	size_t on = raw_attrs(old->attrs, old->attrs_len, oa, 64);
	size_t nn = raw_attrs(new->attrs, new->attrs_len, na, 64);
	bool trunc = raw_find(oa, on, XFRMA_ALG_AUTH_TRUNC) != NULL;
	const struct raw_attr *crypt = raw_find(oa, on, XFRMA_ALG_CRYPT);
	size_t crypt_len = crypt ? raw_key_len(crypt) : 0, used = 0, j = 0;
	struct xfrm_usersa_info want = old->info;

	want.id.spi = spi;
	memset(&want.curlft, 0, sizeof(want.curlft));
	memset(&want.stats, 0, sizeof(want.stats));
	want.seq = 0;
	assert_memory_equal(&new->info, &want, sizeof(want));

	for (size_t i = 0; i < on; i++) {
		const struct raw_attr *o = &oa[i], *n;
		size_t koff = raw_key_off(o->type);

		if (o->type == XFRMA_LTIME_VAL || o->type == XFRMA_LASTUSED ||
		    o->type == XFRMA_REPLAY_VAL || (o->type == XFRMA_ALG_AUTH && trunc))
			continue;
		assert_true(j < nn);
		n = &na[j++];
		assert_int_equal(n->type, o->type);
		assert_int_equal(n->len, o->len);
		switch (o->type) {
		case XFRMA_ALG_AEAD:
		case XFRMA_ALG_CRYPT:
		case XFRMA_ALG_AUTH_TRUNC:
		case XFRMA_ALG_AUTH: {
			const uint8_t *want_key = o->type == XFRMA_ALG_AEAD || o->type == XFRMA_ALG_CRYPT
							  ? key
							  : key + crypt_len;
			size_t klen = raw_key_len(o);

			assert_memory_equal(n->at, o->at, koff); /* name, lengths */
			assert_memory_equal(n->at + koff, want_key, klen);
			assert_true(koff + klen == o->len);
			used += klen;
			break;
		}
		case XFRMA_REPLAY_ESN_VAL: {
			struct xfrm_replay_state_esn oe, ne;

			memcpy(&oe, o->at + NLA_HDRLEN, sizeof(oe));
			memcpy(&ne, n->at + NLA_HDRLEN, sizeof(ne));
			assert_int_equal(ne.bmp_len, oe.bmp_len);
			assert_int_equal(ne.replay_window, oe.replay_window);
			assert_int_equal(ne.seq | ne.oseq | ne.seq_hi | ne.oseq_hi, 0);
			for (size_t k = NLA_HDRLEN + sizeof(ne); k < n->len; k++)
				assert_int_equal(n->at[k], 0);
			break;
		}
		default:
			assert_memory_equal(n->at, o->at, (o->len + 3u) & ~3u);
		}
	}
	assert_int_equal(j, nn);
	assert_int_equal(used, key_len);
}

static inline void pattern(uint8_t *key, size_t len, uint8_t first)
{
	for (size_t i = 0; i < len; i++)
		key[i] = (uint8_t)(first + i);
}


#define POL_MARK_V 5
#define POL_IF_ID 7

/*
 * A NEWPOLICY as the kernel reports one (what 'ip xfrm policy add src 10.0.0.0/24 dst
 * 10.1.0.0/24 dir out priority 100 mark 5/0xff if_id 7 tmpl src 192.0.2.1 dst 192.0.2.2
 * proto esp spi SPI reqid 1 mode tunnel' makes), with ntmpl templates, the first pinned to
 * spi, and an attribute from a newer kernel.
 */
static inline void pol_msg(union msgbuf *mb, __be32 spi, unsigned int ntmpl)
{
	struct xfrm_user_tmpl t[8];
	struct xfrm_userpolicy_info *info;
	struct xfrm_mark mark = { .v = POL_MARK_V, .m = 0xff };

	memset(mb, 0, sizeof(*mb));
	memset(t, 0, sizeof(t));
	mnl_nlmsg_put_header(mb->bytes);
	mb->nlh.nlmsg_type = XFRM_MSG_NEWPOLICY;
	info = mnl_nlmsg_put_extra_header(&mb->nlh, sizeof(*info));
	info->sel.family = AF_INET;
	inet_pton(AF_INET, "10.0.0.0", &info->sel.saddr.a4);
	inet_pton(AF_INET, "10.1.0.0", &info->sel.daddr.a4);
	info->sel.prefixlen_s = info->sel.prefixlen_d = 24;
	info->lft.soft_byte_limit = info->lft.hard_byte_limit = XFRM_INF;
	info->lft.soft_packet_limit = info->lft.hard_packet_limit = XFRM_INF;
	info->priority = 100;
	info->dir = XFRM_POLICY_OUT;
	info->action = XFRM_POLICY_ALLOW;
	for (unsigned int i = 0; i < ntmpl && i < ARRAY_SIZE(t); i++) {
		t[i].family = AF_INET;
		inet_pton(AF_INET, "192.0.2.1", &t[i].saddr.a4);
		inet_pton(AF_INET, "192.0.2.2", &t[i].id.daddr.a4);
		t[i].id.proto = IPPROTO_ESP;
		t[i].id.spi = i ? 0 : spi;
		t[i].reqid = 1 + i;
		t[i].mode = XFRM_MODE_TUNNEL;
		t[i].aalgos = t[i].ealgos = t[i].calgos = ~0u;
	}
	mnl_attr_put(&mb->nlh, XFRMA_TMPL, ntmpl * sizeof(t[0]), t);
	mnl_attr_put(&mb->nlh, XFRMA_MARK, sizeof(mark), &mark);
	mnl_attr_put_u32(&mb->nlh, XFRMA_IF_ID, POL_IF_ID);
}

static inline void pol_ok(const union msgbuf *mb, struct xfrm_pol *p)
{
	assert_int_equal(xfrm_pol_from_msg(&mb->nlh, mb->nlh.nlmsg_len, p), 0);
}

#endif
