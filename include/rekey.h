/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The rekey engine: replace the key of an ESP SA pair (the outbound SA on the sender, the
 * inbound one on the receiver, each in its own network namespace) by one of three
 * strategies, with as few netlink messages and system calls as the strategy allows.
 *
 *   delete-add         DELSA then NEWSA, same SPI, new key: what naive tooling does. The
 *                      receiver changes first; packets in between are lost.
 *   make-before-break  new SPI: NEWSA inbound on the receiver; NEWSA outbound on the sender
 *                      (the kernel prefers the newest valid SA: traffic moves at once);
 *                      DELSA of the old outbound after a short drain time, of the old
 *                      inbound after a grace time, for packets still in flight. Loses
 *                      nothing.
 *   update             UPDSA with a new key, then the SA is read back: the kernel keeps the
 *                      old key (UPDSA never touches a valid SA's keys), and the report says so.
 *
 * Everything else of the old SA (algorithms, mode, selector, reqid, flags, replay window,
 * encap, marks, if_id, lifetimes...) is carried over. Keys come from getrandom(2) or the
 * caller, are wiped after use and never printed. On a failed step the engine puts back what
 * was there: traffic is never left without the SA the strategy meant it to have.
 *
 * Usable from any C program: link the rekeygap objects with libmnl.
 */
#ifndef REKEYGAP_REKEY_H
#define REKEYGAP_REKEY_H

#include <linux/types.h>
#include <linux/xfrm.h>
#include <stdbool.h>
#include <stddef.h>

enum rekey_strategy {
	REKEY_DELETE_ADD = 1,
	REKEY_MAKE_BEFORE_BREAK,
	REKEY_UPDATE,
};

/*
 * Which SA: by its addresses, and its SPI when more than one SA fits them. Per-CPU SAs
 * (XFRMA_SA_PCPU, Linux 6.13+: one SA of the flow per CPU, each rekeyed on its own) are
 * found only by their CPU: with per_cpu, the SA of CPU pcpu_num; without, SAs that have
 * none.
 */
struct rekey_target {
	__u16 family;
	xfrm_address_t saddr, daddr;
	__be32 spi; /* 0: the only ESP SA from saddr to daddr */
	bool per_cpu;
	__u32 pcpu_num;
};

/* The largest number of per-CPU SAs of one flow rekey_pcpu_nums lists. */
#define REKEY_PCPU_MAX 256

struct rekey_options {
	enum rekey_strategy strategy;
	__u64 grace_ns;    /* make-before-break: how long the old inbound SA stays */
	__u64 drain_ns;    /* make-before-break: how long the old outbound SA stays, for packets
			    * that looked their route up before the new SA came */
	const __u8 *key;   /* NULL: a random key of the size the SA's algorithms take */
	size_t key_len;
	__be32 new_spi;    /* make-before-break: the SPI to try first; 0: random */
};

/* What one rekey did. */
struct rekey_report {
	__be32 old_spi, new_spi;
	__u64 start_ns, end_ns; /* CLOCK_MONOTONIC, around the netlink work */
	__u32 messages;         /* netlink requests sent */
	__u32 syscalls;         /* sendmsg and recvmsg calls */
	int key_changed;        /* 1, 0 (update: the kernel kept the old key), -1 unknown */
	int spi_retries;        /* make-before-break: SPIs that were taken already */
};

struct rekey;

/*
 * Find the SA in each namespace: out_netns holds the sender's outbound SA, in_netns the
 * receiver's inbound one (names in /run/netns or paths; NULL: ours). One of the two may be
 * NULL with only_one set: rekey a single SA (the peer is elsewhere). 0 or -errno, with one
 * line in err (a namespace that does not exist, no SA, several SAs that are not leftovers
 * of an interrupted rekey: their SPIs).
 */
int rekey_open(struct rekey **rk, const char *out_netns, const char *in_netns,
	       const struct rekey_target *target, char *err, size_t errlen);

/*
 * The CPUs of the per-CPU SAs from target's saddr to daddr in netns (NULL: ours), target's
 * spi and pcpu_num ignored: their number (at most max into nums, ascending), or -errno with
 * one line in err.
 */
int rekey_pcpu_nums(const char *netns, const struct rekey_target *target, __u32 *nums, int max,
		    char *err, size_t errlen);

/*
 * What rekey_open found besides the SA pair: SAs an interrupted make-before-break left
 * (killed between its steps): siblings of the pair, differing only in SPI and key, whose
 * SPIs that run wrote to its journal (/run/rekeygap/mbb-*, SPIs only) before touching
 * anything. They are kept until the drain (outbound) or grace (inbound) time after the next
 * rekey_run, then deleted, so that re-running a killed rekey completes it; SAs not in the
 * journal are never taken for leftovers. "" if none; one line otherwise.
 */
const char *rekey_note(const struct rekey *rk);

/*
 * Would these options work for this SA? The key length; for make-before-break, no policy
 * template naming the SA's SPI (a new SPI would not match it). 0 or -errno, one line in err.
 */
int rekey_check(struct rekey *rk, const struct rekey_options *opt, char *err, size_t errlen);

/* One rekey. 0 or -errno, with one line in err; the SAs are as before on error. */
int rekey_run(struct rekey *rk, const struct rekey_options *opt, struct rekey_report *rep,
	      char *err, size_t errlen);

/* Remove the replaced SAs whose drain or grace time is over; all of them with flush. */
int rekey_expire_grace(struct rekey *rk, bool flush, char *err, size_t errlen);

/* Netlink requests and syscalls so far, all included (deletions between rekeys too). */
void rekey_counters(const struct rekey *rk, __u64 *messages, __u64 *syscalls);

/* Deletes what is left (flush), wipes every key. */
void rekey_close(struct rekey *rk);

const char *rekey_strategy_name(enum rekey_strategy s);
int rekey_strategy_parse(const char *name, enum rekey_strategy *s);

#endif
