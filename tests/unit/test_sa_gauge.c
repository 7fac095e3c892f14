// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests for userspace/export/sa_gauge.c: SAs present per namespace and direction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sa_gauge.c"
#include "xfrm_trace.h"

struct seen {
	__u32 netns[8];
	__u8 dir[8];
	__u64 n[8];
	unsigned int count;
};

static void collect(void *ctx, __u32 netns, __u8 dir, __u64 n)
{
	struct seen *s = ctx;

	assert_true(s->count < 8);
	s->netns[s->count] = netns;
	s->dir[s->count] = dir;
	s->n[s->count++] = n;
}

/* One count per namespace and direction, however many SAs; a count back at 0 goes. */
static void test_counts(void **state)
{
	struct sa_gauge *g = sa_gauge_new();
	struct seen s = { 0 };

	(void)state;
	assert_non_null(g);
	for (int i = 0; i < 50; i++)
		sa_gauge_add(g, 7, SA_DIR_OUT, 1);
	sa_gauge_add(g, 7, SA_DIR_IN, 1);
	sa_gauge_add(g, 9, SA_DIR_IN, 1);
	assert_int_equal(sa_gauge_count(g), 3);
	sa_gauge_add(g, 9, SA_DIR_IN, -1);
	sa_gauge_add(g, 7, SA_DIR_OUT, -8);
	assert_int_equal(sa_gauge_count(g), 2);
	sa_gauge_foreach(g, collect, &s);
	assert_int_equal(s.count, 2);
	for (unsigned int i = 0; i < s.count; i++) {
		assert_int_equal(s.netns[i], 7);
		assert_int_equal(s.n[i], s.dir[i] == SA_DIR_OUT ? 42 : 1);
	}
	sa_gauge_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
	};

	return cmocka_run_group_tests_name("sa_gauge", tests, NULL, NULL);
}
