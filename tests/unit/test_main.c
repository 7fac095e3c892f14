// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for userspace/main.c: command dispatch and exit statuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>

#define main rekeygap_main
int rekeygap_main(int argc, char **argv);
#include "main.c"
#undef main

/* Run rekeygap with argv, its output discarded; returns its exit status. */
static int run(int argc, char **argv)
{
	int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
	int devnull = open("/dev/null", O_WRONLY);
	int rc;

	assert_true(saved_out >= 0 && saved_err >= 0 && devnull >= 0);
	fflush(stdout);
	fflush(stderr);
	dup2(devnull, STDOUT_FILENO);
	dup2(devnull, STDERR_FILENO);
	optind = 0;
	rc = rekeygap_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	close(devnull);
	return rc;
}

#define RUN(...)                                                                   \
	({                                                                         \
		char *argv_[] = { "rekeygap", __VA_ARGS__, NULL };                 \
		run((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_);           \
	})

static void test_version_and_help(void **state)
{
	(void)state;
	assert_int_equal(RUN("--version"), 0);
	assert_int_equal(RUN("-V"), 0);
	assert_int_equal(RUN("--help"), 0);
	assert_int_equal(RUN("help"), 0);
	assert_int_equal(RUN("help", "probe"), 0);
	assert_int_equal(RUN("probe", "--help"), 0);
	assert_int_equal(RUN("help", "explain"), 0);
}

static void test_bad_usage_exits_2(void **state)
{
	char *none[] = { "rekeygap", NULL };

	(void)state;
	assert_int_equal(run(1, none), EXIT_USAGE);
	assert_int_equal(RUN("frobnicate"), EXIT_USAGE);
	assert_int_equal(RUN("--frobnicate"), EXIT_USAGE);
	assert_int_equal(RUN("help", "frobnicate"), EXIT_USAGE);
	assert_int_equal(RUN("probe", "--frobnicate"), EXIT_USAGE);
	assert_int_equal(RUN("probe", "extra"), EXIT_USAGE);
	assert_int_equal(RUN("explain"), EXIT_USAGE);
	assert_int_equal(RUN("explain", "a.json", "b.json"), EXIT_USAGE);
	assert_int_equal(RUN("explain", "--timeout", "soon", "a.json"), EXIT_USAGE);
}

static void test_find_command(void **state)
{
	(void)state;
	assert_non_null(find_command("probe"));
	assert_ptr_equal(find_command("probe")->run, cmd_probe);
	assert_ptr_equal(find_command("explain")->run, cmd_explain);
	assert_null(find_command("prob"));
	assert_null(find_command(""));
}

/* Keys pass through the process: it is not dumpable (no core file) from the start. */
static void test_not_dumpable(void **state)
{
	char *argv[] = { "rekeygap", "--version", NULL };

	(void)state;
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	assert_int_equal(run(2, argv), 0);
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_dumpable),
		cmocka_unit_test(test_version_and_help),
		cmocka_unit_test(test_bad_usage_exits_2),
		cmocka_unit_test(test_find_command),
	};

	return cmocka_run_group_tests_name("main", tests, NULL, NULL);
}
