// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for userspace/observe/drop_delta.c: the kernel's cumulative drop counters turned into
 * deltas, and idle keys pruned from the map without counting a drop twice or losing one.
 * The BPF map is a fake: an array of keys and values the tests change between scans.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "drop_delta.c"

#define MS 1000000ull

/* What the consumer was handed. */
struct got {
	__u64 total; /* every delta summed */
	unsigned int calls;
	struct drop_delta last;
};

static void on_delta(void *ctx, const struct drop_delta *d)
{
	struct got *g = ctx;

	assert_true(d->count > 0);
	assert_true(d->first_ns <= d->last_ns);
	g->total += d->count;
	g->calls++;
	g->last = *d;
}

/* The fake map: one key, its value, and what taking it returns. */
struct fake_map {
	struct drop_key key;
	struct drop_value value;
	bool present;
	int take_error; /* 0: taking works; else the error it fails with */
	unsigned int takes;
	struct got got;
};

static int fake_take(void *ctx, const struct drop_key *k, struct drop_value *v)
{
	struct fake_map *m = ctx;

	m->takes++;
	if (m->take_error)
		return m->take_error;
	if (!m->present || memcmp(k, &m->key, sizeof(*k)))
		return -ENOENT;
	*v = m->value;
	m->present = false;
	memset(&m->value, 0, sizeof(m->value));
	return 0;
}

static void on_delta_map(void *ctx, const struct drop_delta *d)
{
	on_delta(&((struct fake_map *)ctx)->got, d);
}

/* A drop counted in the fake map at t ms. */
static void drop(struct fake_map *m, __u64 n, __u64 t)
{
	if (!m->present) {
		m->present = true;
		m->value.first_ts_ns = t * MS;
	}
	m->value.count += n;
	m->value.last_ts_ns = t * MS;
}

static void scan(struct drop_deltas *d, struct fake_map *m, __u64 now)
{
	if (m->present)
		assert_int_equal(drop_deltas_update(d, &m->key, &m->value, on_delta_map, m), 0);
	drop_deltas_scanned(d, now * MS);
}

static struct fake_map *new_map(void)
{
	struct fake_map *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	m->key.netns = 4026531840u;
	m->key.spi = 0x01000000; /* network order of 1 */
	m->key.cause = DROP_IN_NO_STATE;
	return m;
}

/* A new key is handed over whole; then only what it gained, timed after the last scan. */
static void test_deltas(void **state)
{
	struct drop_deltas *d = drop_deltas_new();
	struct fake_map *m = new_map();

	(void)state;
	drop(m, 3, 10);
	drop(m, 0, 20);
	scan(d, m, 50);
	assert_int_equal(m->got.total, 3);
	assert_int_equal(m->got.last.first_ns, 10 * MS);
	assert_int_equal(m->got.last.last_ns, 20 * MS);
	assert_int_equal(m->got.last.value->count, 3);
	/* nothing new: nothing handed over */
	scan(d, m, 100);
	assert_int_equal(m->got.calls, 1);
	/* two more at 120 ms: they fell after the scan at 100 ms */
	drop(m, 2, 120);
	scan(d, m, 150);
	assert_int_equal(m->got.calls, 2);
	assert_int_equal(m->got.last.count, 2);
	assert_int_equal(m->got.last.first_ns, 100 * MS);
	assert_int_equal(m->got.last.last_ns, 120 * MS);
	assert_int_equal(m->got.total, 5);
	assert_int_equal(drop_deltas_count(d), 1);
	drop_deltas_free(d);
	free(m);
}

/*
 * An idle key leaves the map with the drops it gained since the last scan; drops under the
 * same key afterwards start it afresh: 3 + 5 = 8, not 3 + 8 = 11.
 */
static void test_prune(void **state)
{
	struct drop_deltas *d = drop_deltas_new();
	struct fake_map *m = new_map();

	(void)state;
	drop(m, 2, 10);
	scan(d, m, 50);
	drop(m, 1, 60); /* counted in the map, not yet scanned */
	/* not idle yet at 1 s with 2 s of idle time */
	drop_deltas_prune(d, 1000 * MS, 2000 * MS, fake_take, on_delta_map, m);
	assert_int_equal(m->takes, 0);
	drop_deltas_prune(d, 2100 * MS, 2000 * MS, fake_take, on_delta_map, m);
	assert_int_equal(m->takes, 1);
	assert_false(m->present);
	assert_int_equal(m->got.total, 3); /* the one taken on the way out included */
	assert_int_equal(drop_deltas_count(d), 0);
	drop(m, 5, 3000);
	scan(d, m, 3050);
	assert_int_equal(m->got.total, 8);
	drop_deltas_free(d);
	free(m);
}

/* A key gone from the map already is forgotten; one that cannot be taken stays, and
 * pruning stops: forgotten while still in the map, its drops would count twice. */
static void test_prune_failures(void **state)
{
	struct drop_deltas *d = drop_deltas_new();
	struct fake_map *m = new_map();

	(void)state;
	drop(m, 4, 10);
	scan(d, m, 50);
	m->take_error = -EINVAL; /* a kernel before 5.14: no lookup-and-delete on a hash */
	drop_deltas_prune(d, 5000 * MS, 1000 * MS, fake_take, on_delta_map, m);
	assert_true(drop_deltas_prune_failed(d));
	assert_int_equal(drop_deltas_count(d), 1);
	drop_deltas_prune(d, 9000 * MS, 1000 * MS, fake_take, on_delta_map, m);
	assert_int_equal(m->takes, 1); /* not tried again */
	/* the key still in the map: a later scan counts only what is new */
	drop(m, 1, 9100);
	scan(d, m, 9150);
	assert_int_equal(m->got.total, 5);
	drop_deltas_free(d);

	d = drop_deltas_new();
	m->take_error = 0;
	scan(d, m, 9200); /* a fresh table sees the key's whole count */
	assert_int_equal(m->got.total, 10);
	m->present = false; /* gone from the map by itself */
	drop_deltas_prune(d, 20000 * MS, 1000 * MS, fake_take, on_delta_map, m);
	assert_false(drop_deltas_prune_failed(d));
	assert_int_equal(drop_deltas_count(d), 0);
	drop_deltas_free(d);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deltas),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_prune_failures),
	};

	return cmocka_run_group_tests_name("drop_delta", tests, NULL, NULL);
}
