/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Feature probes: what this kernel lets rekeygap see, found by trying (load a program,
 * look for a PMU or a symbol), never by comparing kernel versions.
 */
#ifndef REKEYGAP_PROBE_H
#define REKEYGAP_PROBE_H

#include <stdbool.h>
#include <stdio.h>

/* How SA lifecycle events are observed, best first. */
enum probe_mode {
	PROBE_FENTRY,     /* fentry/fexit on xfrm functions: exact, cheapest */
	PROBE_KPROBE,     /* kprobe/kretprobe on the same functions */
	PROBE_TRACEPOINT, /* kfree_skb tracepoint + XFRM netlink: no in-kernel SA timing */
	PROBE_NONE,
};

struct probe_features {
	bool btf;        /* /sys/kernel/btf/vmlinux */
	bool fentry;     /* a tracing program attaches to the SA insert function */
	bool kprobe;     /* kprobe PMU present and the SA insert function is in kallsyms */
	bool tracepoint; /* skb:kfree_skb raw tracepoint */
	bool ringbuf;    /* BPF ring buffer maps */
	bool esp;        /* ESP transform (esp4) loaded or loadable */
	bool xfrm_stat;  /* /proc/net/xfrm_stat (CONFIG_XFRM_STATISTICS) */
	bool switchover; /* the per-packet SA hooks attach in the chosen mode (first/last packet) */
};

/* The function whose attachability decides fentry and kprobe modes. */
#define PROBE_SA_INSERT_FUNC "xfrm_state_add"

void probe_features(struct probe_features *f);

/* "fentry", "kprobe", "tracepoint" <-> mode. probe_mode_parse returns -EINVAL if unknown. */
const char *probe_mode_name(enum probe_mode mode);
int probe_mode_parse(const char *name, enum probe_mode *mode);

/*
 * The mode to run in: the best one the features allow, or the forced one if it is
 * available. PROBE_NONE when nothing works (or the forced mode does not).
 */
enum probe_mode probe_choose_mode(const struct probe_features *f, bool forced,
				  enum probe_mode want);

/* Whether a kallsyms-format stream has a symbol of that name (any module, any type). */
bool probe_kallsyms_has(FILE *kallsyms, const char *name);

/* rekeygap probe [--json] */
int cmd_probe(int argc, char **argv);

#endif
