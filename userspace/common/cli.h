/* SPDX-License-Identifier: BSD-2-Clause */
/* Command-line conventions shared by every rekeygap command. */
#ifndef REKEYGAP_CLI_H
#define REKEYGAP_CLI_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit status for bad usage, as getopt-based tools use it. */
#define EXIT_USAGE 2

#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC 1000000000ULL

/* Decimal or 0x-hex unsigned integer within [min, max]. -EINVAL or -ERANGE. */
int cli_parse_u32(const char *text, __u32 min, __u32 max, __u32 *out);

/*
 * A duration: a number with an optional unit (ns, us, ms, s, m), e.g. "500ms", "1.5s".
 * A bare number is in default_unit_ns, so "--interval 500" can mean milliseconds and
 * "--duration 2" seconds. Result in nanoseconds; -EINVAL or -ERANGE (over a day).
 */
int cli_parse_duration(const char *text, __u64 default_unit_ns, __u64 *ns);

/* CLOCK_MONOTONIC in nanoseconds: the clock of bpf_ktime_get_ns, so user and kernel
 * timestamps compare. */
__u64 monotonic_ns(void);

/*
 * A key as hex text from f, as ip-xfrm takes it: an optional 0x, whitespace anywhere. At
 * most max bytes into key, *len of them. -EINVAL if not hex, odd, empty or too long (key
 * holds what was read so far: the caller wipes it either way).
 */
int cli_read_hex_key(FILE *f, __u8 *key, size_t max, size_t *len);

/* The program's name for error lines ("rekeygap"). */
extern const char *cli_progname;

/* "rekeygap: <message>" on stderr: one line per error, the convention everywhere. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
