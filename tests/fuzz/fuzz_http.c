// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target: the exporter's request path. Each input is sent, as raw bytes, over a
 * loopback TCP connection to the real server (http_server.c on libmicrohttpd, with its
 * connection and header limits), whose handler serves a metrics object the way the monitor
 * does: /metrics in the format the Accept header asks for, /episodes, 404 otherwise. Our
 * code sees the method, the URL, any body and the Accept header; the reply must be HTTP.
 */
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "http_server.c"
#include "episode_log.h"
#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct metrics *metrics;
static struct episode_log *episodes;
static struct sockaddr_in server_addr;

static int handler(void *ctx, const char *path, const char *accept, struct http_reply *r)
{
	FILE *out = open_memstream(&r->body, &r->len);
	static const struct metrics_sa_count sas[] = { { .netns = "fuzz", .dir = SA_DIR_IN, .n = 2 } };
	struct metrics_snapshot v = { .probe_mode = "tracepoint", .sa_source = "netlink",
				      .mib_note = "", .sas = sas, .n_sas = 1 };
	bool om = metrics_wants_openmetrics(accept);
	int ret = 0;

	(void)ctx;
	if (!out)
		return -ENOMEM;
	r->status = 200;
	r->content_type = "text/plain";
	if (!strcmp(path, "/metrics"))
		ret = metrics_render(metrics, &v, om, out);
	else if (!strcmp(path, "/episodes"))
		ret = episode_log_write_json(episodes, out);
	else
		r->status = 404;
	if (fclose(out) && !ret)
		ret = -ENOMEM;
	return ret;
}

/* Once: a metrics object with an episode in it, and the server on a free loopback port. */
static void setup(void)
{
	struct episode ep = { .id = 1, .kind = EPISODE_REPLACED, .old_spi = htonl(0x1000),
			      .new_spi = htonl(0x2000), .has_gap = true, .gap_ns = 1000000 };
	socklen_t len = sizeof(server_addr);
	struct http_server *srv = calloc(1, sizeof(*srv));
	char err[256];

	metrics = metrics_new(16);
	episodes = episode_log_new();
	if (!metrics || !episodes || !srv)
		abort();
	ep.flow.family = AF_INET;
	metrics_episode(metrics, &ep, "fuzz \"ns\"\n");
	episode_log_add(episodes, &ep, "fuzz \"ns\"\n");
	server_addr.sin_family = AF_INET;
	server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv->fn = handler;
	srv->family = AF_INET;
	srv->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv->fd < 0 || bind(srv->fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) ||
	    listen(srv->fd, 64) || getsockname(srv->fd, (struct sockaddr *)&server_addr, &len) ||
	    http_server_run(srv, err, sizeof(err))) {
		fprintf(stderr, "fuzz_http: cannot start the server\n");
		abort();
	}
}

/*
 * libFuzzer's timeout timer (SIGALRM) can interrupt a connect that waits for the server to
 * accept (its backlog full while it serves the limit of connections); the connection goes on
 * in the kernel, so wait for it instead of calling EINTR a failure.
 */
static int connect_loopback(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	if (!connect(fd, (struct sockaddr *)&server_addr, sizeof(server_addr)))
		return 0;
	if (errno != EINTR)
		return -1;
	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -1;
	errno = err;
	return err ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct linger hard_close = { .l_onoff = 1, .l_linger = 0 };
	struct timeval tv = { .tv_sec = 8 };
	char reply[4096];
	size_t got = 0;
	ssize_t n;
	int fd;

	if (!ready) {
		setup();
		ready = true;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		abort();
	/* an RST at close: no TIME_WAIT per input, the ports last the run */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard_close, sizeof(hard_close));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect_loopback(fd)) {
		fprintf(stderr, "fuzz_http: connect: %s\n", strerror(errno));
		abort();
	}
	while (size && send(fd, data, size, MSG_NOSIGNAL) < 0)
		if (errno != EINTR) {
			if (errno == ECONNRESET || errno == EPIPE)
				break;
			abort();
		}
	shutdown(fd, SHUT_WR); /* the request is all there is */
	/* the first bytes are kept, the rest read and dropped */
	while ((n = recv(fd, reply + got, sizeof(reply) - got, 0)) > 0 || (n < 0 && errno == EINTR))
		if (n < 0)
			continue;
		else if (got + (size_t)n < 5)
			got += (size_t)n;
		else
			got = 5;
	/* the server may close without a word (a request it cannot parse); not with garbage */
	if (got >= 5 && memcmp(reply, "HTTP/", 5))
		__builtin_trap();
	close(fd);
	return 0;
}
