// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for userspace/lab/lab_results.c: sides, phases, episode starts, each phase's totals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lab_results.c"

#include <string.h>

#define S 1000000000ull
#define MS 1000000ull

static void test_side_and_phase(void **state)
{
	struct lab lab = { .inum = { 11, 22 } };
	struct lab_phase ph = { .t0 = 100, .t1 = 200 };

	(void)state;
	assert_int_equal(lab_side(&lab, 11), 0);
	assert_int_equal(lab_side(&lab, 22), 1);
	assert_int_equal(lab_side(&lab, 33), -1);
	assert_false(lab_in_phase(&ph, 99));
	assert_true(lab_in_phase(&ph, 100));
	assert_true(lab_in_phase(&ph, 199));
	assert_false(lab_in_phase(&ph, 200)); /* the next phase's */
}

/* Ground truth: datagrams sent half a pause (0.75 s) before the phase's own window. */
static void test_sent_in_phase(void **state)
{
	struct lab_phase ph = { .t0 = 10 * S, .t1 = 20 * S };

	(void)state;
	assert_false(lab_sent_in_phase(&ph, 9 * S + 249 * MS));
	assert_true(lab_sent_in_phase(&ph, 9 * S + 250 * MS)); /* in flight at the first rekey */
	assert_true(lab_sent_in_phase(&ph, 19 * S + 249 * MS));
	assert_false(lab_sent_in_phase(&ph, 19 * S + 250 * MS)); /* the next phase's */
	ph.t0 = 100 * MS; /* the first phase, early: nothing before the start of time */
	assert_true(lab_sent_in_phase(&ph, 0));
}

static void test_episode_start(void **state)
{
	struct episode ep = { .t_delete_old = 500, .t_insert_new = 400 };

	(void)state;
	assert_int_equal(lab_episode_start(&ep), 400); /* make-before-break: insert first */
	ep.t_insert_new = 600;
	assert_int_equal(lab_episode_start(&ep), 500);
	ep.t_insert_new = 0; /* never replaced */
	assert_int_equal(lab_episode_start(&ep), 500);
	ep.t_delete_old = 0;
	ep.t_insert_new = 700;
	assert_int_equal(lab_episode_start(&ep), 700);
}

/* Sent and lost from the receivers' ground truth, attributed from the episodes, seen from
 * the drops read, per phase. */
static void test_results(void **state)
{
	/* 9.5 s: before the first phase, in flight at its first rekey; 29.5 s: in the second
	 * phase's last pause, nobody's */
	__u64 sent_ns[6] = { 9500 * MS, 12 * S, 19200 * MS, 19300 * MS, 25 * S, 29500 * MS };
	__u8 got_ab[6] = { 1, 0, 0, 1, 0, 1 }, got_ba[6] = { 1, 1, 1, 1, 1, 0 };
	struct episode eps[3] = {
		{ .t_delete_old = 15 * S, .t_insert_new = 15 * S + 10 * MS, .drops_total = 2 },
		{ .t_delete_old = 21 * S, .drops_total = 1 },
		{ .t_delete_old = 90 * S, .drops_total = 7 }, /* after every phase: nobody's */
	};
	/* drops the monitor read, by when their scan ended: one no episode claimed (18 s) */
	struct lab_drop drops[4] = {
		{ .last_ns = 15 * S, .count = 2 },
		{ .last_ns = 18 * S, .count = 1 },
		{ .last_ns = 21 * S, .count = 1 },
		{ .last_ns = 90 * S, .count = 7 },
	};
	struct lab lab = { .n_phases = 2, .episodes = eps, .n_episodes = 3, .drops = drops,
			   .n_drops = 4 };

	(void)state;
	lab.phase[0] = (struct lab_phase){ .t0 = 10 * S, .t1 = 20 * S, .sent = 99, .attributed = 99,
					   .seen = 99 };
	lab.phase[1] = (struct lab_phase){ .t0 = 20 * S, .t1 = 30 * S };
	/* the first flow sent all six, the second its first five so far */
	lab.flow[0] = (struct traffic_flow){ .sent_ns = sent_ns, .received = got_ab, .sent = 6 };
	lab.flow[1] = (struct traffic_flow){ .sent_ns = sent_ns, .received = got_ba, .sent = 5 };
	lab_results(&lab);
	assert_int_equal(lab.phase[0].sent, 6 - 1 + 1); /* 9.5 s in, 19.3 s out */
	assert_int_equal(lab.phase[0].lost, 2);
	assert_int_equal(lab.phase[0].attributed, 2);
	assert_int_equal(lab.phase[0].seen, 3);
	assert_int_equal(lab.phase[1].sent, 4);
	assert_int_equal(lab.phase[1].lost, 1);
	assert_int_equal(lab.phase[1].attributed, 1);
	assert_int_equal(lab.phase[1].seen, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_side_and_phase),
		cmocka_unit_test(test_sent_in_phase),
		cmocka_unit_test(test_episode_start),
		cmocka_unit_test(test_results),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
