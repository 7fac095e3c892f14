// SPDX-License-Identifier: BSD-2-Clause
/*
 * sa-insert-count: load bpf/sa_insert_count.bpf.c (fexit on xfrm_state_add), print
 * "attached", and on SIGINT/SIGTERM print the successful SA inserts per namespace:
 *   netns <inode> inserts <n>
 *   overflow <n>
 * The smoke scenario compares these with the SAs it added.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sa_insert_count.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	struct sa_insert_count_bpf *skel;
	__u32 key, next, *prev = NULL;
	__u64 count;
	const struct bpf_map *map;
	int err;

	cli_progname = "sa-insert-count";
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	skel = sa_insert_count_bpf__open_and_load();
	if (!skel) {
		cli_error("cannot load the BPF program: %s", strerror(errno));
		return 1;
	}
	err = sa_insert_count_bpf__attach(skel);
	if (err) {
		cli_error("cannot attach fexit/xfrm_state_add: %s", strerror(-err));
		goto cleanup;
	}
	printf("attached\n");
	fflush(stdout);
	while (!stop)
		pause();

	map = skel->maps.sa_inserts;
	while (bpf_map__get_next_key(map, prev, &next, sizeof(next)) == 0) {
		key = next;
		prev = &key;
		if (bpf_map__lookup_elem(map, &key, sizeof(key), &count, sizeof(count), 0) == 0)
			printf("netns %u inserts %llu\n", key, (unsigned long long)count);
	}
	printf("overflow %llu\n", (unsigned long long)skel->bss->sa_inserts_overflow);
cleanup:
	sa_insert_count_bpf__destroy(skel);
	return err ? 1 : 0;
}
