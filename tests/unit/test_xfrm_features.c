// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for userspace/observe/xfrm_features.c: what each kernel's answers make of the
 * probes (the XFRM client mocked: WRAP_test_xfrm_features), and that probing leaves this
 * process in its own namespace, on any kernel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "xfrm_features.c"

#include <sys/stat.h>

/* set by the tests that answer for the kernel; otherwise the real functions run */
static bool mock_kernel;

int __real_xfrm_client_open(struct xfrm_client *c, int nsfd);
void __real_xfrm_client_close(struct xfrm_client *c);
int __real_xfrm_client_run(struct xfrm_client *c, struct xfrm_batch *b);
int __real_xfrm_sa_get(struct xfrm_client *c, __u16 family, const xfrm_address_t *daddr,
		       __be32 spi, __u8 proto, const struct xfrm_mark *mark, struct xfrm_sa *out);
int __wrap_xfrm_client_open(struct xfrm_client *c, int nsfd);
void __wrap_xfrm_client_close(struct xfrm_client *c);
int __wrap_xfrm_client_run(struct xfrm_client *c, struct xfrm_batch *b);
int __wrap_xfrm_sa_get(struct xfrm_client *c, __u16 family, const xfrm_address_t *daddr,
		       __be32 spi, __u8 proto, const struct xfrm_mark *mark, struct xfrm_sa *out);

int __wrap_xfrm_client_open(struct xfrm_client *c, int nsfd)
{
	if (!mock_kernel)
		return __real_xfrm_client_open(c, nsfd);
	memset(c, 0, sizeof(*c));
	assert_int_equal(nsfd, -1); /* the child's own (new) namespace */
	return 0;
}

void __wrap_xfrm_client_close(struct xfrm_client *c)
{
	if (!mock_kernel) {
		__real_xfrm_client_close(c);
		return;
	}
	function_called();
}

/* Each request: its type and SPI (or 0) checked against the queue, then the queued answer. */
int __wrap_xfrm_client_run(struct xfrm_client *c, struct xfrm_batch *b)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)b->buf;
	int err;

	if (!mock_kernel)
		return __real_xfrm_client_run(c, b);
	err = mock_type(int);
	assert_int_equal(b->n, 1);
	check_expected(nlh->nlmsg_type);
	if (nlh->nlmsg_type == XFRM_MSG_NEWSA) {
		const struct xfrm_usersa_info *i = mnl_nlmsg_get_payload(nlh);

		const struct nlattr *a;
		unsigned int with = 0;

		check_expected(i->id.spi);
		check_expected(i->mode);
		mnl_attr_for_each(a, nlh, sizeof(*i))
		{
			if (mnl_attr_get_type(a) == XFRM_UAPI_ATTR_SA_DIR) {
				assert_int_equal(mnl_attr_get_payload_len(a), 1);
				assert_int_equal(mnl_attr_get_u8(a), XFRM_UAPI_SA_DIR_OUT);
				with |= PROBE_DIR_OUT;
			} else if (mnl_attr_get_type(a) == XFRM_UAPI_ATTR_SA_PCPU) {
				assert_int_equal(mnl_attr_get_payload_len(a), 4);
				with |= PROBE_PCPU;
			}
		}
		/* 0x101 asks for the direction; 0x102 for a CPU, which needs one */
		assert_int_equal(with, i->id.spi == htonl(0x101) ? PROBE_DIR_OUT :
				       i->id.spi == htonl(0x102) ? PROBE_DIR_OUT | PROBE_PCPU :
								     0);
		assert_int_equal(i->replay_window, 0); /* a direction "out" SA may have none */
	} else {
		const struct xfrm_uapi_migrate_state *m = mnl_nlmsg_get_payload(nlh);

		assert_int_equal(mnl_nlmsg_get_payload_len(nlh), 132); /* 7.2's uapi struct */
		assert_int_equal(m->id.spi, htonl(0x100));
		assert_int_equal(m->new_family, AF_INET);
		assert_int_not_equal(m->new_daddr.a4, m->id.daddr.a4);
	}
	b->err[0] = err;
	return err;
}

/* GETSA: the SA as read back, with the attribute the test says the kernel kept (0: none) */
int __wrap_xfrm_sa_get(struct xfrm_client *c, __u16 family, const xfrm_address_t *daddr,
		       __be32 spi, __u8 proto, const struct xfrm_mark *mark, struct xfrm_sa *out)
{
	__u16 kept;

	if (!mock_kernel)
		return __real_xfrm_sa_get(c, family, daddr, spi, proto, mark, out);
	kept = mock_type(__u16);
	assert_null(mark);
	check_expected(spi);
	assert_int_equal(probe_sa(out, ntohl(spi), XFRM_MODE_TUNNEL,
				  kept == XFRM_UAPI_ATTR_SA_DIR	? PROBE_DIR_OUT :
				  kept == XFRM_UAPI_ATTR_SA_PCPU ? PROBE_PCPU :
									0),
			 0);
	return 0;
}

static int mocked(void **state)
{
	(void)state;
	mock_kernel = true;
	return 0;
}

static int unmocked(void **state)
{
	(void)state;
	mock_kernel = false;
	return 0;
}

static void expect_newsa(__u32 spi, __u8 mode, int answer)
{
	expect_value(__wrap_xfrm_client_run, nlh->nlmsg_type, XFRM_MSG_NEWSA);
	expect_value(__wrap_xfrm_client_run, i->id.spi, htonl(spi));
	expect_value(__wrap_xfrm_client_run, i->mode, mode);
	will_return(__wrap_xfrm_client_run, answer);
}

static void expect_get(__u32 spi, __u16 kept)
{
	expect_value(__wrap_xfrm_sa_get, spi, htonl(spi));
	will_return(__wrap_xfrm_sa_get, kept);
}

static void expect_migrate(int answer)
{
	expect_value(__wrap_xfrm_client_run, nlh->nlmsg_type, XFRM_UAPI_MSG_MIGRATE_STATE);
	will_return(__wrap_xfrm_client_run, answer);
}

/* probe_here's answers, as the kernel's queued answers must make them */
static void assert_features(const struct xfrm_features *f, bool sa_dir, bool pcpu, bool iptfs,
			    bool migrate_state)
{
	assert_int_equal(f->err, 0);
	assert_int_equal(f->sa_dir, sa_dir);
	assert_int_equal(f->pcpu, pcpu);
	assert_int_equal(f->iptfs, iptfs);
	assert_int_equal(f->migrate_state, migrate_state);
}

/* 6.1: the new attributes ignored (not read back), mode 5 and MIGRATE_STATE refused */
static void test_old_kernel(void **state)
{
	struct xfrm_features f = { 0 };

	(void)state;
	expect_newsa(0x100, XFRM_MODE_TUNNEL, 0);
	expect_newsa(0x101, XFRM_MODE_TUNNEL, 0);
	expect_get(0x101, 0);
	expect_newsa(0x102, XFRM_MODE_TUNNEL, 0);
	expect_get(0x102, 0);
	expect_newsa(0x103, XFRM_UAPI_MODE_IPTFS, -EINVAL);
	expect_migrate(-EINVAL);
	expect_function_call(__wrap_xfrm_client_close);
	probe_here(&f);
	assert_features(&f, false, false, false, false);
}

/* 7.2 with IP-TFS: every attribute read back, every request taken */
static void test_new_kernel(void **state)
{
	struct xfrm_features f = { 0 };

	(void)state;
	expect_newsa(0x100, XFRM_MODE_TUNNEL, 0);
	expect_newsa(0x101, XFRM_MODE_TUNNEL, 0);
	expect_get(0x101, XFRM_UAPI_ATTR_SA_DIR);
	expect_newsa(0x102, XFRM_MODE_TUNNEL, 0);
	expect_get(0x102, XFRM_UAPI_ATTR_SA_PCPU);
	expect_newsa(0x103, XFRM_UAPI_MODE_IPTFS, 0);
	expect_migrate(0);
	expect_function_call(__wrap_xfrm_client_close);
	probe_here(&f);
	assert_features(&f, true, true, true, true);
}

/* a kernel that takes the attribute but returns another one: not counted */
static void test_attr_not_kept(void **state)
{
	struct xfrm_features f = { 0 };

	(void)state;
	expect_newsa(0x100, XFRM_MODE_TUNNEL, 0);
	expect_newsa(0x101, XFRM_MODE_TUNNEL, 0);
	expect_get(0x101, XFRM_UAPI_ATTR_SA_PCPU);
	expect_newsa(0x102, XFRM_MODE_TUNNEL, -EINVAL); /* refused: no GETSA */
	expect_newsa(0x103, XFRM_UAPI_MODE_IPTFS, -EPROTONOSUPPORT);
	expect_migrate(-ESRCH);
	expect_function_call(__wrap_xfrm_client_close);
	probe_here(&f);
	assert_features(&f, false, false, false, false);
}

/* no ESP: the plain SA refused, nothing else tried, the error kept */
static void test_no_esp(void **state)
{
	struct xfrm_features f = { 0 };

	(void)state;
	expect_newsa(0x100, XFRM_MODE_TUNNEL, -EPROTONOSUPPORT);
	expect_function_call(__wrap_xfrm_client_close);
	probe_here(&f);
	assert_int_equal(f.err, -EPROTONOSUPPORT);
}

static ino_t our_netns(void)
{
	struct stat st;

	assert_int_equal(stat("/proc/self/ns/net", &st), 0);
	return st.st_ino;
}

/*
 * The real thing, in a child: this process stays in its namespace whatever the kernel
 * answers (a root without ESP, or a non-root, gets an error back; the kernel's answers
 * themselves are checked per kernel by the smoke scenario).
 */
static void test_probe_stays_home(void **state)
{
	struct xfrm_features f;
	ino_t before = our_netns();

	(void)state;
	xfrm_features_probe(&f);
	assert_int_equal(our_netns(), before);
	if (geteuid() != 0)
		assert_int_not_equal(f.err, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_old_kernel, mocked, unmocked),
		cmocka_unit_test_setup_teardown(test_new_kernel, mocked, unmocked),
		cmocka_unit_test_setup_teardown(test_attr_not_kept, mocked, unmocked),
		cmocka_unit_test_setup_teardown(test_no_esp, mocked, unmocked),
		cmocka_unit_test(test_probe_stays_home),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
