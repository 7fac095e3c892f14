// SPDX-License-Identifier: BSD-2-Clause
/*
 * rekey-kernel-time: load bpf/rekey_kernel_time.bpf.c (fentry/fexit on the XFRM netlink
 * handlers of the xfrm_user module), print "attached", then report the time the kernel
 * spent in them, per network namespace and message type:
 *
 *   report <n>
 *   msg <netns inode> <TYPE> count <requests> errors <failed> ns <sum>     (xfrm_user_rcv_msg)
 *   batch <netns inode> count <sendmsg buffers> ns <sum>                   (xfrm_netlink_rcv)
 *   total msg count <n> errors <n> ns <sum> batch count <n> ns <sum>
 *   lost overflow <n> unpaired <n>
 *   end <n>
 *
 * Each report covers the time since the previous one (or the start): on SIGUSR1, and a last
 * one on SIGINT/SIGTERM or after --duration, then it exits. The rekey_throughput benchmark
 * compares a rekey engine's wall time with this: the kernel's own share is the limit.
 */
#include <errno.h>
#include <linux/types.h>
#include <linux/xfrm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "rekey_kernel_time.h"
#include "rekey_kernel_time.skel.h"
#include "xfrm_msg.h"

struct entry {
	struct rkt_key k;
	struct rkt_value v;
};

/* what the previous report had seen: reports print the difference */
static struct entry prev[RKT_MAX_KEYS];
static int n_prev;
static __u64 prev_overflow, prev_unpaired;

/* A message type's name, as the trace and the rekey client name it (xfrm_msg.c). */
static const char *type_name(__u16 type, char *buf, size_t len)
{
	const char *name = xfrm_msg_type_name(type);

	if (name)
		return name;
	snprintf(buf, len, "type%u", type);
	return buf;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct rkt_key *x = &((const struct entry *)a)->k, *y = &((const struct entry *)b)->k;

	if (x->handler != y->handler)
		return x->handler < y->handler ? -1 : 1;
	if (x->netns != y->netns)
		return x->netns < y->netns ? -1 : 1;
	return x->type < y->type ? -1 : x->type > y->type;
}

static const struct rkt_value *prev_value(const struct rkt_key *k)
{
	for (int i = 0; i < n_prev; i++)
		if (!memcmp(&prev[i].k, k, sizeof(*k)))
			return &prev[i].v;
	return NULL;
}

static void report(struct rekey_kernel_time_bpf *skel, int n)
{
	static struct entry now[RKT_MAX_KEYS];
	const struct bpf_map *map = skel->maps.totals;
	struct rkt_key key, next, *cursor = NULL;
	struct rkt_value msg = {}, batch = {};
	__u64 overflow = skel->bss->rkt_overflow, unpaired = skel->bss->rkt_unpaired;
	int n_now = 0;
	char buf[16];

	while (n_now < RKT_MAX_KEYS &&
	       bpf_map__get_next_key(map, cursor, &next, sizeof(next)) == 0) {
		key = next;
		cursor = &key;
		if (bpf_map__lookup_elem(map, &key, sizeof(key), &now[n_now].v, sizeof(now[n_now].v),
					 0))
			continue;
		now[n_now++].k = key;
	}
	qsort(now, n_now, sizeof(now[0]), cmp_entry);

	printf("report %d\n", n);
	for (int i = 0; i < n_now; i++) {
		const struct rkt_value *p = prev_value(&now[i].k);
		struct rkt_value d = now[i].v;

		if (p) {
			d.count -= p->count;
			d.ns -= p->ns;
			d.errors -= p->errors;
		}
		if (!d.count)
			continue;
		if (now[i].k.handler == RKT_MSG) {
			printf("msg %u %s count %llu errors %llu ns %llu\n", now[i].k.netns,
			       type_name(now[i].k.type, buf, sizeof(buf)), (unsigned long long)d.count,
			       (unsigned long long)d.errors, (unsigned long long)d.ns);
			msg.count += d.count;
			msg.errors += d.errors;
			msg.ns += d.ns;
		} else {
			printf("batch %u count %llu ns %llu\n", now[i].k.netns,
			       (unsigned long long)d.count, (unsigned long long)d.ns);
			batch.count += d.count;
			batch.ns += d.ns;
		}
	}
	printf("total msg count %llu errors %llu ns %llu batch count %llu ns %llu\n",
	       (unsigned long long)msg.count, (unsigned long long)msg.errors,
	       (unsigned long long)msg.ns, (unsigned long long)batch.count,
	       (unsigned long long)batch.ns);
	printf("lost overflow %llu unpaired %llu\n", (unsigned long long)(overflow - prev_overflow),
	       (unsigned long long)(unpaired - prev_unpaired));
	printf("end %d\n", n);
	fflush(stdout);
	memcpy(prev, now, n_now * sizeof(now[0]));
	n_prev = n_now;
	prev_overflow = overflow;
	prev_unpaired = unpaired;
}

static const char usage[] =
	"Usage: rekey-kernel-time [--duration SEC]\n"
	"Time spent in xfrm_user_rcv_msg and xfrm_netlink_rcv, per namespace and message type:\n"
	"a report on SIGUSR1 (since the previous one), a last one on SIGINT/SIGTERM or after\n"
	"--duration.\n";

int main(int argc, char **argv)
{
	struct rekey_kernel_time_bpf *skel;
	struct timespec deadline = {}, *timeout = NULL;
	__u64 duration_ns = 0;
	sigset_t set;
	int err, n = 0;

	cli_progname = "rekey-kernel-time";
	if (argc == 3 && !strcmp(argv[1], "--duration")) {
		if (cli_parse_duration(argv[2], NSEC_PER_SEC, &duration_ns) || !duration_ns) {
			cli_error("bad --duration '%s'", argv[2]);
			return EXIT_USAGE;
		}
	} else if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(usage, stdout);
		return 0;
	} else if (argc != 1) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}

	/* signals are taken by sigtimedwait, never by a handler: no report is ever cut short */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);

	skel = rekey_kernel_time_bpf__open_and_load();
	if (!skel) {
		cli_error("cannot load the BPF program: %s", strerror(errno));
		return 1;
	}
	err = rekey_kernel_time_bpf__attach(skel);
	if (err) {
		cli_error("cannot attach fentry/fexit to xfrm_user_rcv_msg and xfrm_netlink_rcv "
			  "(module xfrm_user loaded, with BTF?): %s", strerror(-err));
		goto cleanup;
	}
	printf("attached: fentry/fexit xfrm_user_rcv_msg, xfrm_netlink_rcv\n");
	fflush(stdout);

	if (duration_ns) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += duration_ns / NSEC_PER_SEC;
		deadline.tv_nsec += duration_ns % NSEC_PER_SEC;
		if (deadline.tv_nsec >= (long)NSEC_PER_SEC) {
			deadline.tv_sec++;
			deadline.tv_nsec -= NSEC_PER_SEC;
		}
	}
	for (;;) {
		struct timespec left, now;
		int sig;

		if (duration_ns) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left.tv_sec = deadline.tv_sec - now.tv_sec;
			left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += NSEC_PER_SEC;
			}
			if (left.tv_sec < 0)
				break;
			timeout = &left;
		}
		sig = sigtimedwait(&set, NULL, timeout);
		if (sig < 0 && errno == EINTR)
			continue;
		if (sig != SIGUSR1)
			break; /* SIGINT, SIGTERM, or the duration is over */
		report(skel, ++n);
	}
	report(skel, ++n);
cleanup:
	rekey_kernel_time_bpf__destroy(skel);
	return err ? 1 : 0;
}
