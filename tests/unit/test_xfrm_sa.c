// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for userspace/rekey/xfrm_sa.c: real GETSA replies parsed, rekeyed and broken in every
 * way a parser must survive; policies parsed and broken. No socket: the transport's driver
 * is test_xfrm_client.c.
 *
 * The msg_ arrays (data/getsa-replies.h) were captured from Debian 12's kernel
 * (6.1.0-56-amd64, iproute2 6.1.0) in the test VM by tests/unit/data/capture-getsa-replies;
 * the ip-xfrm command and 'ip -s xfrm state get' of each SA are quoted above each array.
 * Keys are dummies.
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

#include "xfrm_sa.c"

#include "xfrm_fixtures.h"

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

/* --- policies ------------------------------------------------------------------------- */

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
		cmocka_unit_test(test_pol_parse),
		cmocka_unit_test(test_pol_broken),
	};

	return cmocka_run_group_tests_name("xfrm_sa", tests, NULL, NULL);
}
