// SPDX-License-Identifier: BSD-2-Clause
#include "probe.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli.h"
#include "json_out.h"
#include "tracer.h"
#include "xfrm_features.h"

static const char *const mode_names[] = {
	[PROBE_FENTRY] = "fentry",
	[PROBE_KPROBE] = "kprobe",
	[PROBE_TRACEPOINT] = "tracepoint",
	[PROBE_NONE] = "none",
};

const char *probe_mode_name(enum probe_mode mode)
{
	return mode <= PROBE_NONE ? mode_names[mode] : "?";
}

int probe_mode_parse(const char *name, enum probe_mode *mode)
{
	for (int m = PROBE_FENTRY; m < PROBE_NONE; m++) {
		if (strcmp(name, mode_names[m]) == 0) {
			*mode = m;
			return 0;
		}
	}
	return -EINVAL;
}

static bool mode_available(const struct probe_features *f, enum probe_mode mode)
{
	switch (mode) {
	case PROBE_FENTRY:
		return f->btf && f->fentry;
	case PROBE_KPROBE:
		return f->kprobe;
	case PROBE_TRACEPOINT:
		return f->tracepoint;
	default:
		return false;
	}
}

enum probe_mode probe_choose_mode(const struct probe_features *f, bool forced,
				  enum probe_mode want)
{
	if (forced)
		return mode_available(f, want) ? want : PROBE_NONE;
	for (int m = PROBE_FENTRY; m < PROBE_NONE; m++)
		if (mode_available(f, m))
			return m;
	return PROBE_NONE;
}

bool probe_kallsyms_has(FILE *kallsyms, const char *name)
{
	char line[512], sym[256];

	/* "ffffffff81000000 T name\t[module]" */
	while (fgets(line, sizeof(line), kallsyms)) {
		if (sscanf(line, "%*s %*s %255s", sym) == 1 && strcmp(sym, name) == 0)
			return true;
	}
	return false;
}

static bool kallsyms_has(const char *name)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	bool found;

	if (!f)
		return false;
	found = probe_kallsyms_has(f, name);
	fclose(f);
	return found;
}

/* "return 0": the smallest program the verifier accepts, for load-and-attach probes */
static const struct bpf_insn return_zero[] = {
	{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
	{ .code = BPF_JMP | BPF_EXIT },
};
#define RETURN_ZERO_LEN (sizeof(return_zero) / sizeof(return_zero[0]))

/* Load a two-instruction fentry program on func and attach it: the only reliable test. */
static bool fentry_can_attach(const char *func)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY);
	struct btf *vmlinux;
	int id, prog_fd, link_fd;

	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return false;
	id = btf__find_by_name_kind(vmlinux, func, BTF_KIND_FUNC);
	btf__free(vmlinux);
	if (id <= 0)
		return false;
	opts.attach_btf_id = id;
	prog_fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", return_zero, RETURN_ZERO_LEN,
				&opts);
	if (prog_fd < 0)
		return false;
	link_fd = bpf_raw_tracepoint_open(NULL, prog_fd);
	if (link_fd >= 0)
		close(link_fd);
	close(prog_fd);
	return link_fd >= 0;
}

/* Raw tracepoints need no tracefs mount: attach a trivial program to tp by name. */
static bool raw_tracepoint_can_attach(const char *tp)
{
	int prog_fd, link_fd;

	prog_fd = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL, "GPL", return_zero,
				RETURN_ZERO_LEN, NULL);
	if (prog_fd < 0)
		return false;
	link_fd = bpf_raw_tracepoint_open(tp, prog_fd);
	if (link_fd >= 0)
		close(link_fd);
	close(prog_fd);
	return link_fd >= 0;
}

/* ESP is either loaded (its symbols are in kallsyms) or loadable as the esp4 module. */
static bool esp_available(void)
{
	struct utsname u;
	char path[512];

	if (kallsyms_has("esp_input"))
		return true;
	if (uname(&u) != 0)
		return false;
	/* Debian compresses modules from 6.12 on (xz); other distributions use zstd or gzip */
	for (const char *const *z = (const char *const[]){ "", ".xz", ".zst", ".gz", NULL }; *z; z++) {
		snprintf(path, sizeof(path), "/lib/modules/%s/kernel/net/ipv4/esp4.ko%s", u.release,
			 *z);
		if (access(path, R_OK) == 0)
			return true;
	}
	return false;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

void probe_features(struct probe_features *f)
{
	libbpf_print_fn_t old = libbpf_set_print(silent_print);

	memset(f, 0, sizeof(*f));
	f->btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	f->fentry = f->btf && fentry_can_attach(PROBE_SA_INSERT_FUNC);
	f->kprobe = access("/sys/bus/event_source/devices/kprobe/type", R_OK) == 0 &&
		    kallsyms_has(PROBE_SA_INSERT_FUNC);
	f->tracepoint = raw_tracepoint_can_attach("kfree_skb");
	f->ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	f->esp = esp_available();
	f->xfrm_stat = access("/proc/net/xfrm_stat", R_OK) == 0;
	/* in the mode rekeygap would choose: fentry needs the functions in BTF too */
	if (f->btf && f->fentry)
		f->switchover = fentry_can_attach(TRACER_SA_OUTPUT_FUNC) &&
				fentry_can_attach(TRACER_SA_INPUT_FUNC);
	else if (f->kprobe)
		f->switchover = kallsyms_has(TRACER_SA_OUTPUT_FUNC) &&
				kallsyms_has(TRACER_SA_INPUT_FUNC);
	libbpf_set_print(old);
}

static const char probe_usage[] =
	"Usage: rekeygap probe [--json]\n"
	"\n"
	"Report what this kernel lets rekeygap observe, and the probe mode it would use.\n"
	"Each feature is tested by trying it, not by reading the kernel version. Run as root\n"
	"(or with CAP_BPF and CAP_PERFMON): without them every BPF feature reads as absent.\n"
	"The XFRM rows (SA direction, per-CPU SAs, SA migration, IP-TFS) add test SAs in a\n"
	"network namespace made for it, gone when the probe ends; they need ESP and root.\n"
	"\n"
	"  -j, --json   one JSON object instead of the table\n"
	"  -h, --help   this text\n";

/*
 * What probe_features and xfrm_features_probe found and the mode chosen: a table, or one
 * JSON object. An XFRM feature that could not be probed (x->err) is "?" / null. 0 or -errno.
 */
static int probe_print(FILE *out, bool json, const struct probe_features *f,
		       const struct xfrm_features *x, enum probe_mode mode)
{
	const struct {
		const char *name;
		bool ok;
		const char *what;
	} rows[] = {
		{ "btf", f->btf, "kernel BTF (/sys/kernel/btf/vmlinux)" },
		{ "fentry", f->fentry, "fentry/fexit on " PROBE_SA_INSERT_FUNC },
		{ "kprobe", f->kprobe, "kprobes on " PROBE_SA_INSERT_FUNC },
		{ "tracepoint", f->tracepoint, "skb:kfree_skb tracepoint" },
		{ "ringbuf", f->ringbuf, "BPF ring buffer" },
		{ "esp", f->esp, "ESP transform (esp4)" },
		{ "xfrm_stat", f->xfrm_stat, "/proc/net/xfrm_stat" },
		{ "switchover", f->switchover,
		  "SA first/last packet: per-packet hooks on " TRACER_SA_OUTPUT_FUNC " and "
		  TRACER_SA_INPUT_FUNC },
	};
	const struct {
		const char *name;
		bool ok;
		const char *what;
	} xrows[] = {
		{ "sa_dir", x->sa_dir, "SA direction (XFRMA_SA_DIR)" },
		{ "pcpu_sa", x->pcpu, "per-CPU SAs (XFRMA_SA_PCPU)" },
		{ "migrate_state", x->migrate_state, "SA migration (XFRM_MSG_MIGRATE_STATE)" },
		{ "iptfs", x->iptfs, "IP-TFS SAs (mode iptfs)" },
	};
	const size_t n = sizeof(rows) / sizeof(rows[0]), nx = sizeof(xrows) / sizeof(xrows[0]);

	if (json) {
		json_t *j = json_object();

		for (size_t i = 0; i < n; i++)
			j = json_out_extend(j, json_pack("{s:b}", rows[i].name, rows[i].ok));
		for (size_t i = 0; i < nx; i++)
			j = json_out_extend(j, json_pack("{s:o}", xrows[i].name,
							 x->err ? json_null() :
								  json_boolean(xrows[i].ok)));
		j = json_out_extend(j, json_pack("{s:s}", "mode", probe_mode_name(mode)));
		return json_out_line(out, j);
	}
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%-13s %-4s %s\n", rows[i].name, rows[i].ok ? "yes" : "no",
			rows[i].what);
	for (size_t i = 0; i < nx; i++)
		fprintf(out, "%-13s %-4s %s\n", xrows[i].name,
			x->err ? "?" : xrows[i].ok ? "yes" : "no", xrows[i].what);
	if (x->err)
		fprintf(out, "%-13s (XFRM rows not probed: an ESP SA in a namespace of our own: %s)\n",
			"", strerror(-x->err));
	fprintf(out, "%-13s %s\n", "mode", probe_mode_name(mode));
	return 0;
}

int cmd_probe(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct probe_features f;
	struct xfrm_features x;
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(probe_usage, stdout);
			return 0;
		default:
			fputs(probe_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("probe: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}

	probe_features(&f);
	xfrm_features_probe(&x);
	if (probe_print(stdout, json, &f, &x, probe_choose_mode(&f, false, PROBE_FENTRY))) {
		cli_error("probe: cannot write the result");
		return EXIT_FAILURE;
	}
	return 0;
}
