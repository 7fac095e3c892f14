/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Privileges: what a command needs before it starts (named when missing), and dropping all
 * but what it still needs once its setup is done, optionally to another user.
 */
#ifndef REKEYGAP_PRIV_H
#define REKEYGAP_PRIV_H

#include <stddef.h>

/*
 * The capabilities of caps[] (CAP_* numbers, n of them) that this process lacks, as
 * "CAP_BPF, CAP_PERFMON", into missing; 0 if none lacks, else how many.
 */
int priv_missing(const int *caps, int n, char *missing, size_t len);

/* A user's ids; -ENOENT if there is no such user. */
int priv_lookup_user(const char *user, unsigned int *uid, unsigned int *gid);

/*
 * Keep only caps[] (effective, permitted, bounding), no new privileges ever; with user,
 * become that user (and its group, no supplementary groups) keeping them. Affects the
 * calling thread: call it before starting threads. 0 or -errno with one line in err.
 */
int priv_drop(const int *caps, int n, const char *user, char *err, size_t errlen);

#endif
