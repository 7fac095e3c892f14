/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The make-before-break journal: before a make-before-break changes anything, the SPIs it
 * may leave behind if killed (the pair's, the new ones it may try, those waiting for
 * deletion) go to a small file named after the namespaces and addresses of the pair. A later
 * rekey adopts only SAs named there: a second SA someone else made (an IKE daemon's own
 * rekey) is left alone. SPIs only, never a key; one pwrite per rekey; removed when nothing is
 * left to delete.
 */
#ifndef REKEYGAP_REKEY_JOURNAL_H
#define REKEYGAP_REKEY_JOURNAL_H

#include <linux/types.h>
#include <stdbool.h>

#include "rekey.h"

/* where rekey keeps its journals */
#define REKEY_JOURNAL_DIR "/run/rekeygap"
/*
 * SPIs a record holds: the pair's, PENDING_MAX (64) waiting for deletion on each side, and
 * the SPI_TRIES (8) + 1 new ones tried, with room to spare. Part of the file's layout.
 */
#define REKEY_JOURNAL_SPIS 146
#define REKEY_JOURNAL_MAGIC "rkgjrnl1"

/* The file, as it is on disk (host byte order for n: it never leaves this machine). */
struct rekey_journal_record {
	char magic[8];
	__u32 n;
	__be32 spi[REKEY_JOURNAL_SPIS];
};

struct rekey_journal {
	char dir[96];
	char path[160];
	int fd;    /* -1: not written yet */
	bool ours; /* written or adopted from: removed once nothing is left */
	struct rekey_journal_record rec; /* as read at open, then as last written */
};

/*
 * The journal of the pair in dir (REKEY_JOURNAL_DIR but in tests): "mbb-OUT-IN-SRC-DST",
 * OUT and IN the namespaces' inode numbers. What a killed run left in it is read; a file
 * that is not a journal (a symlink, a bad magic, too short) reads as empty.
 */
void rekey_journal_open(struct rekey_journal *j, const char *dir, __u32 out_inum, __u32 in_inum,
			const struct rekey_target *t);
bool rekey_journal_has(const struct rekey_journal *j, __be32 spi);

/*
 * The journal becomes spis (0s and repeats left out, at most REKEY_JOURNAL_SPIS): the
 * directory and the file are made at the first write (0700, 0600, no symlink followed).
 * 0 or -errno; the journal is ours once it could be opened.
 */
int rekey_journal_write(struct rekey_journal *j, const __be32 *spis, unsigned int n);

/* Adopting the SAs it names makes the journal ours: removed with them. */
void rekey_journal_claim(struct rekey_journal *j);

/* Close; the file goes too if it is ours and remove is set (nothing is left to delete). */
void rekey_journal_close(struct rekey_journal *j, bool remove);

#endif
