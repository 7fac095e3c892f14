// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xfrm_trace: the measuring instrument.
 *
 * SA lifecycle (insert, update, delete, expiry) from the XFRM state functions and policy
 * changes (insert, update, delete), as one ring buffer event each; XFRM packet drops from the audit hooks and from kfree_skb at XFRM drop
 * sites, aggregated here per (netns, SA, cause, reason, location) so that a drop storm costs
 * a map update per packet, not a ring buffer record.
 *
 * Every SA hook exists twice, fentry/fexit and kprobe/kretprobe, around one handler;
 * userspace keeps the pair the kernel allows (see userspace/observe/tracer.c). Each SA and
 * policy change says who made it (struct actor).
 *
 * On the per-packet fast path: drop points, and (unless userspace leaves them unloaded) the
 * switchover hooks, which note each SA's first and last packet in a map: the first as one
 * event, the last only on the SA's delete.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "xfrm_trace.h"

#define AF_INET 2
#define AF_INET6 10

/* Set by userspace before load (rodata). */
const volatile struct drop_site drop_sites[XFRM_DROP_SITES_MAX] = {};
const volatile __u32 n_drop_sites = 0;
const volatile __u32 reason_xfrm_policy = 0; /* 0: this kernel has no such reason */
const volatile bool kfree_skb_has_reason = false;
const volatile bool audit_hooks = false; /* the audit hook programs are loaded */
const volatile bool reason_filter = false;
const volatile __u64 xfrm_reasons[DROP_REASON_WORDS] = {};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} sa_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} policy_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DROP_KEYS_MAX);
	__type(key, struct drop_key);
	__type(value, struct drop_value);
} drops SEC(".maps");

/* skbs already attributed by an audit hook: their kfree_skb must not count twice */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} audited_skbs SEC(".maps");

/*
 * kprobe mode: the state pointer from entry, for the kretprobe (key: tid | hook << 32). LRU:
 * an entry whose kretprobe never ran (maxactive missed) must not hold its slot for ever; a
 * kretprobe that finds none counts an event lost.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u64);
} kprobe_args SEC(".maps");

/* Counted, never silent. */
__u64 events_lost = 0;    /* ring buffer full */
__u64 drops_overflow = 0; /* drop map full */
__u64 larval_events = 0;  /* ACQ / SPI 0 states: kept out of rekey logic */

static __always_inline __u32 net_inum(struct net *net)
{
	return BPF_CORE_READ(net, ns.inum);
}

/*
 * Who runs this SA or policy change. XFRM netlink requests run in the sender's context: a
 * process. The kernel's own changes run in a kernel thread (namespace teardown in a
 * kworker), in the SA lifetime timer (a softirq; a kernel thread on PREEMPT_RT) or in a
 * softirq on the packet path (soft expiry by byte or packet count, policy timers).
 */
#define PF_KTHREAD 0x00200000
#define SOFTIRQ_OFFSET (1U << 8) /* serving a softirq: not merely bottom halves disabled */
#define HARDIRQ_MASK (0xfU << 16)
#define NMI_MASK (0xfU << 20)

/*
 * x86's per-CPU preempt count, where it is a variable of its own (6.1, 6.18; 6.2 keeps it
 * in pcpu_hot). Where it is absent only kernel threads and the SA timer count as the
 * kernel's: a softirq's change would be put on the task it interrupted.
 */
extern int __preempt_count __ksym __weak;

static __always_inline bool in_irq_context(void)
{
	int *count;

	if (!&__preempt_count) /* libbpf leaves a missing weak ksym at address 0 */
		return false;
	count = bpf_this_cpu_ptr(&__preempt_count);
	return *count & (SOFTIRQ_OFFSET | HARDIRQ_MASK | NMI_MASK);
}

static __always_inline bool in_sa_timer(void);

static __always_inline void fill_actor(struct actor *a)
{
	struct task_struct *task = (void *)bpf_get_current_task();

	if ((BPF_CORE_READ(task, flags) & PF_KTHREAD) || in_sa_timer() || in_irq_context()) {
		a->kind = ACTOR_KERNEL;
		return;
	}
	a->kind = ACTOR_PROCESS;
	a->pid = bpf_get_current_pid_tgid() >> 32;
	/* the thread group leader's name: charon's worker threads have names of their own */
	BPF_CORE_READ_STR_INTO(&a->comm, task, group_leader, comm);
}

/*
 * Switchover: per SA (struct xfrm_state *), when it carried its last packet, for its delete
 * event. This runs on every ESP packet, so it is an array the verifier inlines (no helper
 * call, which is what an LRU hash cost: 0.84x the traffic's rate in the VM) used as a 2-way
 * set-associative cache keyed by the SA's address. A miss takes the way that saw a packet
 * least recently, so SAs deleted while we were not attached, or whose delete we missed, do
 * not hold a way for ever; an SA evicted by another that hashes alike loses its last packet
 * time (its delete says 0, "not seen"), never someone else's. Ways are written without a
 * lock: two CPUs on two SAs of one set may leave one way's time from the other SA.
 */
#define SA_TRAFFIC_SETS_LOG2 14 /* 16384 sets, 32,768 SAs, 512 KiB */

struct sa_traffic_set {
	__u64 sa[2]; /* the struct xfrm_state *, 0: free */
	__u64 last_ns[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << SA_TRAFFIC_SETS_LOG2);
	__type(key, __u32);
	__type(value, struct sa_traffic_set);
} sa_traffic SEC(".maps");

/*
 * An SA's set, from its SPI: the verifier allows no arithmetic on an fentry program's
 * pointer. The SPI is not unique (the two ends of a tunnel in one host share theirs), the
 * address in the way is.
 */
static __always_inline struct sa_traffic_set *sa_traffic_set_of(__be32 spi)
{
	__u32 set = ((__u64)spi * 0x9E3779B97F4A7C15ull) >> (64 - SA_TRAFFIC_SETS_LOG2);

	return bpf_map_lookup_elem(&sa_traffic, &set);
}

/* The SA's last packet, for its delete event; its way is freed. 0: none seen. */
static __always_inline __u64 take_last_packet(struct xfrm_state *x, __be32 spi)
{
	struct sa_traffic_set *s = sa_traffic_set_of(spi);

	if (!s)
		return 0;
	for (int w = 0; w < 2; w++)
		if (s->sa[w] == (__u64)x) {
			s->sa[w] = 0;
			return s->last_ns[w];
		}
	return 0;
}

/* ts 0: now. dir: the SA's direction as its caller knows it, used where the kernel has none. */
static __always_inline void emit_sa_at(struct xfrm_state *x, __u8 kind, __u8 hard, __u64 ts,
				       __u8 dir)
{
	struct sa_event *e;
	__u8 km_state = BPF_CORE_READ(x, km.state);
	__u32 spi = BPF_CORE_READ(x, id.spi);

	if (spi == 0 || km_state == XFRM_KM_ACQ) {
		__sync_fetch_and_add(&larval_events, 1);
		return;
	}
	e = bpf_ringbuf_reserve(&sa_events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&events_lost, 1);
		if (kind == SA_EVENT_DELETE || kind == SA_EVENT_MIGRATE_OUT)
			take_last_packet(x, spi);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = ts ? ts : bpf_ktime_get_ns();
	e->netns = net_inum(BPF_CORE_READ(x, xs_net.net));
	e->kind = kind;
	e->hard = hard;
	e->family = BPF_CORE_READ(x, props.family);
	e->proto = BPF_CORE_READ(x, id.proto);
	e->km_state = km_state;
	e->spi = spi;
	e->reqid = BPF_CORE_READ(x, props.reqid);
	e->mode = BPF_CORE_READ(x, props.mode);
	e->mark_v = BPF_CORE_READ(x, mark.v);
	e->mark_m = BPF_CORE_READ(x, mark.m);
	e->if_id = BPF_CORE_READ(x, if_id);
	e->dir = dir;
	/* SA direction arrived in 6.10 (XFRM_SA_DIR_IN = 1, OUT = 2, as SA_DIR_*) */
	if (bpf_core_field_exists(x->dir) && BPF_CORE_READ(x, dir))
		e->dir = BPF_CORE_READ(x, dir);
	/* per-CPU SAs arrived in 6.13; the kernel's UINT_MAX: not one */
	if (bpf_core_field_exists(x->pcpu_num)) {
		__u32 cpu = BPF_CORE_READ(x, pcpu_num);

		if (cpu != 0xffffffff) {
			e->pcpu = 1;
			e->pcpu_num = cpu;
		}
	}
	BPF_CORE_READ_INTO(&e->saddr, x, props.saddr.a6);
	BPF_CORE_READ_INTO(&e->daddr, x, id.daddr.a6);
	/* a first packet is no one's change: its actor stays unknown */
	if (kind != SA_EVENT_FIRST_PACKET)
		fill_actor(&e->actor);
	if (kind == SA_EVENT_DELETE || kind == SA_EVENT_MIGRATE_OUT)
		e->last_packet_ns = take_last_packet(x, spi);
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void emit_sa(struct xfrm_state *x, __u8 kind, __u8 hard)
{
	emit_sa_at(x, kind, hard, 0, SA_DIR_UNKNOWN);
}

/* ---- SA lifecycle handlers, shared by both attach flavours ---- */

/*
 * SA migration (XFRM_MSG_MIGRATE_STATE, 7.2): xfrm_do_migrate_state clones the SA
 * (xfrm_state_migrate_create), deletes the old one, then installs the clone
 * (xfrm_state_migrate_install: xfrm_state_insert, or xfrm_state_add when the destination
 * changes). That delete and add are the migration's, not events of their own: from the
 * create on, this task's entry says which SA migrates and when its delete came; the
 * install's return emits MIGRATE_OUT (the old SA) and MIGRATE_IN (the clone).
 */
struct migration {
	__u64 old_sa;    /* struct xfrm_state * being migrated */
	__u64 delete_ns; /* its __xfrm_state_delete; 0: not yet */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH); /* a task killed midway must not hold an entry */
	__uint(max_entries, 256);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct migration);
} migrations SEC(".maps");

static __always_inline struct migration *migration_of_task(void)
{
	__u64 task = bpf_get_current_pid_tgid();

	return bpf_map_lookup_elem(&migrations, &task);
}

static __always_inline void on_state_add(struct xfrm_state *x, int ret)
{
	if (migration_of_task())
		return; /* the migration's clone: MIGRATE_IN says it */
	if (ret == 0) /* still VOID here: xfrm_add_sa sets VALID after we return */
		emit_sa(x, SA_EVENT_ADD, 0);
}

static __always_inline void on_state_update(struct xfrm_state *x, int ret)
{
	if (ret != 0)
		return;
	/* x was inserted if it replaced a larval state; otherwise its values were copied
	 * into the existing valid SA and x itself was killed */
	if (BPF_CORE_READ(x, km.state) != XFRM_KM_DEAD)
		emit_sa(x, SA_EVENT_ADD, 0);
	else
		emit_sa(x, SA_EVENT_UPDATE, 0);
}

static __always_inline void on_state_delete(struct xfrm_state *x)
{
	struct migration *m = migration_of_task();

	/* __xfrm_state_delete only acts on states not yet dead */
	if (BPF_CORE_READ(x, km.state) == XFRM_KM_DEAD)
		return;
	if (m && m->old_sa == (__u64)x) {
		m->delete_ns = bpf_ktime_get_ns(); /* MIGRATE_OUT's time */
		return;
	}
	emit_sa(x, SA_EVENT_DELETE, 0);
}

SEC("fexit/xfrm_state_add")
int BPF_PROG(fexit_state_add, struct xfrm_state *x, int ret)
{
	on_state_add(x, ret);
	return 0;
}

SEC("fexit/xfrm_state_update")
int BPF_PROG(fexit_state_update, struct xfrm_state *x, int ret)
{
	on_state_update(x, ret);
	return 0;
}

SEC("fentry/xfrm_state_migrate_create")
int BPF_PROG(fentry_migrate_create, struct xfrm_state *x)
{
	__u64 task = bpf_get_current_pid_tgid();
	struct migration m = { .old_sa = (__u64)x };

	bpf_map_update_elem(&migrations, &task, &m, BPF_ANY);
	return 0;
}

SEC("fexit/xfrm_state_migrate_create")
int BPF_PROG(fexit_migrate_create, struct xfrm_state *x, void *m, void *net, void *extack,
	     struct xfrm_state *xc)
{
	__u64 task = bpf_get_current_pid_tgid();

	if (!xc) /* no clone: nothing will be installed */
		bpf_map_delete_elem(&migrations, &task);
	return 0;
}

SEC("fexit/xfrm_state_migrate_install")
int BPF_PROG(fexit_migrate_install, struct xfrm_state *x, struct xfrm_state *xc, void *m,
	     void *extack, int ret)
{
	__u64 task = bpf_get_current_pid_tgid(), deleted = 0;
	struct migration *mig = bpf_map_lookup_elem(&migrations, &task);

	if (mig) {
		deleted = mig->delete_ns;
		bpf_map_delete_elem(&migrations, &task);
	}
	if (ret != 0) { /* both gone (the kernel's choice, against SN/IV reuse): a delete */
		if (deleted)
			emit_sa_at(x, SA_EVENT_DELETE, 0, deleted, SA_DIR_UNKNOWN);
		return 0;
	}
	emit_sa_at(x, SA_EVENT_MIGRATE_OUT, 0, deleted, SA_DIR_UNKNOWN);
	emit_sa(xc, SA_EVENT_MIGRATE_IN, 0);
	return 0;
}

/*
 * Expiry. The lifetime timer (xfrm_timer_handler) calls km_state_expired, but both live in
 * xfrm_state.c and the compiler inlines it there, so a probe on km_state_expired sees only
 * its other callers (a userspace EXPIRE, packet-count limits). The timer is a callback, never
 * inlined: we compare the SA before and after it ran. The timer sets km.dying to "soft
 * limit reached" on every run and calls km_state_expired(x, 0) exactly then; a hard expiry
 * deletes the SA (VALID -> DEAD) and calls km_state_expired(x, 1).
 */
struct timer_run {
	struct xfrm_state *x; /* the SA whose timer runs on this CPU; NULL outside */
	__u8 km_state;        /* before the run */
	/* the timer itself deleted it: a DELSA on another CPU can make it DEAD meanwhile
	 * (the timer then waits on x->lock), and that is no expiry */
	bool deleted;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct timer_run);
} timer_runs SEC(".maps");

/* An SA lifetime timer runs on this CPU: what it changes is the kernel's doing. */
static __always_inline bool in_sa_timer(void)
{
	__u32 zero = 0;
	struct timer_run *run = bpf_map_lookup_elem(&timer_runs, &zero);

	return run && run->x;
}

static __always_inline struct xfrm_state *timer_state(struct hrtimer *timer)
{
	return (void *)timer - bpf_core_field_offset(struct xfrm_state, mtimer);
}

static __always_inline void on_timer_enter(struct hrtimer *timer)
{
	__u32 zero = 0;
	struct timer_run *run = bpf_map_lookup_elem(&timer_runs, &zero);
	struct xfrm_state *x = timer_state(timer);

	if (!run)
		return;
	run->x = x;
	run->km_state = BPF_CORE_READ(x, km.state);
	run->deleted = false;
}

/* __xfrm_state_delete of the SA whose timer runs on this CPU: called by that timer */
static __always_inline void timer_note_delete(struct xfrm_state *x)
{
	__u32 zero = 0;
	struct timer_run *run = bpf_map_lookup_elem(&timer_runs, &zero);

	if (run && run->x == x)
		run->deleted = true;
}

/* hrtimer callbacks run to completion on one CPU: the per-CPU slot is this run's */
static __always_inline void on_timer_exit(void)
{
	__u32 zero = 0;
	struct timer_run *run = bpf_map_lookup_elem(&timer_runs, &zero);
	struct xfrm_state *x;
	__u8 km_state;

	if (!run || !run->x)
		return;
	x = run->x;
	km_state = BPF_CORE_READ(x, km.state);
	/* still inside the run for emit_sa: the expiry's actor is the kernel */
	if (run->deleted && run->km_state != XFRM_KM_DEAD && km_state == XFRM_KM_DEAD)
		emit_sa(x, SA_EVENT_EXPIRE, 1);
	else if (km_state != XFRM_KM_DEAD && BPF_CORE_READ(x, km.dying))
		emit_sa(x, SA_EVENT_EXPIRE, 0);
	run->x = NULL;
}

/* km_state_expired outside the timer; inside it (where not inlined) the timer reports */
static __always_inline void on_state_expired(struct xfrm_state *x, int hard)
{
	__u32 zero = 0;
	struct timer_run *run = bpf_map_lookup_elem(&timer_runs, &zero);

	if (run && run->x == x)
		return;
	emit_sa(x, SA_EVENT_EXPIRE, hard != 0);
}

SEC("fentry/__xfrm_state_delete")
int BPF_PROG(fentry_state_delete, struct xfrm_state *x)
{
	on_state_delete(x);
	timer_note_delete(x);
	return 0;
}

SEC("fentry/km_state_expired")
int BPF_PROG(fentry_state_expired, struct xfrm_state *x, int hard)
{
	on_state_expired(x, hard);
	return 0;
}

SEC("fentry/xfrm_timer_handler")
int BPF_PROG(fentry_timer, struct hrtimer *timer)
{
	on_timer_enter(timer);
	return 0;
}

SEC("fexit/xfrm_timer_handler")
int BPF_PROG(fexit_timer, struct hrtimer *timer)
{
	on_timer_exit();
	return 0;
}

enum kprobe_hook { HOOK_STATE_ADD = 1, HOOK_STATE_UPDATE = 2 };

static __always_inline void stash_arg(enum kprobe_hook hook, void *arg)
{
	__u64 key = (bpf_get_current_pid_tgid() & 0xffffffff) | ((__u64)hook << 32);
	__u64 val = (__u64)arg;

	bpf_map_update_elem(&kprobe_args, &key, &val, BPF_ANY);
}

static __always_inline void *take_arg(enum kprobe_hook hook)
{
	__u64 key = (bpf_get_current_pid_tgid() & 0xffffffff) | ((__u64)hook << 32);
	__u64 *val = bpf_map_lookup_elem(&kprobe_args, &key);
	void *arg;

	if (!val) {
		__sync_fetch_and_add(&events_lost, 1);
		return NULL;
	}
	arg = (void *)*val;
	bpf_map_delete_elem(&kprobe_args, &key);
	return arg;
}

SEC("kprobe/xfrm_state_add")
int BPF_KPROBE(kprobe_state_add, struct xfrm_state *x)
{
	stash_arg(HOOK_STATE_ADD, x);
	return 0;
}

SEC("kretprobe/xfrm_state_add")
int BPF_KRETPROBE(kretprobe_state_add, int ret)
{
	struct xfrm_state *x = take_arg(HOOK_STATE_ADD);

	if (x)
		on_state_add(x, ret);
	return 0;
}

SEC("kprobe/xfrm_state_update")
int BPF_KPROBE(kprobe_state_update, struct xfrm_state *x)
{
	stash_arg(HOOK_STATE_UPDATE, x);
	return 0;
}

SEC("kretprobe/xfrm_state_update")
int BPF_KRETPROBE(kretprobe_state_update, int ret)
{
	struct xfrm_state *x = take_arg(HOOK_STATE_UPDATE);

	if (x)
		on_state_update(x, ret);
	return 0;
}

SEC("kprobe/__xfrm_state_delete")
int BPF_KPROBE(kprobe_state_delete, struct xfrm_state *x)
{
	on_state_delete(x);
	timer_note_delete(x);
	return 0;
}

SEC("kprobe/km_state_expired")
int BPF_KPROBE(kprobe_state_expired, struct xfrm_state *x, int hard)
{
	on_state_expired(x, hard);
	return 0;
}

SEC("kprobe/xfrm_timer_handler")
int BPF_KPROBE(kprobe_timer, struct hrtimer *timer)
{
	on_timer_enter(timer);
	return 0;
}

SEC("kretprobe/xfrm_timer_handler")
int BPF_KRETPROBE(kretprobe_timer)
{
	on_timer_exit();
	return 0;
}

/*
 * ---- switchover: each SA's first and last packet ----
 *
 * Both functions take the SA, run once per packet under its lock and are called from another
 * file than their own (never inlined): xfrm_replay_overflow from xfrm_output_one for each
 * packet given to an SA for encryption, before it counts the packet in curlft;
 * xfrm_replay_advance from xfrm_input once the packet is decrypted and its integrity checked,
 * before the same count. So an SA that has counted no packet yet is at its first.
 */
static __always_inline void on_sa_packet(struct xfrm_state *x, __be32 spi, __u8 dir)
{
	__u64 now = bpf_ktime_get_ns();
	struct sa_traffic_set *s = sa_traffic_set_of(spi);
	int w;

	if (!s)
		return;
	/* every packet but an SA's first: a compare and a store */
	if (s->sa[0] == (__u64)x) {
		s->last_ns[0] = now;
		return;
	}
	if (s->sa[1] == (__u64)x) {
		s->last_ns[1] = now;
		return;
	}
	/* new to the cache: its first packet, one of an SA older than our attachment, or evicted */
	if (!s->sa[0])
		w = 0;
	else if (!s->sa[1])
		w = 1;
	else
		w = s->last_ns[0] <= s->last_ns[1] ? 0 : 1;
	s->sa[w] = (__u64)x;
	s->last_ns[w] = now;
	if (BPF_CORE_READ(x, curlft.packets) == 0)
		emit_sa_at(x, SA_EVENT_FIRST_PACKET, 0, now, dir);
}

/* fentry reads the SA's SPI with a plain load (its argument is a trusted BTF pointer) */
SEC("fentry/xfrm_replay_overflow")
int BPF_PROG(fentry_sa_output, struct xfrm_state *x, struct sk_buff *skb)
{
	on_sa_packet(x, x->id.spi, SA_DIR_OUT);
	return 0;
}

SEC("fentry/xfrm_replay_advance")
int BPF_PROG(fentry_sa_input, struct xfrm_state *x, __be32 net_seq)
{
	on_sa_packet(x, x->id.spi, SA_DIR_IN);
	return 0;
}

SEC("kprobe/xfrm_replay_overflow")
int BPF_KPROBE(kprobe_sa_output, struct xfrm_state *x)
{
	on_sa_packet(x, BPF_CORE_READ(x, id.spi), SA_DIR_OUT);
	return 0;
}

SEC("kprobe/xfrm_replay_advance")
int BPF_KPROBE(kprobe_sa_input, struct xfrm_state *x)
{
	on_sa_packet(x, BPF_CORE_READ(x, id.spi), SA_DIR_IN);
	return 0;
}

/* ---- policies ---- */

static __always_inline void emit_policy(struct xfrm_policy *xp, __u8 kind)
{
	struct policy_event *e = bpf_ringbuf_reserve(&policy_events, sizeof(*e), 0);
	struct xfrm_tmpl *t = &xp->xfrm_vec[0];
	__u32 index = BPF_CORE_READ(xp, index);

	if (!e) {
		__sync_fetch_and_add(&events_lost, 1);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->netns = net_inum(BPF_CORE_READ(xp, xp_net.net));
	e->kind = kind;
	e->dir = index & 7; /* the kernel keeps a policy's direction in its index */
	e->action = BPF_CORE_READ(xp, action);
	e->family = BPF_CORE_READ(xp, selector.family);
	e->index = index;
	e->priority = BPF_CORE_READ(xp, priority);
	BPF_CORE_READ_INTO(&e->sel_saddr, xp, selector.saddr.a6);
	BPF_CORE_READ_INTO(&e->sel_daddr, xp, selector.daddr.a6);
	e->sel_prefixlen_s = BPF_CORE_READ(xp, selector.prefixlen_s);
	e->sel_prefixlen_d = BPF_CORE_READ(xp, selector.prefixlen_d);
	e->sel_proto = BPF_CORE_READ(xp, selector.proto);
	e->mark_v = BPF_CORE_READ(xp, mark.v);
	e->mark_m = BPF_CORE_READ(xp, mark.m);
	e->if_id = BPF_CORE_READ(xp, if_id);
	e->n_tmpl = BPF_CORE_READ(xp, xfrm_nr);
	if (e->n_tmpl) {
		e->tmpl_proto = BPF_CORE_READ(t, id.proto);
		e->tmpl_spi = BPF_CORE_READ(t, id.spi);
		e->tmpl_mode = BPF_CORE_READ(t, mode);
		e->tmpl_family = BPF_CORE_READ(t, encap_family);
		e->tmpl_reqid = BPF_CORE_READ(t, reqid);
		BPF_CORE_READ_INTO(&e->tmpl_saddr, t, saddr.a6);
		BPF_CORE_READ_INTO(&e->tmpl_daddr, t, id.daddr.a6);
	}
	fill_actor(&e->actor);
	bpf_ringbuf_submit(e, 0);
}

/* NEWPOLICY inserts exclusively, UPDPOLICY not: the same split as the netlink messages */
static __always_inline void on_policy_insert(struct xfrm_policy *xp, int excl, int ret)
{
	if (ret == 0)
		emit_policy(xp, excl ? POLICY_EVENT_ADD : POLICY_EVENT_UPDATE);
}

/* Every policy removed by DELPOLICY or a flush is audited, with result 1 on success (the
 * lookup functions that delete take 9 arguments, more than 6.1's trampolines pass). */
static __always_inline void on_policy_delete(struct xfrm_policy *xp, int result)
{
	if (result)
		emit_policy(xp, POLICY_EVENT_DELETE);
}

SEC("fexit/xfrm_policy_insert")
int BPF_PROG(fexit_policy_insert, int dir, struct xfrm_policy *xp, int excl, int ret)
{
	on_policy_insert(xp, excl, ret);
	return 0;
}

SEC("fentry/xfrm_audit_policy_delete")
int BPF_PROG(fentry_policy_delete, struct xfrm_policy *xp, int result)
{
	on_policy_delete(xp, result);
	return 0;
}

/* kprobe mode: the insert's arguments from entry, for the kretprobe */
struct policy_insert_args {
	struct xfrm_policy *xp;
	int excl;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH); /* as kprobe_args */
	__uint(max_entries, 1024);
	__type(key, __u64); /* thread id */
	__type(value, struct policy_insert_args);
} policy_insert_args SEC(".maps");

SEC("kprobe/xfrm_policy_insert")
int BPF_KPROBE(kprobe_policy_insert, int dir, struct xfrm_policy *xp, int excl)
{
	__u64 tid = bpf_get_current_pid_tgid() & 0xffffffff;
	struct policy_insert_args args = { .xp = xp, .excl = excl };

	bpf_map_update_elem(&policy_insert_args, &tid, &args, BPF_ANY);
	return 0;
}

SEC("kretprobe/xfrm_policy_insert")
int BPF_KRETPROBE(kretprobe_policy_insert, int ret)
{
	__u64 tid = bpf_get_current_pid_tgid() & 0xffffffff;
	struct policy_insert_args *args = bpf_map_lookup_elem(&policy_insert_args, &tid);

	if (!args) {
		__sync_fetch_and_add(&events_lost, 1);
		return 0;
	}
	on_policy_insert(args->xp, args->excl, ret);
	bpf_map_delete_elem(&policy_insert_args, &tid);
	return 0;
}

SEC("kprobe/xfrm_audit_policy_delete")
int BPF_KPROBE(kprobe_policy_delete, struct xfrm_policy *xp, int result)
{
	on_policy_delete(xp, result);
	return 0;
}

/* ---- drops ---- */

static __always_inline __u32 skb_netns(struct sk_buff *skb)
{
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	struct sock *sk;

	if (dev)
		return net_inum(BPF_CORE_READ(dev, nd_net.net));
	/* locally generated packets dropped before they have a device */
	sk = BPF_CORE_READ(skb, sk);
	if (sk)
		return net_inum(BPF_CORE_READ(sk, __sk_common.skc_net.net));
	return 0;
}

/* The packet's destination address from its network header. */
static __always_inline void skb_daddr(struct sk_buff *skb, struct drop_key *key)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u8 version;

	if (bpf_probe_read_kernel(&version, 1, head + nh))
		return;
	version >>= 4;
	if (version == 4) {
		key->family = AF_INET;
		bpf_probe_read_kernel(&key->daddr[0], 4, head + nh + offsetof(struct iphdr, daddr));
	} else if (version == 6) {
		key->family = AF_INET6;
		bpf_probe_read_kernel(key->daddr, 16, head + nh + offsetof(struct ipv6hdr, daddr));
	}
}

static __always_inline void key_from_state(struct drop_key *key, struct xfrm_state *x)
{
	key->netns = net_inum(BPF_CORE_READ(x, xs_net.net));
	key->spi = BPF_CORE_READ(x, id.spi);
	key->family = BPF_CORE_READ(x, props.family);
	BPF_CORE_READ_INTO(&key->daddr, x, id.daddr.a6);
}

static __always_inline void count_drop(struct drop_key *key)
{
	__u64 now = bpf_ktime_get_ns();
	struct drop_value *v, init = { .count = 1, .first_ts_ns = now, .last_ts_ns = now };

	v = bpf_map_lookup_elem(&drops, key);
	if (!v) {
		if (bpf_map_update_elem(&drops, key, &init, BPF_NOEXIST) == 0)
			return;
		v = bpf_map_lookup_elem(&drops, key); /* another CPU created it */
		if (!v) {
			__sync_fetch_and_add(&drops_overflow, 1);
			return;
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	v->last_ts_ns = now;
}

static __always_inline void mark_audited(struct sk_buff *skb)
{
	__u64 addr = (__u64)skb;
	__u8 one = 1;

	bpf_map_update_elem(&audited_skbs, &addr, &one, BPF_ANY);
}

/* Unknown SPI on input: xfrm_input calls this right after XfrmInNoStates++. */
static __always_inline void on_audit_notfound(struct sk_buff *skb, __be32 spi)
{
	struct drop_key key = { .cause = DROP_IN_NO_STATE, .spi = spi };

	key.netns = skb_netns(skb);
	skb_daddr(skb, &key);
	count_drop(&key);
	mark_audited(skb);
}

/* Integrity check failed: the peer encrypts with another key (same-SPI rekey). */
static __always_inline void on_audit_icvfail(struct xfrm_state *x, struct sk_buff *skb)
{
	struct drop_key key = { .cause = DROP_IN_ICV_FAIL };

	key_from_state(&key, x);
	count_drop(&key);
	mark_audited(skb);
}

SEC("fentry/xfrm_audit_state_notfound")
int BPF_PROG(fentry_audit_notfound, struct sk_buff *skb, u16 family, __be32 spi)
{
	on_audit_notfound(skb, spi);
	return 0;
}

SEC("fentry/xfrm_audit_state_icvfail")
int BPF_PROG(fentry_audit_icvfail, struct xfrm_state *x, struct sk_buff *skb)
{
	on_audit_icvfail(x, skb);
	return 0;
}

SEC("kprobe/xfrm_audit_state_notfound")
int BPF_KPROBE(kprobe_audit_notfound, struct sk_buff *skb, u16 family, __be32 spi)
{
	on_audit_notfound(skb, spi);
	return 0;
}

SEC("kprobe/xfrm_audit_state_icvfail")
int BPF_KPROBE(kprobe_audit_icvfail, struct xfrm_state *x, struct sk_buff *skb)
{
	on_audit_icvfail(x, skb);
	return 0;
}

/* The SA an inbound packet was being processed with: the last one on its sec_path. */
static __always_inline struct xfrm_state *skb_input_state(struct sk_buff *skb)
{
	int sec_path_id = bpf_core_enum_value(enum skb_ext_id, SKB_EXT_SEC_PATH);
	struct skb_ext *ext;
	struct sec_path *sp;
	__u8 offset;
	int len;

	if (!(BPF_CORE_READ(skb, active_extensions) & (1 << sec_path_id)))
		return NULL;
	ext = BPF_CORE_READ(skb, extensions);
	if (!ext || bpf_probe_read_kernel(&offset, 1, &ext->offset[sec_path_id & 3]))
		return NULL;
	sp = (void *)ext + ((__u64)offset << 3); /* SKB_EXT_ALIGN_SHIFT */
	len = BPF_CORE_READ(sp, len);
	if (len <= 0 || len > 6)
		return NULL;
	return BPF_CORE_READ(sp, xvec[(len - 1) & 7]);
}

/* The SA an outbound packet's route led to. */
static __always_inline struct xfrm_state *skb_output_state(struct sk_buff *skb)
{
	struct dst_entry *dst = (void *)(BPF_CORE_READ(skb, _skb_refdst) & ~1UL);

	return dst ? BPF_CORE_READ(dst, xfrm) : NULL;
}

/*
 * Per SA, its integrity-failure and replay counters as of its previous drop. Without the
 * audit hooks (tracepoint mode) this is how an ICV failure is told from other drops on a
 * valid SA: xfrm_input counts it in x->stats.integrity_failed just before the drop.
 */
struct sa_fail_counts {
	__u32 integrity_failed;
	__u32 replay;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH); /* SAs that drop packets now, not every SA */
	__uint(max_entries, 16384);
	__type(key, __u64); /* struct xfrm_state * */
	__type(value, struct sa_fail_counts);
} sa_fail_seen SEC(".maps");

static __always_inline __u8 valid_state_cause(struct xfrm_state *x)
{
	struct sa_fail_counts now = {
		.integrity_failed = BPF_CORE_READ(x, stats.integrity_failed),
		.replay = BPF_CORE_READ(x, stats.replay),
	};
	__u64 addr = (__u64)x;
	struct sa_fail_counts *prev = bpf_map_lookup_elem(&sa_fail_seen, &addr);
	bool icv;

	if (prev)
		icv = now.integrity_failed != prev->integrity_failed;
	else /* first drop we see on this SA: only unambiguous counters tell */
		icv = now.integrity_failed && !now.replay;
	bpf_map_update_elem(&sa_fail_seen, &addr, &now, BPF_ANY);
	return icv ? DROP_IN_ICV_FAIL : DROP_OTHER; /* other: replay, mode or encap mismatch */
}

static __always_inline __u8 input_cause(struct xfrm_state *x)
{
	switch (BPF_CORE_READ(x, km.state)) {
	case XFRM_KM_ACQ:
		return DROP_IN_ACQUIRE;
	case XFRM_KM_EXPIRED:
		return DROP_IN_EXPIRED;
	case XFRM_KM_VALID:
		return valid_state_cause(x);
	default:
		return DROP_IN_STATE_INVALID;
	}
}

/* Input packet with no SA (tracepoint mode has no audit hook): SPI from the ESP header. */
static __always_inline void key_from_esp_header(struct sk_buff *skb, struct drop_key *key)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 th = BPF_CORE_READ(skb, transport_header);

	bpf_probe_read_kernel(&key->spi, 4, head + th);
	key->netns = skb_netns(skb);
	skb_daddr(skb, key);
}

SEC("raw_tp/kfree_skb")
int BPF_PROG(on_kfree_skb, struct sk_buff *skb, void *location)
{
	struct drop_key key = {};
	__u64 loc = (__u64)location, addr = (__u64)skb;
	struct xfrm_state *x = NULL;
	__u32 reason = 0;
	int cause = -1;

	/* every freed packet comes here: let the others go first, at the least cost */
	if (kfree_skb_has_reason) {
		reason = (__u32)ctx[2];
		if (reason_filter &&
		    (reason >= DROP_REASON_WORDS * 64 ||
		     !(xfrm_reasons[(reason >> 6) & (DROP_REASON_WORDS - 1)] & (1ULL << (reason & 63)))))
			return 0;
	}
	for (__u32 i = 0; i < XFRM_DROP_SITES_MAX && i < n_drop_sites; i++) {
		if (loc >= drop_sites[i].start && loc < drop_sites[i].end) {
			cause = drop_sites[i].cause;
			break;
		}
	}
	if (cause < 0) {
		if (!reason_xfrm_policy || reason != reason_xfrm_policy)
			return 0;
		cause = DROP_POLICY_BLOCK;
	}
	/* An audited packet is freed in xfrm_input's drop path, one of the sites: counted
	 * already. (Without the audit hooks nothing is marked and the lookup is skipped.) */
	if (audit_hooks && bpf_map_lookup_elem(&audited_skbs, &addr)) {
		bpf_map_delete_elem(&audited_skbs, &addr);
		return 0;
	}

	switch (cause) {
	case DROP_IN_NO_STATE: /* site in xfrm_input: which state, if any? */
		x = skb_input_state(skb);
		if (x)
			cause = input_cause(x);
		else
			key_from_esp_header(skb, &key);
		break;
	case DROP_OUT_STATE_INVALID: /* site in xfrm_output*: the route's SA */
		x = skb_output_state(skb);
		if (x && BPF_CORE_READ(x, km.state) == XFRM_KM_VALID)
			cause = DROP_OTHER;
		break;
	default: /* blackhole after a failed outbound lookup, or a policy drop */
		key.netns = skb_netns(skb);
		skb_daddr(skb, &key);
		break;
	}
	if (x)
		key_from_state(&key, x);
	key.cause = cause;
	key.reason = reason;
	key.location = loc;
	count_drop(&key);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
