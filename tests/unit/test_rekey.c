// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for userspace/rekey/rekey.c with netlink mocked: what rekey_open makes of the SAs a
 * killed make-before-break left, and how a later run completes it. The SAs are the captured
 * AES-GCM pair (data/getsa-replies.h), their leftovers built as rekey builds successors.
 *
 * HOW TO ADD A MOCKED FUNCTION: name it in WRAP_test_rekey (Makefile), declare __real_fn,
 * and write __wrap_fn so that it calls __real_fn unless mock_netlink is set (the tests that
 * arm the mocks set it in their setup). The mocks answer from cmocka's queues
 * (will_return) and log what was asked of them in sent[].
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "rekey.c"

#include "data/getsa-replies.h"
#include "xfrm_uapi.h"

#define OUT_NS 4026532101u /* the namespaces' inode numbers, as netns_open gives them */
#define IN_NS 4026532102u
#define LIVE 0x200u         /* the captured pair's SPI */
#define LEFTOVER 0x5a5a0001u /* the new SA of a killed make-before-break */
#define STRANGER 0x77770001u /* a sibling someone else made */
#define NEW_SPI 0x6b6b0001u
#define CPU_SPI 0x300u      /* per-CPU SAs: CPU n's SPI is CPU_SPI + n */
#define SEC 1000000000ull

/* --- the mocks --------------------------------------------------------------------------- */

static bool mock_netlink;
static __u64 mock_now = 1000 * SEC;

int __real_netns_open(const char *name, int *fd, __u32 *inum);
int __real_xfrm_client_open(struct xfrm_client *c, int nsfd);
int __real_xfrm_sa_dump(struct xfrm_client *c, xfrm_sa_fn fn, void *ctx);
int __real_xfrm_client_run(struct xfrm_client *c, struct xfrm_batch *b);
__u64 __real_monotonic_ns(void);
int __wrap_netns_open(const char *name, int *fd, __u32 *inum);
int __wrap_xfrm_client_open(struct xfrm_client *c, int nsfd);
int __wrap_xfrm_sa_dump(struct xfrm_client *c, xfrm_sa_fn fn, void *ctx);
int __wrap_xfrm_client_run(struct xfrm_client *c, struct xfrm_batch *b);
__u64 __wrap_monotonic_ns(void);

/* The inode number given: the next will_return. */
int __wrap_netns_open(const char *name, int *fd, __u32 *inum)
{
	if (!mock_netlink)
		return __real_netns_open(name, fd, inum);
	check_expected(name);
	*fd = -1;
	*inum = mock_type(__u32);
	return 0;
}

/* No socket: nl stays NULL, so rekey_close does not close one. */
int __wrap_xfrm_client_open(struct xfrm_client *c, int nsfd)
{
	if (!mock_netlink)
		return __real_xfrm_client_open(c, nsfd);
	memset(c, 0, sizeof(*c));
	return 0;
}

/* What a dump lists: the next will_return. */
struct sa_list {
	unsigned int n;
	const struct xfrm_sa *sa[4];
};

int __wrap_xfrm_sa_dump(struct xfrm_client *c, xfrm_sa_fn fn, void *ctx)
{
	const struct sa_list *l;
	int ret = 0;

	if (!mock_netlink)
		return __real_xfrm_sa_dump(c, fn, ctx);
	l = mock_ptr_type(const struct sa_list *);
	for (unsigned int i = 0; i < l->n && !ret; i++)
		ret = fn(ctx, l->sa[i]);
	return ret;
}

/* Every request is acked; the log says which side had which request for which SPI. */
struct request {
	const struct xfrm_client *c;
	__u16 type;
	__u32 spi; /* host order */
};

static struct request sent[64];
static unsigned int n_sent;

int __wrap_xfrm_client_run(struct xfrm_client *c, struct xfrm_batch *b)
{
	const char *at = b->buf;

	if (!mock_netlink)
		return __real_xfrm_client_run(c, b);
	for (unsigned int i = 0; i < b->n; i++) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)at;
		const void *body = mnl_nlmsg_get_payload(nlh);
		__be32 spi;

		if (nlh->nlmsg_type == XFRM_MSG_DELSA)
			spi = ((const struct xfrm_usersa_id *)body)->spi;
		else
			spi = ((const struct xfrm_usersa_info *)body)->id.spi;
		assert_true(n_sent < sizeof(sent) / sizeof(sent[0]));
		sent[n_sent++] = (struct request){ c, nlh->nlmsg_type, ntohl(spi) };
		b->err[i] = 0;
		at += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	c->messages += b->n;
	c->syscalls += 2;
	return 0;
}

__u64 __wrap_monotonic_ns(void)
{
	return mock_netlink ? mock_now : __real_monotonic_ns();
}

/* --- SAs and journals -------------------------------------------------------------------- */

struct fixture {
	char dir[64];
	char journal[160]; /* the pair's journal in dir */
	struct rekey_target target;
	struct xfrm_sa out, in;                     /* the pair, SPI LIVE */
	struct xfrm_sa out_left, in_left;           /* its siblings, SPI LEFTOVER */
	struct xfrm_sa out_stranger, in_stranger;   /* siblings, SPI STRANGER */
	struct xfrm_sa in_other;                    /* not a sibling (another reqid), LEFTOVER */
	struct xfrm_sa out_cpu[2], in_cpu[2];       /* per-CPU SAs of CPU 0 and 1, CPU_SPI + n */
	struct sa_list out_dump, in_dump;
};

static void sibling(const struct xfrm_sa *sa, __u32 spi, __u8 key_byte, struct xfrm_sa *out)
{
	__u8 key[64];
	size_t len;

	assert_int_equal(xfrm_sa_key_len(sa, &len), 0);
	memset(key, key_byte, sizeof(key));
	assert_int_equal(xfrm_sa_rekeyed(sa, htonl(spi), key, len, out), 0);
	out->info.curlft.add_time = sa->info.curlft.add_time - 10; /* older: made before */
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	snprintf(f.dir, sizeof(f.dir), "/tmp/rekeygap-rekey-XXXXXX");
	if (!mkdtemp(f.dir))
		return -1;
	journal_dir = f.dir;
	if (xfrm_sa_from_msg((const struct nlmsghdr *)msg_aead_out, sizeof(msg_aead_out),
			     &f.out) ||
	    xfrm_sa_from_msg((const struct nlmsghdr *)msg_aead_in, sizeof(msg_aead_in), &f.in))
		return -1;
	assert_int_equal(ntohl(f.out.info.id.spi), LIVE);
	assert_int_equal(ntohl(f.in.info.id.spi), LIVE);
	sibling(&f.out, LEFTOVER, 0x11, &f.out_left);
	sibling(&f.in, LEFTOVER, 0x11, &f.in_left);
	sibling(&f.out, STRANGER, 0x22, &f.out_stranger);
	sibling(&f.in, STRANGER, 0x22, &f.in_stranger);
	sibling(&f.in, LEFTOVER, 0x11, &f.in_other);
	f.in_other.info.reqid++;
	for (__u32 cpu = 0; cpu < 2; cpu++) {
		sibling(&f.out, CPU_SPI + cpu, 0x33, &f.out_cpu[cpu]);
		sibling(&f.in, CPU_SPI + cpu, 0x33, &f.in_cpu[cpu]);
		assert_int_equal(xfrm_sa_put_attr(&f.out_cpu[cpu], XFRM_UAPI_ATTR_SA_PCPU, &cpu,
						  sizeof(cpu)), 0);
		assert_int_equal(xfrm_sa_put_attr(&f.in_cpu[cpu], XFRM_UAPI_ATTR_SA_PCPU, &cpu,
						  sizeof(cpu)), 0);
	}
	f.target.family = AF_INET;
	f.target.saddr = f.out.info.saddr;
	f.target.daddr = f.out.info.id.daddr;
	snprintf(f.journal, sizeof(f.journal), "%s/mbb-%u-%u-192.0.2.2-192.0.2.1", f.dir, OUT_NS,
		 IN_NS);
	n_sent = 0;
	mock_now = 1000 * SEC;
	mock_netlink = true;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mock_netlink = false;
	journal_dir = REKEY_JOURNAL_DIR;
	unlink(f->journal);
	return rmdir(f->dir);
}

/* What a killed run wrote: these SPIs, in the pair's journal. */
static void killed_run_wrote(struct fixture *f, const __u32 *spis, unsigned int n)
{
	struct rekey_journal j;
	__be32 be[8];

	for (unsigned int i = 0; i < n; i++)
		be[i] = htonl(spis[i]);
	rekey_journal_open(&j, f->dir, OUT_NS, IN_NS, &f->target);
	assert_int_equal(rekey_journal_write(&j, be, n), 0);
	rekey_journal_close(&j, false);
}

/* rekey_open of the pair, the out side's dump listing out, the in side's in. */
static int open_pair(struct fixture *f, struct rekey **rk, char *err, size_t errlen)
{
	expect_string(__wrap_netns_open, name, "ns-out");
	will_return(__wrap_netns_open, OUT_NS);
	will_return(__wrap_xfrm_sa_dump, &f->out_dump);
	expect_string(__wrap_netns_open, name, "ns-in");
	will_return(__wrap_netns_open, IN_NS);
	will_return(__wrap_xfrm_sa_dump, &f->in_dump);
	err[0] = '\0';
	return rekey_open(rk, "ns-out", "ns-in", &f->target, err, errlen);
}

/* How many requests of this type for this SPI went to this side. */
static unsigned int count_sent(const struct xfrm_client *c, __u16 type, __u32 spi)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < n_sent; i++)
		n += sent[i].c == c && sent[i].type == type && sent[i].spi == spi;
	return n;
}

/* --- leftovers --------------------------------------------------------------------------- */

/*
 * Killed between its NEWSAs and the deletions: the journal names LEFTOVER, both sides have
 * the pair and a sibling with that SPI. Adopted, kept through the next rekey, deleted once
 * the drain (out) and grace (in) times are over; then the journal goes.
 */
static void test_adopted_and_deleted_after_grace(void **state)
{
	struct fixture *f = *state;
	const __u32 journal[] = { LIVE, LEFTOVER };
	struct rekey_options opt = {
		.strategy = REKEY_MAKE_BEFORE_BREAK,
		.grace_ns = 30 * SEC,
		.drain_ns = 2 * SEC,
		.new_spi = htonl(NEW_SPI),
	};
	struct rekey_journal written;
	struct rekey_report rep;
	struct rekey *rk = NULL;
	char err[256];
	struct rekey_side *out, *in;

	killed_run_wrote(f, journal, 2);
	f->out_dump = (struct sa_list){ 2, { &f->out, &f->out_left } };
	f->in_dump = (struct sa_list){ 2, { &f->in_left, &f->in } };
	assert_int_equal(open_pair(f, &rk, err, sizeof(err)), 0);
	assert_string_equal(rekey_note(rk),
			    "spi 0x5a5a0001 in ns-out, spi 0x5a5a0001 in ns-in: left by an "
			    "interrupted make-before-break; deleted after the drain or grace time");
	out = &rk->out;
	in = &rk->in;
	assert_int_equal(ntohl(out->sa.info.id.spi), LIVE);
	assert_int_equal(ntohl(in->sa.info.id.spi), LIVE);
	assert_int_equal(n_sent, 0); /* nothing deleted at open */

	/* the next rekey: new SAs on both sides, the leftovers' clocks start */
	assert_int_equal(rekey_run(rk, &opt, &rep, err, sizeof(err)), 0);
	assert_int_equal(ntohl(rep.new_spi), NEW_SPI);
	assert_int_equal(count_sent(&in->c, XFRM_MSG_NEWSA, NEW_SPI), 1);
	assert_int_equal(count_sent(&out->c, XFRM_MSG_NEWSA, NEW_SPI), 1);
	assert_int_equal(count_sent(&in->c, XFRM_MSG_DELSA, LEFTOVER), 0);
	assert_int_equal(count_sent(&out->c, XFRM_MSG_DELSA, LEFTOVER), 0);
	/* before it started, the journal named the pair, the leftover and the new SPI */
	rekey_journal_open(&written, f->dir, OUT_NS, IN_NS, &f->target);
	assert_true(rekey_journal_has(&written, htonl(LIVE)));
	assert_true(rekey_journal_has(&written, htonl(LEFTOVER)));
	assert_true(rekey_journal_has(&written, htonl(NEW_SPI)));

	/* within the drain time: nothing goes */
	mock_now += 1 * SEC;
	assert_int_equal(rekey_expire_grace(rk, false, err, sizeof(err)), 0);
	assert_int_equal(n_sent, 2);
	/* after the drain time, the outbound leftover and the replaced SA */
	mock_now += 2 * SEC;
	assert_int_equal(rekey_expire_grace(rk, false, err, sizeof(err)), 0);
	assert_int_equal(count_sent(&out->c, XFRM_MSG_DELSA, LEFTOVER), 1);
	assert_int_equal(count_sent(&out->c, XFRM_MSG_DELSA, LIVE), 1);
	assert_int_equal(count_sent(&in->c, XFRM_MSG_DELSA, LEFTOVER), 0);
	assert_int_equal(access(f->journal, F_OK), 0); /* the inbound ones are still there */
	/* after the grace time, the inbound ones */
	mock_now += 30 * SEC;
	assert_int_equal(rekey_expire_grace(rk, false, err, sizeof(err)), 0);
	assert_int_equal(count_sent(&in->c, XFRM_MSG_DELSA, LEFTOVER), 1);
	assert_int_equal(count_sent(&in->c, XFRM_MSG_DELSA, LIVE), 1);
	assert_int_equal(n_sent, 6);
	assert_int_equal(count_sent(&out->c, XFRM_MSG_DELSA, NEW_SPI) +
				 count_sent(&in->c, XFRM_MSG_DELSA, NEW_SPI),
			 0);
	rekey_close(rk);
	assert_int_equal(n_sent, 6);
	assert_int_equal(access(f->journal, F_OK), -1); /* nothing left: no journal */
}

/* rekey_close before the next rekey still deletes adopted leftovers (flush), and only them. */
static void test_adopted_deleted_at_close(void **state)
{
	struct fixture *f = *state;
	const __u32 journal[] = { LEFTOVER };
	const struct xfrm_client *in_c;
	struct rekey *rk = NULL;
	char err[256];

	killed_run_wrote(f, journal, 1);
	f->out_dump = (struct sa_list){ 1, { &f->out } }; /* killed before the sender's NEWSA */
	f->in_dump = (struct sa_list){ 2, { &f->in_left, &f->in } };
	assert_int_equal(open_pair(f, &rk, err, sizeof(err)), 0);
	assert_string_equal(rekey_note(rk), "spi 0x5a5a0001 in ns-in: left by an interrupted "
					    "make-before-break; deleted after the drain or grace "
					    "time");
	in_c = &rk->in.c; /* compared, never read, once rk is gone */
	rekey_close(rk);
	assert_int_equal(n_sent, 1);
	assert_int_equal(count_sent(in_c, XFRM_MSG_DELSA, LEFTOVER), 1);
	assert_int_equal(access(f->journal, F_OK), -1);
}

/* A sibling the journal does not name is someone else's: refused, nothing deleted. */
static void test_sibling_not_in_journal(void **state)
{
	struct fixture *f = *state;
	const __u32 journal[] = { LIVE, LEFTOVER };
	struct rekey *rk = NULL;
	char err[256];

	killed_run_wrote(f, journal, 2);
	f->out_dump = (struct sa_list){ 3, { &f->out, &f->out_left, &f->out_stranger } };
	f->in_dump = (struct sa_list){ 2, { &f->in, &f->in_left } };
	assert_int_equal(open_pair(f, &rk, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "3 ESP SAs from 192.0.2.2 to 192.0.2.1 in ns-out (spi 0x00000200, "
				 "0x5a5a0001, 0x77770001): choose one with --spi");
	assert_int_equal(n_sent, 0);
	assert_int_equal(access(f->journal, F_OK), 0); /* not ours: left as it was */
}

/* No journal: no SA is taken for a leftover, sibling or not. */
static void test_no_journal(void **state)
{
	struct fixture *f = *state;
	struct rekey *rk = NULL;
	char err[256];

	f->out_dump = (struct sa_list){ 2, { &f->out, &f->out_left } };
	f->in_dump = (struct sa_list){ 2, { &f->in, &f->in_left } };
	assert_int_equal(open_pair(f, &rk, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "2 ESP SAs from 192.0.2.2 to 192.0.2.1 in ns-out (spi 0x00000200, "
				 "0x5a5a0001): choose one with --spi");
	assert_int_equal(n_sent, 0);
	assert_int_equal(access(f->journal, F_OK), -1);
}

/* Named in the journal but not a sibling (another reqid): set up on purpose, refused. */
static void test_journal_names_a_stranger(void **state)
{
	struct fixture *f = *state;
	const __u32 journal[] = { LIVE, LEFTOVER };
	struct rekey *rk = NULL;
	char err[256];

	killed_run_wrote(f, journal, 2);
	f->out_dump = (struct sa_list){ 1, { &f->out } };
	f->in_dump = (struct sa_list){ 2, { &f->in, &f->in_other } };
	assert_int_equal(open_pair(f, &rk, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "2 ESP SAs from 192.0.2.2 to 192.0.2.1 in ns-in (spi 0x00000200, "
				 "0x5a5a0001): choose one with --spi");
	assert_int_equal(n_sent, 0);
}

/* A clean pair: no note, and a make-before-break that completes leaves no journal. */
static void test_clean_pair(void **state)
{
	struct fixture *f = *state;
	struct rekey_options opt = {
		.strategy = REKEY_MAKE_BEFORE_BREAK,
		.new_spi = htonl(NEW_SPI),
	};
	struct rekey_report rep;
	struct rekey *rk = NULL;
	char err[256];

	f->out_dump = (struct sa_list){ 1, { &f->out } };
	f->in_dump = (struct sa_list){ 1, { &f->in } };
	assert_int_equal(open_pair(f, &rk, err, sizeof(err)), 0);
	assert_string_equal(rekey_note(rk), "");
	assert_int_equal(rekey_run(rk, &opt, &rep, err, sizeof(err)), 0);
	assert_int_equal(access(f->journal, F_OK), 0); /* the old SAs wait: journal kept */
	rekey_close(rk);
	assert_int_equal(n_sent, 4); /* NEWSA and, at close, DELSA of the old SA, each side */
	assert_int_equal(access(f->journal, F_OK), -1);
}

/* --- per-CPU SAs ------------------------------------------------------------------------ */

/*
 * A flow with an SA of no CPU and one per CPU: --pcpu 1 takes CPU 1's pair alone (the others
 * are no leftovers of it), its successor is CPU 1's too, its journal is its own.
 */
static void test_pcpu_sa_of_one_cpu(void **state)
{
	struct fixture *f = *state;
	struct rekey_options opt = {
		.strategy = REKEY_MAKE_BEFORE_BREAK,
		.new_spi = htonl(NEW_SPI),
	};
	struct rekey_report rep;
	struct rekey *rk = NULL;
	char err[256], journal[200];
	__u32 cpu;

	f->target.per_cpu = true;
	f->target.pcpu_num = 1;
	f->out_dump = (struct sa_list){ 3, { &f->out_cpu[0], &f->out, &f->out_cpu[1] } };
	f->in_dump = (struct sa_list){ 3, { &f->in_cpu[1], &f->in_cpu[0], &f->in } };
	assert_int_equal(open_pair(f, &rk, err, sizeof(err)), 0);
	assert_string_equal(rekey_note(rk), "");
	assert_int_equal(ntohl(rk->out.sa.info.id.spi), CPU_SPI + 1);
	assert_int_equal(ntohl(rk->in.sa.info.id.spi), CPU_SPI + 1);
	assert_int_equal(rekey_run(rk, &opt, &rep, err, sizeof(err)), 0);
	assert_int_equal(ntohl(rep.old_spi), CPU_SPI + 1);
	assert_true(xfrm_sa_pcpu(&rk->out.sa, &cpu));
	assert_int_equal(cpu, 1);
	assert_true(xfrm_sa_pcpu(&rk->in.sa, &cpu));
	assert_int_equal(cpu, 1);
	snprintf(journal, sizeof(journal), "%s-cpu1", f->journal);
	assert_int_equal(access(journal, F_OK), 0);
	assert_int_equal(access(f->journal, F_OK), -1);
	rekey_close(rk);
	/* only CPU 1's old pair went */
	assert_int_equal(n_sent, 4);
	for (unsigned int i = 0; i < n_sent; i++)
		assert_true(sent[i].spi == NEW_SPI || sent[i].spi == CPU_SPI + 1);
	assert_int_equal(access(journal, F_OK), -1);
}

/* rekey_open of the out side alone, failing there: its error. */
static int open_out_fails(struct fixture *f, char *err, size_t errlen)
{
	struct rekey *rk = NULL;

	expect_string(__wrap_netns_open, name, "ns-out");
	will_return(__wrap_netns_open, OUT_NS);
	will_return(__wrap_xfrm_sa_dump, &f->out_dump);
	return rekey_open(&rk, "ns-out", "ns-in", &f->target, err, errlen);
}

/* Per-CPU SAs are never taken without --pcpu, nor of another CPU: the error says why. */
static void test_pcpu_not_taken(void **state)
{
	struct fixture *f = *state;
	char err[256];

	f->out_dump = (struct sa_list){ 2, { &f->out_cpu[0], &f->out_cpu[1] } };
	assert_int_equal(open_out_fails(f, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no ESP SA from 192.0.2.2 to 192.0.2.1 in ns-out (only per-CPU "
				 "SAs: choose one with --pcpu CPU, or --pcpu all)");
	f->target.per_cpu = true;
	f->target.pcpu_num = 5;
	assert_int_equal(open_out_fails(f, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no ESP SA from 192.0.2.2 to 192.0.2.1 of cpu 5 in ns-out (the "
				 "per-CPU SAs there are of other CPUs: --pcpu all takes each)");
	f->out_dump = (struct sa_list){ 1, { &f->out } };
	assert_int_equal(open_out_fails(f, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no ESP SA from 192.0.2.2 to 192.0.2.1 of cpu 5 in ns-out (no "
				 "per-CPU SAs there: leave out --pcpu)");
	assert_int_equal(n_sent, 0);
}

/* The CPUs of a flow's per-CPU SAs: each once, ascending; more than max is an error. */
static void test_pcpu_nums(void **state)
{
	struct fixture *f = *state;
	struct sa_list dump = { 4, { &f->out_cpu[1], &f->out, &f->out_cpu[0], &f->out_cpu[1] } };
	__u32 nums[2];
	char err[256];

	expect_string(__wrap_netns_open, name, "ns-out");
	will_return(__wrap_netns_open, OUT_NS);
	will_return(__wrap_xfrm_sa_dump, &dump);
	assert_int_equal(rekey_pcpu_nums("ns-out", &f->target, nums, 2, err, sizeof(err)), 2);
	assert_int_equal(nums[0], 0);
	assert_int_equal(nums[1], 1);
	expect_string(__wrap_netns_open, name, "ns-out");
	will_return(__wrap_netns_open, OUT_NS);
	will_return(__wrap_xfrm_sa_dump, &dump);
	assert_int_equal(rekey_pcpu_nums("ns-out", &f->target, nums, 1, err, sizeof(err)),
			 -E2BIG);
	assert_string_equal(err, "more than 1 per-CPU SAs in ns-out");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_adopted_and_deleted_after_grace), T(test_adopted_deleted_at_close),
		T(test_sibling_not_in_journal),          T(test_no_journal),
		T(test_journal_names_a_stranger),        T(test_clean_pair),
		T(test_pcpu_sa_of_one_cpu),              T(test_pcpu_not_taken),
		T(test_pcpu_nums),
	};

	return cmocka_run_group_tests_name("rekey", tests, NULL, NULL);
}
