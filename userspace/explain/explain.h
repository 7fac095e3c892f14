/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 'rekeygap explain', the pure part: episode objects (the JSON of episode_json.h, as
 * /episodes serves them in an array or the trace prints them as "event":"episode" lines) in,
 * explanations for people out: the episode's timeline in words, its verdict and what to
 * change, with the numbers measured. No I/O but the FILE * given; reading files, stdin and
 * URLs is explain_cmd.c's.
 *
 * Input is checked: a required key missing or any key of the wrong type is an error naming
 * the episode (its id, or its place in the input) and the key; nothing is printed for that
 * episode and the caller stops (exit 1). Keys this version does not know are skipped, and so
 * are trace lines of other events and loss phases it has no word for: a newer monitor's
 * output still reads. A verdict word it does not know is explained without advice.
 */
#ifndef REKEYGAP_EXPLAIN_H
#define REKEYGAP_EXPLAIN_H

#include <jansson.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "episode.h"

struct explain_options {
	bool all;  /* every episode, not only those that lost packets */
	bool json; /* one JSON object a line instead of text */
};

/* What was read, for the summary line. */
struct explain_counts {
	__u64 episodes;                 /* every episode read */
	__u64 lossy;                    /* of them, those with dropped > 0 */
	__u64 by_verdict[VERDICT_MAX];  /* lossy ones by verdict ([0]: a word not known here) */
};

struct explainer;

/* NULL: out of memory. */
struct explainer *explainer_new(FILE *out, const struct explain_options *opt);
void explainer_free(struct explainer *ex);
const struct explain_counts *explainer_counts(const struct explainer *ex);

/*
 * Return values of the functions below: 0; -EINVAL, the input is wrong, and err says where
 * and why in one line (no newline); -ENOMEM or -EIO, writing failed.
 */

/* One episode object. where: how to name it when it has no usable id ("element 3"). */
int explain_episode(struct explainer *ex, const json_t *ep, const char *where, char *err,
		    size_t errlen);

/* A whole input, its form told by the first non-blank character: '[' an array of episode
 * objects, '{' a trace's JSON lines. */
int explain_document(struct explainer *ex, const char *text, size_t len, char *err,
		     size_t errlen);

/* One line of a trace (lineno from 1): an "event":"episode" object is explained, any other
 * JSON value skipped, a blank line too; text that is not JSON is an error. */
int explain_line(struct explainer *ex, const char *line, size_t len, unsigned long lineno,
		 char *err, size_t errlen);

/* The closing line: "3 of 40 episodes lost packets: 2 peer_early, 1 gap". */
int explain_summary(struct explainer *ex);

#endif
