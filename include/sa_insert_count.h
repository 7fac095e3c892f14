/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Types shared by bpf/sa_insert_count.bpf.c and its loader. */
#ifndef REKEYGAP_SA_INSERT_COUNT_H
#define REKEYGAP_SA_INSERT_COUNT_H

/* Namespaces tracked at once; inserts in further namespaces go to the overflow counter. */
#define SA_INSERT_COUNT_MAX_NETNS 1024

#endif
