// SPDX-License-Identifier: BSD-2-Clause
/*
 * sequdp: sequence-numbered UDP, the ground truth of the integration tests.
 *
 *   sequdp send --dst IP --port PORT --count N [--rate PPS] [--src IP]
 *   sequdp recv --port PORT --expect N [--bind IP] [--idle MS] [--timeout S] [--json]
 *
 * The sender numbers its datagrams 0..N-1 and paces them on an absolute schedule (with
 * --rate 0, back to back: benchmarks); the receiver records which numbers arrived and
 * reports exactly which did not. Independent of rekeygap on purpose: tests compare
 * rekeygap's figures against this, not against itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"

#define SEQUDP_MAGIC 0x524b4751u /* "RKGQ" */
#define MAX_COUNT 100000000u
#define MAX_MISSING_PRINTED 64

struct datagram {
	uint32_t magic;
	uint32_t reserved;
	uint64_t seq;
	uint64_t sent_ns; /* CLOCK_MONOTONIC of the sender */
} __attribute__((packed));

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static int make_sockaddr(const char *ip, __u32 port, struct sockaddr_storage *ss, socklen_t *len)
{
	xfrm_address_t addr;
	__u16 family;

	memset(ss, 0, sizeof(*ss));
	if (!ip) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6; /* dual-stack wildcard */
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	if (addr_parse(ip, &family, &addr))
		return -EINVAL;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = addr.a4;
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr.a6, sizeof(addr.a6));
		*len = sizeof(*sin6);
	}
	return 0;
}

static int do_send(const char *dst, const char *src, __u32 port, __u32 count, __u32 rate)
{
	struct sockaddr_storage to, from;
	socklen_t to_len, from_len;
	struct datagram d = { .magic = htonl(SEQUDP_MAGIC) };
	uint64_t period = rate ? NSEC_PER_SEC / rate : 0, start, next;
	__u32 errors = 0, seq;
	int last_errno = 0;
	int fd;

	if (make_sockaddr(dst, port, &to, &to_len)) {
		cli_error("bad --dst '%s'", dst);
		return 1;
	}
	fd = socket(to.ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		cli_error("socket: %s", strerror(errno));
		return 1;
	}
	if (src) {
		if (make_sockaddr(src, 0, &from, &from_len) || from.ss_family != to.ss_family) {
			cli_error("bad --src '%s'", src);
			close(fd);
			return 1;
		}
		if (bind(fd, (struct sockaddr *)&from, from_len)) {
			cli_error("bind %s: %s", src, strerror(errno));
			close(fd);
			return 1;
		}
	}
	start = now_ns();
	for (seq = 0; seq < count && !stop; seq++) {
		struct timespec ts;

		next = start + seq * period;
		ts.tv_sec = next / NSEC_PER_SEC;
		ts.tv_nsec = next % NSEC_PER_SEC;
		while (period && !stop &&
		       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		d.seq = htobe64(seq);
		d.sent_ns = htobe64(now_ns());
		/* a failed send is a lost packet as far as the receiver is concerned: count it */
		if (sendto(fd, &d, sizeof(d), 0, (struct sockaddr *)&to, to_len) != sizeof(d)) {
			errors++;
			last_errno = errno;
		}
	}
	close(fd);
	/* the last error's cause (the XFRM output path's -EINVAL, say) tells a loss's place */
	printf("sent %u packets to %s port %u in %.3f s, %u send errors%s%s%s\n", seq, dst, port,
	       (double)(now_ns() - start) / NSEC_PER_SEC, errors, errors ? " (last: " : "",
	       errors ? strerror(last_errno) : "", errors ? ")" : "");
	return 0;
}

static void print_missing(FILE *out, const uint8_t *seen, __u32 expect, bool json)
{
	unsigned printed = 0;
	__u32 i = 0;

	fputs(json ? "[" : "missing:", out);
	while (i < expect) {
		if (seen[i]) {
			i++;
			continue;
		}
		__u32 first = i;

		while (i < expect && !seen[i])
			i++;
		if (printed == MAX_MISSING_PRINTED) {
			fputs(json ? ",\"...\"" : " ...", out);
			break;
		}
		if (json)
			fprintf(out, "%s[%u,%u]", printed ? "," : "", first, i - 1);
		else if (first == i - 1)
			fprintf(out, " %u", first);
		else
			fprintf(out, " %u-%u", first, i - 1);
		printed++;
	}
	fputs(json ? "]" : (printed ? "\n" : " none\n"), out);
}

static int do_recv(const char *bind_ip, __u32 port, __u32 expect, __u64 idle_ns, __u64 timeout_ns,
		   bool json)
{
	struct sockaddr_storage me;
	socklen_t me_len;
	uint8_t *seen;
	__u32 received = 0, duplicates = 0, foreign = 0;
	uint64_t deadline, last = 0;
	int fd, one = 1, zero = 0;

	if (make_sockaddr(bind_ip, port, &me, &me_len)) {
		cli_error("bad --bind '%s'", bind_ip);
		return 1;
	}
	seen = calloc(expect, 1);
	fd = socket(me.ss_family, SOCK_DGRAM, 0);
	if (!seen || fd < 0) {
		cli_error("%s", strerror(errno));
		free(seen);
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (me.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	/* a burst after a rekey must not be lost in our own socket buffer */
	int rcvbuf = 8 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&me, me_len)) {
		cli_error("bind port %u: %s", port, strerror(errno));
		free(seen);
		close(fd);
		return 1;
	}
	printf("listening on port %u\n", port);
	fflush(stdout);

	deadline = now_ns() + timeout_ns;
	while (!stop && received < expect) {
		uint64_t now = now_ns(), until = deadline;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct datagram d;
		ssize_t n;

		if (last && last + idle_ns < until)
			until = last + idle_ns;
		if (now >= until)
			break;
		if (poll(&pfd, 1, (int)((until - now) / NSEC_PER_MSEC) + 1) <= 0)
			continue;
		n = recv(fd, &d, sizeof(d), MSG_DONTWAIT);
		if (n < 0)
			continue;
		last = now_ns();
		uint64_t seq = be64toh(d.seq);

		if (n != sizeof(d) || ntohl(d.magic) != SEQUDP_MAGIC || seq >= expect) {
			foreign++;
			continue;
		}
		if (seen[seq]) {
			duplicates++;
			continue;
		}
		seen[seq] = 1;
		received++;
	}
	close(fd);
	if (json) {
		printf("{\"expected\":%u,\"received\":%u,\"lost\":%u,\"duplicates\":%u,"
		       "\"foreign\":%u,\"missing\":",
		       expect, received, expect - received, duplicates, foreign);
		print_missing(stdout, seen, expect, true);
		printf("}\n");
	} else {
		printf("received %u of %u, lost %u, duplicates %u, foreign %u\n", received, expect,
		       expect - received, duplicates, foreign);
		print_missing(stdout, seen, expect, false);
	}
	free(seen);
	return 0;
}

static void usage(FILE *out)
{
	fputs("Usage: sequdp send --dst IP --port PORT --count N [--rate PPS] [--src IP]\n"
	      "       sequdp recv --port PORT --expect N [--bind IP] [--idle MS] [--timeout S]"
	      " [--json]\n"
	      "\n"
	      "send: datagrams numbered 0..N-1 at PPS per second (default 1000); --rate 0 sends\n"
	      "      them back to back, as fast as possible (benchmarks).\n"
	      "recv: stops when all N arrived, when nothing came for --idle ms after the first\n"
	      "      (default 2000), or after --timeout s (default 60); reports what is missing.\n",
	      out);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dst", required_argument, NULL, 'd' },   { "src", required_argument, NULL, 's' },
		{ "bind", required_argument, NULL, 'b' },  { "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' }, { "expect", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },  { "idle", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },        {},
	};
	const char *dst = NULL, *src = NULL, *bind_ip = NULL, *mode;
	__u32 port = 0, count = 0, rate = 1000;
	__u64 idle_ns = 2 * NSEC_PER_SEC, timeout_ns = 60 * NSEC_PER_SEC;
	bool json = false;
	int c;

	cli_progname = "sequdp";
	if (argc < 2 || (strcmp(argv[1], "send") && strcmp(argv[1], "recv"))) {
		usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : EXIT_USAGE;
	}
	mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "d:s:b:p:c:r:i:t:jh", opts, NULL)) != -1) {
		int err = 0;

		switch (c) {
		case 'd': dst = optarg; break;
		case 's': src = optarg; break;
		case 'b': bind_ip = optarg; break;
		case 'p': err = cli_parse_u32(optarg, 1, 65535, &port); break;
		case 'c': err = cli_parse_u32(optarg, 1, MAX_COUNT, &count); break;
		case 'r': err = cli_parse_u32(optarg, 0, 10000000, &rate); break;
		case 'i': err = cli_parse_duration(optarg, NSEC_PER_MSEC, &idle_ns); break;
		case 't': err = cli_parse_duration(optarg, NSEC_PER_SEC, &timeout_ns); break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
		if (err) {
			for (const struct option *o = opts; o->name; o++)
				if (o->val == c) {
					cli_error("bad value '%s' for --%s", optarg, o->name);
					break;
				}
			return EXIT_USAGE;
		}
	}
	if (!port || !count || (!strcmp(mode, "send") && !dst)) {
		cli_error("%s needs --port and %s", mode,
			  !strcmp(mode, "send") ? "--dst and --count" : "--expect");
		return EXIT_USAGE;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (!strcmp(mode, "send"))
		return do_send(dst, src, port, count, rate);
	return do_recv(bind_ip, port, count, idle_ns, timeout_ns, json);
}
