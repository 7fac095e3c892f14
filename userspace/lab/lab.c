// SPDX-License-Identifier: BSD-2-Clause
/*
 * 'rekeygap lab': build the lab, measure, remove it. See lab.h; the table and the report
 * are written by lab_report.c.
 *
 *   netns A (rkg-lab-PID-a)                              netns B (rkg-lab-PID-b)
 *   198.51.100.1 (lo)                                        198.51.100.2 (lo)
 *   192.0.2.1 veth-a ===== ESP A->B spi 0x1000, reqid 1 ====> veth-b 192.0.2.2
 *                    <==== ESP B->A spi 0x2000, reqid 2 =====
 *   UDP 198.51.100.1 -> .2 port 5001, and back on 5002, sequence-numbered
 *   --pcpu N: per-CPU SAs instead, CPU c's of spi 0x1000 + c (A->B) and 0x2000 + c (B->A),
 *   each with its direction; a datagram takes the SA of the CPU it is sent from
 */
#include "lab.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "lab_report.h"
#include "lab_results.h"
#include "monitor.h"
#include "netns.h"
#include "probe.h"
#include "xfrm_client.h"
#include "xfrm_features.h"

#define OUTER_A "192.0.2.1"
#define OUTER_B "192.0.2.2"
#define INNER_A "198.51.100.1"
#define INNER_B "198.51.100.2"
#define PORT_AB 5001
#define PORT_BA 5002
#define SPI_AB 0x1000
#define SPI_BA 0x2000
#define TICK_MS 10
#define KEY_BYTES_MAX 64
#define LAB_DATAGRAMS_MAX 20000000u /* per direction: ~180 MB of send times and arrivals */
#define LAB_PCPU_MAX 8 /* per-CPU SAs per direction: 2 x 8 SAs + 2 policies in one batch */

extern char **environ;

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

/* ---- ip(8) for links, addresses and routes ---- */

/*
 * Run "ip ARGS..." (words split on spaces: only our own names and addresses go in), its
 * stderr's first line into err on failure. Keys never go through here: SAs are made over
 * netlink, not on a command line anyone can read in /proc.
 */
static int run_ip(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int run_ip(char *err, size_t errlen, const char *fmt, ...)
{
	char cmd[256], line[256], *argv[32], *save = NULL, msg[160] = "";
	posix_spawn_file_actions_t fa;
	int argc = 0, pipefd[2], status = 0;
	va_list ap;
	pid_t pid;
	ssize_t n;

	argv[argc++] = "ip";
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	memcpy(line, cmd, sizeof(line));
	for (char *w = strtok_r(line, " ", &save); w && argc < 31; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, "ip", &fa, NULL, argv, environ)) {
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[0]);
		close(pipefd[1]);
		snprintf(err, errlen, "cannot run ip(8) (iproute2): %s", strerror(errno));
		return -ENOENT;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	n = read(pipefd[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	snprintf(err, errlen, "ip %.120s: %.120s", cmd, msg[0] ? msg : "failed");
	return -EIO;
}

/* ---- the topology ---- */

/* Labs whose process is gone (killed with SIGKILL) left their namespaces: remove them. */
static void remove_stale_labs(void)
{
	DIR *d = opendir(NETNS_RUN_DIR);
	struct dirent *e;
	char err[200];

	if (!d)
		return;
	while ((e = readdir(d))) {
		char proc[64], side;
		int pid;

		if (sscanf(e->d_name, "rkg-lab-%d-%c", &pid, &side) != 2 || pid <= 0)
			continue;
		snprintf(proc, sizeof(proc), "/proc/%d", pid);
		if (access(proc, F_OK) && errno == ENOENT)
			run_ip(err, sizeof(err), "netns del %s", e->d_name);
	}
	closedir(d);
}

static void topology_down(struct lab *lab)
{
	char err[200];

	for (int i = 0; i < 2; i++) {
		if (lab->nsfd[i] >= 0)
			close(lab->nsfd[i]);
		lab->nsfd[i] = -1;
		/* the namespace goes with its name: the SAs, policies and veth in it too */
		if (lab->ns_made[i] && run_ip(err, sizeof(err), "netns del %s", lab->ns[i]))
			cli_error("lab: %s", err);
		lab->ns_made[i] = false;
	}
}

static int topology_up(struct lab *lab, char *err, size_t errlen)
{
	const char *a = lab->ns[0], *b = lab->ns[1];
	int ret;

	for (int i = 0; i < 2; i++) {
		ret = run_ip(err, errlen, "netns add %s", lab->ns[i]);
		if (ret)
			return ret;
		lab->ns_made[i] = true;
		ret = netns_open(lab->ns[i], &lab->nsfd[i], &lab->inum[i]);
		if (ret) {
			snprintf(err, errlen, "cannot open namespace %s: %s", lab->ns[i], strerror(-ret));
			return ret;
		}
	}
	if ((ret = run_ip(err, errlen, "-n %s link add veth-a type veth peer name veth-b netns %s",
			  a, b)) ||
	    (ret = run_ip(err, errlen, "-n %s addr add " OUTER_A "/24 dev veth-a", a)) ||
	    (ret = run_ip(err, errlen, "-n %s addr add " OUTER_B "/24 dev veth-b", b)) ||
	    (ret = run_ip(err, errlen, "-n %s addr add " INNER_A "/32 dev lo", a)) ||
	    (ret = run_ip(err, errlen, "-n %s addr add " INNER_B "/32 dev lo", b)) ||
	    (ret = run_ip(err, errlen, "-n %s link set lo up", a)) ||
	    (ret = run_ip(err, errlen, "-n %s link set lo up", b)) ||
	    (ret = run_ip(err, errlen, "-n %s link set veth-a up", a)) ||
	    (ret = run_ip(err, errlen, "-n %s link set veth-b up", b)) ||
	    (ret = run_ip(err, errlen, "-n %s route add " INNER_B "/32 via " OUTER_B " src " INNER_A,
			  a)) ||
	    (ret = run_ip(err, errlen, "-n %s route add " INNER_A "/32 via " OUTER_A " src " INNER_B,
			  b)))
		return ret;
	return 0;
}

/* ---- SAs and policies, over netlink ---- */

static void addr4(xfrm_address_t *x, const char *text)
{
	memset(x, 0, sizeof(*x));
	inet_pton(AF_INET, text, &x->a4);
}

/*
 * A per-CPU SA's attributes: its CPU and its direction (the kernel takes a CPU only with
 * one), or none (cpu UINT32_MAX).
 */
struct sa_cpu {
	__u32 cpu;
	__u8 dir; /* XFRM_UAPI_SA_DIR_IN or _OUT */
};

/* The SA src -> dst with spi and reqid, tunnel mode, the lab's algorithm, this key. */
static int build_sa(struct xfrm_sa *sa, const char *src, const char *dst, __u32 spi, __u32 reqid,
		    const char *alg, const __u8 *key, struct sa_cpu pc)
{
	struct xfrm_usersa_info *i = &sa->info;
	__u8 buf[sizeof(struct xfrm_algo_auth) + KEY_BYTES_MAX] = { 0 };
	int ret;

	memset(sa, 0, sizeof(*sa));
	i->family = AF_INET;
	addr4(&i->saddr, src);
	addr4(&i->id.daddr, dst);
	i->id.spi = htonl(spi);
	i->id.proto = IPPROTO_ESP;
	i->mode = XFRM_MODE_TUNNEL;
	i->reqid = reqid;
	/* an outbound SA with a direction has no replay window (the kernel checks) */
	i->replay_window = pc.cpu != UINT32_MAX && pc.dir == XFRM_UAPI_SA_DIR_OUT ? 0 : 32;
	i->lft.soft_byte_limit = i->lft.hard_byte_limit = XFRM_INF;
	i->lft.soft_packet_limit = i->lft.hard_packet_limit = XFRM_INF;
	if (!strcmp(alg, "rfc4106(gcm(aes))")) {
		struct xfrm_algo_aead *a = (struct xfrm_algo_aead *)buf;

		strcpy(a->alg_name, alg);
		a->alg_key_len = 20 * 8; /* AES-128 and the 4-byte salt */
		a->alg_icv_len = 128;
		memcpy(a->alg_key, key, 20);
		ret = xfrm_sa_put_attr(sa, XFRMA_ALG_AEAD, a, sizeof(*a) + 20);
	} else {
		struct xfrm_algo *c = (struct xfrm_algo *)buf;
		struct xfrm_algo_auth *h = (struct xfrm_algo_auth *)buf;

		strcpy(c->alg_name, "cbc(aes)");
		c->alg_key_len = 16 * 8;
		memcpy(c->alg_key, key, 16);
		ret = xfrm_sa_put_attr(sa, XFRMA_ALG_CRYPT, c, sizeof(*c) + 16);
		memset(buf, 0, sizeof(buf));
		strcpy(h->alg_name, "hmac(sha256)");
		h->alg_key_len = 32 * 8;
		h->alg_trunc_len = 128;
		memcpy(h->alg_key, key + 16, 32);
		if (!ret)
			ret = xfrm_sa_put_attr(sa, XFRMA_ALG_AUTH_TRUNC, h, sizeof(*h) + 32);
	}
	explicit_bzero(buf, sizeof(buf));
	if (!ret && pc.cpu != UINT32_MAX)
		ret = xfrm_sa_put_attr(sa, XFRM_UAPI_ATTR_SA_PCPU, &pc.cpu, sizeof(pc.cpu));
	if (!ret && pc.cpu != UINT32_MAX)
		ret = xfrm_sa_put_attr(sa, XFRM_UAPI_ATTR_SA_DIR, &pc.dir, sizeof(pc.dir));
	return ret;
}

/* The policy of one direction: selector inner -> inner, template outer -> outer. */
static int build_policy(struct xfrm_pol *p, __u8 dir, const char *in_src, const char *in_dst,
			const char *out_src, const char *out_dst, __u32 reqid)
{
	struct xfrm_userpolicy_info *i = &p->info;
	struct xfrm_user_tmpl t = { 0 };

	memset(p, 0, sizeof(*p));
	i->sel.family = AF_INET;
	addr4(&i->sel.saddr, in_src);
	addr4(&i->sel.daddr, in_dst);
	i->sel.prefixlen_s = i->sel.prefixlen_d = 32;
	i->lft.soft_byte_limit = i->lft.hard_byte_limit = XFRM_INF;
	i->lft.soft_packet_limit = i->lft.hard_packet_limit = XFRM_INF;
	i->dir = dir;
	i->action = XFRM_POLICY_ALLOW;
	t.family = AF_INET;
	addr4(&t.saddr, out_src);
	addr4(&t.id.daddr, out_dst);
	t.id.proto = IPPROTO_ESP;
	t.reqid = reqid;
	t.mode = XFRM_MODE_TUNNEL;
	t.aalgos = t.ealgos = t.calgos = ~0u;
	return xfrm_pol_put_attr(p, XFRMA_TMPL, &t, sizeof(t));
}

/*
 * The SAs of both directions into batch, for side (0: A, 1: B): one each, or with --pcpu
 * one each per CPU (keys differ per CPU: the key of CPU c is key XOR c).
 */
static int add_sas(struct lab *lab, struct xfrm_batch *batch, struct xfrm_sa *sa, int side,
		   const __u8 *key_ab, const __u8 *key_ba)
{
	__u32 n = lab->pcpu ? lab->pcpu : 1;
	__u8 key[KEY_BYTES_MAX];
	int ret = 0;

	for (int d = 0; d < 2 && !ret; d++) {
		/* d 0: A->B, outbound on A; d 1: B->A, outbound on B */
		struct sa_cpu pc = { .dir = d == side ? XFRM_UAPI_SA_DIR_OUT : XFRM_UAPI_SA_DIR_IN };

		for (__u32 c = 0; c < n && !ret; c++) {
			memcpy(key, d ? key_ba : key_ab, sizeof(key));
			for (size_t k = 0; k < sizeof(key); k++)
				key[k] ^= (__u8)c;
			pc.cpu = lab->pcpu ? c : UINT32_MAX;
			ret = build_sa(sa, d ? OUTER_B : OUTER_A, d ? OUTER_A : OUTER_B,
				       (d ? SPI_BA : SPI_AB) + c, d + 1, lab->alg, key, pc);
			if (!ret)
				ret = xfrm_batch_add_sa(batch, XFRM_MSG_NEWSA, sa);
		}
	}
	explicit_bzero(key, sizeof(key));
	return ret;
}

/* Both SAs (or both sets) and both policies in each namespace, one batch per namespace. */
static int install_ipsec(struct lab *lab, char *err, size_t errlen)
{
	static struct xfrm_batch batch;
	static struct xfrm_sa sa;
	static struct xfrm_pol pol;
	__u8 key_ab[KEY_BYTES_MAX], key_ba[KEY_BYTES_MAX];
	int ret = 0;

	if (getrandom(key_ab, sizeof(key_ab), 0) != sizeof(key_ab) ||
	    getrandom(key_ba, sizeof(key_ba), 0) != sizeof(key_ba)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -EIO;
	}
	for (int side = 0; side < 2 && !ret; side++) {
		struct xfrm_client c;
		bool a = side == 0;

		ret = xfrm_client_open(&c, lab->nsfd[side]);
		if (ret) {
			snprintf(err, errlen, "XFRM netlink in %s: %s", lab->ns[side], strerror(-ret));
			break;
		}
		xfrm_batch_init(&batch);
		if ((ret = add_sas(lab, &batch, &sa, side, key_ab, key_ba)) ||
		    (ret = build_policy(&pol, XFRM_POLICY_OUT, a ? INNER_A : INNER_B,
					a ? INNER_B : INNER_A, a ? OUTER_A : OUTER_B,
					a ? OUTER_B : OUTER_A, a ? 1 : 2)) ||
		    (ret = xfrm_batch_add_pol(&batch, XFRM_MSG_NEWPOLICY, &pol)) ||
		    (ret = build_policy(&pol, XFRM_POLICY_IN, a ? INNER_B : INNER_A,
					a ? INNER_A : INNER_B, a ? OUTER_B : OUTER_A,
					a ? OUTER_A : OUTER_B, a ? 2 : 1)) ||
		    (ret = xfrm_batch_add_pol(&batch, XFRM_MSG_NEWPOLICY, &pol)))
			snprintf(err, errlen, "cannot build the lab's SAs: %s", strerror(-ret));
		else if ((ret = xfrm_client_run(&c, &batch)))
			snprintf(err, errlen, "installing the SAs and policies in %s: %s%s",
				 lab->ns[side], strerror(-ret),
				 ret == -EPROTONOSUPPORT || ret == -ENOSYS
					 ? " (no ESP or no such algorithm in this kernel)"
					 : "");
		xfrm_batch_wipe(&batch);
		xfrm_sa_wipe(&sa);
		xfrm_client_close(&c);
	}
	explicit_bzero(key_ab, sizeof(key_ab));
	explicit_bzero(key_ba, sizeof(key_ba));
	return ret;
}

/* ---- what the monitor sees ---- */

static void on_sa_event(void *ctx, const struct sa_event *e)
{
	struct lab *lab = ctx;
	int side = lab_side(lab, e->netns);

	if (side < 0 || (e->kind != SA_EVENT_ADD && e->kind != SA_EVENT_DELETE))
		return;
	if (lab->n_events == lab->cap_events) {
		size_t cap = lab->cap_events ? 2 * lab->cap_events : 256;
		struct lab_sa_event *n = realloc(lab->events, cap * sizeof(*n));

		if (!n)
			return;
		lab->events = n;
		lab->cap_events = cap;
	}
	lab->events[lab->n_events++] = (struct lab_sa_event){
		.ts_ns = e->ts_ns, .side = side, .dir = e->dir, .kind = e->kind, .spi = e->spi,
	};
}

static void on_episode(void *ctx, const struct episode *ep, const char *netns)
{
	struct lab *lab = ctx;

	(void)netns;
	if (lab_side(lab, ep->flow.netns) < 0)
		return;
	if (lab->n_episodes == lab->cap_episodes) {
		size_t cap = lab->cap_episodes ? 2 * lab->cap_episodes : 64;
		struct episode *n = realloc(lab->episodes, cap * sizeof(*n));

		if (!n)
			return;
		lab->episodes = n;
		lab->cap_episodes = cap;
	}
	lab->episodes[lab->n_episodes++] = *ep;
}

/* every drop delta, for report.json: what no episode claimed can be found there */
static void on_drops(void *ctx, const struct drop_key *k, __u64 count, __u64 last_ns)
{
	struct lab *lab = ctx;
	int side = lab_side(lab, k->netns);

	if (side < 0 || !count)
		return;
	if (lab->n_drops == lab->cap_drops) {
		size_t cap = lab->cap_drops ? 2 * lab->cap_drops : 256;
		struct lab_drop *n = realloc(lab->drops, cap * sizeof(*n));

		if (!n)
			return;
		lab->drops = n;
		lab->cap_drops = cap;
	}
	lab->drops[lab->n_drops++] = (struct lab_drop){
		.last_ns = last_ns, .count = count, .side = side, .spi = k->spi, .cause = k->cause,
	};
}

/* ---- the run ---- */

struct run {
	struct lab *lab;
	struct monitor *mon;
	/* the A->B pair, the B->A pair; with --pcpu, CPU c's are rk[2c] and rk[2c + 1] */
	struct rekey *rk[2 * LAB_PCPU_MAX];
	int n_rk;
	const struct lab_phase *phase;
	__u32 done;
	bool tty;   /* a live line, redrawn */
	bool quiet; /* no progress at all */
	__u64 next_progress;
};

static void progress(struct run *r, bool last)
{
	const struct traffic_flow *f = r->lab->flow;
	__u64 now = monotonic_ns();
	__u32 sent = f[0].sent + f[1].sent, lost = sent - f[0].arrived - f[1].arrived;

	if (!r->phase || r->quiet || (!last && now < r->next_progress))
		return;
	r->next_progress = now + (r->tty ? 200 : 2000) * NSEC_PER_MSEC;
	/* in flight is not lost: what the receivers miss now includes the last few ms */
	if (r->tty)
		printf("\r\033[K%-18s rekeys %u/%u  sent %u  not yet received %u%s",
		       rekey_strategy_name(r->phase->strategy), r->done, r->lab->rekeys, sent, lost,
		       last ? "\n" : "");
	else
		printf("%s: rekeys %u/%u, sent %u, not yet received %u\n",
		       rekey_strategy_name(r->phase->strategy), r->done, r->lab->rekeys, sent, lost);
	fflush(stdout);
}

/* Until the time: the monitor's events, the replaced SAs' deletions when due, progress. */
static int wait_until(struct run *r, __u64 until_ns)
{
	char err[256];

	for (__u64 now = monotonic_ns(); now < until_ns && !stop_sig; now = monotonic_ns()) {
		__u64 left_ms = (until_ns - now) / NSEC_PER_MSEC;
		int ret = monitor_step(r->mon, left_ms < TICK_MS ? (int)left_ms : TICK_MS);

		if (ret)
			return ret;
		for (int p = 0; p < r->n_rk; p++)
			if (r->rk[p])
				rekey_expire_grace(r->rk[p], false, err, sizeof(err));
		progress(r, false);
	}
	return 0;
}

static int run_phase(struct run *r, struct lab_phase *ph, char *err, size_t errlen)
{
	static const char *const addr[2][2] = { { OUTER_A, OUTER_B }, { OUTER_B, OUTER_A } };
	const struct rekey_options opt = { .strategy = ph->strategy,
					   .grace_ns = NSEC_PER_SEC,
					   .drain_ns = NSEC_PER_SEC };
	struct lab *lab = r->lab;
	__u64 next, msgs, calls;
	int ret = 0;

	r->phase = ph;
	r->done = 0;
	r->n_rk = 2 * (lab->pcpu ? (int)lab->pcpu : 1);
	for (int p = 0; p < r->n_rk && !ret; p++) {
		struct rekey_target t = { .family = AF_INET, .per_cpu = lab->pcpu > 0,
					  .pcpu_num = (__u32)p / 2 };
		int d = p % 2;

		inet_pton(AF_INET, addr[d][0], &t.saddr.a4);
		inet_pton(AF_INET, addr[d][1], &t.daddr.a4);
		ret = rekey_open(&r->rk[p], lab->ns[d], lab->ns[1 - d], &t, err, errlen);
		if (!ret)
			ret = rekey_check(r->rk[p], &opt, err, errlen);
	}
	ph->t0 = monotonic_ns();
	ph->missed = monitor_drops_missed(r->mon);
	next = ph->t0;
	/* every pair (every CPU's, with --pcpu) in each round, one after the other */
	for (__u32 n = 0; n < lab->rekeys && !ret && !stop_sig; n++) {
		for (int p = 0; p < r->n_rk; p++) {
			struct rekey_report rep;
			char why[256];

			if (rekey_run(r->rk[p], &opt, &rep, why, sizeof(why))) {
				ph->failed++;
				if (r->tty)
					printf("\n");
				cli_error("lab: %s rekey %u: %s", rekey_strategy_name(ph->strategy),
					  n + 1, why);
			} else if (rep.key_changed == 0) {
				ph->key_unchanged++;
			}
		}
		r->done = ++ph->rekeys;
		next += lab->interval_ns;
		ret = wait_until(r, next);
	}
	/* the replaced SAs' time, then they go */
	if (!ret && ph->strategy == REKEY_MAKE_BEFORE_BREAK)
		ret = wait_until(r, monotonic_ns() + opt.grace_ns + 100 * NSEC_PER_MSEC);
	for (int p = 0; p < r->n_rk; p++) {
		if (!r->rk[p])
			continue;
		rekey_counters(r->rk[p], &msgs, &calls);
		rekey_close(r->rk[p]); /* deletes what is left */
		r->rk[p] = NULL;
		ph->messages += msgs;
	}
	if (!ret)
		ret = wait_until(r, monotonic_ns() + LAB_PAUSE_NS);
	ph->t1 = monotonic_ns();
	ph->missed = monitor_drops_missed(r->mon) - ph->missed;
	progress(r, true);
	return ret;
}

/* ---- the command ---- */

static const char lab_usage[] =
	"Usage: rekeygap lab [--rekeys N] [--strategies LIST] [--interval T] [--rate PPS]\n"
	"                    [--aead ALG] [--listen ADDR:PORT] [--report DIR]\n"
	"\n"
	"Build an IPsec lab (two network namespaces joined by an ESP tunnel both ways), send\n"
	"sequence-numbered UDP both ways, rekey both SA pairs N times with each strategy while\n"
	"rekeygap's monitor watches, and compare: packets lost (ground truth: what the\n"
	"receivers did not get), drops the monitor attributed to rekey episodes, gap, outage,\n"
	"netlink messages. Everything is removed at the end, on error, Ctrl-C or SIGTERM.\n"
	"\n"
	"  -n, --rekeys N          rekeys per strategy (each rekeys both pairs); default 20\n"
	"  -s, --strategies LIST   comma-separated; default delete-add,make-before-break,update\n"
	"  -i, --interval T        between rekeys (ms, or 1s...); default 500ms\n"
	"  -r, --rate PPS          datagrams per second each way; default 2000\n"
	"  -a, --aead ALG          rfc4106(gcm(aes)) (default) or cbc(aes)+hmac(sha256)\n"
	"  -c, --pcpu N            per-CPU SAs (Linux 6.13+): one per CPU 0 to N-1 in each\n"
	"                          direction, every one rekeyed in each round (N: 1 to 8, at\n"
	"                          most the CPUs this machine has)\n"
	"  -l, --listen ADDR:PORT  serve the monitor's /metrics there during the run\n"
	"  -o, --report DIR        write DIR/report.html (timelines, self-contained) and\n"
	"                          DIR/report.json\n"
	"  -p, --progress MODE     live (a line redrawn; the default on a terminal), plain\n"
	"                          (a line every 2 s; the default otherwise) or none\n"
	"  -h, --help              this text\n"
	"\n"
	"Needs root and a kernel with ESP (esp4); 'make demo' runs it in a VM when this\n"
	"kernel has none.\n"
	"\n"
	"Examples:\n"
	"  rekeygap lab\n"
	"  rekeygap lab --rekeys 50 --strategies make-before-break --report /tmp/lab\n";

/* How long the traffic runs: long enough for every phase, twice over. */
static double lab_seconds(const struct lab *lab)
{
	return (double)lab->n_phases * ((double)lab->rekeys * (double)lab->interval_ns / 1e9 + 3.0) *
	       2 + 10;
}

static int parse_strategies(char *list, struct lab *lab)
{
	char *save = NULL;

	lab->n_phases = 0;
	for (char *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		enum rekey_strategy s;

		if (rekey_strategy_parse(w, &s) || lab->n_phases == LAB_MAX_PHASES)
			return -EINVAL;
		for (int i = 0; i < lab->n_phases; i++)
			if (lab->phase[i].strategy == s)
				return -EINVAL;
		lab->phase[lab->n_phases++].strategy = s;
	}
	return lab->n_phases ? 0 : -EINVAL;
}

/* What the lab needs from this kernel and these privileges: one line saying what lacks. */
static int check_kernel(__u32 pcpu, char *err, size_t errlen)
{
	struct probe_features f;
	struct xfrm_features x;
	long cpus = sysconf(_SC_NPROCESSORS_CONF);

	if (geteuid() != 0) {
		snprintf(err, errlen, "the lab needs root (network namespaces, XFRM, BPF)");
		return -EPERM;
	}
	if (access("/proc/self/ns/net", F_OK)) {
		snprintf(err, errlen, "this kernel has no network namespaces; 'make demo' runs the "
				      "lab in a VM");
		return -ENOSYS;
	}
	probe_features(&f);
	if (!f.esp) {
		snprintf(err, errlen, "this kernel has no ESP (the esp4 module): the lab needs it; "
				      "'make demo' runs the lab in a VM with Debian's kernel");
		return -ENOSYS;
	}
	if (!pcpu)
		return 0;
	xfrm_features_probe(&x);
	if (x.err || !x.pcpu) {
		snprintf(err, errlen, "--pcpu: this kernel has no per-CPU SAs (XFRMA_SA_PCPU, Linux "
				      "6.13 and later)%s%s", x.err ? ": the probe failed: " : "",
			 x.err ? strerror(-x.err) : "");
		return -ENOSYS;
	}
	if (cpus > 0 && pcpu > (__u32)cpus) {
		snprintf(err, errlen, "--pcpu %u: this machine has %ld CPUs (the kernel takes an SA "
				      "only for a CPU it has)", pcpu, cpus);
		return -EINVAL;
	}
	return 0;
}

int cmd_lab(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rekeys", required_argument, NULL, 'n' },
		{ "strategies", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "rate", required_argument, NULL, 'r' },
		{ "aead", required_argument, NULL, 'a' },
		{ "pcpu", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "report", required_argument, NULL, 'o' },
		{ "progress", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	static struct lab lab;
	char strategies[] = "delete-add,make-before-break,update", err[256];
	const char *listen = NULL, *report = NULL, *names[2];
	struct monitor_options mo = { .n_netns = 2, .netns = names, .probe = PROBE_FENTRY };
	struct run r = { .lab = &lab, .tty = isatty(STDOUT_FILENO) };
	struct sigaction sa = { .sa_handler = on_signal };
	double seconds;
	int c, ret = 0;

	memset(&lab, 0, sizeof(lab));
	lab.nsfd[0] = lab.nsfd[1] = -1;
	lab.alg = "rfc4106(gcm(aes))";
	lab.rate = 2000;
	lab.rekeys = 20;
	lab.interval_ns = 500 * NSEC_PER_MSEC;
	parse_strategies(strategies, &lab);
	while ((c = getopt_long(argc, argv, "n:s:i:r:a:c:l:o:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (cli_parse_u32(optarg, 1, 10000, &lab.rekeys)) {
				cli_error("lab: bad --rekeys '%s' (1 to 10000)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 's':
			if (parse_strategies(optarg, &lab)) {
				cli_error("lab: bad --strategies '%s' (a list of delete-add, "
					  "make-before-break, update; each once)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'i':
			if (cli_parse_duration(optarg, NSEC_PER_MSEC, &lab.interval_ns) ||
			    lab.interval_ns < 10 * NSEC_PER_MSEC) {
				cli_error("lab: bad --interval '%s' (at least 10ms)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			if (cli_parse_u32(optarg, 1, 100000, &lab.rate)) {
				cli_error("lab: bad --rate '%s' (1 to 100000 datagrams/s)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'a':
			if (strcmp(optarg, "rfc4106(gcm(aes))") && strcmp(optarg, "cbc(aes)+hmac(sha256)")) {
				cli_error("lab: unknown --aead '%s' (rfc4106(gcm(aes)) or "
					  "cbc(aes)+hmac(sha256))", optarg);
				return EXIT_USAGE;
			}
			lab.alg = optarg;
			break;
		case 'c':
			if (cli_parse_u32(optarg, 1, LAB_PCPU_MAX, &lab.pcpu)) {
				cli_error("lab: bad --pcpu '%s' (1 to %d CPUs)", optarg, LAB_PCPU_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'l':
			listen = optarg;
			break;
		case 'o':
			report = optarg;
			break;
		case 'p':
			if (!strcmp(optarg, "live") || !strcmp(optarg, "plain") ||
			    !strcmp(optarg, "none")) {
				r.tty = !strcmp(optarg, "live");
				r.quiet = !strcmp(optarg, "none");
				break;
			}
			cli_error("lab: bad --progress '%s' (live, plain or none)", optarg);
			return EXIT_USAGE;
		case 'h':
			fputs(lab_usage, stdout);
			return 0;
		default:
			fputs(lab_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("lab: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	/* every datagram's send time and arrival are kept (9 bytes each way): bounded */
	if (lab_seconds(&lab) * lab.rate > LAB_DATAGRAMS_MAX) {
		cli_error("lab: --rekeys x --interval x --rate make %.0f datagrams each way; at most "
			  "%u: fewer rekeys, a shorter interval or a lower rate",
			  lab_seconds(&lab) * lab.rate, LAB_DATAGRAMS_MAX);
		return EXIT_USAGE;
	}
	if (report && mkdir(report, 0755) && errno != EEXIST) {
		cli_error("lab: cannot create --report %s: %s", report, strerror(errno));
		return 1;
	}
	if (check_kernel(lab.pcpu, err, sizeof(err))) {
		cli_error("lab: %s", err);
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	remove_stale_labs();
	for (int i = 0; i < 2; i++)
		snprintf(lab.ns[i], sizeof(lab.ns[i]), "rkg-lab-%d-%c", (int)getpid(), "ab"[i]);
	ret = topology_up(&lab, err, sizeof(err));
	if (!ret)
		ret = install_ipsec(&lab, err, sizeof(err));
	if (ret) {
		cli_error("lab: %s", err);
		goto out;
	}
	names[0] = lab.ns[0];
	names[1] = lab.ns[1];
	mo.listen = listen;
	mo.sa_event = on_sa_event;
	mo.episode = on_episode;
	mo.drops = on_drops;
	mo.ctx = &lab;
	ret = monitor_open(&r.mon, &mo, err, sizeof(err));
	if (ret) {
		cli_error("lab: monitor: %s", err);
		goto out;
	}
	lab.probe_mode = monitor_probe_mode(r.mon);

	seconds = lab_seconds(&lab);
	for (int i = 0; i < 2; i++) {
		struct traffic_flow *f = &lab.flow[i];

		f->tx_nsfd = lab.nsfd[i];
		f->rx_nsfd = lab.nsfd[1 - i];
		inet_pton(AF_INET, i ? INNER_B : INNER_A, &f->src);
		inet_pton(AF_INET, i ? INNER_A : INNER_B, &f->dst);
		f->port = i ? PORT_BA : PORT_AB;
		f->rate = lab.rate;
		f->capacity = (__u32)(seconds * lab.rate);
		ret = traffic_start(f);
		if (ret) {
			cli_error("lab: traffic: %s", f->error);
			goto out;
		}
	}
	printf("lab: %s <-> %s, ESP %s%s, %u datagrams/s each way; monitor in %s mode%s%s\n",
	       lab.ns[0], lab.ns[1], lab.alg, lab.pcpu ? ", per-CPU SAs" : "", lab.rate,
	       lab.probe_mode,
	       listen ? ", metrics on http://" : "", listen ? listen : "");
	fflush(stdout);
	lab.start_ns = monotonic_ns();
	ret = wait_until(&r, lab.start_ns + 500 * NSEC_PER_MSEC); /* traffic settles in */
	for (int i = 0; i < lab.n_phases && !ret && !stop_sig; i++) {
		ret = run_phase(&r, &lab.phase[i], err, sizeof(err));
		if (ret && ret != -EINTR)
			cli_error("lab: %s: %s", rekey_strategy_name(lab.phase[i].strategy), err);
	}
	for (int i = 0; i < 2; i++)
		traffic_stop(&lab.flow[i], 300);
	if (!ret && !stop_sig) {
		monitor_settle(r.mon);
		lab_results(&lab);
		lab_print_table(&lab, stdout);
		if (report && lab_write_report(&lab, report, err, sizeof(err))) {
			cli_error("lab: report: %s", err);
			ret = -EIO;
		} else if (report) {
			printf("report: %s/report.html, %s/report.json\n", report, report);
		}
	}
out:
	for (int p = 0; p < r.n_rk; p++)
		if (r.rk[p])
			rekey_close(r.rk[p]);
	monitor_close(r.mon);
	for (int i = 0; i < 2; i++)
		traffic_free(&lab.flow[i]);
	topology_down(&lab);
	free(lab.episodes);
	free(lab.events);
	free(lab.drops);
	if (stop_sig) {
		if (r.tty)
			printf("\n");
		fprintf(stderr, "rekeygap: lab: interrupted; the lab was removed\n");
		return 128 + stop_sig;
	}
	return ret ? 1 : 0;
}
