// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests for userspace/rekey/rekey_journal.c, in a temporary directory of their own: what is
 * written is read back, the file's bytes are the layout an older rekeygap wrote, a file that
 * is not a journal reads as empty, a symlink at the path is never followed, a full record,
 * and the file goes only when it is ours and nothing is left.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "rekey_journal.c"

#define OUT_NS 4026532001u
#define IN_NS 4026532002u
/* what an older rekeygap wrote: magic, count (host order), 146 SPIs */
#define RECORD_BYTES (8 + 4 + 146 * 4)

struct fixture {
	char dir[64];
	char path[160]; /* the journal of target in dir */
	struct rekey_target target;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	snprintf(f.dir, sizeof(f.dir), "/tmp/rekeygap-journal-XXXXXX");
	if (!mkdtemp(f.dir))
		return -1;
	f.target.family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &f.target.saddr.a4);
	inet_pton(AF_INET, "192.0.2.2", &f.target.daddr.a4);
	snprintf(f.path, sizeof(f.path), "%s/mbb-%u-%u-192.0.2.1-192.0.2.2", f.dir, OUT_NS,
		 IN_NS);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	return rmdir(f->dir);
}

/* A file at the journal's path with these bytes. */
static void plant(const char *path, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, len), (ssize_t)len);
	close(fd);
}

/* An old binary's record, byte by byte: "rkgjrnl1", n, then the SPIs in network order. */
static size_t old_record(uint8_t *buf, const char *magic, uint32_t n, const uint32_t *spis)
{
	memset(buf, 0, RECORD_BYTES);
	memcpy(buf, magic, 8);
	memcpy(buf + 8, &n, 4);
	for (uint32_t i = 0; i < n && i < 146; i++) {
		uint32_t be = htonl(spis[i]);

		memcpy(buf + 12 + 4 * i, &be, 4);
	}
	return RECORD_BYTES;
}

static void test_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct rekey_journal_record), RECORD_BYTES);
	assert_int_equal(offsetof(struct rekey_journal_record, n), 8);
	assert_int_equal(offsetof(struct rekey_journal_record, spi), 12);
	assert_memory_equal(REKEY_JOURNAL_MAGIC, "rkgjrnl1", 8);
	assert_string_equal(REKEY_JOURNAL_DIR, "/run/rekeygap");
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	const __be32 spis[] = { htonl(0x1000), 0, htonl(0x2000), htonl(0x1000), htonl(0x3000) };
	uint8_t want[RECORD_BYTES], got[RECORD_BYTES + 1];
	const uint32_t host[] = { 0x1000, 0x2000, 0x3000 };
	struct rekey_journal j, again;
	struct stat st;
	int fd;

	rekey_journal_open(&j, f->dir, OUT_NS, IN_NS, &f->target);
	assert_string_equal(j.path, f->path);
	assert_false(rekey_journal_has(&j, htonl(0x1000)));
	assert_int_equal(access(f->path, F_OK), -1); /* nothing written: no file */
	assert_int_equal(rekey_journal_write(&j, spis, 5), 0);
	/* 0s and repeats left out, in order */
	assert_int_equal(j.rec.n, 3);
	assert_true(rekey_journal_has(&j, htonl(0x2000)));
	assert_false(rekey_journal_has(&j, 0));

	/* on disk: the old layout, private to root */
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, got, sizeof(got)), RECORD_BYTES);
	close(fd);
	old_record(want, "rkgjrnl1", 3, host);
	assert_memory_equal(got, want, RECORD_BYTES);

	/* a later run reads it; the writer rewrites in place */
	rekey_journal_open(&again, f->dir, OUT_NS, IN_NS, &f->target);
	assert_int_equal(again.rec.n, 3);
	for (unsigned int i = 0; i < 3; i++)
		assert_true(rekey_journal_has(&again, htonl(host[i])));
	assert_false(rekey_journal_has(&again, htonl(0x4000)));
	rekey_journal_close(&again, true); /* only read: not ours, stays */
	assert_int_equal(access(f->path, F_OK), 0);
	assert_int_equal(rekey_journal_write(&j, spis + 4, 1), 0);
	rekey_journal_open(&again, f->dir, OUT_NS, IN_NS, &f->target);
	assert_int_equal(again.rec.n, 1);
	assert_false(rekey_journal_has(&again, htonl(0x1000)));
	assert_true(rekey_journal_has(&again, htonl(0x3000)));
	rekey_journal_close(&j, false); /* something left to delete: stays */
	assert_int_equal(access(f->path, F_OK), 0);
}

/* What an older rekeygap left is read by this one. */
static void test_reads_old_file(void **state)
{
	struct fixture *f = *state;
	const uint32_t spis[] = { 0xc0ffee, 0x5eed };
	uint8_t buf[RECORD_BYTES];
	struct rekey_journal j;

	plant(f->path, buf, old_record(buf, "rkgjrnl1", 2, spis));
	rekey_journal_open(&j, f->dir, OUT_NS, IN_NS, &f->target);
	assert_true(rekey_journal_has(&j, htonl(0xc0ffee)));
	assert_true(rekey_journal_has(&j, htonl(0x5eed)));
	assert_false(rekey_journal_has(&j, htonl(0x1)));
	rekey_journal_close(&j, true);
	assert_int_equal(access(f->path, F_OK), 0); /* not claimed: not removed */
}

/* Not a journal: another magic, cut short, a count past the record. Read as empty. */
static void test_not_a_journal(void **state)
{
	struct fixture *f = *state;
	const uint32_t spis[] = { 0x1000 };
	uint8_t buf[RECORD_BYTES];
	struct rekey_journal j;

	plant(f->path, buf, old_record(buf, "rkgjrnl2", 1, spis));
	rekey_journal_open(&j, f->dir, OUT_NS, IN_NS, &f->target);
	assert_int_equal(j.rec.n, 0);
	assert_false(rekey_journal_has(&j, htonl(0x1000)));

	plant(f->path, buf, old_record(buf, "rkgjrnl1", 1, spis) - 1);
	rekey_journal_open(&j, f->dir, OUT_NS, IN_NS, &f->target);
	assert_false(rekey_journal_has(&j, htonl(0x1000)));

	old_record(buf, "rkgjrnl1", 1, spis);
	memcpy(buf + 8, &(uint32_t){ 147 }, 4);
	plant(f->path, buf, sizeof(buf));
	rekey_journal_open(&j, f->dir, OUT_NS, IN_NS, &f->target);
	assert_false(rekey_journal_has(&j, htonl(0x1000)));

	/* and the control: the same bytes with a sound count are a journal */
	memcpy(buf + 8, &(uint32_t){ 1 }, 4);
	plant(f->path, buf, sizeof(buf));
	rekey_journal_open(&j, f->dir, OUT_NS, IN_NS, &f->target);
	assert_true(rekey_journal_has(&j, htonl(0x1000)));
}

/* A symlink planted at the path: neither read through nor written through. */
static void test_symlink_not_followed(void **state)
{
	struct fixture *f = *state;
	const uint32_t spis[] = { 0x1000 };
	const __be32 mine = htonl(0x2000);
	char victim[128];
	uint8_t buf[RECORD_BYTES], after[RECORD_BYTES];
	struct rekey_journal j;
	int fd;

	snprintf(victim, sizeof(victim), "%s/victim", f->dir);
	plant(victim, buf, old_record(buf, "rkgjrnl1", 1, spis));
	assert_int_equal(symlink(victim, f->path), 0);
	rekey_journal_open(&j, f->dir, OUT_NS, IN_NS, &f->target);
	assert_false(rekey_journal_has(&j, htonl(0x1000)));
	assert_int_equal(rekey_journal_write(&j, &mine, 1), -ELOOP);
	assert_false(j.ours);
	rekey_journal_close(&j, true);
	fd = open(victim, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, after, sizeof(after)), RECORD_BYTES);
	close(fd);
	assert_memory_equal(after, buf, RECORD_BYTES); /* untouched */
	assert_int_equal(unlink(victim), 0);
}

/* More SPIs than a record holds: the first REKEY_JOURNAL_SPIS are kept. */
static void test_full(void **state)
{
	struct fixture *f = *state;
	__be32 spis[REKEY_JOURNAL_SPIS + 10];
	struct rekey_journal j, again;

	for (unsigned int i = 0; i < REKEY_JOURNAL_SPIS + 10; i++)
		spis[i] = htonl(0x100 + i);
	rekey_journal_open(&j, f->dir, OUT_NS, IN_NS, &f->target);
	assert_int_equal(rekey_journal_write(&j, spis, REKEY_JOURNAL_SPIS + 10), 0);
	rekey_journal_open(&again, f->dir, OUT_NS, IN_NS, &f->target);
	assert_int_equal(again.rec.n, REKEY_JOURNAL_SPIS);
	assert_true(rekey_journal_has(&again, spis[0]));
	assert_true(rekey_journal_has(&again, spis[REKEY_JOURNAL_SPIS - 1]));
	assert_false(rekey_journal_has(&again, spis[REKEY_JOURNAL_SPIS]));
	rekey_journal_close(&j, true);
}

/* Removed when ours (written, or claimed at adoption) and nothing is left; else kept. */
static void test_remove(void **state)
{
	struct fixture *f = *state;
	const __be32 spi = htonl(0x1000);
	uint8_t buf[RECORD_BYTES];
	struct rekey_journal j;

	rekey_journal_open(&j, f->dir, OUT_NS, IN_NS, &f->target);
	assert_int_equal(rekey_journal_write(&j, &spi, 1), 0);
	rekey_journal_close(&j, true);
	assert_int_equal(access(f->path, F_OK), -1);

	plant(f->path, buf, old_record(buf, "rkgjrnl1", 1, (const uint32_t[]){ 0x1000 }));
	rekey_journal_open(&j, f->dir, OUT_NS, IN_NS, &f->target);
	rekey_journal_claim(&j);
	rekey_journal_close(&j, false);
	assert_int_equal(access(f->path, F_OK), 0);
	rekey_journal_open(&j, f->dir, OUT_NS, IN_NS, &f->target);
	rekey_journal_claim(&j);
	rekey_journal_close(&j, true);
	assert_int_equal(access(f->path, F_OK), -1);
}

/* The directory is made at the first write, 0700; one that cannot be made: no journal. */
static void test_directory(void **state)
{
	struct fixture *f = *state;
	const __be32 spi = htonl(0x1000);
	struct rekey_journal j;
	char sub[96], file[96];
	struct stat st;

	snprintf(sub, sizeof(sub), "%s/run", f->dir);
	rekey_journal_open(&j, sub, OUT_NS, IN_NS, &f->target);
	assert_int_equal(rekey_journal_write(&j, &spi, 1), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	rekey_journal_close(&j, true);
	assert_int_equal(rmdir(sub), 0); /* and the journal went */

	snprintf(file, sizeof(file), "%s/file", f->dir);
	plant(file, "x", 1);
	snprintf(sub, sizeof(sub), "%s/file/run", f->dir);
	rekey_journal_open(&j, sub, OUT_NS, IN_NS, &f->target);
	assert_int_equal(rekey_journal_write(&j, &spi, 1), -ENOTDIR);
	assert_false(j.ours);
	rekey_journal_close(&j, true);
	assert_int_equal(unlink(file), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout), T(test_round_trip),   T(test_reads_old_file),
		T(test_not_a_journal),          T(test_symlink_not_followed), T(test_full),
		T(test_remove),                 T(test_directory),
	};

	return cmocka_run_group_tests_name("rekey_journal", tests, NULL, NULL);
}
