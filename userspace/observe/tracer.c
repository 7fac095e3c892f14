// SPDX-License-Identifier: BSD-2-Clause
#include "tracer.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xfrm_trace.skel.h"

/* kfree_skb callers that are XFRM drop points; the BPF side refines the cause. */
static const struct {
	const char *func;
	enum drop_cause cause;
} drop_site_funcs[] = {
	{ "xfrm_input", DROP_IN_NO_STATE },
	{ "xfrm_output_resume", DROP_OUT_STATE_INVALID },
	{ "xfrm_output_one", DROP_OUT_STATE_INVALID },
	{ "xfrm_output", DROP_OUT_STATE_INVALID },
	{ "dst_discard_out", DROP_OUT_NO_STATE },
};

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/* The kfree_skb tracepoint gained its reason argument in 5.17 (and 5.15.y). */
static bool kfree_skb_has_reason(const struct btf *vmlinux)
{
	int id = btf__find_by_name_kind(vmlinux, "btf_trace_kfree_skb", BTF_KIND_TYPEDEF);
	const struct btf_type *t;

	if (id < 0)
		return false;
	t = btf__type_by_id(vmlinux, btf__resolve_type(vmlinux, id));
	if (!t || !btf_is_ptr(t))
		return false;
	t = btf__type_by_id(vmlinux, t->type);
	/* (void *ctx, skb, location, reason, ...) */
	return t && btf_is_func_proto(t) && btf_vlen(t) >= 4;
}

static void set_autoload(const struct tracer *t)
{
	struct xfrm_trace_bpf *s = t->skel;
	bool fentry = t->mode == PROBE_FENTRY, kprobe = t->mode == PROBE_KPROBE;
	bool audit = t->audit_hooks, pol_ins = t->policy_insert, pol_del = t->policy_delete;
	bool packets = t->switchover;

	bpf_program__set_autoload(s->progs.fexit_state_add, fentry);
	bpf_program__set_autoload(s->progs.fexit_state_update, fentry);
	bpf_program__set_autoload(s->progs.fentry_state_delete, fentry);
	bpf_program__set_autoload(s->progs.fentry_state_expired, fentry);
	bpf_program__set_autoload(s->progs.fentry_timer, fentry);
	bpf_program__set_autoload(s->progs.fexit_timer, fentry);
	bpf_program__set_autoload(s->progs.fentry_audit_notfound, fentry && audit);
	bpf_program__set_autoload(s->progs.fentry_audit_icvfail, fentry && audit);
	bpf_program__set_autoload(s->progs.kprobe_state_add, kprobe);
	bpf_program__set_autoload(s->progs.kretprobe_state_add, kprobe);
	bpf_program__set_autoload(s->progs.kprobe_state_update, kprobe);
	bpf_program__set_autoload(s->progs.kretprobe_state_update, kprobe);
	bpf_program__set_autoload(s->progs.kprobe_state_delete, kprobe);
	bpf_program__set_autoload(s->progs.kprobe_state_expired, kprobe);
	bpf_program__set_autoload(s->progs.kprobe_timer, kprobe);
	bpf_program__set_autoload(s->progs.kretprobe_timer, kprobe);
	bpf_program__set_autoload(s->progs.kprobe_audit_notfound, kprobe && audit);
	bpf_program__set_autoload(s->progs.kprobe_audit_icvfail, kprobe && audit);
	bpf_program__set_autoload(s->progs.fexit_policy_insert, fentry && pol_ins);
	bpf_program__set_autoload(s->progs.fentry_policy_delete, fentry && pol_del);
	bpf_program__set_autoload(s->progs.kprobe_policy_insert, kprobe && pol_ins);
	bpf_program__set_autoload(s->progs.kretprobe_policy_insert, kprobe && pol_ins);
	bpf_program__set_autoload(s->progs.kprobe_policy_delete, kprobe && pol_del);
	bpf_program__set_autoload(s->progs.fentry_migrate_create, t->migrate);
	bpf_program__set_autoload(s->progs.fexit_migrate_create, t->migrate);
	bpf_program__set_autoload(s->progs.fexit_migrate_install, t->migrate);
	bpf_program__set_autoload(s->progs.fentry_sa_output, fentry && packets);
	bpf_program__set_autoload(s->progs.fentry_sa_input, fentry && packets);
	bpf_program__set_autoload(s->progs.kprobe_sa_output, kprobe && packets);
	bpf_program__set_autoload(s->progs.kprobe_sa_input, kprobe && packets);
}

/* The per-packet switchover hooks' functions: in kallsyms, and for fentry in the BTF too. */
static bool switchover_possible(const struct tracer *t, const struct btf *vmlinux)
{
	static const char *const funcs[] = { TRACER_SA_OUTPUT_FUNC, TRACER_SA_INPUT_FUNC };

	if (t->mode == PROBE_TRACEPOINT)
		return false;
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++) {
		if (!ksyms_has(&t->ksyms, funcs[i]))
			return false;
		if (t->mode == PROBE_FENTRY &&
		    btf__find_by_name_kind(vmlinux, funcs[i], BTF_KIND_FUNC) < 0)
			return false;
	}
	return true;
}

/* fn in the kernel's BTF as a function of nargs parameters */
static bool btf_func_has_args(const struct btf *vmlinux, const char *fn, __u16 nargs)
{
	__s32 id = btf__find_by_name_kind(vmlinux, fn, BTF_KIND_FUNC);
	const struct btf_type *t = id < 0 ? NULL : btf__type_by_id(vmlinux, id);

	t = t ? btf__type_by_id(vmlinux, t->type) : NULL;
	return t && btf_is_func_proto(t) && btf_vlen(t) == nargs;
}

/*
 * The SA migration hooks (7.2's XFRM_MSG_MIGRATE_STATE): fentry only, and only on the
 * functions as 7.2 has them (their return value is read after the 4th argument).
 */
static bool migrate_possible(const struct tracer *t, const struct btf *vmlinux)
{
	return t->mode == PROBE_FENTRY &&
	       btf_func_has_args(vmlinux, TRACER_MIGRATE_CREATE_FUNC, 4) &&
	       btf_func_has_args(vmlinux, TRACER_MIGRATE_INSTALL_FUNC, 4);
}

/* One more thing this mode cannot see, for the start line. */
static void blind_add(struct tracer *t, const char *what)
{
	size_t len = strlen(t->blind);

	snprintf(t->blind + len, sizeof(t->blind) - len, "%s%s", len ? "; " : "", what);
}

static int on_sa_ringbuf(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;

	if (size < sizeof(struct sa_event) || !t->handlers.sa)
		return 0;
	return t->handlers.sa(t->handlers.ctx, data);
}

static int on_policy_ringbuf(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;

	if (size < sizeof(struct policy_event) || !t->handlers.policy)
		return 0;
	return t->handlers.policy(t->handlers.ctx, data);
}

int tracer_open(struct tracer *t, bool forced, enum probe_mode want, bool switchover,
		const struct tracer_handlers *handlers, char *err, size_t errlen)
{
	struct probe_features f;
	struct btf *vmlinux = NULL;
	FILE *kallsyms;
	__u32 n_sites = 0, policy_reason;
	int ret;

	memset(t, 0, sizeof(*t));
	libbpf_set_print(silent_print);
	probe_features(&f);
	t->mode = probe_choose_mode(&f, forced, want);
	if (t->mode == PROBE_NONE) {
		snprintf(err, errlen,
			 forced ? "probe mode %s is not available on this kernel (see 'rekeygap probe')"
				: "no probe mode works here: need BPF and the kfree_skb tracepoint "
				  "(root or CAP_BPF+CAP_PERFMON?)",
			 probe_mode_name(want));
		return -EOPNOTSUPP;
	}

	kallsyms = fopen("/proc/kallsyms", "r");
	ret = kallsyms ? ksyms_load(&t->ksyms, kallsyms) : -errno;
	if (kallsyms)
		fclose(kallsyms);
	if (ret) {
		snprintf(err, errlen, "cannot read kernel symbols from /proc/kallsyms: %s",
			 strerror(-ret));
		goto fail;
	}
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		snprintf(err, errlen, "cannot read the kernel's BTF: %s", strerror(errno));
		ret = -errno;
		goto fail;
	}
	if (drop_reasons_load(&t->reasons, vmlinux) == -ENOMEM) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* they exist only with CONFIG_AUDITSYSCALL */
	t->audit_hooks = t->mode != PROBE_TRACEPOINT &&
			 ksyms_has(&t->ksyms, "xfrm_audit_state_notfound") &&
			 ksyms_has(&t->ksyms, "xfrm_audit_state_icvfail");
	t->policy_insert = t->mode != PROBE_TRACEPOINT;
	t->policy_delete = t->mode != PROBE_TRACEPOINT &&
			   ksyms_has(&t->ksyms, "xfrm_audit_policy_delete");
	t->switchover_off = !switchover;
	t->switchover = switchover && switchover_possible(t, vmlinux);
	t->migrate = migrate_possible(t, vmlinux);

	t->skel = xfrm_trace_bpf__open();
	if (!t->skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < sizeof(drop_site_funcs) / sizeof(drop_site_funcs[0]); i++) {
		__u64 start, end;

		if (n_sites == XFRM_DROP_SITES_MAX ||
		    ksyms_range(&t->ksyms, drop_site_funcs[i].func, &start, &end))
			continue;
		t->skel->rodata->drop_sites[n_sites].start = start;
		t->skel->rodata->drop_sites[n_sites].end = end;
		t->skel->rodata->drop_sites[n_sites].cause = drop_site_funcs[i].cause;
		n_sites++;
	}
	t->skel->rodata->n_drop_sites = n_sites;
	if (drop_reason_value(&t->reasons, "XFRM_POLICY", &policy_reason))
		t->skel->rodata->reason_xfrm_policy = policy_reason;
	t->skel->rodata->kfree_skb_has_reason = kfree_skb_has_reason(vmlinux);
	t->skel->rodata->audit_hooks = t->audit_hooks;
	t->skel->rodata->reason_filter = t->reasons.n && t->reasons.n <= DROP_REASON_WORDS * 64;
	for (__u32 v = 0; t->skel->rodata->reason_filter && v < t->reasons.n; v++)
		if (t->reasons.names[v] && drop_reason_may_be_xfrm(t->reasons.names[v]))
			t->skel->rodata->xfrm_reasons[v / 64] |= 1ULL << (v % 64);
	set_autoload(t);

	ret = xfrm_trace_bpf__load(t->skel);
	if (ret) {
		snprintf(err, errlen, "cannot load the BPF programs (%s mode): %s",
			 probe_mode_name(t->mode), strerror(-ret));
		goto fail;
	}
	ret = xfrm_trace_bpf__attach(t->skel);
	if (ret) {
		snprintf(err, errlen, "cannot attach the BPF programs (%s mode): %s",
			 probe_mode_name(t->mode), strerror(-ret));
		goto fail;
	}
	t->handlers = *handlers;
	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.sa_events), on_sa_ringbuf, t, NULL);
	if (!t->rb ||
	    ring_buffer__add(t->rb, bpf_map__fd(t->skel->maps.policy_events), on_policy_ringbuf, t)) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the ring buffers: %s", strerror(errno));
		goto fail;
	}

	if (t->mode == PROBE_TRACEPOINT)
		blind_add(t, "SA insert/delete/expiry timing in the kernel (no fentry, no kprobes: SA "
			     "events come from netlink, timed on receipt)");
	else if (!t->audit_hooks)
		blind_add(t, "ICV failures and unknown SPIs by audit hook (no CONFIG_AUDITSYSCALL)");
	if (t->switchover_off)
		blind_add(t, "SA first and last packets (--no-switchover)");
	else if (!t->switchover)
		blind_add(t, t->mode == PROBE_TRACEPOINT
				     ? "SA first and last packets (per-packet hooks need fentry or "
				       "kprobes)"
				     : "SA first and last packets (no " TRACER_SA_OUTPUT_FUNC
				       " or " TRACER_SA_INPUT_FUNC " to attach to)");
	if (t->mode == PROBE_KPROBE && btf_func_has_args(vmlinux, TRACER_MIGRATE_INSTALL_FUNC, 4))
		blind_add(t, "SA migrations (" TRACER_MIGRATE_INSTALL_FUNC " is hooked in fentry "
			     "mode only: a migration reads as a delete, and maybe an add)");
	btf__free(vmlinux);
	return 0;
fail:
	btf__free(vmlinux);
	tracer_close(t);
	return ret < 0 ? ret : -EINVAL;
}

int tracer_fd(const struct tracer *t)
{
	return ring_buffer__epoll_fd(t->rb);
}

int tracer_poll(struct tracer *t, int timeout_ms)
{
	return ring_buffer__poll(t->rb, timeout_ms);
}

void tracer_drops_foreach(struct tracer *t, tracer_drop_fn fn, void *ctx)
{
	const struct bpf_map *map = t->skel->maps.drops;
	struct drop_key key, next, *prev = NULL;
	struct drop_value v;

	while (bpf_map__get_next_key(map, prev, &next, sizeof(next)) == 0) {
		key = next;
		prev = &key;
		if (bpf_map__lookup_elem(map, &key, sizeof(key), &v, sizeof(v), 0) == 0)
			fn(ctx, &key, &v);
	}
}

int tracer_drop_take(struct tracer *t, const struct drop_key *k, struct drop_value *v)
{
	return bpf_map__lookup_and_delete_elem(t->skel->maps.drops, k, sizeof(*k), v, sizeof(*v),
					       0);
}

void tracer_counters(struct tracer *t, __u64 *events_lost, __u64 *drops_overflow,
		     __u64 *larval)
{
	*events_lost = t->skel->bss->events_lost;
	*drops_overflow = t->skel->bss->drops_overflow;
	*larval = t->skel->bss->larval_events;
}

void tracer_missed_runs(struct tracer *t, struct tracer_missed *m)
{
	struct xfrm_trace_bpf *s = t->skel;
	struct bpf_program *prog;

	memset(m, 0, sizeof(*m));
	bpf_object__for_each_program(prog, s->obj) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) || !info.recursion_misses)
			continue;
		if (prog == s->progs.on_kfree_skb || prog == s->progs.fentry_audit_notfound ||
		    prog == s->progs.fentry_audit_icvfail || prog == s->progs.kprobe_audit_notfound ||
		    prog == s->progs.kprobe_audit_icvfail)
			m->drops += info.recursion_misses;
		else if (prog == s->progs.fentry_sa_output || prog == s->progs.fentry_sa_input ||
			 prog == s->progs.kprobe_sa_output || prog == s->progs.kprobe_sa_input)
			m->packets += info.recursion_misses;
		else
			m->sa += info.recursion_misses;
	}
}

void tracer_close(struct tracer *t)
{
	ring_buffer__free(t->rb);
	xfrm_trace_bpf__destroy(t->skel);
	ksyms_free(&t->ksyms);
	drop_reasons_free(&t->reasons);
	memset(t, 0, sizeof(*t));
}
