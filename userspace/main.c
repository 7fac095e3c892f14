// SPDX-License-Identifier: BSD-2-Clause
/*
 * rekeygap: measure (and avoid) the packet-loss gap when Linux IPsec SAs are rekeyed.
 * This file only dispatches to the commands; each lives in its own module.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "cli.h"
#include "explain_cmd.h"
#include "lab.h"
#include "monitor_cmd.h"
#include "probe.h"
#include "rekey_cmd.h"
#include "trace.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "lab", cmd_lab, "build an IPsec lab, rekey with each strategy, compare the losses" },
	{ "monitor", cmd_monitor, "rekey episodes as Prometheus metrics: gap, overlap, loss" },
	{ "trace", cmd_trace, "print SA events and XFRM drops as they happen" },
	{ "rekey", cmd_rekey, "replace an SA pair's key: make-before-break, delete-add, update" },
	{ "explain", cmd_explain, "say why each lossy rekey lost packets, and what to change" },
	{ "probe", cmd_probe, "show what this kernel lets rekeygap observe" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: rekeygap [--version] [--help] COMMAND [ARGS...]\n"
		"\n"
		"rekeygap times every XFRM SA insert, update, delete and expiry and every IPsec\n"
		"packet drop, to measure how long traffic goes without a valid SA when keys are\n"
		"rotated (the rekey gap) and how many packets it costs.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\n"
		"'rekeygap COMMAND --help' describes a command.\n"
		"Needs root, or CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN, and a kernel with BTF.\n");
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const struct command *cmd;
	int c;

	/* keys pass through this process (rekeys, the lab's SAs, NEWSA notifications): no core
	 * file, no ptrace by anyone but root, from the start */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* '+': stop at the command name, its options are its own */
	while ((c = getopt_long(argc, argv, "+Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'V':
			printf("rekeygap %s\n", REKEYGAP_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		if (optind + 1 >= argc) {
			usage(stdout);
			return 0;
		}
		cmd = find_command(argv[optind + 1]);
		if (!cmd) {
			cli_error("unknown command '%s'", argv[optind + 1]);
			return EXIT_USAGE;
		}
		char *help_argv[] = { (char *)cmd->name, "--help", NULL };
		optind = 0; /* glibc: 0 re-initialises getopt for the command's parser */
		return cmd->run(2, help_argv);
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		cli_error("unknown command '%s' (try 'rekeygap --help')", argv[optind]);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	optind = 0;
	return cmd->run(argc, argv);
}
