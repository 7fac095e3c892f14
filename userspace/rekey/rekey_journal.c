// SPDX-License-Identifier: BSD-2-Clause
/* The make-before-break journal (rekey_journal.h): a file of SPIs per SA pair. */
#include "rekey_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"

void rekey_journal_open(struct rekey_journal *j, const char *dir, __u32 out_inum, __u32 in_inum,
			const struct rekey_target *t)
{
	char src[ADDR_STRLEN], dst[ADDR_STRLEN];
	struct rekey_journal_record rec;
	int fd, n;

	memset(j, 0, sizeof(*j));
	j->fd = -1;
	addr_format(t->family, &t->saddr, src, sizeof(src));
	addr_format(t->family, &t->daddr, dst, sizeof(dst));
	/* a per-CPU SA's journal is its own: each CPU's SA may be rekeyed by a run of its own */
	n = t->per_cpu ? snprintf(j->path, sizeof(j->path), "%s/mbb-%u-%u-%s-%s-cpu%u", dir,
				  out_inum, in_inum, src, dst, t->pcpu_num)
		       : snprintf(j->path, sizeof(j->path), "%s/mbb-%u-%u-%s-%s", dir, out_inum,
				  in_inum, src, dst);
	if (n < 0 || (size_t)n >= sizeof(j->path) ||
	    snprintf(j->dir, sizeof(j->dir), "%s", dir) >= (int)sizeof(j->dir)) {
		j->path[0] = '\0'; /* no journal: a killed run's leftovers will need --spi */
		return;
	}
	fd = open(j->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0 && pread(fd, &rec, sizeof(rec), 0) == sizeof(rec) &&
	    !memcmp(rec.magic, REKEY_JOURNAL_MAGIC, sizeof(rec.magic)) &&
	    rec.n <= REKEY_JOURNAL_SPIS)
		j->rec = rec;
	if (fd >= 0)
		close(fd);
}

bool rekey_journal_has(const struct rekey_journal *j, __be32 spi)
{
	for (__u32 i = 0; i < j->rec.n; i++)
		if (j->rec.spi[i] == spi)
			return true;
	return false;
}

int rekey_journal_write(struct rekey_journal *j, const __be32 *spis, unsigned int n)
{
	if (!j->path[0])
		return -ENAMETOOLONG;
	if (j->fd < 0) { /* the first make-before-break of this run */
		if (mkdir(j->dir, 0700) && errno != EEXIST)
			return -errno;
		j->fd = open(j->path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (j->fd < 0)
			return -errno;
	}
	j->ours = true;
	memcpy(j->rec.magic, REKEY_JOURNAL_MAGIC, sizeof(j->rec.magic));
	j->rec.n = 0;
	for (unsigned int i = 0; i < n && j->rec.n < REKEY_JOURNAL_SPIS; i++)
		if (spis[i] && !rekey_journal_has(j, spis[i]))
			j->rec.spi[j->rec.n++] = spis[i];
	/* (through a byte pointer: gcc 12 takes &j->rec for its first member's size) */
	if (pwrite(j->fd, (const char *)j + offsetof(struct rekey_journal, rec), sizeof(j->rec),
		   0) != sizeof(j->rec)) {
		j->rec.n = 0; /* a full /run: recovery will ask for --spi */
		return -EIO;
	}
	return 0;
}

void rekey_journal_claim(struct rekey_journal *j)
{
	j->ours = true;
}

void rekey_journal_close(struct rekey_journal *j, bool remove)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	if (j->ours && remove && j->path[0])
		unlink(j->path);
}
