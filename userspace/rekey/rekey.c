// SPDX-License-Identifier: BSD-2-Clause
/*
 * The rekey engine (include/rekey.h): strategies as sequences of netlink batches. Each batch
 * is one sendmsg; requests go in one batch only when the failure of one cannot make another
 * harmful (the kernel runs every message of a batch, whatever the earlier ones returned).
 */
#include "rekey.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "netns.h"
#include "rekey_journal.h"
#include "xfrm_client.h"

#define PENDING_MAX 64 /* old SAs waiting for their deletion, per side */
#define SPI_TRIES 8
#define SPI_MIN 0x100 /* 1-255 are reserved (RFC 4303) */
#define KEY_MAX 512
/* entering a namespace takes CAP_SYS_ADMIN, XFRM netlink CAP_NET_ADMIN */
#define PRIVILEGE_HINT(ret) \
	((ret) == -EPERM || (ret) == -EACCES ? " (needs root: CAP_NET_ADMIN and CAP_SYS_ADMIN)" : "")

struct pending_delete {
	__u64 due_ns;
	struct xfrm_sa sa;
};

/* the journal's record has room for every SPI make-before-break may leave */
_Static_assert(2 * PENDING_MAX + 2 * SPI_TRIES + 2 == REKEY_JOURNAL_SPIS, "journal layout");

/* where journals go: REKEY_JOURNAL_DIR, elsewhere in the unit tests */
static const char *journal_dir = REKEY_JOURNAL_DIR;

struct rekey_side {
	bool present;
	__u32 inum; /* its namespace */
	char name[64]; /* for messages */
	struct xfrm_client c;
	struct xfrm_sa sa; /* the current SA, keys included */
	/* replaced SAs, oldest first: all wait the same time, so the due ones are a prefix */
	struct pending_delete pending[PENDING_MAX];
	int n_pending;
	/* while opening: the SAs that fit the target */
	struct xfrm_sa *cand;
	int n_cand;
	char cand_spis[128];
};

struct rekey {
	struct rekey_target target;
	struct rekey_side out, in;
	struct xfrm_batch batch;
	char note[256]; /* leftovers of an interrupted rekey, or "" */
	struct rekey_journal journal; /* of this pair: the SPIs a killed run may leave */
};

static const char *const strategy_names[] = {
	[REKEY_DELETE_ADD] = "delete-add",
	[REKEY_MAKE_BEFORE_BREAK] = "make-before-break",
	[REKEY_UPDATE] = "update",
};

const char *rekey_strategy_name(enum rekey_strategy s)
{
	return s >= REKEY_DELETE_ADD && s <= REKEY_UPDATE ? strategy_names[s] : "?";
}

int rekey_strategy_parse(const char *name, enum rekey_strategy *s)
{
	for (int i = REKEY_DELETE_ADD; i <= REKEY_UPDATE; i++) {
		if (!strcmp(name, strategy_names[i])) {
			*s = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- finding the SA ---- */

/*
 * SAs one target may find on a side: the one in use, and what an interrupted
 * make-before-break left (the new SA on the receiver only, or the old SAs not deleted yet).
 */
#define CANDIDATES_MAX 8

struct sa_search {
	const struct rekey_target *t;
	struct xfrm_sa *found; /* CANDIDATES_MAX, in dump order */
	int n;
	char spis[128]; /* of every match, for the "several SAs" message */
	/* SAs of the flow left out: per-CPU ones of another CPU (or of any, without per_cpu),
	 * and ones of no CPU when per_cpu */
	int n_per_cpu, n_plain;
};

/* Is sa an ESP SA from t's saddr to its daddr (a larval state is not)? */
static bool same_flow(const struct xfrm_sa *sa, const struct rekey_target *t)
{
	const struct xfrm_usersa_info *i = &sa->info;
	size_t alen = t->family == AF_INET ? 4 : 16;

	/* a larval state (SPI 0: an ACQUIRE waiting for a key manager, left by traffic that
	 * found no SA) is not an SA to rekey */
	return i->id.spi && i->family == t->family && i->id.proto == IPPROTO_ESP &&
	       !memcmp(&i->saddr, &t->saddr, alen) && !memcmp(&i->id.daddr, &t->daddr, alen);
}

static int match_sa(void *ctx, const struct xfrm_sa *sa)
{
	struct sa_search *s = ctx;
	const struct xfrm_usersa_info *i = &sa->info;
	char spi[SPI_STRLEN];
	size_t used = strlen(s->spis);
	__u32 cpu;
	bool per_cpu;

	if (!same_flow(sa, s->t) || (s->t->spi && i->id.spi != s->t->spi))
		return 0;
	per_cpu = xfrm_sa_pcpu(sa, &cpu);
	if (per_cpu != s->t->per_cpu || (per_cpu && cpu != s->t->pcpu_num)) {
		if (per_cpu)
			s->n_per_cpu++;
		else
			s->n_plain++;
		return 0;
	}
	if (s->n < CANDIDATES_MAX)
		s->found[s->n] = *sa;
	s->n++;
	snprintf(s->spis + used, sizeof(s->spis) - used, "%s%s", used ? ", " : "",
		 spi_format(i->id.spi, spi));
	return 0;
}

static void several_sas(const struct rekey_side *side, const struct rekey_target *t, char *err,
			size_t errlen)
{
	char src[ADDR_STRLEN], dst[ADDR_STRLEN];

	addr_format(t->family, &t->saddr, src, sizeof(src));
	addr_format(t->family, &t->daddr, dst, sizeof(dst));
	snprintf(err, errlen, "%d ESP SAs from %s to %s in %s (spi %s): choose one with --spi",
		 side->n_cand, src, dst, side->name, side->cand_spis);
}

/* "cpu 3" of a per-CPU target, "" otherwise: for messages */
static const char *target_cpu(const struct rekey_target *t, char *buf, size_t len)
{
	if (!t->per_cpu)
		return "";
	snprintf(buf, len, " of cpu %u", t->pcpu_num);
	return buf;
}

/* why no SA fitted, when the flow has SAs of other CPUs or of none */
static const char *no_sa_hint(const struct rekey_target *t, const struct sa_search *s)
{
	if (!t->per_cpu && s->n_per_cpu)
		return " (only per-CPU SAs: choose one with --pcpu CPU, or --pcpu all)";
	if (t->per_cpu && s->n_per_cpu)
		return " (the per-CPU SAs there are of other CPUs: --pcpu all takes each)";
	if (t->per_cpu && s->n_plain)
		return " (no per-CPU SAs there: leave out --pcpu)";
	return "";
}

/* Open the side's namespace and list the SAs that fit the target into side->cand. */
/* An XFRM netlink client in netns (NULL: ours, named "this namespace" in messages). */
static int connect_netns(struct xfrm_client *c, const char *netns, __u32 *inum, char *err,
			 size_t errlen)
{
	int nsfd = -1, ret;

	if (netns) {
		ret = netns_open(netns, &nsfd, inum);
		if (ret == -ENOENT) {
			snprintf(err, errlen, "no network namespace '%s'", netns);
			return ret;
		}
		if (ret) {
			snprintf(err, errlen, "cannot open network namespace '%s': %s%s", netns,
				 strerror(-ret), PRIVILEGE_HINT(ret));
			return ret;
		}
	}
	if (!netns) {
		struct stat st;

		*inum = stat("/proc/self/ns/net", &st) ? 0 : (__u32)st.st_ino;
	}
	ret = xfrm_client_open(c, nsfd);
	if (nsfd >= 0)
		close(nsfd);
	if (ret)
		snprintf(err, errlen, "XFRM netlink in %s: %s%s", netns ? netns : "this namespace",
			 strerror(-ret), PRIVILEGE_HINT(ret));
	return ret;
}

static int open_side(struct rekey_side *side, const char *netns, const struct rekey_target *t,
		     char *err, size_t errlen)
{
	char src[ADDR_STRLEN], dst[ADDR_STRLEN];
	struct sa_search s = { .t = t };
	int ret;

	snprintf(side->name, sizeof(side->name), "%s", netns ? netns : "this namespace");
	ret = connect_netns(&side->c, netns, &side->inum, err, errlen);
	if (ret)
		return ret;
	side->cand = s.found = calloc(CANDIDATES_MAX, sizeof(*s.found));
	if (!s.found) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = xfrm_sa_dump(&side->c, match_sa, &s);
	if (ret) {
		snprintf(err, errlen, "cannot list the SAs in %s: %s%s", side->name,
			 strerror(-ret), PRIVILEGE_HINT(ret));
		return ret;
	}
	side->n_cand = s.n;
	snprintf(side->cand_spis, sizeof(side->cand_spis), "%s", s.spis);
	if (!s.n) {
		char spi[SPI_STRLEN], cpu[24];

		addr_format(t->family, &t->saddr, src, sizeof(src));
		addr_format(t->family, &t->daddr, dst, sizeof(dst));
		snprintf(err, errlen, "no ESP SA from %s to %s%s%s%s in %s%s", src, dst,
			 t->spi ? " with spi " : "", t->spi ? spi_format(t->spi, spi) : "",
			 target_cpu(t, cpu, sizeof(cpu)), side->name,
			 no_sa_hint(t, &s));
		return -ENOENT;
	}
	if (s.n > CANDIDATES_MAX) {
		several_sas(side, t, err, errlen);
		return -EEXIST;
	}
	side->present = true;
	return 0;
}

struct pcpu_search {
	const struct rekey_target *t;
	__u32 *nums;
	int n, max;
};

/* each CPU once, ascending */
static int note_pcpu(void *ctx, const struct xfrm_sa *sa)
{
	struct pcpu_search *s = ctx;
	__u32 cpu;
	int i;

	if (!same_flow(sa, s->t) || !xfrm_sa_pcpu(sa, &cpu))
		return 0;
	for (i = 0; i < s->n && s->nums[i] < cpu; i++)
		;
	if (i < s->n && s->nums[i] == cpu)
		return 0;
	if (s->n == s->max)
		return -E2BIG;
	memmove(&s->nums[i + 1], &s->nums[i], (s->n - i) * sizeof(*s->nums));
	s->nums[i] = cpu;
	s->n++;
	return 0;
}

int rekey_pcpu_nums(const char *netns, const struct rekey_target *target, __u32 *nums, int max,
		    char *err, size_t errlen)
{
	struct pcpu_search s = { .t = target, .nums = nums, .max = max };
	struct xfrm_client c;
	__u32 inum;
	int ret = connect_netns(&c, netns, &inum, err, errlen);

	if (ret)
		return ret;
	ret = xfrm_sa_dump(&c, note_pcpu, &s);
	xfrm_client_close(&c);
	if (ret == -E2BIG)
		snprintf(err, errlen, "more than %d per-CPU SAs in %s", max,
			 netns ? netns : "this namespace");
	else if (ret)
		snprintf(err, errlen, "cannot list the SAs in %s: %s%s",
			 netns ? netns : "this namespace", strerror(-ret), PRIVILEGE_HINT(ret));
	return ret ? ret : s.n;
}

/* Before a make-before-break: every SPI it may leave (tried: the new ones it may try). */
static void journal_write(struct rekey *rk, const __be32 *tried, int n_tried)
{
	struct rekey_side *sides_[] = { &rk->out, &rk->in };
	__be32 spis[2 * (1 + PENDING_MAX) + SPI_TRIES + 1];
	unsigned int n = 0;

	for (int k = 0; k < 2; k++) {
		struct rekey_side *side = sides_[k];

		if (!side->present)
			continue;
		spis[n++] = side->sa.info.id.spi;
		for (int i = 0; i < side->n_pending; i++)
			spis[n++] = side->pending[i].sa.info.id.spi;
	}
	for (int i = 0; i < n_tried && n < sizeof(spis) / sizeof(spis[0]); i++)
		spis[n++] = tried[i];
	/* no journal (a full or read-only /run): a killed run's leftovers will need --spi */
	rekey_journal_write(&rk->journal, spis, n);
}

static const struct xfrm_sa *candidate(const struct rekey_side *side, __be32 spi)
{
	for (int i = 0; i < side->n_cand; i++)
		if (side->cand[i].info.id.spi == spi)
			return &side->cand[i];
	return NULL;
}

/*
 * The SPI in use: the sender's newest SA (the kernel's choice: xfrm_state_look_at prefers
 * the latest add_time; within a second, the last inserted, which a dump lists first) that
 * the receiver has too. 0 if none pairs up.
 */
static __be32 live_spi(const struct rekey *rk)
{
	const struct rekey_side *out = &rk->out;
	const struct xfrm_sa *best = NULL;

	if (!out->present)
		return rk->in.n_cand == 1 ? rk->in.cand[0].info.id.spi : 0;
	for (int i = 0; i < out->n_cand; i++) {
		const struct xfrm_sa *sa = &out->cand[i];

		if (rk->in.present && !candidate(&rk->in, sa->info.id.spi))
			continue;
		if (!best || sa->info.curlft.add_time > best->info.curlft.add_time)
			best = sa;
	}
	return best ? best->info.id.spi : 0;
}

/*
 * Keep the side's SA with the live SPI; any other must be a leftover of an interrupted
 * make-before-break (its sibling: only SPI and key differ), deleted after the drain or grace
 * time from the next rekey on, like the SAs that rekey replaces. Anything else is an SA set
 * up on purpose: the caller must choose with --spi.
 */
static int adopt_leftovers(struct rekey *rk, struct rekey_side *side, __be32 spi, char *err,
			   size_t errlen)
{
	const struct xfrm_sa *live = candidate(side, spi);
	size_t used = strlen(rk->note);

	if (!side->present)
		return 0;
	if (!live) {
		several_sas(side, &rk->target, err, errlen);
		return -EEXIST;
	}
	for (int i = 0; i < side->n_cand; i++)
		if (&side->cand[i] != live &&
		    (!rekey_journal_has(&rk->journal, side->cand[i].info.id.spi) ||
		     !xfrm_sa_siblings(live, &side->cand[i]))) {
			several_sas(side, &rk->target, err, errlen);
			return -EEXIST;
		}
	for (int i = 0; i < side->n_cand; i++) {
		char s[SPI_STRLEN];

		if (&side->cand[i] == live)
			continue;
		rekey_journal_claim(&rk->journal);
		side->pending[side->n_pending].due_ns = 0; /* set by the next rekey */
		side->pending[side->n_pending++].sa = side->cand[i];
		snprintf(rk->note + used, sizeof(rk->note) - used, "%sspi %s in %s",
			 used ? ", " : "", spi_format(side->cand[i].info.id.spi, s), side->name);
		used = strlen(rk->note);
	}
	side->sa = *live;
	return 0;
}

static void candidates_wipe(struct rekey_side *side)
{
	if (side->cand)
		explicit_bzero(side->cand, CANDIDATES_MAX * sizeof(*side->cand));
	free(side->cand);
	side->cand = NULL;
	side->n_cand = 0;
}

int rekey_open(struct rekey **rkp, const char *out_netns, const char *in_netns,
	       const struct rekey_target *target, char *err, size_t errlen)
{
	struct rekey *rk = calloc(1, sizeof(*rk));
	__be32 spi;
	int ret = 0;

	if (!rk) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rk->journal.fd = -1;
	rk->target = *target;
	if (out_netns || !in_netns)
		ret = open_side(&rk->out, out_netns, target, err, errlen);
	if (!ret && in_netns)
		ret = open_side(&rk->in, in_netns, target, err, errlen);
	if (!ret)
		rekey_journal_open(&rk->journal, journal_dir, rk->out.inum, rk->in.inum, target);
	spi = ret ? 0 : live_spi(rk);
	if (!ret && !spi && rk->out.present && rk->in.present) {
		snprintf(err, errlen, "the SAs do not pair up: spi %s in %s, %s in %s",
			 rk->out.cand_spis, rk->out.name, rk->in.cand_spis, rk->in.name);
		ret = -EINVAL;
	} else if (!ret && !spi) {
		several_sas(&rk->in, target, err, errlen); /* the receiver alone: which one? */
		ret = -EEXIST;
	}
	if (!ret)
		ret = adopt_leftovers(rk, &rk->out, spi, err, errlen);
	if (!ret)
		ret = adopt_leftovers(rk, &rk->in, spi, err, errlen);
	candidates_wipe(&rk->out);
	candidates_wipe(&rk->in);
	if (ret) {
		rekey_close(rk);
		return ret;
	}
	if (rk->note[0]) {
		size_t used = strlen(rk->note);

		snprintf(rk->note + used, sizeof(rk->note) - used,
			 ": left by an interrupted make-before-break; deleted after the drain or "
			 "grace time");
	}
	*rkp = rk;
	return 0;
}

const char *rekey_note(const struct rekey *rk)
{
	return rk->note;
}

/* Leftovers found at open start their drain or grace time with the first rekey. */
static void arm_leftovers(struct rekey *rk, const struct rekey_options *opt, __u64 now)
{
	for (int i = 0; i < rk->out.n_pending; i++)
		if (!rk->out.pending[i].due_ns)
			rk->out.pending[i].due_ns = now + opt->drain_ns;
	for (int i = 0; i < rk->in.n_pending; i++)
		if (!rk->in.pending[i].due_ns)
			rk->in.pending[i].due_ns = now + opt->grace_ns;
}

/* ---- one batch ---- */

static const char *msg_name(__u16 type)
{
	return type == XFRM_MSG_NEWSA ? "NEWSA" : type == XFRM_MSG_DELSA ? "DELSA" :
	       type == XFRM_MSG_UPDSA ? "UPDSA" : "request";
}

/* Run the batch on side; on error, say which request failed and why. */
static int run_batch(struct rekey *rk, struct rekey_side *side, char *err, size_t errlen)
{
	int ret = xfrm_client_run(&side->c, &rk->batch);

	if (ret) {
		for (unsigned int i = 0; i < rk->batch.n; i++) {
			if (rk->batch.err[i]) {
				snprintf(err, errlen, "%s in %s: %s", msg_name(rk->batch.type[i]),
					 side->name, strerror(-rk->batch.err[i]));
				break;
			}
		}
	}
	return ret;
}

static void batch_reset(struct rekey *rk)
{
	xfrm_batch_wipe(&rk->batch);
}

/* ---- strategies ---- */

static void undo_add(struct rekey *rk, struct rekey_side *side, const struct xfrm_sa *sa);

static int make_key(const struct rekey_options *opt, const struct xfrm_sa *sa, __u8 *key,
		    size_t *len, char *err, size_t errlen)
{
	char algs[128];
	int ret = xfrm_sa_key_len(sa, len);

	if (ret || *len > KEY_MAX) {
		xfrm_sa_describe_algs(sa, algs, sizeof(algs));
		snprintf(err, errlen, "cannot size a key for %s", algs);
		return ret ? ret : -EINVAL;
	}
	if (opt->key) {
		if (opt->key_len != *len) {
			xfrm_sa_describe_algs(sa, algs, sizeof(algs));
			snprintf(err, errlen, "the key is %zu bytes; %s takes %zu", opt->key_len,
				 algs, *len);
			return -EINVAL;
		}
		memcpy(key, opt->key, *len);
		return 0;
	}
	if (getrandom(key, *len, 0) != (ssize_t)*len) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static struct rekey_side *sides(struct rekey *rk, int i)
{
	/* the receiver first: it must accept the new key or SPI before the sender uses it */
	struct rekey_side *order[] = { &rk->in, &rk->out };

	return order[i]->present ? order[i] : NULL;
}

/* DELSA + NEWSA of the same SPI, one batch per side. A failed NEWSA puts the old SA back. */
static int delete_add(struct rekey *rk, const __u8 *key, size_t key_len, struct rekey_report *rep,
		      char *err, size_t errlen)
{
	struct xfrm_sa *fresh = malloc(sizeof(*fresh));
	int ret = 0;

	if (!fresh)
		return -ENOMEM;
	for (int i = 0; i < 2 && !ret; i++) {
		struct rekey_side *side = sides(rk, i);

		if (!side)
			continue;
		ret = xfrm_sa_rekeyed(&side->sa, side->sa.info.id.spi, key, key_len, fresh);
		if (ret) {
			snprintf(err, errlen, "cannot build the new SA: %s", strerror(-ret));
			break;
		}
		batch_reset(rk);
		xfrm_batch_add_delsa(&rk->batch, &side->sa);
		xfrm_batch_add_sa(&rk->batch, XFRM_MSG_NEWSA, fresh);
		ret = run_batch(rk, side, err, errlen);
		if (ret && !rk->batch.err[0]) { /* deleted, not replaced: put it back */
			batch_reset(rk);
			xfrm_batch_add_sa(&rk->batch, XFRM_MSG_NEWSA, &side->sa);
			xfrm_client_run(&side->c, &rk->batch);
		} else if (ret && !rk->batch.err[1]) { /* someone else deleted it: so be it */
			undo_add(rk, side, fresh);
			snprintf(err, errlen, "the SA in %s was deleted by someone else during the rekey",
				 side->name);
		} else if (!ret) {
			xfrm_sa_wipe(&side->sa);
			side->sa = *fresh;
		}
	}
	rep->new_spi = rep->old_spi;
	rep->key_changed = ret ? -1 : 1;
	xfrm_sa_wipe(fresh);
	free(fresh);
	return ret;
}

/* SPI candidates for make-before-break, drawn before the rekey's clock starts */
static int random_spis(__be32 spis[SPI_TRIES])
{
	__u32 v[SPI_TRIES];

	if (getrandom(v, sizeof(v), 0) != sizeof(v))
		return -errno;
	for (int i = 0; i < SPI_TRIES; i++)
		spis[i] = htonl(v[i] < SPI_MIN ? v[i] + SPI_MIN : v[i]);
	return 0;
}

/* The side's replaced SAs whose time is over (all with flush) join the batch. How many. */
static int add_due_deletes(struct rekey *rk, struct rekey_side *side, __u64 now, bool flush)
{
	int k = 0;

	while (k < side->n_pending && rk->batch.n < XFRM_BATCH_MAX &&
	       (flush || side->pending[k].due_ns <= now))
		xfrm_batch_add_delsa(&rk->batch, &side->pending[k++].sa);
	return k;
}

/*
 * The first k pending deletions went out as requests first_req.. of the batch: forget them
 * (an SA gone already counts as deleted).
 */
static int forget_deletes(struct rekey *rk, struct rekey_side *side, int k, unsigned int first_req,
			  char *err, size_t errlen)
{
	int ret = 0;

	for (int i = 0; i < k; i++) {
		int e = rk->batch.err[first_req + i];

		if (e && e != -ESRCH && e != -ENOENT && !ret) {
			ret = e;
			snprintf(err, errlen, "DELSA of a replaced SA in %s: %s", side->name,
				 strerror(-e));
		}
		xfrm_sa_wipe(&side->pending[i].sa);
	}
	memmove(side->pending, side->pending + k, (side->n_pending - k) * sizeof(side->pending[0]));
	side->n_pending -= k;
	return ret;
}

static int expire_side(struct rekey *rk, struct rekey_side *side, bool flush, char *err,
		       size_t errlen)
{
	int k, ret;

	if (!side->present || !side->n_pending)
		return 0;
	batch_reset(rk);
	k = add_due_deletes(rk, side, monotonic_ns(), flush);
	if (!k)
		return 0;
	xfrm_client_run(&side->c, &rk->batch);
	ret = forget_deletes(rk, side, k, 0, err, errlen);
	batch_reset(rk);
	return ret;
}

int rekey_expire_grace(struct rekey *rk, bool flush, char *err, size_t errlen)
{
	int ret = expire_side(rk, &rk->out, flush, err, errlen);
	int ret2 = expire_side(rk, &rk->in, flush, err, errlen);

	return ret ? ret : ret2;
}

/* Keep a replaced SA until due_ns; the oldest goes now if the list is full. */
static void defer_delete(struct rekey *rk, struct rekey_side *side, __u64 due_ns, char *err,
			 size_t errlen)
{
	if (side->n_pending == PENDING_MAX) {
		batch_reset(rk);
		xfrm_batch_add_delsa(&rk->batch, &side->pending[0].sa);
		xfrm_client_run(&side->c, &rk->batch);
		forget_deletes(rk, side, 1, 0, err, errlen);
	}
	side->pending[side->n_pending].due_ns = due_ns;
	side->pending[side->n_pending++].sa = side->sa;
}

/* Remove an SA we just added (a later step failed), as one request. */
static void undo_add(struct rekey *rk, struct rekey_side *side, const struct xfrm_sa *sa)
{
	batch_reset(rk);
	xfrm_batch_add_delsa(&rk->batch, sa);
	xfrm_client_run(&side->c, &rk->batch);
}

/*
 * side's successor under spi, in one batch with the deletions due there: independent
 * requests, old SAs going does not depend on the new one arriving. *built false: it could
 * not be built (the error returned), nothing was sent; else the kernel's answer to the NEWSA.
 */
static int add_successor(struct rekey *rk, struct rekey_side *side, __be32 spi, const __u8 *key,
			 size_t key_len, struct xfrm_sa *succ, __u64 now, bool *built, char *err,
			 size_t errlen)
{
	int k, ret = xfrm_sa_rekeyed(&side->sa, spi, key, key_len, succ);

	*built = !ret;
	if (ret)
		return ret;
	batch_reset(rk);
	xfrm_batch_add_sa(&rk->batch, XFRM_MSG_NEWSA, succ);
	k = add_due_deletes(rk, side, now, false);
	xfrm_client_run(&side->c, &rk->batch);
	ret = rk->batch.err[0];
	forget_deletes(rk, side, k, 1, err, errlen);
	return ret;
}

/*
 * New SPI: NEWSA on the receiver, NEWSA on the sender, and only once both succeeded are the
 * old SAs queued for deletion (in one batch a failed NEWSA would not stop a DELSA). Due
 * deletions of SAs replaced earlier ride in the same batches: they are independent requests.
 */
static int make_before_break(struct rekey *rk, const struct rekey_options *opt, const __u8 *key,
			     size_t key_len, const __be32 spis[SPI_TRIES], struct rekey_report *rep,
			     char *err, size_t errlen)
{
	struct xfrm_sa *in_new = malloc(sizeof(*in_new)), *out_new = malloc(sizeof(*out_new));
	bool in = rk->in.present, out = rk->out.present;
	__u64 now = rep->start_ns; /* one clock read per rekey: due times need no better */
	int ret = -ENOMEM;
	__be32 spi = 0;

	if (!in_new || !out_new)
		goto out;
	{
		__be32 tried[SPI_TRIES + 1];

		memcpy(tried, spis, sizeof(tried[0]) * SPI_TRIES);
		tried[SPI_TRIES] = opt->new_spi;
		journal_write(rk, tried, SPI_TRIES + 1);
	}
	for (int tries = 0; tries < SPI_TRIES; tries++) {
		bool built;

		spi = !tries && opt->new_spi ? opt->new_spi : spis[tries];
		if (in) {
			ret = add_successor(rk, &rk->in, spi, key, key_len, in_new, now, &built, err,
					    errlen);
			if (!built)
				break;
			if (ret == -EEXIST) { /* the SPI is taken on the receiver: another */
				rep->spi_retries++;
				continue;
			}
			if (ret) {
				snprintf(err, errlen, "NEWSA in %s: %s", rk->in.name, strerror(-ret));
				goto out;
			}
		}
		if (out) {
			ret = add_successor(rk, &rk->out, spi, key, key_len, out_new, now, &built, err,
					    errlen);
			if (!built) {
				/* (the receiver's successor, built the same way, is in) */
				snprintf(err, errlen, "cannot build the new SA: %s", strerror(-ret));
				goto out_undo_in;
			}
			if (ret && ret != -EEXIST)
				snprintf(err, errlen, "NEWSA in %s: %s", rk->out.name, strerror(-ret));
			if (ret == -EEXIST) { /* taken on the sender: undo, another SPI */
				if (in)
					undo_add(rk, &rk->in, in_new);
				rep->spi_retries++;
				continue;
			}
			if (ret)
				goto out_undo_in;
		}
		break;
	}
	if (ret == -EEXIST) {
		snprintf(err, errlen, "no free SPI after %d tries", SPI_TRIES);
		goto out;
	}
	if (ret) {
		snprintf(err, errlen, "cannot build the new SA: %s", strerror(-ret));
		goto out;
	}

	/*
	 * New packets take the new SA now (adding it made the old one's bundles stale), but one
	 * that looked its route up just before may still be on its way out through the old SA:
	 * the old outbound goes after the drain time, the old inbound after the grace time.
	 */
	if (out) {
		defer_delete(rk, &rk->out, now + opt->drain_ns, err, errlen);
		rk->out.sa = *out_new;
	}
	if (in) {
		defer_delete(rk, &rk->in, now + opt->grace_ns, err, errlen);
		rk->in.sa = *in_new;
	}
	rep->new_spi = spi;
	rep->key_changed = 1;
	goto out;

out_undo_in:
	if (in)
		undo_add(rk, &rk->in, in_new);
out:
	if (in_new)
		xfrm_sa_wipe(in_new);
	if (out_new)
		xfrm_sa_wipe(out_new);
	free(in_new);
	free(out_new);
	batch_reset(rk);
	return ret;
}

/* UPDSA with a new key on each side, then read back: did the key change? */
static int update(struct rekey *rk, const __u8 *key, size_t key_len, struct rekey_report *rep,
		  char *err, size_t errlen)
{
	struct xfrm_sa *fresh = malloc(sizeof(*fresh)), *now = malloc(sizeof(*now));
	int ret = fresh && now ? 0 : -ENOMEM;

	rep->new_spi = rep->old_spi;
	rep->key_changed = 0;
	for (int i = 0; i < 2 && !ret; i++) {
		struct rekey_side *side = sides(rk, i);
		struct xfrm_mark mark = {};

		if (!side)
			continue;
		ret = xfrm_sa_rekeyed(&side->sa, side->sa.info.id.spi, key, key_len, fresh);
		if (ret) {
			snprintf(err, errlen, "cannot build the new SA: %s", strerror(-ret));
			break;
		}
		batch_reset(rk);
		xfrm_batch_add_sa(&rk->batch, XFRM_MSG_UPDSA, fresh);
		ret = run_batch(rk, side, err, errlen);
		if (ret)
			break;
		xfrm_sa_mark(&side->sa, &mark);
		ret = xfrm_sa_get(&side->c, side->sa.info.family, &side->sa.info.id.daddr,
				  side->sa.info.id.spi, IPPROTO_ESP, &mark, now);
		if (ret) {
			snprintf(err, errlen, "GETSA in %s after UPDSA: %s", side->name, strerror(-ret));
			break;
		}
		if (!xfrm_sa_same_key(now, &side->sa))
			rep->key_changed = 1;
		xfrm_sa_wipe(&side->sa);
		side->sa = *now;
	}
	if (fresh)
		xfrm_sa_wipe(fresh);
	if (now)
		xfrm_sa_wipe(now);
	free(fresh);
	free(now);
	batch_reset(rk);
	return ret;
}

/* ---- policies that name the SPI ---- */

struct pin_search {
	const struct xfrm_sa *sa;
	struct xfrm_pol found;
};

/* Does a template of p ask for sa by its SPI? (xfrm_state_ok, xfrm_state_find) */
static int match_pinning_pol(void *ctx, const struct xfrm_pol *p)
{
	struct pin_search *s = ctx;
	const struct xfrm_usersa_info *i = &s->sa->info;
	size_t alen = i->family == AF_INET ? 4 : 16;
	struct xfrm_user_tmpl t;

	for (unsigned int k = 0; xfrm_pol_tmpl(p, k, &t) == 0; k++) {
		if (t.id.spi == i->id.spi && t.id.proto == i->id.proto &&
		    !memcmp(&t.id.daddr, &i->id.daddr, alen)) {
			s->found = *p;
			return 1;
		}
	}
	return 0;
}

/*
 * make-before-break gives the SA a new SPI: a policy template that names the old one would
 * match neither the new outbound SA (the sender keeps using the old one, then has none) nor
 * the new inbound one (its packets fail the policy check). Refused rather than broken.
 */
static int check_no_pinning(struct rekey_side *side, char *err, size_t errlen)
{
	static const char *const dirs[] = { "in", "out", "fwd" };
	struct pin_search s = { .sa = &side->sa };
	char spi[SPI_STRLEN], src[ADDR_STRLEN], dst[ADDR_STRLEN];
	const struct xfrm_selector *sel = &s.found.info.sel;
	int ret;

	if (!side->present)
		return 0;
	ret = xfrm_pol_dump(&side->c, match_pinning_pol, &s);
	if (ret < 0) {
		snprintf(err, errlen, "cannot list the policies in %s: %s", side->name,
			 strerror(-ret));
		return ret;
	}
	if (!ret)
		return 0;
	addr_format(sel->family, &sel->saddr, src, sizeof(src));
	addr_format(sel->family, &sel->daddr, dst, sizeof(dst));
	snprintf(err, errlen,
		 "the policy src %s/%u dst %s/%u dir %s in %s names spi %s in its template: an SA "
		 "with a new SPI would not match it; use --strategy delete-add, or a template "
		 "without spi",
		 src, sel->prefixlen_s, dst, sel->prefixlen_d,
		 s.found.info.dir < 3 ? dirs[s.found.info.dir] : "?", side->name,
		 spi_format(side->sa.info.id.spi, spi));
	return -EINVAL;
}

int rekey_check(struct rekey *rk, const struct rekey_options *opt, char *err, size_t errlen)
{
	const struct xfrm_sa *any = rk->in.present ? &rk->in.sa : &rk->out.sa;
	__u8 key[KEY_MAX];
	size_t len;
	int ret = make_key(opt, any, key, &len, err, errlen);

	explicit_bzero(key, sizeof(key));
	if (!ret && opt->strategy == REKEY_MAKE_BEFORE_BREAK)
		ret = check_no_pinning(&rk->out, err, errlen);
	if (!ret && opt->strategy == REKEY_MAKE_BEFORE_BREAK)
		ret = check_no_pinning(&rk->in, err, errlen);
	return ret;
}

int rekey_run(struct rekey *rk, const struct rekey_options *opt, struct rekey_report *rep,
	      char *err, size_t errlen)
{
	const struct xfrm_sa *any = rk->in.present ? &rk->in.sa : &rk->out.sa;
	__u64 msgs = rk->in.c.messages + rk->out.c.messages;
	__u64 calls = rk->in.c.syscalls + rk->out.c.syscalls;
	__u8 key[KEY_MAX];
	__be32 spis[SPI_TRIES];
	size_t key_len;
	int ret;

	memset(rep, 0, sizeof(*rep));
	rep->old_spi = any->info.id.spi;
	rep->key_changed = -1;
	ret = make_key(opt, any, key, &key_len, err, errlen);
	if (!ret && opt->strategy == REKEY_MAKE_BEFORE_BREAK && random_spis(spis)) {
		ret = -errno;
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
	}
	if (ret) {
		explicit_bzero(key, sizeof(key));
		return ret;
	}
	rep->start_ns = monotonic_ns();
	arm_leftovers(rk, opt, rep->start_ns);
	switch (opt->strategy) {
	case REKEY_DELETE_ADD:
		ret = delete_add(rk, key, key_len, rep, err, errlen);
		break;
	case REKEY_MAKE_BEFORE_BREAK:
		ret = make_before_break(rk, opt, key, key_len, spis, rep, err, errlen);
		break;
	case REKEY_UPDATE:
		ret = update(rk, key, key_len, rep, err, errlen);
		break;
	default:
		snprintf(err, errlen, "unknown strategy");
		ret = -EINVAL;
	}
	rep->end_ns = monotonic_ns();
	explicit_bzero(key, sizeof(key));
	rep->messages = (__u32)(rk->in.c.messages + rk->out.c.messages - msgs);
	rep->syscalls = (__u32)(rk->in.c.syscalls + rk->out.c.syscalls - calls);
	return ret;
}

void rekey_counters(const struct rekey *rk, __u64 *messages, __u64 *syscalls)
{
	*messages = rk->in.c.messages + rk->out.c.messages;
	*syscalls = rk->in.c.syscalls + rk->out.c.syscalls;
}

void rekey_close(struct rekey *rk)
{
	char err[256];

	if (!rk)
		return;
	rekey_expire_grace(rk, true, err, sizeof(err));
	for (int i = 0; i < rk->in.n_pending; i++)
		xfrm_sa_wipe(&rk->in.pending[i].sa);
	for (int i = 0; i < rk->out.n_pending; i++)
		xfrm_sa_wipe(&rk->out.pending[i].sa);
	xfrm_sa_wipe(&rk->in.sa);
	xfrm_sa_wipe(&rk->out.sa);
	if (rk->in.c.nl)
		xfrm_client_close(&rk->in.c);
	if (rk->out.c.nl)
		xfrm_client_close(&rk->out.c);
	xfrm_batch_wipe(&rk->batch);
	/* nothing left to delete: no journal */
	rekey_journal_close(&rk->journal, !rk->out.n_pending && !rk->in.n_pending);
	free(rk);
}
