/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * JSON as rekeygap writes it, through jansson: every string valid UTF-8 (bytes that are not
 * become U+FFFD), keys in the order they were added, one compact object a line
 * ("key":value, no spaces) for the line-oriented outputs.
 *
 * The builders return a new reference, or NULL when out of memory; json_pack's "o" takes
 * them (and fails the whole object on NULL, so a line is never written with a key missing).
 */
#ifndef REKEYGAP_JSON_OUT_H
#define REKEYGAP_JSON_OUT_H

#include <jansson.h>
#include <linux/types.h>
#include <stdio.h>

/* Bytes from outside (a namespace or interface name, an error text, a symbol) as a JSON
 * string: valid UTF-8 unchanged, each byte of an invalid sequence (overlong forms, UTF-16
 * surrogates, beyond U+10FFFF, truncated) replaced by U+FFFD. NULL reads as "". */
json_t *json_out_string(const char *bytes);

/* jansson's json_int_t is signed 64-bit: a u64 above INT64_MAX is written as INT64_MAX, an
 * integer still. Nothing reaches it in practice: CLOCK_MONOTONIC takes 292 years, a counter
 * 9.2e18 events. (A real would keep the magnitude but print only the 15 digits reals get.) */
json_t *json_out_u64(__u64 v);

/* v rounded to decimals places exactly as printf("%.Nf") shows it (a real, so 2 is 2.0);
 * NaN and infinities, which JSON has no spelling for, are null. */
json_t *json_out_real(double v, int decimals);

/* more's keys added to obj after its own, in their order; more is released. NULL (and
 * both released) if either is NULL or a key could not be added: an object is whole or
 * not at all. */
json_t *json_out_extend(json_t *obj, json_t *more);

/* v appended to array; on failure (either NULL, no memory) both are released and NULL
 * returned, so a loop of appends ends in the whole array or NULL. */
json_t *json_out_append(json_t *array, json_t *v);

/* obj as compact JSON text, for a text line that quotes it; free() it. NULL: no memory. */
char *json_out_text(const json_t *obj);

/* obj as JSON text into out, compact, keys in insertion order, then obj is released.
 * json_out_line adds the '\n' of the line-oriented outputs. 0, or -ENOMEM (obj NULL: what
 * was to be written could not be built) or -EIO. */
int json_out_dump(FILE *out, json_t *obj);
int json_out_line(FILE *out, json_t *obj);

#endif
