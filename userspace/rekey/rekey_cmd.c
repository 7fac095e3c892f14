// SPDX-License-Identifier: BSD-2-Clause
/*
 * 'rekeygap rekey': replace an SA pair's key by a chosen strategy, N times, and say what
 * each rekey cost (netlink messages, system calls, time) and, where BPF can watch, how many
 * packets it lost.
 */
#include "rekey_cmd.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "json_out.h"
#include "netns.h"
#include "rekey.h"
#include "names.h"
#include "observer.h"

#define KEY_FILE_MAX 512
#define DROP_SETTLE_MS 300 /* after the last rekey: drops of packets still in flight */
#define BATCH_WITH_NEXT_NS (200 * NSEC_PER_MSEC)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void sleep_ns(__u64 ns)
{
	struct timespec ts = { .tv_sec = ns / NSEC_PER_SEC, .tv_nsec = ns % NSEC_PER_SEC };

	while (!stop && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* A key as hex text (ip-xfrm style, optional 0x, whitespace ignored); '-' is stdin. */
static int read_key_file(const char *path, __u8 *key, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	int ret;

	*len = 0;
	if (!f)
		return -errno;
	setvbuf(f, NULL, _IONBF, 0); /* no stdio copy of the key to wipe */
	ret = cli_read_hex_key(f, key, KEY_FILE_MAX, len);
	if (f != stdin)
		fclose(f);
	return ret;
}

/* ---- losses: the observer's drops in the namespaces involved ---- */

struct loss_count {
	__u64 by_cause[DROP_CAUSE_MAX];
	__u64 missed; /* drop-counting BPF runs the kernel skipped (preempted): not counted */
};

/* Every drop the observer reports, summed by cause: before and after are snapshots. */
static void add_drops(void *ctx, const struct drop_delta *d)
{
	struct loss_count *l = ctx;

	if (d->key->cause < DROP_CAUSE_MAX)
		l->by_cause[d->key->cause] += d->count;
}

/* The drops of the watched namespaces so far, into l. */
static void count_losses(struct observer *obs, struct loss_count *total, struct loss_count *l)
{
	struct observer_counters oc;

	observer_flush(obs);
	*l = *total;
	observer_counters(obs, &oc);
	l->missed = oc.missed.drops;
}

/* The drops since before, by cause (causes with none left out) */
static __u64 losses_since(const struct loss_count *now, const struct loss_count *before,
			  __u64 by_cause[DROP_CAUSE_MAX])
{
	__u64 total = 0;

	for (int c = 0; c < DROP_CAUSE_MAX; c++) {
		by_cause[c] = now->by_cause[c] - before->by_cause[c];
		total += by_cause[c];
	}
	return total;
}

/* {"cause":n,...} for the JSON summary */
static json_t *losses_json(const __u64 by_cause[DROP_CAUSE_MAX])
{
	json_t *j = json_object();

	for (int c = 0; c < DROP_CAUSE_MAX && j; c++)
		if (by_cause[c])
			j = json_out_extend(j, json_pack("{s:o}", drop_cause_name(c),
							 json_out_u64(by_cause[c])));
	return j;
}

/* ---- output ---- */

/* One rekey's line; t: its target, whose CPU a per-CPU SA's line names. */
static void print_rekey(FILE *out, bool json, int n, enum rekey_strategy s,
			const struct rekey_target *t, const struct rekey_report *r, int ret,
			const char *err)
{
	char old[SPI_STRLEN], new[SPI_STRLEN], cpu[24] = "";
	double us = (r->end_ns - r->start_ns) / 1e3;

	spi_format(r->old_spi, old);
	spi_format(r->new_spi, new);
	if (t->per_cpu)
		snprintf(cpu, sizeof(cpu), " cpu %u", t->pcpu_num);
	if (json) {
		/* key_changed: null when it could not be read back */
		json_t *j = json_pack(
			"{s:s,s:i,s:s,s:b,s:s,s:s,s:I,s:I,s:o,s:o,s:i}", "event", "rekey", "n", n,
			"strategy", rekey_strategy_name(s), "ok", !ret,
			"old_spi", old, "new_spi", ret ? old : new,
			"messages", (json_int_t)r->messages, "syscalls", (json_int_t)r->syscalls,
			"duration_ns", json_out_u64(r->end_ns - r->start_ns),
			"key_changed", r->key_changed < 0 ? json_null() : json_boolean(r->key_changed),
			"spi_retries", r->spi_retries);

		if (t->per_cpu)
			j = json_out_extend(j, json_pack("{s:I}", "pcpu", (json_int_t)t->pcpu_num));
		if (ret)
			j = json_out_extend(j, json_pack("{s:o}", "error", json_out_string(err)));
		json_out_line(out, j);
	} else if (ret) {
		fprintf(out, "rekey %d%s: %s failed: %s\n", n, cpu, rekey_strategy_name(s), err);
	} else {
		fprintf(out,
			"rekey %d%s: %s spi %s -> %s, %u netlink messages, %u syscalls, %.0f us%s\n",
			n, cpu, rekey_strategy_name(s), old, new, r->messages, r->syscalls, us,
			r->key_changed == 0 ? ", key NOT changed (the kernel kept the old one)"
					    : "");
	}
	fflush(out);
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

struct summary {
	int done, failed, key_unchanged;
	__u64 messages, syscalls;
	__u64 *durations; /* of the successful ones */
};

static void print_summary(FILE *out, bool json, enum rekey_strategy s, struct summary *sm,
			  const struct loss_count *before, const struct loss_count *after,
			  const char *blind)
{
	__u64 lost = 0, median = 0, max = 0, by_cause[DROP_CAUSE_MAX];
	double messages = sm->done ? (double)sm->messages / sm->done : 0;
	double syscalls = sm->done ? (double)sm->syscalls / sm->done : 0;
	int ok = sm->done - sm->failed;
	json_t *causes = NULL;

	if (ok) {
		qsort(sm->durations, ok, sizeof(__u64), cmp_u64);
		median = sm->durations[ok / 2];
		max = sm->durations[ok - 1];
	}
	if (after) {
		lost = losses_since(after, before, by_cause);
		causes = losses_json(by_cause);
	}
	if (json) {
		json_t *j = json_pack(
			"{s:s,s:s,s:i,s:i,s:o,s:o,s:o,s:o,s:i}", "event", "summary",
			"strategy", rekey_strategy_name(s), "rekeys", sm->done, "failed", sm->failed,
			"messages_per_rekey", json_out_real(messages, 2),
			"syscalls_per_rekey", json_out_real(syscalls, 2),
			"median_ns", json_out_u64(median), "max_ns", json_out_u64(max),
			"key_unchanged", sm->key_unchanged);

		if (after)
			j = json_out_extend(j, json_pack("{s:o,s:O,s:o}", "lost", json_out_u64(lost),
							 "lost_by_cause", causes, "drops_missed",
							 json_out_u64(after->missed - before->missed)));
		else /* lost: null, not 0: nobody counted */
			j = json_out_extend(j, json_pack("{s:n,s:o}", "lost",
							 "unobserved", json_out_string(blind)));
		json_out_line(out, j);
	} else {
		fprintf(out,
			"%d rekeys (%s), %d failed; per rekey %.1f netlink messages, %.1f "
			"syscalls, median %.0f us, max %.0f us\n",
			sm->done, rekey_strategy_name(s), sm->failed, messages, syscalls,
			median / 1e3, max / 1e3);
		if (sm->key_unchanged)
			fprintf(out,
				"%d of them left the key as it was: UPDSA does not change a "
				"valid SA's keys\n",
				sm->key_unchanged);
		if (after) {
			/* the causes as the JSON summary has them, if there were any */
			char *text =
				causes && json_object_size(causes) ? json_out_text(causes) : NULL;

			fprintf(out, "packets lost during the rekeys: %" PRIu64 "%s%s\n",
				(uint64_t)lost, text ? " " : "", text ? text : "");
			free(text);
		} else {
			fprintf(out, "packets lost: not observed (%s)\n", blind);
		}
	}
	json_decref(causes);
	fflush(out);
}

static const char rekey_usage[] =
	"Usage: rekeygap rekey --from-netns A --to-netns B --src IP --dst IP [OPTIONS]\n"
	"       rekeygap rekey --netns A --dir in|out --src IP --dst IP [OPTIONS]\n"
	"\n"
	"Replace the key of the ESP SA from --src to --dst: the outbound SA in the sender's\n"
	"namespace (--from-netns) and the inbound one in the receiver's (--to-netns), or one\n"
	"SA alone (--netns, --dir) when the peer is elsewhere. Everything but SPI and key is\n"
	"carried over. One line per rekey, then a summary with the packets lost, counted by\n"
	"BPF at the kernel's drop points (when this kernel allows it). A make-before-break\n"
	"killed midway leaves a working SA pair; the same command run again completes it\n"
	"(the SPIs it may leave are noted in /run/rekeygap first, never a key).\n"
	"\n"
	"  -s, --strategy S      make-before-break (default): new SPI, receiver first, old\n"
	"                        inbound SA removed after --grace: loses nothing;\n"
	"                        delete-add: DELSA + NEWSA with the same SPI: loses packets;\n"
	"                        update: UPDSA with a new key: the kernel keeps the old key\n"
	"      --from-netns A    the sender's namespace (ip netns name or path)\n"
	"      --to-netns B      the receiver's namespace\n"
	"      --netns A --dir D one SA only: D is in or out\n"
	"      --src IP --dst IP the SA's (outer) addresses\n"
	"      --spi SPI         which SA, when several go from --src to --dst\n"
	"      --pcpu CPU|all    per-CPU SAs (Linux 6.13+, XFRMA_SA_PCPU: one SA per CPU of\n"
	"                        one flow): the SA of that CPU, or every CPU's SA, each\n"
	"                        rekeyed in every round, one after the other\n"
	"      --new-spi SPI     make-before-break: the new SPI to try first (default: random;\n"
	"                        a taken SPI is replaced by a random one)\n"
	"  -n, --count N         rekeys to do (default 1)\n"
	"  -i, --interval T      between rekeys (default 1000ms; a bare number is ms)\n"
	"  -g, --grace T         make-before-break: old inbound SA kept (default 1000ms)\n"
	"      --drain T         make-before-break: old outbound SA kept, for packets already\n"
	"                        routed to it (default 1000ms)\n"
	"  -k, --key-file FILE   the new key in hex (- for stdin); default: random, from\n"
	"                        getrandom(2), sized for the SA's algorithms. Never printed.\n"
	"  -j, --json            one JSON object per line\n"
	"      --no-loss-count   do not load the BPF drop counters (faster start for bulk\n"
	"                        runs; the summary then has no packet count)\n"
	"  -h, --help            this text\n"
	"\n"
	"Examples:\n"
	"  rekeygap rekey --from-netns gw1 --to-netns gw2 --src 192.0.2.1 --dst 192.0.2.2\n"
	"  rekeygap rekey --strategy delete-add --count 10 --interval 200 \\\n"
	"      --from-netns gw1 --to-netns gw2 --src 192.0.2.1 --dst 192.0.2.2\n"
	"  rekeygap rekey --pcpu all --from-netns gw1 --to-netns gw2 \\\n"
	"      --src 192.0.2.1 --dst 192.0.2.2\n";

struct rekey_args {
	const char *from, *to, *netns, *dir, *src, *dst, *key_file;
	struct rekey_target target;
	struct rekey_options opt;
	__u32 count;
	__u64 interval_ns;
	bool json;
	bool no_loss_count;
	bool all_cpus; /* --pcpu all */
};

static int parse_args(int argc, char **argv, struct rekey_args *a)
{
	static const struct option opts[] = {
		{ "strategy", required_argument, NULL, 's' },
		{ "from-netns", required_argument, NULL, 'F' },
		{ "to-netns", required_argument, NULL, 'T' },
		{ "netns", required_argument, NULL, 'N' },
		{ "dir", required_argument, NULL, 'D' },
		{ "src", required_argument, NULL, 'S' },
		{ "dst", required_argument, NULL, 'd' },
		{ "spi", required_argument, NULL, 'p' },
		{ "pcpu", required_argument, NULL, 'C' },
		{ "new-spi", required_argument, NULL, 'P' },
		{ "count", required_argument, NULL, 'n' },
		{ "interval", required_argument, NULL, 'i' },
		{ "grace", required_argument, NULL, 'g' },
		{ "drain", required_argument, NULL, 'R' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "no-loss-count", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	__u16 dst_family;
	int c;

	while ((c = getopt_long(argc, argv, "s:n:i:g:k:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (rekey_strategy_parse(optarg, &a->opt.strategy)) {
				cli_error("rekey: unknown --strategy '%s' (make-before-break, "
					  "delete-add or update)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'F': a->from = optarg; break;
		case 'T': a->to = optarg; break;
		case 'N': a->netns = optarg; break;
		case 'D':
			if (strcmp(optarg, "in") && strcmp(optarg, "out")) {
				cli_error("rekey: --dir is in or out, not '%s'", optarg);
				return EXIT_USAGE;
			}
			a->dir = optarg;
			break;
		case 'S': a->src = optarg; break;
		case 'd': a->dst = optarg; break;
		case 'p':
			if (spi_parse(optarg, &a->target.spi)) {
				cli_error("rekey: bad --spi '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'C':
			a->target.per_cpu = true;
			a->all_cpus = !strcmp(optarg, "all");
			if (!a->all_cpus &&
			    cli_parse_u32(optarg, 0, UINT32_MAX - 1, &a->target.pcpu_num)) {
				cli_error("rekey: bad --pcpu '%s' (a CPU number, or all)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'P':
			if (spi_parse(optarg, &a->opt.new_spi) || ntohl(a->opt.new_spi) < 256) {
				cli_error("rekey: bad --new-spi '%s' (256 or more)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			if (cli_parse_u32(optarg, 1, 1000000, &a->count)) {
				cli_error("rekey: bad --count '%s' (1 to 1000000)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'i':
			if (cli_parse_duration(optarg, NSEC_PER_MSEC, &a->interval_ns)) {
				cli_error("rekey: bad --interval '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'g':
			if (cli_parse_duration(optarg, NSEC_PER_MSEC, &a->opt.grace_ns)) {
				cli_error("rekey: bad --grace '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'R':
			if (cli_parse_duration(optarg, NSEC_PER_MSEC, &a->opt.drain_ns)) {
				cli_error("rekey: bad --drain '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'k': a->key_file = optarg; break;
		case 'j': a->json = true; break;
		case 'L': a->no_loss_count = true; break;
		case 'h':
			fputs(rekey_usage, stdout);
			return -1;
		default:
			fputs(rekey_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("rekey: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (a->netns ? (a->from || a->to || !a->dir) : (!a->from || !a->to || a->dir)) {
		cli_error("rekey: give --from-netns and --to-netns, or --netns and --dir");
		return EXIT_USAGE;
	}
	if (a->all_cpus && (a->target.spi || a->opt.new_spi)) {
		cli_error("rekey: --pcpu all rekeys several SAs: no --spi or --new-spi with it");
		return EXIT_USAGE;
	}
	if (!a->src || !a->dst) {
		cli_error("rekey: --src and --dst are needed (the SA's addresses)");
		return EXIT_USAGE;
	}
	if (addr_parse(a->src, &a->target.family, &a->target.saddr) ||
	    addr_parse(a->dst, &dst_family, &a->target.daddr) || dst_family != a->target.family) {
		cli_error("rekey: --src '%s' and --dst '%s' must be addresses of one family",
			  a->src, a->dst);
		return EXIT_USAGE;
	}
	return 0;
}

/* The SAs to rekey: one pair, or with --pcpu all one per CPU the sender's side has. */
struct rekey_set {
	struct rekey **rk;
	struct rekey_target *target; /* of each */
	int n;
};

static void rekey_set_close(struct rekey_set *set)
{
	for (int i = 0; i < set->n; i++)
		rekey_close(set->rk[i]);
	free(set->rk);
	free(set->target);
	memset(set, 0, sizeof(*set));
}

/* Open and check every SA pair of the set: 0, or -errno with one line in err. */
static int rekey_set_open(struct rekey_set *set, const struct rekey_args *a, char *err,
			  size_t errlen)
{
	const char *out = a->netns ? (!strcmp(a->dir, "out") ? a->netns : NULL) : a->from;
	const char *in = a->netns ? (!strcmp(a->dir, "in") ? a->netns : NULL) : a->to;
	__u32 cpus[REKEY_PCPU_MAX];
	int n = 1, ret = 0;

	if (a->all_cpus) {
		n = rekey_pcpu_nums(out ? out : in, &a->target, cpus, REKEY_PCPU_MAX, err, errlen);
		if (n == 0) {
			snprintf(err, errlen, "--pcpu all: no per-CPU SA from %s to %s in %s", a->src,
				 a->dst, out ? out : in);
			return -ENOENT;
		}
		if (n < 0)
			return n;
	}
	set->rk = calloc(n, sizeof(*set->rk));
	set->target = calloc(n, sizeof(*set->target));
	if (!set->rk || !set->target) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < n && !ret; i++) {
		set->target[i] = a->target;
		if (a->all_cpus)
			set->target[i].pcpu_num = cpus[i];
		ret = rekey_open(&set->rk[i], out, in, &set->target[i], err, errlen);
		if (!ret)
			set->n++;
		if (!ret)
			ret = rekey_check(set->rk[i], &a->opt, err, errlen);
		if (!ret && *rekey_note(set->rk[i]))
			fprintf(stderr, "rekey: %s\n", rekey_note(set->rk[i]));
	}
	return ret;
}

int cmd_rekey(int argc, char **argv)
{
	struct rekey_args a = {
		.opt = { .strategy = REKEY_MAKE_BEFORE_BREAK,
			 .grace_ns = NSEC_PER_SEC,
			 /* a packet can reach xfrm_output well after its route lookup: under a
			  * loaded QEMU/TCG host we saw packets on the old SA 53 ms and even
			  * 500 ms after the new one came (a stalled vCPU). The old outbound SA
			  * costs nothing meanwhile: the newest is preferred */
			 .drain_ns = NSEC_PER_SEC },
		.count = 1,
		.interval_ns = NSEC_PER_SEC,
	};
	struct loss_count before = {}, after = {}, total = {};
	struct summary sm = {};
	struct observer *obs = NULL;
	bool traced = false;
	__u8 key[KEY_FILE_MAX];
	char err[256], blind[256] = "";
	struct rekey_set set = {};
	int ret;

	ret = parse_args(argc, argv, &a);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (a.key_file) {
		ret = read_key_file(a.key_file, key, &a.opt.key_len);
		if (ret) {
			explicit_bzero(key, sizeof(key));
			cli_error("rekey: --key-file '%s': %s", a.key_file,
				  ret == -EINVAL ? "not a key in hex" : strerror(-ret));
			return 1;
		}
		a.opt.key = key;
	}
	ret = rekey_set_open(&set, &a, err, sizeof(err));
	if (ret) {
		rekey_set_close(&set);
		explicit_bzero(key, sizeof(key));
		cli_error("rekey: %s", err);
		return 1;
	}
	sm.durations = calloc((size_t)a.count * set.n, sizeof(*sm.durations));
	if (!sm.durations) {
		rekey_set_close(&set);
		explicit_bzero(key, sizeof(key));
		cli_error("rekey: out of memory");
		return 1;
	}

	/* losses: BPF drop counters in both namespaces, if this kernel lets us */
	if (a.no_loss_count)
		snprintf(blind, sizeof(blind), "--no-loss-count");
	if (!a.no_loss_count) {
		const char *names[2] = { a.netns ? a.netns : a.from, a.to };
		struct observer_options oo = { .who = "rekey", .netns = names,
					       .n_netns = a.netns ? 1 : 2, .probe = PROBE_FENTRY,
					       .drops_only = true };
		struct observer_sink sink = { .drops = add_drops, .ctx = &total };

		traced = !observer_open(&obs, &oo, &sink, blind, sizeof(blind)) &&
			 !observer_start(obs, blind, sizeof(blind));
		if (traced)
			count_losses(obs, &total, &before);
		if (!traced) {
			observer_close(obs);
			obs = NULL;
		}
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* a round rekeys every SA pair of the set (one, or each CPU's), one after the other */
	for (__u32 n = 1; n <= a.count && !stop && !ret; n++) {
		__u64 next = monotonic_ns() + a.interval_ns;

		for (int i = 0; i < set.n && !ret; i++) {
			struct rekey_report rep;

			ret = rekey_run(set.rk[i], &a.opt, &rep, err, sizeof(err));
			print_rekey(stdout, a.json, (int)n, a.opt.strategy, &set.target[i], &rep,
				    ret, err);
			sm.done++;
			if (ret)
				sm.failed++;
			else
				sm.durations[sm.done - sm.failed - 1] = rep.end_ns - rep.start_ns;
			if (!ret && rep.key_changed == 0)
				sm.key_unchanged++;
			/* the SAs are as they were: stop rather than repeat the failure */
			if (ret == -ESRCH)
				ret = 0;
		}
		/* until the next round, replaced SAs go when their time is up; when it is
		 * near, they wait for its batches instead of costing syscalls of their own */
		for (__u64 now = monotonic_ns(); n < a.count && !stop && !ret && now < next;
		     now = monotonic_ns()) {
			for (int i = 0; i < set.n && next - now > BATCH_WITH_NEXT_NS; i++)
				rekey_expire_grace(set.rk[i], false, err, sizeof(err));
			sleep_ns(next - now < 10 * NSEC_PER_MSEC ? next - now : 10 * NSEC_PER_MSEC);
		}
	}
	/* the last replaced SAs keep their time, unless we are interrupted */
	if (a.opt.strategy == REKEY_MAKE_BEFORE_BREAK && !stop)
		sleep_ns(a.opt.grace_ns > a.opt.drain_ns ? a.opt.grace_ns : a.opt.drain_ns);
	/* per rekey: everything it took, the deletions of replaced SAs included */
	for (int i = 0; i < set.n; i++) {
		__u64 messages, syscalls;

		rekey_expire_grace(set.rk[i], true, err, sizeof(err));
		rekey_counters(set.rk[i], &messages, &syscalls);
		sm.messages += messages;
		sm.syscalls += syscalls;
	}
	rekey_set_close(&set);
	if (traced) {
		sleep_ns(DROP_SETTLE_MS * NSEC_PER_MSEC);
		count_losses(obs, &total, &after);
	}
	observer_close(obs);
	print_summary(stdout, a.json, a.opt.strategy, &sm, &before, traced ? &after : NULL, blind);
	explicit_bzero(key, sizeof(key));
	free(sm.durations);
	return sm.failed ? 1 : 0;
}
