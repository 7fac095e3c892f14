// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for userspace/xfrm_client.c: real GETSA replies parsed, rekeyed and broken in
 * every way a parser must survive; batches built; answers matched to their requests; and,
 * where we may (root: a private network namespace), the real kernel.
 *
 * The msg_ arrays (data/getsa-replies.h) were captured from Debian 12's kernel
 * (6.1.0-56-amd64, iproute2 6.1.0) in the test VM by tests/unit/data/capture-getsa-replies;
 * the ip-xfrm command and 'ip -s xfrm state get' of each SA are quoted above each array.
 * Keys are dummies. The kernel tests need ESP for the rekey itself, which the development
 * host lacks: tests/unit/data/test-xfrm-client-vm runs this driver in the VM.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "../../userspace/xfrm_client.c"

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
static const struct capture captures[] = {
	CAPTURE(msg_esn_out, 48),  CAPTURE(msg_esn_in, 48),   CAPTURE(msg_aead_out, 20),
	CAPTURE(msg_aead_in, 20),  CAPTURE(msg_aead_full, 20), CAPTURE(msg_cbc_full, 48),
	CAPTURE(msg_sha1_v6, 36), CAPTURE(msg_cbc_only, 16),
};

/* A message to break: room for attributes to be added. */
union msgbuf {
	struct nlmsghdr nlh;
	uint8_t bytes[4096];
} __attribute__((aligned(8)));

static void load(union msgbuf *mb, const uint8_t *bytes, size_t len)
{
	memset(mb, 0, sizeof(*mb));
	memcpy(mb->bytes, bytes, len);
}

static void parse_ok(const uint8_t *bytes, size_t len, struct xfrm_sa *sa)
{
	assert_int_equal(xfrm_sa_from_msg((const struct nlmsghdr *)bytes, len, sa), 0);
}

/* --- an independent walk over raw attributes (plain arithmetic, no libmnl) -------------- */

struct raw_attr {
	uint16_t type;
	uint16_t len; /* nla_len */
	const uint8_t *at;
};

static size_t raw_attrs(const uint8_t *p, size_t len, struct raw_attr *out, size_t max)
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

static const struct raw_attr *raw_find(const struct raw_attr *a, size_t n, uint16_t type)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].type == type)
			return &a[i];
	return NULL;
}

static uint32_t raw_u32(const struct raw_attr *a, size_t off)
{
	uint32_t v;

	memcpy(&v, a->at + NLA_HDRLEN + off, sizeof(v));
	return v;
}

/* key bytes of an algorithm attribute: alg_key_len is at 64 in all three layouts */
static size_t raw_key_len(const struct raw_attr *a)
{
	return (raw_u32(a, 64) + 7) / 8;
}

static size_t raw_key_off(uint16_t type)
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
static void check_successor(const struct xfrm_sa *old, const struct xfrm_sa *new, __be32 spi,
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

static void pattern(uint8_t *key, size_t len, uint8_t first)
{
	for (size_t i = 0; i < len; i++)
		key[i] = (uint8_t)(first + i);
}

/* --- parsing ---------------------------------------------------------------------------- */

static void test_parse_captures(void **state)
{
	struct xfrm_sa sa;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(captures); i++) {
		const struct capture *c = &captures[i];

		memset(&sa, 0xa5, sizeof(sa));
		if (xfrm_sa_from_msg((const struct nlmsghdr *)c->bytes, c->len, &sa))
			fail_msg("%s does not parse", c->name);
		assert_memory_equal(&sa.info, c->bytes + NLMSG_HDRLEN, sizeof(sa.info));
		assert_int_equal(sa.attrs_len, c->len - BODY_END);
		assert_memory_equal(sa.attrs, c->bytes + BODY_END, sa.attrs_len);
		for (size_t k = sa.attrs_len; k < sizeof(sa.attrs); k++)
			assert_int_equal(sa.attrs[k], 0);
		assert_int_equal(sa.info.id.proto, IPPROTO_ESP);
	}
}

static void test_parse_aead_full(void **state)
{
	static const __u16 present[] = { XFRMA_SA_EXTRA_FLAGS, XFRMA_ALG_AEAD, XFRMA_ENCAP,
					 XFRMA_TFCPAD,	       XFRMA_MARK,     XFRMA_SET_MARK,
					 XFRMA_SET_MARK_MASK,  XFRMA_REPLAY_VAL, XFRMA_IF_ID };
	static const __u16 absent[] = { XFRMA_ALG_AUTH,	      XFRMA_ALG_AUTH_TRUNC, XFRMA_ALG_CRYPT,
					XFRMA_REPLAY_ESN_VAL, XFRMA_LTIME_VAL,	    XFRMA_LASTUSED,
					XFRMA_SEC_CTX,	      XFRMA_OFFLOAD_DEV,    XFRMA_COADDR };
	struct xfrm_encap_tmpl encap;
	struct xfrm_mark mark;
	struct xfrm_sa sa;

	(void)state;
	parse_ok(msg_aead_full, sizeof(msg_aead_full), &sa);
	assert_int_equal(sa.info.id.spi, htonl(0x1001));
	assert_int_equal(sa.info.family, AF_INET);
	assert_int_equal(sa.info.reqid, 11);
	assert_int_equal(sa.info.mode, XFRM_MODE_TUNNEL);
	assert_int_equal(sa.info.replay_window, 32);
	assert_int_equal(sa.info.flags, XFRM_STATE_NOECN);
	assert_int_equal(sa.info.lft.hard_add_expires_seconds, 3600);
	assert_int_equal(sa.info.lft.soft_byte_limit, 1000000);
	assert_int_equal(sa.info.lft.hard_packet_limit, 20000);
	assert_int_equal(sa.info.sel.dport, htons(2000));
	for (size_t i = 0; i < ARRAY_SIZE(present); i++)
		assert_non_null(xfrm_sa_attr(&sa, present[i]));
	for (size_t i = 0; i < ARRAY_SIZE(absent); i++)
		assert_null(xfrm_sa_attr(&sa, absent[i]));
	assert_true(xfrm_sa_mark(&sa, &mark));
	assert_int_equal(mark.v, 0x10);
	assert_int_equal(mark.m, 0xff);
	assert_int_equal(mnl_attr_get_u32(xfrm_sa_attr(&sa, XFRMA_IF_ID)), 42);
	assert_int_equal(mnl_attr_get_u32(xfrm_sa_attr(&sa, XFRMA_SET_MARK)), 0x20);
	assert_int_equal(mnl_attr_get_u32(xfrm_sa_attr(&sa, XFRMA_SET_MARK_MASK)), 0xff00);
	assert_int_equal(mnl_attr_get_u32(xfrm_sa_attr(&sa, XFRMA_TFCPAD)), 64);
	assert_int_equal(mnl_attr_get_u32(xfrm_sa_attr(&sa, XFRMA_SA_EXTRA_FLAGS)),
			 XFRM_SA_XFLAG_DONT_ENCAP_DSCP);
	memcpy(&encap, mnl_attr_get_payload(xfrm_sa_attr(&sa, XFRMA_ENCAP)), sizeof(encap));
	assert_int_equal(encap.encap_type, 2); /* UDP_ENCAP_ESPINUDP */
	assert_int_equal(encap.encap_sport, htons(4500));
}

static void test_parse_cbc_full(void **state)
{
	struct xfrm_replay_state_esn esn;
	struct xfrm_algo_auth auth;
	struct xfrm_mark mark;
	struct xfrm_sa sa;

	(void)state;
	parse_ok(msg_cbc_full, sizeof(msg_cbc_full), &sa);
	assert_int_equal(sa.info.id.spi, htonl(0x1002));
	assert_int_equal(sa.info.mode, XFRM_MODE_TRANSPORT);
	assert_int_equal(sa.info.flags, XFRM_STATE_ESN);
	assert_int_equal(sa.info.replay_window, 0); /* the window is in the ESN state */
	/* the kernel reports its one auth algorithm twice */
	assert_non_null(xfrm_sa_attr(&sa, XFRMA_ALG_AUTH));
	assert_non_null(xfrm_sa_attr(&sa, XFRMA_ALG_AUTH_TRUNC));
	assert_non_null(xfrm_sa_attr(&sa, XFRMA_ALG_CRYPT));
	assert_null(xfrm_sa_attr(&sa, XFRMA_ALG_AEAD));
	assert_null(xfrm_sa_attr(&sa, XFRMA_REPLAY_VAL));
	memcpy(&auth, mnl_attr_get_payload(xfrm_sa_attr(&sa, XFRMA_ALG_AUTH_TRUNC)), sizeof(auth));
	assert_string_equal(auth.alg_name, "hmac(sha256)");
	assert_int_equal(auth.alg_key_len, 256);
	assert_int_equal(auth.alg_trunc_len, 128);
	memcpy(&esn, mnl_attr_get_payload(xfrm_sa_attr(&sa, XFRMA_REPLAY_ESN_VAL)), sizeof(esn));
	assert_int_equal(esn.bmp_len, 2);
	assert_int_equal(esn.replay_window, 64);
	assert_true(xfrm_sa_mark(&sa, &mark));
	assert_int_equal(mark.v, 0x11);
	/* output-mark without a mask: all ones */
	assert_int_equal(mnl_attr_get_u32(xfrm_sa_attr(&sa, XFRMA_SET_MARK_MASK)), 0xffffffff);
}

static void test_parse_traffic(void **state)
{
	struct xfrm_replay_state_esn esn;
	struct xfrm_replay_state replay;
	struct xfrm_sa sa;

	(void)state;
	/* the inbound copy has seen sequence numbers, the outbound one has sent them */
	parse_ok(msg_esn_in, sizeof(msg_esn_in), &sa);
	memcpy(&esn, mnl_attr_get_payload(xfrm_sa_attr(&sa, XFRMA_REPLAY_ESN_VAL)), sizeof(esn));
	assert_int_equal(esn.bmp_len, 4);
	assert_int_equal(esn.replay_window, 128);
	assert_int_not_equal(esn.seq, 0);
	assert_int_not_equal(sa.info.curlft.packets, 0);
	assert_int_not_equal(sa.info.curlft.add_time, 0);
	parse_ok(msg_esn_out, sizeof(msg_esn_out), &sa);
	memcpy(&esn, mnl_attr_get_payload(xfrm_sa_attr(&sa, XFRMA_REPLAY_ESN_VAL)), sizeof(esn));
	assert_int_not_equal(esn.oseq, 0);
	parse_ok(msg_aead_in, sizeof(msg_aead_in), &sa);
	memcpy(&replay, mnl_attr_get_payload(xfrm_sa_attr(&sa, XFRMA_REPLAY_VAL)), sizeof(replay));
	assert_int_not_equal(replay.seq, 0);
	assert_int_not_equal(replay.bitmap, 0);
	assert_int_not_equal(sa.info.curlft.bytes, 0);
	assert_int_not_equal(sa.info.curlft.use_time, 0);
	/*
	 * No LASTUSED: 6.1 sets it for IPv6 route optimization only (later kernels on every
	 * packet: see test_rekeyed_drops_life).
	 */
	assert_null(xfrm_sa_attr(&sa, XFRMA_LASTUSED));
}

static void test_parse_ipv6(void **state)
{
	struct in6_addr want;
	struct xfrm_sa sa;

	(void)state;
	parse_ok(msg_sha1_v6, sizeof(msg_sha1_v6), &sa);
	assert_int_equal(sa.info.family, AF_INET6);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::2", &want), 1);
	assert_memory_equal(&sa.info.id.daddr, &want, sizeof(want));
	assert_null(xfrm_sa_attr(&sa, XFRMA_MARK));
}

/* --- keys ------------------------------------------------------------------------------- */

static void test_key_len(void **state)
{
	struct xfrm_sa sa;
	size_t len;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(captures); i++) {
		parse_ok(captures[i].bytes, captures[i].len, &sa);
		assert_int_equal(xfrm_sa_key_len(&sa, &len), 0);
		if (len != captures[i].key_len)
			fail_msg("%s: key length %zu, not %zu", captures[i].name, len,
				 captures[i].key_len);
	}
	/* no keyed algorithm at all: a larval SA */
	memset(&sa, 0, sizeof(sa));
	len = 7;
	assert_int_equal(xfrm_sa_key_len(&sa, &len), -ENOENT);
	assert_int_equal(len, 0);
}

/* A message built in mb, parsed. */
static void parse_msg(const union msgbuf *mb, struct xfrm_sa *sa, int want)
{
	assert_int_equal(xfrm_sa_from_msg(&mb->nlh, mb->nlh.nlmsg_len, sa), want);
}

static void test_key_len_mixed(void **state)
{
	const struct nlattr *crypt;
	struct xfrm_sa sa, cbc;
	union msgbuf mb;
	size_t len;

	(void)state;
	/* AEAD next to CRYPT: NEWSA would be refused (verify_newsa_info) */
	parse_ok(msg_cbc_only, sizeof(msg_cbc_only), &cbc);
	crypt = xfrm_sa_attr(&cbc, XFRMA_ALG_CRYPT);
	load(&mb, msg_aead_full, sizeof(msg_aead_full));
	mnl_attr_put(&mb.nlh, XFRMA_ALG_CRYPT, mnl_attr_get_payload_len(crypt),
		     mnl_attr_get_payload(crypt));
	parse_msg(&mb, &sa, 0);
	assert_int_equal(xfrm_sa_key_len(&sa, &len), -EINVAL);
	assert_int_equal(xfrm_sa_rekeyed(&sa, htonl(9), (const __u8 *)"x", 1, &cbc), -EINVAL);
}

static void test_describe_algs(void **state)
{
	static const uint8_t dummy[] = { 0x01, 0x02, 0x03, 0x04, 0x21, 0x22, 0x23, 0x24,
					 0x41, 0x42, 0x43, 0x44, 0x61, 0x62, 0x63, 0x64 };
	char buf[128];
	struct xfrm_sa sa;

	(void)state;
	parse_ok(msg_aead_full, sizeof(msg_aead_full), &sa);
	xfrm_sa_describe_algs(&sa, buf, sizeof(buf));
	assert_string_equal(buf, "rfc4106(gcm(aes)) 160 bits");
	parse_ok(msg_cbc_full, sizeof(msg_cbc_full), &sa);
	xfrm_sa_describe_algs(&sa, buf, sizeof(buf));
	assert_string_equal(buf, "cbc(aes) 128 bits + hmac(sha256) 256 bits");
	parse_ok(msg_sha1_v6, sizeof(msg_sha1_v6), &sa);
	xfrm_sa_describe_algs(&sa, buf, sizeof(buf));
	assert_string_equal(buf, "cbc(aes) 128 bits + hmac(sha1) 160 bits");
	parse_ok(msg_cbc_only, sizeof(msg_cbc_only), &sa);
	xfrm_sa_describe_algs(&sa, buf, sizeof(buf));
	assert_string_equal(buf, "cbc(aes) 128 bits");
	/* never a key byte, whatever the buffer */
	for (size_t i = 0; i < ARRAY_SIZE(captures); i++) {
		parse_ok(captures[i].bytes, captures[i].len, &sa);
		memset(buf, 0, sizeof(buf));
		xfrm_sa_describe_algs(&sa, buf, sizeof(buf));
		for (size_t k = 0; k + 4 <= sizeof(dummy); k += 4)
			assert_null(memmem(buf, sizeof(buf), dummy + k, 4));
	}
	/* cut to the buffer, always terminated */
	parse_ok(msg_cbc_full, sizeof(msg_cbc_full), &sa);
	memset(buf, 'x', sizeof(buf));
	xfrm_sa_describe_algs(&sa, buf, 12);
	assert_string_equal(buf, "cbc(aes) 12");
	assert_int_equal(buf[12], 'x');
	xfrm_sa_describe_algs(&sa, buf, 1);
	assert_string_equal(buf, "");
	buf[0] = 'x';
	xfrm_sa_describe_algs(&sa, buf, 0);
	assert_int_equal(buf[0], 'x');
	memset(&sa, 0, sizeof(sa));
	xfrm_sa_describe_algs(&sa, buf, sizeof(buf));
	assert_string_equal(buf, "no keyed algorithm");
}

/* --- the successor ---------------------------------------------------------------------- */

static void test_rekeyed_captures(void **state)
{
	struct xfrm_sa old, new;
	uint8_t key[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(captures); i++) {
		const struct capture *c = &captures[i];

		parse_ok(c->bytes, c->len, &old);
		pattern(key, c->key_len, 0xc0);
		memset(&new, 0xa5, sizeof(new));
		if (xfrm_sa_rekeyed(&old, htonl(0x4242), key, c->key_len, &new))
			fail_msg("%s: not rekeyed", c->name);
		check_successor(&old, &new, htonl(0x4242), key, c->key_len);
		for (size_t k = new.attrs_len; k < sizeof(new.attrs); k++)
			assert_int_equal(new.attrs[k], 0);
		/* the successor of the successor, under the same key, is itself */
		{
			struct xfrm_sa again;

			assert_int_equal(xfrm_sa_rekeyed(&new, htonl(0x4242), key, c->key_len,
							 &again), 0);
			assert_memory_equal(&again, &new, sizeof(new));
		}
	}
}

static void test_rekeyed_aead(void **state)
{
	const struct nlattr *a;
	struct xfrm_algo_aead aead;
	struct xfrm_sa old, new;
	uint8_t key[20];

	(void)state;
	parse_ok(msg_aead_in, sizeof(msg_aead_in), &old);
	pattern(key, sizeof(key), 0xc0);
	assert_int_equal(xfrm_sa_rekeyed(&old, htonl(0x3000), key, sizeof(key), &new), 0);
	assert_int_equal(new.info.id.spi, htonl(0x3000));
	assert_int_equal(new.info.curlft.bytes | new.info.curlft.packets, 0);
	assert_int_equal(new.info.curlft.add_time | new.info.curlft.use_time, 0);
	assert_int_equal(new.info.replay_window, 32);
	assert_null(xfrm_sa_attr(&new, XFRMA_REPLAY_VAL)); /* the kernel starts from zero */
	a = xfrm_sa_attr(&new, XFRMA_ALG_AEAD);
	assert_non_null(a);
	memcpy(&aead, mnl_attr_get_payload(a), sizeof(aead));
	assert_string_equal(aead.alg_name, "rfc4106(gcm(aes))");
	assert_int_equal(aead.alg_key_len, 160);
	assert_int_equal(aead.alg_icv_len, 128);
	assert_memory_equal((const uint8_t *)mnl_attr_get_payload(a) + sizeof(aead), key, 20);
	/* nothing left of the old key */
	assert_null(memmem(&new, sizeof(new), "\x01\x02\x03\x04", 4));
	assert_null(memmem(&new, sizeof(new), "\x11\x12\x13\x14", 4));
}

static void test_rekeyed_crypt_auth(void **state)
{
	const struct nlattr *a;
	struct xfrm_replay_state_esn esn;
	struct xfrm_algo_auth auth;
	struct xfrm_sa old, new;
	uint8_t key[48];

	(void)state;
	parse_ok(msg_esn_in, sizeof(msg_esn_in), &old);
	pattern(key, sizeof(key), 0xc0);
	assert_int_equal(xfrm_sa_rekeyed(&old, htonl(0x3001), key, sizeof(key), &new), 0);
	/* one auth attribute, the one that carries the ICV length */
	assert_null(xfrm_sa_attr(&new, XFRMA_ALG_AUTH));
	a = xfrm_sa_attr(&new, XFRMA_ALG_AUTH_TRUNC);
	assert_non_null(a);
	memcpy(&auth, mnl_attr_get_payload(a), sizeof(auth));
	assert_string_equal(auth.alg_name, "hmac(sha256)");
	assert_int_equal(auth.alg_trunc_len, 128);
	assert_memory_equal((const uint8_t *)mnl_attr_get_payload(a) + sizeof(auth), key + 16, 32);
	a = xfrm_sa_attr(&new, XFRMA_ALG_CRYPT);
	assert_memory_equal((const uint8_t *)mnl_attr_get_payload(a) + sizeof(struct xfrm_algo), key,
			    16);
	/* ESN: the same size and window, nothing seen */
	a = xfrm_sa_attr(&new, XFRMA_REPLAY_ESN_VAL);
	assert_int_equal(mnl_attr_get_payload_len(a), sizeof(esn) + 4 * sizeof(__u32));
	memcpy(&esn, mnl_attr_get_payload(a), sizeof(esn));
	assert_int_equal(esn.bmp_len, 4);
	assert_int_equal(esn.replay_window, 128);
	assert_int_equal(esn.seq, 0);
	assert_int_equal(new.info.flags, XFRM_STATE_ESN);
	assert_int_equal(new.info.replay_window, 0); /* NEWSA refuses both windows at once */
	assert_null(memmem(&new, sizeof(new), "\x21\x22\x23\x24", 4));
	assert_null(memmem(&new, sizeof(new), "\x41\x42\x43\x44", 4));
}

/* Only XFRMA_ALG_AUTH (what an older kernel, or a hand-made SA, could have): it takes the key. */
static void test_rekeyed_auth_only(void **state)
{
	struct raw_attr ra[16];
	struct xfrm_sa old, new;
	union msgbuf mb;
	uint8_t key[36];
	size_t n;

	(void)state;
	load(&mb, msg_sha1_v6, BODY_END);
	mb.nlh.nlmsg_len = BODY_END;
	n = raw_attrs(msg_sha1_v6 + BODY_END, sizeof(msg_sha1_v6) - BODY_END, ra, 16);
	for (size_t i = 0; i < n; i++)
		if (ra[i].type != XFRMA_ALG_AUTH_TRUNC)
			mnl_attr_put(&mb.nlh, ra[i].type, ra[i].len - NLA_HDRLEN,
				     ra[i].at + NLA_HDRLEN);
	parse_msg(&mb, &old, 0);
	assert_null(xfrm_sa_attr(&old, XFRMA_ALG_AUTH_TRUNC));
	pattern(key, sizeof(key), 0xc0);
	assert_int_equal(xfrm_sa_rekeyed(&old, htonl(0x3002), key, sizeof(key), &new), 0);
	check_successor(&old, &new, htonl(0x3002), key, sizeof(key));
	assert_non_null(xfrm_sa_attr(&new, XFRMA_ALG_AUTH));
}

/* What 6.1 does not send but a kernel may: all of the old SA's life goes. */
static void test_rekeyed_drops_life(void **state)
{
	struct xfrm_lifetime_cur ltime = { .bytes = 1000, .packets = 10, .add_time = 1700000000 };
	struct xfrm_sa old, new;
	union msgbuf mb;
	uint8_t key[20];

	(void)state;
	load(&mb, msg_aead_in, sizeof(msg_aead_in));
	mnl_attr_put(&mb.nlh, XFRMA_LTIME_VAL, sizeof(ltime), &ltime);
	mnl_attr_put_u64(&mb.nlh, XFRMA_LASTUSED, 1700000001);
	mnl_attr_put_u8(&mb.nlh, SA_DIR, 1); /* XFRMA_SA_DIR (6.10), "in": kept */
	mnl_attr_put(&mb.nlh, 250, 6, "future"); /* unknown: kept as it is */
	parse_msg(&mb, &old, 0);
	old.info.stats.replay = 3;
	old.info.stats.integrity_failed = 4;
	old.info.seq = 77;
	pattern(key, sizeof(key), 0xc0);
	assert_int_equal(xfrm_sa_rekeyed(&old, htonl(0x3003), key, sizeof(key), &new), 0);
	check_successor(&old, &new, htonl(0x3003), key, sizeof(key));
	assert_null(xfrm_sa_attr(&new, XFRMA_LTIME_VAL));
	assert_null(xfrm_sa_attr(&new, XFRMA_LASTUSED));
	assert_non_null(xfrm_sa_attr(&new, SA_DIR));
	assert_int_equal(mnl_attr_get_payload_len(xfrm_sa_attr(&new, 250)), 6);
	assert_int_equal(new.info.stats.replay | new.info.stats.integrity_failed, 0);
	assert_int_equal(new.info.seq, 0);
}

/* Leftovers of an interrupted make-before-break are told from SAs set up on purpose. */
static void test_siblings(void **state)
{
	struct xfrm_sa old, next, other;
	uint8_t key[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(captures); i++) {
		const struct capture *c = &captures[i];

		parse_ok(c->bytes, c->len, &old);
		pattern(key, c->key_len, 0xc0);
		assert_int_equal(xfrm_sa_rekeyed(&old, htonl(0x4343), key, c->key_len, &next), 0);
		/* its successor, with the life an SA has once in the kernel */
		next.info.curlft.add_time = old.info.curlft.add_time + 5;
		next.info.curlft.packets = 99;
		next.info.stats.replay = 1;
		assert_true(xfrm_sa_siblings(&old, &next));
		assert_true(xfrm_sa_siblings(&next, &old));
		/* another reqid, mode or selector: an SA of its own */
		other = next;
		other.info.reqid++;
		assert_false(xfrm_sa_siblings(&old, &other));
		other = next;
		other.info.sel.dport ^= htons(1);
		assert_false(xfrm_sa_siblings(&old, &other));
		other = next;
		other.info.mode ^= 1;
		assert_false(xfrm_sa_siblings(&old, &other));
	}
	/* other algorithms */
	parse_ok(msg_aead_in, sizeof(msg_aead_in), &old);
	parse_ok(msg_esn_in, sizeof(msg_esn_in), &other);
	assert_false(xfrm_sa_siblings(&old, &other));
	/* no key at all: nothing to compare */
	memset(&other, 0, sizeof(other));
	assert_false(xfrm_sa_siblings(&other, &other));
}

static void test_rekeyed_bad_key_len(void **state)
{
	struct xfrm_sa old, new, untouched;
	uint8_t key[64] = { 0 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(captures); i++) {
		const struct capture *c = &captures[i];
		const size_t bad[] = { 0, 1, c->key_len - 1, c->key_len + 1, 2 * c->key_len };

		parse_ok(c->bytes, c->len, &old);
		memset(&untouched, 0x5a, sizeof(untouched));
		for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
			memcpy(&new, &untouched, sizeof(new));
			if (xfrm_sa_rekeyed(&old, htonl(1), key, bad[k], &new) != -EINVAL)
				fail_msg("%s: key of %zu bytes accepted", c->name, bad[k]);
			assert_memory_equal(&new, &untouched, sizeof(new));
		}
		assert_int_equal(xfrm_sa_rekeyed(&old, htonl(1), NULL, c->key_len, &new), -EINVAL);
	}
	/* nothing to key */
	memset(&old, 0, sizeof(old));
	assert_int_equal(xfrm_sa_rekeyed(&old, htonl(1), key, 0, &new), -ENOENT);
}

static void test_rekeyed_in_place(void **state)
{
	struct xfrm_sa old, sa;
	uint8_t key[48];

	(void)state;
	parse_ok(msg_cbc_full, sizeof(msg_cbc_full), &old);
	sa = old;
	pattern(key, sizeof(key), 0xc0);
	assert_int_equal(xfrm_sa_rekeyed(&sa, htonl(0x3004), key, sizeof(key), &sa), 0);
	check_successor(&old, &sa, htonl(0x3004), key, sizeof(key));
}

static void test_same_key(void **state)
{
	static const uint8_t cbc_sha256[48] = {
		0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c,
		0x2d, 0x2e, 0x2f, 0x30, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
		0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54,
		0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60,
	};
	struct xfrm_sa a, b, c, none;
	uint8_t key[48];

	(void)state;
	parse_ok(msg_cbc_full, sizeof(msg_cbc_full), &a);
	parse_ok(msg_esn_in, sizeof(msg_esn_in), &b); /* another SA, the same dummy keys */
	assert_true(xfrm_sa_same_key(&a, &a));
	assert_true(xfrm_sa_same_key(&a, &b));
	/* the successor under the old key material: the same key */
	assert_int_equal(xfrm_sa_rekeyed(&a, htonl(5), cbc_sha256, 48, &c), 0);
	assert_true(xfrm_sa_same_key(&a, &c));
	/* one bit anywhere, in the cipher's key or the MAC's */
	for (size_t i = 0; i < sizeof(key); i += 15) {
		memcpy(key, cbc_sha256, sizeof(key));
		key[i] ^= 0x80;
		assert_int_equal(xfrm_sa_rekeyed(&a, htonl(5), key, 48, &c), 0);
		assert_false(xfrm_sa_same_key(&a, &c));
		assert_false(xfrm_sa_same_key(&c, &a));
	}
	memcpy(key, cbc_sha256, sizeof(key));
	key[47] ^= 1;
	assert_int_equal(xfrm_sa_rekeyed(&a, htonl(5), key, 48, &c), 0);
	assert_false(xfrm_sa_same_key(&a, &c));
	/* other algorithms, other layouts */
	parse_ok(msg_aead_full, sizeof(msg_aead_full), &c);
	assert_false(xfrm_sa_same_key(&a, &c));
	parse_ok(msg_cbc_only, sizeof(msg_cbc_only), &c); /* the same AES key, no MAC */
	assert_false(xfrm_sa_same_key(&a, &c));
	parse_ok(msg_sha1_v6, sizeof(msg_sha1_v6), &c); /* the same AES key, another MAC */
	assert_false(xfrm_sa_same_key(&a, &c));
	memset(&none, 0, sizeof(none));
	assert_false(xfrm_sa_same_key(&none, &none));
	assert_false(xfrm_sa_same_key(&a, &none));
}

static void test_wipe(void **state)
{
	static const struct xfrm_sa zero;
	struct xfrm_sa sa;

	(void)state;
	parse_ok(msg_cbc_full, sizeof(msg_cbc_full), &sa);
	xfrm_sa_wipe(&sa);
	assert_memory_equal(&sa, &zero, sizeof(sa));
}

/* --- broken messages -------------------------------------------------------------------- */

/* Whether c cut to cut bytes, its nlmsg_len saying so, is still a whole message. */
static bool whole_at(const struct capture *c, size_t cut)
{
	size_t off = BODY_END;

	if (cut == off)
		return true;
	while (off + 4 <= c->len) {
		struct nlattr a;

		memcpy(&a, c->bytes + off, sizeof(a));
		if (cut >= off + a.nla_len && cut <= off + NLA_ALIGN(a.nla_len))
			return true;
		off += NLA_ALIGN(a.nla_len);
	}
	return false;
}

static void test_truncated(void **state)
{
	struct xfrm_sa sa;
	static const struct xfrm_sa zero;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(captures); i++) {
		const struct capture *c = &captures[i];

		for (size_t cut = 0; cut < c->len; cut++) {
			/* exactly cut bytes on the heap: valgrind flags any read past them */
			uint8_t *p = malloc(cut + !cut);
			struct nlmsghdr *nlh = (struct nlmsghdr *)p;

			assert_non_null(p);
			memcpy(p, c->bytes, cut);
			memset(&sa, 0xa5, sizeof(sa));
			if (xfrm_sa_from_msg(nlh, cut, &sa) != -EBADMSG)
				fail_msg("%s cut to %zu bytes: not -EBADMSG", c->name, cut);
			assert_memory_equal(&sa, &zero, sizeof(sa)); /* wiped */
			if (cut >= NLMSG_HDRLEN) {
				int want = whole_at(c, cut) ? 0 : -EBADMSG;

				nlh->nlmsg_len = cut;
				if (xfrm_sa_from_msg(nlh, cut, &sa) != want)
					fail_msg("%s, nlmsg_len %zu: not %d", c->name, cut, want);
				if (!want)
					assert_int_equal(sa.attrs_len % 4, 0);
			}
			free(p);
		}
	}
}

static void test_nlmsg_len(void **state)
{
	struct xfrm_sa sa;
	union msgbuf mb;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(captures); i++) {
		const struct capture *c = &captures[i];

		load(&mb, c->bytes, c->len);
		assert_int_equal(xfrm_sa_from_msg(&mb.nlh, c->len, &sa), 0);
		mb.nlh.nlmsg_len = c->len + 4;
		assert_int_equal(xfrm_sa_from_msg(&mb.nlh, c->len, &sa), -EBADMSG);
		mb.nlh.nlmsg_len = 0xffffffff;
		assert_int_equal(xfrm_sa_from_msg(&mb.nlh, c->len, &sa), -EBADMSG);
		mb.nlh.nlmsg_len = BODY_END - 1;
		assert_int_equal(xfrm_sa_from_msg(&mb.nlh, c->len, &sa), -EBADMSG);
		mb.nlh.nlmsg_len = 0;
		assert_int_equal(xfrm_sa_from_msg(&mb.nlh, c->len, &sa), -EBADMSG);
		/* more readable than the message: only the message counts */
		mb.nlh.nlmsg_len = c->len;
		assert_int_equal(xfrm_sa_from_msg(&mb.nlh, sizeof(mb), &sa), 0);
		assert_int_equal(sa.attrs_len, c->len - BODY_END);
	}
}

static void test_wrong_type(void **state)
{
	static const __u16 types[] = { XFRM_MSG_DELSA, XFRM_MSG_GETSA,	XFRM_MSG_EXPIRE,
				       XFRM_MSG_NEWPOLICY, NLMSG_ERROR, NLMSG_DONE, 0 };
	struct xfrm_sa sa;
	union msgbuf mb;

	(void)state;
	load(&mb, msg_aead_full, sizeof(msg_aead_full));
	mb.nlh.nlmsg_type = XFRM_MSG_UPDSA;
	assert_int_equal(xfrm_sa_from_msg(&mb.nlh, sizeof(msg_aead_full), &sa), 0);
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		mb.nlh.nlmsg_type = types[i];
		assert_int_equal(xfrm_sa_from_msg(&mb.nlh, sizeof(msg_aead_full), &sa), -EBADMSG);
	}
}

static void test_attr_wrong_size(void **state)
{
	static const uint8_t junk[128]; /* more than the longest bad length below */
	static const struct {
		__u16 type, len;
	} bad[] = {
		{ XFRMA_MARK, 4 },	    { XFRMA_MARK, 12 },	      { XFRMA_IF_ID, 2 },
		{ XFRMA_IF_ID, 8 },	    { XFRMA_SET_MARK, 0 },    { XFRMA_SET_MARK_MASK, 8 },
		{ XFRMA_TFCPAD, 2 },	    { XFRMA_SA_EXTRA_FLAGS, 1 }, { XFRMA_MTIMER_THRESH, 8 },
		{ XFRMA_REPLAY_THRESH, 0 }, { XFRMA_ETIMER_THRESH, 5 }, { XFRMA_LASTUSED, 4 },
		{ XFRMA_REPLAY_VAL, 8 },    { XFRMA_REPLAY_VAL, 16 }, { XFRMA_LTIME_VAL, 24 },
		{ XFRMA_ENCAP, 20 },	    { XFRMA_ENCAP, 28 },      { XFRMA_COADDR, 4 },
		{ XFRMA_OFFLOAD_DEV, 4 },   { XFRMA_ALG_AEAD, 3 },    { XFRMA_ALG_AEAD, 71 },
		{ XFRMA_ALG_AUTH, 67 },	    { XFRMA_ALG_AUTH_TRUNC, 70 }, { XFRMA_ALG_COMP, 0 },
		{ XFRMA_REPLAY_ESN_VAL, 20 }, { XFRMA_SEC_CTX, 6 },
	};
	struct xfrm_sa sa;
	union msgbuf mb;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		load(&mb, msg_cbc_only, sizeof(msg_cbc_only));
		/* the one 6.1 sent is taken away first: the bad one is not a duplicate */
		mb.nlh.nlmsg_len = BODY_END;
		mnl_attr_put(&mb.nlh, bad[i].type, bad[i].len, junk);
		if (xfrm_sa_from_msg(&mb.nlh, mb.nlh.nlmsg_len, &sa) != -EBADMSG)
			fail_msg("attribute %u of %u bytes accepted", bad[i].type, bad[i].len);
	}
}

/* An algorithm claiming more key than its attribute holds. */
static void test_key_overruns_attr(void **state)
{
	static const struct {
		const uint8_t *bytes;
		size_t len;
		__u16 type;
	} msgs[] = {
		{ msg_aead_full, sizeof(msg_aead_full), XFRMA_ALG_AEAD },
		{ msg_cbc_full, sizeof(msg_cbc_full), XFRMA_ALG_CRYPT },
		{ msg_cbc_full, sizeof(msg_cbc_full), XFRMA_ALG_AUTH },
		{ msg_cbc_full, sizeof(msg_cbc_full), XFRMA_ALG_AUTH_TRUNC },
	};
	struct raw_attr ra[32];
	struct xfrm_sa sa;
	union msgbuf mb;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(msgs); i++) {
		size_t n = raw_attrs(msgs[i].bytes + BODY_END, msgs[i].len - BODY_END, ra, 32);
		const struct raw_attr *a = raw_find(ra, n, msgs[i].type);
		size_t at = (size_t)(a->at - msgs[i].bytes) + NLA_HDRLEN + 64;
		const uint32_t bits[] = { raw_u32(a, 64) + 1, raw_u32(a, 64) + 8, 0x7ffffff8,
					  0xffffffff };

		for (size_t k = 0; k < ARRAY_SIZE(bits); k++) {
			load(&mb, msgs[i].bytes, msgs[i].len);
			memcpy(mb.bytes + at, &bits[k], sizeof(bits[k]));
			assert_int_equal(xfrm_sa_from_msg(&mb.nlh, msgs[i].len, &sa), -EBADMSG);
		}
		/* fewer bits than bytes: fine, the rest is padding of the attribute */
		load(&mb, msgs[i].bytes, msgs[i].len);
		memcpy(mb.bytes + at, &(uint32_t){ 8 }, sizeof(uint32_t));
		assert_int_equal(xfrm_sa_from_msg(&mb.nlh, msgs[i].len, &sa), 0);
	}
}

static void test_esn_bitmap(void **state)
{
	struct raw_attr ra[32];
	struct xfrm_sa sa;
	union msgbuf mb;
	size_t n, at;

	(void)state;
	n = raw_attrs(msg_cbc_full + BODY_END, sizeof(msg_cbc_full) - BODY_END, ra, 32);
	at = (size_t)(raw_find(ra, n, XFRMA_REPLAY_ESN_VAL)->at - msg_cbc_full) + NLA_HDRLEN;
	/* bmp_len 2 with its 2 words: fine; 3 with 2: cut; beyond XFRMA_REPLAY_ESN_MAX: never */
	for (uint32_t bmp = 0; bmp < 200; bmp++) {
		load(&mb, msg_cbc_full, sizeof(msg_cbc_full));
		memcpy(mb.bytes + at, &bmp, sizeof(bmp));
		assert_int_equal(xfrm_sa_from_msg(&mb.nlh, sizeof(msg_cbc_full), &sa),
				 bmp <= 2 ? 0 : -EBADMSG);
	}
	/* the bare struct, as ip-xfrm sends it: the kernel sizes the bitmap itself */
	load(&mb, msg_cbc_only, sizeof(msg_cbc_only));
	mb.nlh.nlmsg_len = BODY_END;
	{
		struct xfrm_replay_state_esn esn = { .bmp_len = 4, .replay_window = 128, .seq = 9 };
		uint8_t key[16];
		struct xfrm_sa new;

		mnl_attr_put(&mb.nlh, XFRMA_ALG_CRYPT, 68 + 16, msg_cbc_only + BODY_END + 4);
		mnl_attr_put(&mb.nlh, XFRMA_REPLAY_ESN_VAL, sizeof(esn), &esn);
		assert_int_equal(xfrm_sa_from_msg(&mb.nlh, mb.nlh.nlmsg_len, &sa), 0);
		pattern(key, sizeof(key), 0xc0);
		assert_int_equal(xfrm_sa_rekeyed(&sa, htonl(6), key, sizeof(key), &new), 0);
		check_successor(&sa, &new, htonl(6), key, sizeof(key));
	}
}

static void test_sec_ctx(void **state)
{
	struct {
		struct xfrm_user_sec_ctx h;
		char str[12];
	} ctx = { { .len = sizeof(struct xfrm_user_sec_ctx) + 10, .exttype = XFRMA_SEC_CTX,
		    .ctx_len = 10 },
		  "system_u:x" };
	struct xfrm_sa sa, new;
	union msgbuf mb;
	uint8_t key[20];

	(void)state;
	load(&mb, msg_aead_full, sizeof(msg_aead_full));
	mnl_attr_put(&mb.nlh, XFRMA_SEC_CTX, sizeof(ctx.h) + 10, &ctx);
	assert_int_equal(xfrm_sa_from_msg(&mb.nlh, mb.nlh.nlmsg_len, &sa), 0);
	pattern(key, sizeof(key), 0xc0);
	assert_int_equal(xfrm_sa_rekeyed(&sa, htonl(7), key, sizeof(key), &new), 0);
	check_successor(&sa, &new, htonl(7), key, sizeof(key));
	/* its own length saying more than there is */
	ctx.h.ctx_len = 11;
	load(&mb, msg_aead_full, sizeof(msg_aead_full));
	mnl_attr_put(&mb.nlh, XFRMA_SEC_CTX, sizeof(ctx.h) + 10, &ctx);
	assert_int_equal(xfrm_sa_from_msg(&mb.nlh, mb.nlh.nlmsg_len, &sa), -EBADMSG);
	ctx.h.len = sizeof(ctx.h) + 11;
	load(&mb, msg_aead_full, sizeof(msg_aead_full));
	mnl_attr_put(&mb.nlh, XFRMA_SEC_CTX, sizeof(ctx.h) + 10, &ctx);
	assert_int_equal(xfrm_sa_from_msg(&mb.nlh, mb.nlh.nlmsg_len, &sa), -EBADMSG);
}

static void test_duplicates(void **state)
{
	static const __u16 types[] = { XFRMA_ALG_AEAD, XFRMA_MARK, XFRMA_IF_ID, XFRMA_REPLAY_VAL,
				       XFRMA_ENCAP };
	struct raw_attr ra[32];
	struct xfrm_sa sa;
	union msgbuf mb;
	size_t n;

	(void)state;
	n = raw_attrs(msg_aead_full + BODY_END, sizeof(msg_aead_full) - BODY_END, ra, 32);
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		const struct raw_attr *a = raw_find(ra, n, types[i]);

		load(&mb, msg_aead_full, sizeof(msg_aead_full));
		/* the kernel would take the second key, we the first: refused */
		mnl_attr_put(&mb.nlh, a->type, a->len - NLA_HDRLEN, a->at + NLA_HDRLEN);
		assert_int_equal(xfrm_sa_from_msg(&mb.nlh, mb.nlh.nlmsg_len, &sa), -EBADMSG);
	}
	/* unknown types may repeat: they are carried, not understood */
	load(&mb, msg_aead_full, sizeof(msg_aead_full));
	mnl_attr_put_u32(&mb.nlh, 300, 1);
	mnl_attr_put_u32(&mb.nlh, 300, 2);
	assert_int_equal(xfrm_sa_from_msg(&mb.nlh, mb.nlh.nlmsg_len, &sa), 0);
}

static void test_attr_overruns(void **state)
{
	struct nlattr *last;
	struct xfrm_sa sa;
	union msgbuf mb;

	(void)state;
	load(&mb, msg_aead_full, sizeof(msg_aead_full));
	last = (struct nlattr *)(mb.bytes + sizeof(msg_aead_full) - 8);
	assert_int_equal(last->nla_type, XFRMA_IF_ID);
	last->nla_len += 4;
	assert_int_equal(xfrm_sa_from_msg(&mb.nlh, sizeof(msg_aead_full), &sa), -EBADMSG);
	last->nla_len = 0xffff;
	assert_int_equal(xfrm_sa_from_msg(&mb.nlh, sizeof(msg_aead_full), &sa), -EBADMSG);
	last->nla_len = 3;
	assert_int_equal(xfrm_sa_from_msg(&mb.nlh, sizeof(msg_aead_full), &sa), -EBADMSG);
	last->nla_len = 0;
	assert_int_equal(xfrm_sa_from_msg(&mb.nlh, sizeof(msg_aead_full), &sa), -EBADMSG);
	last->nla_len = 8;
	/* stray bytes after the last attribute: not even an attribute header */
	mb.nlh.nlmsg_len = sizeof(msg_aead_full) + 2;
	assert_int_equal(xfrm_sa_from_msg(&mb.nlh, mb.nlh.nlmsg_len, &sa), -EBADMSG);
	mb.nlh.nlmsg_len = sizeof(msg_aead_full) + 4;
	assert_int_equal(xfrm_sa_from_msg(&mb.nlh, mb.nlh.nlmsg_len, &sa), -EBADMSG);
}

static void test_too_big(void **state)
{
	static const uint8_t big[XFRM_ATTRS_MAX];
	size_t room = XFRM_ATTRS_MAX - (sizeof(msg_aead_full) - BODY_END) - NLA_HDRLEN;
	struct xfrm_sa sa;
	union msgbuf mb;

	(void)state;
	/* exactly XFRM_ATTRS_MAX bytes of attributes: fine */
	load(&mb, msg_aead_full, sizeof(msg_aead_full));
	mnl_attr_put(&mb.nlh, 400, room, big);
	assert_int_equal(xfrm_sa_from_msg(&mb.nlh, mb.nlh.nlmsg_len, &sa), 0);
	assert_int_equal(sa.attrs_len, XFRM_ATTRS_MAX);
	/* 4 more: refused, and said so */
	load(&mb, msg_aead_full, sizeof(msg_aead_full));
	mnl_attr_put(&mb.nlh, 400, room + 1, big);
	assert_int_equal(xfrm_sa_from_msg(&mb.nlh, mb.nlh.nlmsg_len, &sa), -EMSGSIZE);
}

static void test_attr_lookup(void **state)
{
	struct xfrm_mark mark;
	struct xfrm_sa sa;

	(void)state;
	parse_ok(msg_sha1_v6, sizeof(msg_sha1_v6), &sa);
	mark.v = 1;
	assert_false(xfrm_sa_mark(&sa, &mark));
	assert_int_equal(mark.v | mark.m, 0);
	assert_null(xfrm_sa_attr(&sa, XFRMA_MARK));
	assert_null(xfrm_sa_attr(&sa, 0));
	assert_non_null(xfrm_sa_attr(&sa, XFRMA_REPLAY_VAL));
	/* a hand-made SA whose length lies: nothing is read past the copy */
	sa.attrs_len = XFRM_ATTRS_MAX + 100;
	assert_null(xfrm_sa_attr(&sa, XFRMA_ALG_CRYPT));
	sa.attrs_len = 3;
	assert_null(xfrm_sa_attr(&sa, XFRMA_ALG_AUTH));
}

/* --- batches ---------------------------------------------------------------------------- */

static struct xfrm_batch batch;

static const struct nlmsghdr *batch_msg(const struct xfrm_batch *b, unsigned int i)
{
	const uint8_t *p = (const uint8_t *)b->buf;

	for (; i; i--)
		p += NLMSG_ALIGN(((const struct nlmsghdr *)p)->nlmsg_len);
	return (const struct nlmsghdr *)p;
}

static void test_batch_build(void **state)
{
	struct xfrm_sa full, v6;
	const struct nlmsghdr *nlh;
	struct xfrm_usersa_id id;
	struct xfrm_mark mark;
	size_t total = 0;

	(void)state;
	parse_ok(msg_aead_full, sizeof(msg_aead_full), &full);
	parse_ok(msg_sha1_v6, sizeof(msg_sha1_v6), &v6);
	xfrm_batch_init(&batch);
	assert_int_equal(xfrm_batch_add_sa(&batch, XFRM_MSG_NEWSA, &full), 0);
	assert_int_equal(xfrm_batch_add_sa(&batch, XFRM_MSG_UPDSA, &v6), 0);
	assert_int_equal(xfrm_batch_add_delsa(&batch, &full), 0);
	assert_int_equal(xfrm_batch_add_delsa(&batch, &v6), 0);
	assert_int_equal(batch.n, 4);
	assert_int_equal(batch.type[0], XFRM_MSG_NEWSA);
	assert_int_equal(batch.type[1], XFRM_MSG_UPDSA);
	assert_int_equal(batch.type[2], XFRM_MSG_DELSA);
	assert_int_equal(batch.type[3], XFRM_MSG_DELSA);

	for (unsigned int i = 0; i < 4; i++) {
		nlh = batch_msg(&batch, i);
		assert_int_equal(nlh->nlmsg_type, batch.type[i]);
		assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
		assert_int_equal(nlh->nlmsg_seq, i + 1);
		assert_int_equal(nlh->nlmsg_len % 4, 0);
		total += nlh->nlmsg_len;
	}
	assert_int_equal(batch.len, total);
	/* NEWSA, UPDSA: the SA as it was read, attributes and all */
	nlh = batch_msg(&batch, 0);
	assert_int_equal(nlh->nlmsg_len, sizeof(msg_aead_full));
	assert_memory_equal((const uint8_t *)nlh + NLMSG_HDRLEN, msg_aead_full + NLMSG_HDRLEN,
			    sizeof(msg_aead_full) - NLMSG_HDRLEN);
	nlh = batch_msg(&batch, 1);
	assert_int_equal(nlh->nlmsg_len, sizeof(msg_sha1_v6));
	assert_memory_equal((const uint8_t *)nlh + NLMSG_HDRLEN, msg_sha1_v6 + NLMSG_HDRLEN,
			    sizeof(msg_sha1_v6) - NLMSG_HDRLEN);
	/* DELSA: the id, and the mark the kernel looks the SA up with */
	nlh = batch_msg(&batch, 2);
	assert_int_equal(nlh->nlmsg_len, NLMSG_HDRLEN + sizeof(id) + NLA_HDRLEN + sizeof(mark));
	memcpy(&id, mnl_nlmsg_get_payload(nlh), sizeof(id));
	assert_memory_equal(&id.daddr, &full.info.id.daddr, sizeof(id.daddr));
	assert_int_equal(id.spi, htonl(0x1001));
	assert_int_equal(id.family, AF_INET);
	assert_int_equal(id.proto, IPPROTO_ESP);
	assert_int_equal(mnl_attr_get_type(mnl_nlmsg_get_payload_offset(nlh, sizeof(id))),
			 XFRMA_MARK);
	memcpy(&mark,
	       mnl_attr_get_payload(mnl_nlmsg_get_payload_offset(nlh, sizeof(id))),
	       sizeof(mark));
	assert_int_equal(mark.v, 0x10);
	assert_int_equal(mark.m, 0xff);
	nlh = batch_msg(&batch, 3);
	assert_int_equal(nlh->nlmsg_len, NLMSG_HDRLEN + sizeof(id));
	memcpy(&id, mnl_nlmsg_get_payload(nlh), sizeof(id));
	assert_int_equal(id.family, AF_INET6);
	assert_int_equal(id.spi, htonl(0x1003));
	xfrm_batch_wipe(&batch);
}

static void test_batch_full(void **state)
{
	static const uint8_t big[XFRM_ATTRS_MAX];
	struct xfrm_sa sa;
	union msgbuf mb;
	size_t len;

	(void)state;
	parse_ok(msg_cbc_only, sizeof(msg_cbc_only), &sa);
	xfrm_batch_init(&batch);
	for (unsigned int i = 0; i < XFRM_BATCH_MAX; i++)
		assert_int_equal(i % 2 ? xfrm_batch_add_delsa(&batch, &sa)
				       : xfrm_batch_add_sa(&batch, XFRM_MSG_NEWSA, &sa),
				 0);
	len = batch.len;
	assert_int_equal(xfrm_batch_add_sa(&batch, XFRM_MSG_NEWSA, &sa), -ENOSPC);
	assert_int_equal(xfrm_batch_add_delsa(&batch, &sa), -ENOSPC);
	assert_int_equal(batch.n, XFRM_BATCH_MAX);
	assert_int_equal(batch.len, len);
	assert_int_equal(batch_msg(&batch, XFRM_BATCH_MAX - 1)->nlmsg_seq, XFRM_BATCH_MAX);

	/* the largest SAs there are fill the buffer exactly */
	load(&mb, msg_cbc_only, sizeof(msg_cbc_only));
	mnl_attr_put(&mb.nlh, 400, XFRM_ATTRS_MAX - (sizeof(msg_cbc_only) - BODY_END) - 4,
		     big);
	parse_ok(mb.bytes, mb.nlh.nlmsg_len, &sa);
	assert_int_equal(sa.attrs_len, XFRM_ATTRS_MAX);
	xfrm_batch_wipe(&batch);
	for (unsigned int i = 0; i < XFRM_BATCH_MAX; i++)
		assert_int_equal(xfrm_batch_add_sa(&batch, XFRM_MSG_NEWSA, &sa), 0);
	assert_int_equal(batch.len, XFRM_BATCH_BYTES);
	xfrm_batch_wipe(&batch);
	/* bytes run out before the count does (never with SAs we parsed) */
	batch.len = XFRM_BATCH_BYTES - 100;
	assert_int_equal(xfrm_batch_add_sa(&batch, XFRM_MSG_NEWSA, &sa), -ENOSPC);
	assert_int_equal(xfrm_batch_add_delsa(&batch, &sa), 0);
	xfrm_batch_wipe(&batch);
}

static void test_batch_bad(void **state)
{
	struct xfrm_sa sa;

	(void)state;
	parse_ok(msg_cbc_only, sizeof(msg_cbc_only), &sa);
	xfrm_batch_init(&batch);
	assert_int_equal(xfrm_batch_add_sa(&batch, XFRM_MSG_DELSA, &sa), -EINVAL);
	assert_int_equal(xfrm_batch_add_sa(&batch, XFRM_MSG_GETSA, &sa), -EINVAL);
	sa.attrs_len = XFRM_ATTRS_MAX + 4;
	assert_int_equal(xfrm_batch_add_sa(&batch, XFRM_MSG_NEWSA, &sa), -EINVAL);
	sa.attrs_len = 6; /* cuts the first attribute */
	assert_int_equal(xfrm_batch_add_sa(&batch, XFRM_MSG_NEWSA, &sa), -EBADMSG);
	assert_int_equal(batch.n, 0);
	assert_int_equal(batch.len, 0);
}

static void test_batch_wipe(void **state)
{
	static const uint8_t zero[sizeof(batch.buf)];
	struct xfrm_sa sa;

	(void)state;
	parse_ok(msg_cbc_full, sizeof(msg_cbc_full), &sa);
	xfrm_batch_init(&batch);
	assert_int_equal(xfrm_batch_add_sa(&batch, XFRM_MSG_NEWSA, &sa), 0);
	assert_non_null(memmem(batch.buf, batch.len, "\x41\x42\x43\x44", 4));
	xfrm_batch_wipe(&batch);
	assert_int_equal(batch.n, 0);
	assert_int_equal(batch.len, 0);
	assert_memory_equal(batch.buf, zero, sizeof(zero));
}

/* --- answers matched to requests (no socket) -------------------------------------------- */

static size_t put_ack(uint8_t *buf, size_t at, __u32 seq, int error, size_t payload)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + at);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	e = mnl_nlmsg_put_extra_header(nlh, payload);
	if (payload >= sizeof(*e))
		e->error = error;
	return at + nlh->nlmsg_len;
}

static void test_answers_acks(void **state)
{
	uint8_t buf[1024] __attribute__((aligned(8))) = { 0 };
	int err[4] = { ANSWER_PENDING, ANSWER_PENDING, ANSWER_PENDING, ANSWER_PENDING };
	struct answers w = { .seq = 100, .n = 4, .pending = 4, .err = err };
	size_t len = 0;

	(void)state;
	/* out of order, a stale one, a repeat, a positive error (some subsystems) */
	len = put_ack(buf, len, 102, -EEXIST, sizeof(struct nlmsgerr));
	len = put_ack(buf, len, 99, -ENOENT, sizeof(struct nlmsgerr));
	len = put_ack(buf, len, 100, 0, sizeof(struct nlmsgerr));
	len = put_ack(buf, len, 102, 0, sizeof(struct nlmsgerr));
	len = put_ack(buf, len, 104, -EPERM, sizeof(struct nlmsgerr));
	assert_int_equal(answers_process(&w, buf, len, 0), 0);
	assert_int_equal(w.pending, 2);
	assert_int_equal(err[0], 0);
	assert_int_equal(err[1], ANSWER_PENDING);
	assert_int_equal(err[2], -EEXIST);
	assert_int_equal(err[3], ANSWER_PENDING);
	/* the rest in another datagram, with a NOOP and an error ack echoing its request */
	memset(buf, 0, sizeof(buf));
	len = 0;
	{
		struct nlmsghdr *noop = mnl_nlmsg_put_header(buf);

		noop->nlmsg_type = NLMSG_NOOP;
		len = noop->nlmsg_len;
	}
	len = put_ack(buf, len, 101, ESRCH, sizeof(struct nlmsgerr) + 64);
	len = put_ack(buf, len, 103, 0, sizeof(struct nlmsgerr));
	assert_int_equal(answers_process(&w, buf, len, 0), 0);
	assert_int_equal(w.pending, 0);
	assert_int_equal(err[1], -ESRCH);
	assert_int_equal(err[3], 0);
}

static void test_answers_broken(void **state)
{
	uint8_t buf[256] __attribute__((aligned(8))) = { 0 };
	int err[1] = { ANSWER_PENDING };
	struct answers w = { .seq = 7, .n = 1, .pending = 1, .err = err };
	size_t len;

	(void)state;
	/* an ack too short for its nlmsgerr */
	len = put_ack(buf, 0, 7, 0, sizeof(int));
	assert_int_equal(answers_process(&w, buf, len, 0), -EBADMSG);
	assert_int_equal(w.pending, 1);
	/* a whole ack and a cut one after it */
	len = put_ack(buf, 0, 7, 0, sizeof(struct nlmsgerr));
	len = put_ack(buf, len, 8, 0, sizeof(struct nlmsgerr));
	assert_int_equal(answers_process(&w, buf, len - 1, 0), -EBADMSG);
	assert_int_equal(answers_process(&w, buf, len - 30, 0), -EBADMSG);
	/* another socket's answer */
	len = put_ack(buf, 0, 7, 0, sizeof(struct nlmsgerr));
	((struct nlmsghdr *)buf)->nlmsg_pid = 4242;
	assert_int_equal(answers_process(&w, buf, len, 4243), -ESRCH);
	assert_int_equal(answers_process(&w, buf, len, 4242), 0);
	assert_int_equal(err[0], 0);
}

static int reply_fn(const struct nlmsghdr *nlh, void *ctx)
{
	(*(int *)ctx)++;
	return nlh->nlmsg_type == XFRM_MSG_NEWSA ? 0 : -EBADMSG;
}

static void test_answers_replies(void **state)
{
	uint8_t buf[2048] __attribute__((aligned(8))) = { 0 };
	int err[1] = { ANSWER_PENDING }, calls = 0;
	struct answers w = { .seq = 5, .n = 1, .pending = 1, .err = err, .reply = true,
			     .fn = reply_fn, .ctx = &calls };
	struct nlmsghdr *nlh;
	size_t len;

	(void)state;
	/* GETSA: the reply answers; a stale reply before it is skipped */
	memcpy(buf, msg_aead_full, sizeof(msg_aead_full));
	((struct nlmsghdr *)buf)->nlmsg_seq = 4;
	memcpy(buf + sizeof(msg_aead_full), msg_aead_full, sizeof(msg_aead_full));
	((struct nlmsghdr *)(buf + sizeof(msg_aead_full)))->nlmsg_seq = 5;
	assert_int_equal(answers_process(&w, buf, 2 * sizeof(msg_aead_full), 0), 0);
	assert_int_equal(calls, 1);
	assert_int_equal(w.pending, 0);
	assert_int_equal(err[0], 0);

	/* a dump: replies, then NLMSG_DONE (its error, if any, in the payload) */
	memset(buf, 0, sizeof(buf));
	calls = 0;
	err[0] = ANSWER_PENDING;
	w = (struct answers){ .seq = 9, .n = 1, .pending = 1, .err = err, .dump = true,
			      .fn = reply_fn, .ctx = &calls };
	for (len = 0; len < 3 * sizeof(msg_cbc_only); len += sizeof(msg_cbc_only)) {
		memcpy(buf + len, msg_cbc_only, sizeof(msg_cbc_only));
		((struct nlmsghdr *)(buf + len))->nlmsg_seq = 9;
		((struct nlmsghdr *)(buf + len))->nlmsg_flags = NLM_F_MULTI;
	}
	assert_int_equal(answers_process(&w, buf, len, 0), 0);
	assert_int_equal(calls, 3);
	assert_int_equal(w.pending, 1);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_seq = 9;
	*(int *)mnl_nlmsg_put_extra_header(nlh, sizeof(int)) = -EINTR;
	assert_int_equal(answers_process(&w, buf, nlh->nlmsg_len, 0), 0);
	assert_int_equal(w.pending, 0);
	assert_int_equal(err[0], -EINTR);
}

static void test_seq_numbers(void **state)
{
	struct xfrm_client c = { .seq = 10 };

	(void)state;
	assert_int_equal(client_seq(&c, 3), 11);
	assert_int_equal(c.seq, 13);
	/* never 0 (libmnl's "any"), never wrapping inside a batch */
	c.seq = UINT32_MAX - 2;
	assert_int_equal(client_seq(&c, 2), UINT32_MAX - 1);
	assert_int_equal(c.seq, UINT32_MAX);
	assert_int_equal(client_seq(&c, 1), 1);
	c.seq = UINT32_MAX - 5;
	assert_int_equal(client_seq(&c, 32), 1);
	assert_int_equal(c.seq, 32);
}

/* --- the real kernel, in a namespace of our own ----------------------------------------- */

struct kernel {
	int nsfd;
	struct xfrm_client c;
};

static int kernel_setup(void **state)
{
	static struct kernel k;
	int self;

	k.nsfd = -1;
	*state = &k;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return 0;
	if (unshare(CLONE_NEWNET) == 0) {
		k.nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (setns(self, CLONE_NEWNET))
			abort(); /* stuck in the test namespace: nothing after this is sound */
	}
	close(self);
	if (k.nsfd >= 0 && xfrm_client_open(&k.c, k.nsfd)) {
		close(k.nsfd);
		k.nsfd = -1;
	}
	return 0;
}

static int kernel_teardown(void **state)
{
	struct kernel *k = *state;

	if (k->nsfd >= 0) {
		xfrm_client_close(&k->c);
		close(k->nsfd);
	}
	return 0;
}

static struct xfrm_client *kernel_client(void **state)
{
	struct kernel *k = *state;

	if (k->nsfd < 0)
		skip(); /* not root, or no XFRM netlink */
	return &k->c;
}

static int count_sa(void *ctx, const struct xfrm_sa *sa)
{
	(void)sa;
	return ++*(int *)ctx == 100 ? 5 : 0;
}

static void test_kernel_errors(void **state)
{
	struct xfrm_client *c = kernel_client(state);
	struct xfrm_sa sa, got;
	__u64 messages = c->messages, syscalls = c->syscalls;
	int n = 0;

	parse_ok(msg_aead_full, sizeof(msg_aead_full), &sa);
	/* nothing there yet */
	assert_int_equal(xfrm_sa_get(c, AF_INET, &sa.info.id.daddr, sa.info.id.spi, IPPROTO_ESP,
				     NULL, &got),
			 -ENOENT);
	assert_int_equal(xfrm_sa_dump(c, count_sa, &n), 0);
	assert_int_equal(n, 0);
	/* two DELSA of nothing in one sendmsg: both answered, in order */
	xfrm_batch_init(&batch);
	assert_int_equal(xfrm_batch_add_delsa(&batch, &sa), 0);
	sa.info.id.spi = htonl(0x1002);
	assert_int_equal(xfrm_batch_add_delsa(&batch, &sa), 0);
	assert_int_equal(xfrm_client_run(c, &batch), -ESRCH);
	assert_int_equal(batch.err[0], -ESRCH);
	assert_int_equal(batch.err[1], -ESRCH);
	assert_int_equal(c->messages - messages, 1 + 1 + 2);
	/* each request: one sendmsg, and a recvmsg per answer at most */
	assert_in_range(c->syscalls - syscalls, 2 + 2 + 2, 2 + 2 + 3);
	/* numbered from the client's counter */
	assert_int_equal(batch_msg(&batch, 1)->nlmsg_seq, c->seq);
	assert_int_equal(batch_msg(&batch, 0)->nlmsg_seq, c->seq - 1);
	xfrm_batch_wipe(&batch);
	/* an empty batch sends nothing */
	syscalls = c->syscalls;
	assert_int_equal(xfrm_client_run(c, &batch), 0);
	assert_int_equal(c->syscalls, syscalls);
}

/* A larval SA by ALLOCSPI, then deleted: no ESP needed. */
static void test_kernel_spi_alloc(void **state)
{
	struct xfrm_client *c = kernel_client(state);
	struct xfrm_sa tmpl, larval;
	__be32 spi;

	parse_ok(msg_aead_full, sizeof(msg_aead_full), &tmpl);
	assert_int_equal(xfrm_spi_alloc(c, &tmpl, 0x7000, 0x7fff, &spi), 0);
	assert_in_range(ntohl(spi), 0x7000, 0x7fff);
	{
		struct xfrm_mark mark;

		xfrm_sa_mark(&tmpl, &mark);
		assert_int_equal(xfrm_sa_get(c, AF_INET, &tmpl.info.id.daddr, spi, IPPROTO_ESP,
					     &mark, &larval),
				 0);
	}
	assert_int_equal(larval.info.reqid, 11);
	assert_int_equal(mnl_attr_get_u32(xfrm_sa_attr(&larval, XFRMA_IF_ID)), 42);
	assert_null(xfrm_sa_attr(&larval, XFRMA_ALG_AEAD));
	xfrm_batch_init(&batch);
	assert_int_equal(xfrm_batch_add_delsa(&batch, &larval), 0);
	assert_int_equal(xfrm_client_run(c, &batch), 0);
	xfrm_batch_wipe(&batch);
	/* an empty range */
	assert_int_equal(xfrm_spi_alloc(c, &tmpl, 0x8000, 0x7fff, &spi), -EINVAL);
}

/*
 * The rekey itself, on every captured SA: NEWSA of the capture (the kernel reports it back
 * unchanged), then NEWSA of its successor and DELSA of it in one sendmsg, with a DELSA that
 * fails in the middle: the kernel carries on, each request has its answer.
 */
static void test_kernel_rekey(void **state)
{
	struct xfrm_client *c = kernel_client(state);
	struct xfrm_sa old, new, got, again;
	struct xfrm_mark mark;
	uint8_t key[64];
	int n = 0, err;

	for (size_t i = 0; i < ARRAY_SIZE(captures); i++) {
		const struct capture *cap = &captures[i];
		__be32 spi = htonl(0x9000 + (uint32_t)i);

		parse_ok(cap->bytes, cap->len, &old);
		xfrm_sa_mark(&old, &mark);
		/* the capture, anew: no life of its own yet */
		pattern(key, cap->key_len, 0x01);
		assert_int_equal(xfrm_sa_rekeyed(&old, old.info.id.spi, key, cap->key_len, &old), 0);
		xfrm_batch_init(&batch);
		assert_int_equal(xfrm_batch_add_sa(&batch, XFRM_MSG_NEWSA, &old), 0);
		err = xfrm_client_run(c, &batch);
		xfrm_batch_wipe(&batch);
		/* no such algorithm (ENOSYS) or no ESP (EPROTONOSUPPORT): the development host */
		if (err == -ENOSYS || err == -EPROTONOSUPPORT)
			skip();
		assert_int_equal(err, 0);
		assert_int_equal(xfrm_sa_get(c, old.info.family, &old.info.id.daddr,
					     old.info.id.spi, IPPROTO_ESP, &mark, &got),
				 0);
		/* what the kernel reports is what we gave it, plus what we leave out */
		assert_int_equal(xfrm_sa_rekeyed(&got, old.info.id.spi, key, cap->key_len, &again),
				 0);
		assert_memory_equal(&again.attrs, &old.attrs, sizeof(old.attrs));
		assert_int_equal(again.attrs_len, old.attrs_len);
		assert_memory_equal(&again.info.sel, &old.info.sel, sizeof(old.info.sel));
		assert_memory_equal(&again.info.lft, &old.info.lft, sizeof(old.info.lft));
		assert_int_equal(again.info.flags, old.info.flags);
		assert_int_equal(again.info.replay_window, old.info.replay_window);

		/* the rekey: successor in, a DELSA of nothing, the old one out */
		pattern(key, cap->key_len, 0xc0);
		assert_int_equal(xfrm_sa_rekeyed(&got, spi, key, cap->key_len, &new), 0);
		xfrm_batch_init(&batch);
		assert_int_equal(xfrm_batch_add_sa(&batch, XFRM_MSG_NEWSA, &new), 0);
		again = got;
		again.info.id.spi = htonl(0xdead);
		assert_int_equal(xfrm_batch_add_delsa(&batch, &again), 0);
		assert_int_equal(xfrm_batch_add_delsa(&batch, &got), 0);
		assert_int_equal(xfrm_batch_add_sa(&batch, XFRM_MSG_NEWSA, &new), 0);
		assert_int_equal(xfrm_client_run(c, &batch), -ESRCH);
		assert_int_equal(batch.err[0], 0);
		assert_int_equal(batch.err[1], -ESRCH);
		assert_int_equal(batch.err[2], 0);
		assert_int_equal(batch.err[3], -EEXIST);
		xfrm_batch_wipe(&batch);
		assert_int_equal(xfrm_sa_get(c, got.info.family, &got.info.id.daddr,
					     got.info.id.spi, IPPROTO_ESP, &mark, &again),
				 -ENOENT);
		assert_int_equal(xfrm_sa_get(c, got.info.family, &got.info.id.daddr, spi,
					     IPPROTO_ESP, &mark, &again),
				 0);
		assert_true(xfrm_sa_same_key(&again, &new));
		assert_false(xfrm_sa_same_key(&again, &got));
		assert_int_equal(xfrm_sa_rekeyed(&again, spi, key, cap->key_len, &old), 0);
		assert_memory_equal(&old.attrs, &new.attrs, sizeof(new.attrs));
	}
	assert_int_equal(xfrm_sa_dump(c, count_sa, &n), 0);
	assert_int_equal(n, ARRAY_SIZE(captures));
	xfrm_sa_wipe(&old);
	xfrm_sa_wipe(&new);
	xfrm_sa_wipe(&got);
	xfrm_sa_wipe(&again);
}

/* A dump stopped by its callback: the value comes back, the socket is left clean. */
static void test_kernel_dump_stop(void **state)
{
	struct xfrm_client *c = kernel_client(state);
	struct xfrm_sa tmpl, got;
	__be32 spi;
	int n = 0;

	parse_ok(msg_cbc_only, sizeof(msg_cbc_only), &tmpl);
	/* more than one read's worth of larval SAs (~350 bytes each) */
	for (unsigned int i = 0; i < 150; i++) {
		tmpl.info.reqid = 1000 + i;
		assert_int_equal(xfrm_spi_alloc(c, &tmpl, 0x10000, 0x1ffff, &spi), 0);
	}
	assert_int_equal(xfrm_sa_dump(c, count_sa, &n), 5);
	assert_int_equal(n, 100);
	n = -1000;
	assert_int_equal(xfrm_sa_dump(c, count_sa, &n), 0);
	assert_int_equal(n + 1000, 150);
	/* and the socket still answers the right request */
	assert_int_equal(xfrm_sa_get(c, AF_INET, &tmpl.info.id.daddr, htonl(5), IPPROTO_ESP,
				     NULL, &got),
			 -ENOENT);
}

/* --- policies ------------------------------------------------------------------------- */

#define POL_MARK_V 5
#define POL_IF_ID 7

/*
 * A NEWPOLICY as the kernel reports one (what 'ip xfrm policy add src 10.0.0.0/24 dst
 * 10.1.0.0/24 dir out priority 100 mark 5/0xff if_id 7 tmpl src 192.0.2.1 dst 192.0.2.2
 * proto esp spi SPI reqid 1 mode tunnel' makes), with ntmpl templates, the first pinned to
 * spi, and an attribute from a newer kernel.
 */
static void pol_msg(union msgbuf *mb, __be32 spi, unsigned int ntmpl)
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

static void pol_ok(const union msgbuf *mb, struct xfrm_pol *p)
{
	assert_int_equal(xfrm_pol_from_msg(&mb->nlh, mb->nlh.nlmsg_len, p), 0);
}

static void test_pol_parse(void **state)
{
	struct xfrm_user_tmpl t;
	struct xfrm_pol p;
	union msgbuf mb;

	(void)state;
	pol_msg(&mb, htonl(0x1000), 2);
	mnl_attr_put_u32(&mb.nlh, 300, 0xabcd); /* newer than us: kept */
	pol_ok(&mb, &p);
	assert_int_equal(p.info.dir, XFRM_POLICY_OUT);
	assert_int_equal(p.info.priority, 100);
	assert_int_equal(p.info.sel.prefixlen_d, 24);
	assert_int_equal(p.attrs_len, mb.nlh.nlmsg_len - NLMSG_HDRLEN -
					      NLMSG_ALIGN(sizeof(struct xfrm_userpolicy_info)));
	assert_int_equal(mnl_attr_get_u32(xfrm_pol_attr(&p, XFRMA_IF_ID)), POL_IF_ID);
	assert_int_equal(mnl_attr_get_u32(xfrm_pol_attr(&p, 300)), 0xabcd);
	assert_null(xfrm_pol_attr(&p, XFRMA_SEC_CTX));
	assert_int_equal(xfrm_pol_tmpl_count(&p), 2);
	assert_int_equal(xfrm_pol_tmpl(&p, 0, &t), 0);
	assert_int_equal(t.id.spi, htonl(0x1000));
	assert_int_equal(xfrm_pol_tmpl(&p, 1, &t), 0);
	assert_int_equal(t.id.spi, 0);
	assert_int_equal(t.reqid, 2);
	assert_int_equal(xfrm_pol_tmpl(&p, 2, &t), -ENOENT);
	/* a template changed in place, the others as they were */
	t.id.spi = htonl(0x2000);
	assert_int_equal(xfrm_pol_set_tmpl(&p, 0, &t), 0);
	assert_int_equal(xfrm_pol_set_tmpl(&p, 2, &t), -ENOENT);
	assert_int_equal(xfrm_pol_tmpl(&p, 0, &t), 0);
	assert_int_equal(t.id.spi, htonl(0x2000));
	assert_int_equal(xfrm_pol_tmpl(&p, 1, &t), 0);
	assert_int_equal(t.id.spi, 0);
	assert_int_equal(xfrm_pol_tmpl_count(&p), 2);
	/* a policy without templates (dir in, action block) */
	pol_msg(&mb, 0, 0);
	pol_ok(&mb, &p);
	assert_int_equal(xfrm_pol_tmpl_count(&p), 0);
	assert_int_equal(xfrm_pol_tmpl(&p, 0, &t), -ENOENT);
}

static void test_pol_broken(void **state)
{
	struct xfrm_user_tmpl t[8];
	struct xfrm_pol p;
	union msgbuf mb, whole;
	struct nlattr *a;

	(void)state;
	memset(t, 0, sizeof(t));
	/* cut anywhere (more announced than readable): refused, nothing left */
	pol_msg(&whole, htonl(0x1000), 2);
	for (size_t len = 0; len < whole.nlh.nlmsg_len; len++) {
		load(&mb, whole.bytes, len);
		mb.nlh.nlmsg_len = whole.nlh.nlmsg_len;
		memset(&p, 0x5a, sizeof(p));
		assert_int_equal(xfrm_pol_from_msg(&mb.nlh, len, &p), -EBADMSG);
		assert_int_equal(p.attrs_len, 0);
	}
	/* a length that ends inside the body or an attribute */
	load(&mb, whole.bytes, whole.nlh.nlmsg_len);
	mb.nlh.nlmsg_len = NLMSG_HDRLEN + sizeof(struct xfrm_userpolicy_info) - 1;
	assert_int_equal(xfrm_pol_from_msg(&mb.nlh, whole.nlh.nlmsg_len, &p), -EBADMSG);
	mb.nlh.nlmsg_len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct xfrm_userpolicy_info)) + 8;
	assert_int_equal(xfrm_pol_from_msg(&mb.nlh, whole.nlh.nlmsg_len, &p), -EBADMSG);
	/* an SA is not a policy, nor a policy an SA */
	load(&mb, whole.bytes, whole.nlh.nlmsg_len);
	mb.nlh.nlmsg_type = XFRM_MSG_NEWSA;
	assert_int_equal(xfrm_pol_from_msg(&mb.nlh, mb.nlh.nlmsg_len, &p), -EBADMSG);
	{
		struct xfrm_sa sa;

		assert_int_equal(xfrm_sa_from_msg(&whole.nlh, whole.nlh.nlmsg_len, &sa), -EBADMSG);
	}
	/* templates: part of one, or more than a bundle can hold */
	pol_msg(&mb, 0, 0);
	a = (struct nlattr *)(mb.bytes + NLMSG_HDRLEN +
			      NLMSG_ALIGN(sizeof(struct xfrm_userpolicy_info)));
	assert_int_equal(a->nla_type, XFRMA_TMPL);
	mnl_attr_put(&mb.nlh, XFRMA_TMPL, sizeof(t[0]) - 4, t);
	a->nla_type = 400; /* the empty one out of the way */
	assert_int_equal(xfrm_pol_from_msg(&mb.nlh, mb.nlh.nlmsg_len, &p), -EBADMSG);
	pol_msg(&mb, 0, 7);
	assert_int_equal(xfrm_pol_from_msg(&mb.nlh, mb.nlh.nlmsg_len, &p), -EBADMSG);
	pol_msg(&mb, 0, 6);
	pol_ok(&mb, &p);
	assert_int_equal(xfrm_pol_tmpl_count(&p), 6);
	/* twice the templates: which would the kernel take? */
	mnl_attr_put(&mb.nlh, XFRMA_TMPL, sizeof(t[0]), t);
	assert_int_equal(xfrm_pol_from_msg(&mb.nlh, mb.nlh.nlmsg_len, &p), -EBADMSG);
	/* a mark of the wrong size */
	pol_msg(&mb, 0, 1);
	mnl_attr_put_u32(&mb.nlh, XFRMA_POLICY_TYPE, 0);
	assert_int_equal(xfrm_pol_from_msg(&mb.nlh, mb.nlh.nlmsg_len, &p), -EBADMSG);
	/* and a batch refuses a policy whose attributes were spoiled after parsing */
	pol_msg(&mb, 0, 1);
	pol_ok(&mb, &p);
	p.attrs_len = XFRM_ATTRS_MAX + 4;
	xfrm_batch_init(&batch);
	assert_int_equal(xfrm_batch_add_pol(&batch, XFRM_MSG_NEWPOLICY, &p), -EINVAL);
	assert_int_equal(xfrm_batch_add_delpol(&batch, &p), -EINVAL);
	pol_ok(&mb, &p);
	assert_int_equal(xfrm_batch_add_pol(&batch, XFRM_MSG_NEWSA, &p), -EINVAL);
	assert_int_equal(batch.n, 0);
}

/*
 * Found by fuzz_xfrm_client: a message whose nlmsg_len is 0xffffffff passed libmnl's
 * mnl_nlmsg_ok (a signed comparison) and mnl_nlmsg_next stepped by 0: a datagram like this
 * hung the reader. It is refused now, and so is a length past the datagram.
 */
static void test_answers_huge_nlmsg_len(void **state)
{
	uint8_t buf[64] __attribute__((aligned(4))) = { 0 };
	struct nlmsghdr *first = (struct nlmsghdr *)buf, *second = (struct nlmsghdr *)(buf + 32);
	int err[2] = { ANSWER_PENDING, ANSWER_PENDING };
	struct answers w = { .seq = 1, .n = 2, .pending = 2, .err = err };

	(void)state;
	first->nlmsg_len = 32;
	first->nlmsg_type = NLMSG_NOOP;
	memset(second, 0xff, 32);
	assert_int_equal(answers_process(&w, buf, sizeof(buf), 0), -EBADMSG);
	second->nlmsg_len = 33; /* one byte past the end */
	assert_int_equal(answers_process(&w, buf, sizeof(buf), 0), -EBADMSG);
	second->nlmsg_len = 31; /* the last one without its padding: fine */
	second->nlmsg_type = NLMSG_NOOP;
	second->nlmsg_seq = 0;
	second->nlmsg_pid = 0;
	second->nlmsg_flags = 0;
	assert_int_equal(answers_process(&w, buf, 63, 0), 0);
	assert_int_equal(w.pending, 2);
}

/* Attribute padding in a request is zeroes, whatever the buffer held before (libmnl 1.0.4
 * leaves it alone: an earlier request's key bytes would go to the kernel). */
static void test_batch_padding_zeroed(void **state)
{
	struct xfrm_userpolicy_type type = { .type = XFRM_POLICY_TYPE_MAIN };
	const struct nlattr *a;
	struct xfrm_pol p;
	union msgbuf mb;

	(void)state;
	pol_msg(&mb, 0, 1);
	mnl_attr_put(&mb.nlh, XFRMA_POLICY_TYPE, sizeof(type), &type); /* 6 bytes: 2 of padding */
	pol_ok(&mb, &p);
	xfrm_batch_init(&batch);
	memset(batch.buf, 0xa5, sizeof(batch.buf));
	assert_int_equal(xfrm_batch_add_pol(&batch, XFRM_MSG_NEWPOLICY, &p), 0);
	assert_int_equal(xfrm_batch_add_delpol(&batch, &p), 0);
	for (unsigned int m = 0; m < 2; m++) {
		const struct nlmsghdr *nlh = batch_msg(&batch, m);
		size_t off = m ? sizeof(struct xfrm_userpolicy_id) : sizeof(struct xfrm_userpolicy_info);
		int found = 0;

		mnl_attr_for_each(a, nlh, off)
		{
			size_t len = mnl_attr_get_payload_len(a);
			const uint8_t *pad = (const uint8_t *)mnl_attr_get_payload(a) + len;

			for (size_t i = len; i < MNL_ALIGN(len); i++)
				assert_int_equal(pad[i - len], 0);
			found += mnl_attr_get_type(a) == XFRMA_POLICY_TYPE;
		}
		assert_int_equal(found, 1);
	}
	xfrm_batch_wipe(&batch);
}

/* The policy the kernel reports is the one we gave it, whatever the way we ask for it. */
static void assert_same_pol(const struct xfrm_pol *got, const struct xfrm_pol *want)
{
	struct xfrm_user_tmpl a, b;

	assert_memory_equal(&got->info.sel, &want->info.sel, sizeof(want->info.sel));
	assert_int_equal(got->info.dir, want->info.dir);
	assert_int_equal(got->info.action, want->info.action);
	assert_int_equal(got->info.priority, want->info.priority);
	assert_int_equal(xfrm_pol_tmpl_count(got), xfrm_pol_tmpl_count(want));
	for (unsigned int i = 0; i < xfrm_pol_tmpl_count(want); i++) {
		assert_int_equal(xfrm_pol_tmpl(got, i, &a), 0);
		assert_int_equal(xfrm_pol_tmpl(want, i, &b), 0);
		assert_memory_equal(&a, &b, sizeof(a));
	}
	assert_memory_equal(mnl_attr_get_payload(xfrm_pol_attr(got, XFRMA_MARK)),
			    mnl_attr_get_payload(xfrm_pol_attr(want, XFRMA_MARK)),
			    sizeof(struct xfrm_mark));
	assert_int_equal(mnl_attr_get_u32(xfrm_pol_attr(got, XFRMA_IF_ID)), POL_IF_ID);
}

static int count_pol(void *ctx, const struct xfrm_pol *p)
{
	(void)p;
	++*(int *)ctx;
	return 0;
}

/* NEWPOLICY, GETPOLICY (by selector, by index, dump), UPDPOLICY of a template, DELPOLICY. */
static void test_kernel_policy(void **state)
{
	struct xfrm_client *c = kernel_client(state);
	struct xfrm_pol want, got, by_index;
	struct xfrm_user_tmpl t;
	union msgbuf mb;
	int n = 0;

	pol_msg(&mb, htonl(0x1000), 2);
	pol_ok(&mb, &want);
	assert_int_equal(xfrm_pol_get(c, &want, &got), -ENOENT);
	xfrm_batch_init(&batch);
	assert_int_equal(xfrm_batch_add_pol(&batch, XFRM_MSG_NEWPOLICY, &want), 0);
	assert_int_equal(xfrm_batch_add_pol(&batch, XFRM_MSG_NEWPOLICY, &want), 0);
	assert_int_equal(xfrm_client_run(c, &batch), -EEXIST);
	assert_int_equal(batch.err[0], 0);
	assert_int_equal(batch.err[1], -EEXIST);
	/* by selector, direction, mark and if_id */
	assert_int_equal(xfrm_pol_get(c, &want, &got), 0);
	assert_same_pol(&got, &want);
	assert_int_not_equal(got.info.index, 0);
	assert_int_equal(xfrm_pol_dump(c, count_pol, &n), 0);
	assert_int_equal(n, 1);
	/* another mark names another policy */
	by_index = want;
	((struct xfrm_mark *)mnl_attr_get_payload(xfrm_pol_attr(&by_index, XFRMA_MARK)))->v = 6;
	assert_int_equal(xfrm_pol_get(c, &by_index, &by_index), -ENOENT);

	/* UPDPOLICY: the first template follows a new SPI */
	assert_int_equal(xfrm_pol_tmpl(&got, 0, &t), 0);
	t.id.spi = htonl(0x2000);
	assert_int_equal(xfrm_pol_set_tmpl(&got, 0, &t), 0);
	xfrm_batch_wipe(&batch);
	assert_int_equal(xfrm_batch_add_pol(&batch, XFRM_MSG_UPDPOLICY, &got), 0);
	assert_int_equal(xfrm_client_run(c, &batch), 0);
	/* by index, which the update kept */
	memset(&by_index, 0, sizeof(by_index));
	by_index.info.index = got.info.index;
	by_index.info.dir = XFRM_POLICY_OUT;
	memcpy(by_index.attrs, got.attrs, got.attrs_len); /* its mark and if_id name it too */
	by_index.attrs_len = got.attrs_len;
	assert_int_equal(xfrm_pol_get(c, &by_index, &by_index), 0);
	assert_same_pol(&by_index, &got);
	assert_int_equal(by_index.info.index, got.info.index);
	assert_int_equal(xfrm_pol_tmpl(&by_index, 0, &t), 0);
	assert_int_equal(t.id.spi, htonl(0x2000));

	/* DELPOLICY, twice: the second finds nothing */
	xfrm_batch_wipe(&batch);
	assert_int_equal(xfrm_batch_add_delpol(&batch, &want), 0);
	assert_int_equal(xfrm_batch_add_delpol(&batch, &want), 0);
	assert_int_equal(xfrm_client_run(c, &batch), -ENOENT);
	assert_int_equal(batch.err[0], 0);
	assert_int_equal(batch.err[1], -ENOENT);
	xfrm_batch_wipe(&batch);
	assert_int_equal(xfrm_pol_get(c, &want, &got), -ENOENT);
	n = 0;
	assert_int_equal(xfrm_pol_dump(c, count_pol, &n), 0);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_captures),
		cmocka_unit_test(test_parse_aead_full),
		cmocka_unit_test(test_parse_cbc_full),
		cmocka_unit_test(test_parse_traffic),
		cmocka_unit_test(test_parse_ipv6),
		cmocka_unit_test(test_key_len),
		cmocka_unit_test(test_key_len_mixed),
		cmocka_unit_test(test_describe_algs),
		cmocka_unit_test(test_rekeyed_captures),
		cmocka_unit_test(test_rekeyed_aead),
		cmocka_unit_test(test_rekeyed_crypt_auth),
		cmocka_unit_test(test_rekeyed_auth_only),
		cmocka_unit_test(test_rekeyed_drops_life),
		cmocka_unit_test(test_rekeyed_bad_key_len),
		cmocka_unit_test(test_siblings),
		cmocka_unit_test(test_rekeyed_in_place),
		cmocka_unit_test(test_same_key),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_nlmsg_len),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_attr_wrong_size),
		cmocka_unit_test(test_key_overruns_attr),
		cmocka_unit_test(test_esn_bitmap),
		cmocka_unit_test(test_sec_ctx),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_attr_overruns),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_attr_lookup),
		cmocka_unit_test(test_batch_build),
		cmocka_unit_test(test_batch_full),
		cmocka_unit_test(test_batch_bad),
		cmocka_unit_test(test_batch_wipe),
		cmocka_unit_test(test_answers_acks),
		cmocka_unit_test(test_answers_broken),
		cmocka_unit_test(test_answers_replies),
		cmocka_unit_test(test_seq_numbers),
		cmocka_unit_test(test_pol_parse),
		cmocka_unit_test(test_pol_broken),
		cmocka_unit_test(test_batch_padding_zeroed),
		cmocka_unit_test(test_answers_huge_nlmsg_len),
		/* the real kernel, each test in a network namespace of its own */
		cmocka_unit_test_setup_teardown(test_kernel_errors, kernel_setup, kernel_teardown),
		cmocka_unit_test_setup_teardown(test_kernel_spi_alloc, kernel_setup, kernel_teardown),
		cmocka_unit_test_setup_teardown(test_kernel_rekey, kernel_setup, kernel_teardown),
		cmocka_unit_test_setup_teardown(test_kernel_dump_stop, kernel_setup, kernel_teardown),
		cmocka_unit_test_setup_teardown(test_kernel_policy, kernel_setup, kernel_teardown),
	};

	return cmocka_run_group_tests_name("xfrm_client", tests, NULL, NULL);
}
