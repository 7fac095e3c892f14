// SPDX-License-Identifier: BSD-2-Clause
/* XFRM feature probes in a namespace of our own: see xfrm_features.h. */
#include "xfrm_features.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xfrm_client.h"
#include "xfrm_sa.h"

#define PROBE_SRC 0xc0000201 /* 192.0.2.1 -> 192.0.2.2 (TEST-NET-1), in a namespace of ours */
#define PROBE_DST 0xc0000202
#define PROBE_KEY_BYTES 20   /* rfc4106(gcm(aes)): a 128-bit key and a 4-byte salt */

/* The attributes a probe SA carries beyond its key: */
#define PROBE_DIR_OUT 1u /* XFRMA_SA_DIR out */
#define PROBE_PCPU 2u    /* XFRMA_SA_PCPU 0 (the kernel takes it only with a direction) */

/* An ESP SA (mode: tunnel or iptfs) with a zero key and the attributes of with. */
static int probe_sa(struct xfrm_sa *sa, __u32 spi, __u8 mode, unsigned int with)
{
	const __u8 dir = XFRM_UAPI_SA_DIR_OUT;
	const __u32 cpu = 0;
	struct {
		struct xfrm_algo_aead a;
		char key[PROBE_KEY_BYTES];
	} aead;
	int err;

	memset(sa, 0, sizeof(*sa));
	memset(&aead, 0, sizeof(aead));
	sa->info.family = AF_INET;
	sa->info.saddr.a4 = htonl(PROBE_SRC);
	sa->info.id.daddr.a4 = htonl(PROBE_DST);
	sa->info.id.spi = htonl(spi);
	sa->info.id.proto = IPPROTO_ESP;
	sa->info.mode = mode;
	sa->info.reqid = 1;
	sa->info.lft.soft_byte_limit = sa->info.lft.hard_byte_limit = XFRM_INF;
	sa->info.lft.soft_packet_limit = sa->info.lft.hard_packet_limit = XFRM_INF;
	strcpy(aead.a.alg_name, "rfc4106(gcm(aes))");
	aead.a.alg_key_len = PROBE_KEY_BYTES * 8;
	aead.a.alg_icv_len = 128;
	err = xfrm_sa_put_attr(sa, XFRMA_ALG_AEAD, &aead, sizeof(aead));
	if (!err && (with & PROBE_DIR_OUT))
		err = xfrm_sa_put_attr(sa, XFRM_UAPI_ATTR_SA_DIR, &dir, sizeof(dir));
	if (!err && (with & PROBE_PCPU))
		err = xfrm_sa_put_attr(sa, XFRM_UAPI_ATTR_SA_PCPU, &cpu, sizeof(cpu));
	return err;
}

static int run_one(struct xfrm_client *c, struct xfrm_batch *b)
{
	int err = xfrm_client_run(c, b);

	xfrm_batch_wipe(b);
	return err;
}

/* NEWSA of such an SA: 0 or the kernel's -errno */
static int add_sa(struct xfrm_client *c, __u32 spi, __u8 mode, unsigned int with)
{
	struct xfrm_batch b;
	struct xfrm_sa sa;
	int err = probe_sa(&sa, spi, mode, with);

	xfrm_batch_init(&b);
	if (!err)
		err = xfrm_batch_add_sa(&b, XFRM_MSG_NEWSA, &sa);
	xfrm_sa_wipe(&sa);
	return err ? err : run_one(c, &b);
}

/* Whether the SA of spi, read back, carries attr: an attribute the kernel kept, so knows. */
static bool sa_kept_attr(struct xfrm_client *c, __u32 spi, __u16 attr)
{
	xfrm_address_t daddr = { .a4 = htonl(PROBE_DST) };
	struct xfrm_sa sa;
	bool kept;

	if (xfrm_sa_get(c, AF_INET, &daddr, htonl(spi), IPPROTO_ESP, NULL, &sa))
		return false;
	kept = xfrm_sa_attr(&sa, attr) != NULL;
	xfrm_sa_wipe(&sa);
	return kept;
}

/* The SA of spi moved to another destination: 0 where the kernel has MIGRATE_STATE. */
static int migrate_sa(struct xfrm_client *c, __u32 spi)
{
	struct xfrm_uapi_migrate_state m = {
		.id = { .daddr.a4 = htonl(PROBE_DST), .spi = htonl(spi), .family = AF_INET,
			.proto = IPPROTO_ESP },
		.new_daddr.a4 = htonl(PROBE_DST + 1),
		.new_saddr.a4 = htonl(PROBE_SRC),
		.new_reqid = 1,
		.new_family = AF_INET,
	};
	struct xfrm_batch b;
	int err;

	xfrm_batch_init(&b);
	err = xfrm_batch_add_msg(&b, XFRM_UAPI_MSG_MIGRATE_STATE, &m, sizeof(m));
	return err ? err : run_one(c, &b);
}

/* In the child, in its own namespace: every probe. */
static void probe_here(struct xfrm_features *f)
{
	struct xfrm_client c;

	f->err = xfrm_client_open(&c, -1);
	if (f->err)
		return;
	/* a plain SA first: without it (no ESP) no other answer means anything */
	f->err = add_sa(&c, 0x100, XFRM_MODE_TUNNEL, 0);
	if (!f->err) {
		f->sa_dir = !add_sa(&c, 0x101, XFRM_MODE_TUNNEL, PROBE_DIR_OUT) &&
			    sa_kept_attr(&c, 0x101, XFRM_UAPI_ATTR_SA_DIR);
		f->pcpu = !add_sa(&c, 0x102, XFRM_MODE_TUNNEL, PROBE_DIR_OUT | PROBE_PCPU) &&
			  sa_kept_attr(&c, 0x102, XFRM_UAPI_ATTR_SA_PCPU);
		f->iptfs = !add_sa(&c, 0x103, XFRM_UAPI_MODE_IPTFS, 0);
		f->migrate_state = !migrate_sa(&c, 0x100);
	}
	xfrm_client_close(&c);
}

void xfrm_features_probe(struct xfrm_features *f)
{
	int pipefd[2], status;
	ssize_t n = -1;
	pid_t pid;

	memset(f, 0, sizeof(*f));
	/* a child, so that this process never leaves its namespace */
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		f->err = -errno;
		return;
	}
	pid = fork();
	if (pid < 0) {
		f->err = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return;
	}
	if (pid == 0) {
		close(pipefd[0]);
		if (unshare(CLONE_NEWNET) != 0)
			f->err = -errno;
		else
			probe_here(f);
		n = write(pipefd[1], f, sizeof(*f));
		_exit(n == (ssize_t)sizeof(*f) ? 0 : 1);
	}
	close(pipefd[1]);
	do
		n = read(pipefd[0], f, sizeof(*f));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(*f)) {
		memset(f, 0, sizeof(*f));
		f->err = -ECHILD;
	}
}
