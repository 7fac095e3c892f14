// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for userspace/rekey/xfrm_client.c: batches built, answers matched to their requests,
 * and, where we may (root: a private network namespace), the real kernel. The SAs and
 * policies sent are test_xfrm_sa.c's business.
 *
 * The kernel tests need ESP for the rekey itself, which the development host lacks:
 * tests/unit/data/test-xfrm-client-vm runs this driver in the VM.
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

#include "xfrm_client.c"

#include "xfrm_fixtures.h"

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

/* A batch refuses a policy whose attributes were spoiled after parsing. */
static void test_batch_spoiled_pol(void **state)
{
	struct xfrm_pol p;
	union msgbuf mb;

	(void)state;
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
		cmocka_unit_test(test_batch_build),
		cmocka_unit_test(test_batch_full),
		cmocka_unit_test(test_batch_bad),
		cmocka_unit_test(test_batch_wipe),
		cmocka_unit_test(test_answers_acks),
		cmocka_unit_test(test_answers_broken),
		cmocka_unit_test(test_answers_replies),
		cmocka_unit_test(test_seq_numbers),
		cmocka_unit_test(test_batch_padding_zeroed),
		cmocka_unit_test(test_answers_huge_nlmsg_len),
		cmocka_unit_test(test_batch_spoiled_pol),
		/* the real kernel, each test in a network namespace of its own */
		cmocka_unit_test_setup_teardown(test_kernel_errors, kernel_setup, kernel_teardown),
		cmocka_unit_test_setup_teardown(test_kernel_spi_alloc, kernel_setup, kernel_teardown),
		cmocka_unit_test_setup_teardown(test_kernel_rekey, kernel_setup, kernel_teardown),
		cmocka_unit_test_setup_teardown(test_kernel_dump_stop, kernel_setup, kernel_teardown),
		cmocka_unit_test_setup_teardown(test_kernel_policy, kernel_setup, kernel_teardown),
	};

	return cmocka_run_group_tests_name("xfrm_client", tests, NULL, NULL);
}
