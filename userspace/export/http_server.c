// SPDX-License-Identifier: BSD-2-Clause
/* The monitor's HTTP server on libmicrohttpd: see http_server.h. */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define CONN_TIMEOUT_S 5
#define MAX_CONNS 128
#define PER_IP_CONNS 16
#define CONN_MEMORY (32 * 1024)

struct http_server {
	struct MHD_Daemon *d;
	int fd; /* the listening socket, bound before the daemon starts */
	int family;
	http_handler fn;
	void *ctx;
};

int http_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	const char *colon = strrchr(text, ':');
	char host[64];
	size_t hlen;
	__u32 port;

	memset(ss, 0, sizeof(*ss));
	if (!colon || cli_parse_u32(colon + 1, 1, 65535, &port))
		return -EINVAL;
	hlen = (size_t)(colon - text);
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((__u16)port);
		*len = sizeof(*s6);
		return 0;
	}
	{
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (hlen && inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		if (!hlen)
			s4->sin_addr.s_addr = htonl(INADDR_ANY);
		s4->sin_family = AF_INET;
		s4->sin_port = htons((__u16)port);
		*len = sizeof(*s4);
	}
	return 0;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **req_cls)
{
	struct http_server *srv = cls;
	struct http_reply reply = { 0 };
	struct MHD_Response *resp;
	const char *accept;
	enum MHD_Result ret;
	static int first_call;

	(void)version;
	(void)upload_data;
	/* the first call only announces the request (headers read) */
	if (!*req_cls) {
		*req_cls = &first_call;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0; /* bodies are not for us */
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		static char msg[] = "only GET\n";

		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, msg, MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
		ret = MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	if (srv->fn(srv->ctx, url, accept ? accept : "", &reply) || !reply.body) {
		static char msg[] = "internal error\n";

		free(reply.body);
		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, msg, MHD_RESPMEM_PERSISTENT);
		reply.status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		reply.content_type = "text/plain; charset=utf-8";
	} else {
		resp = MHD_create_response_from_buffer(reply.len, reply.body,
						       MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(reply.body);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type);
	ret = MHD_queue_response(conn, reply.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

int http_server_bind(struct http_server **srvp, const char *addr, http_handler fn, void *ctx,
		     char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct http_server *srv;
	socklen_t len;
	int one = 1, e;

	if (http_parse_listen(addr, &ss, &len)) {
		snprintf(err, errlen, "bad --listen '%s' (ADDR:PORT, [IPV6]:PORT or :PORT)", addr);
		return -EINVAL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	srv->fn = fn;
	srv->ctx = ctx;
	srv->family = ss.ss_family;
	srv->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (srv->fd >= 0)
		setsockopt(srv->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (srv->fd < 0 || bind(srv->fd, (struct sockaddr *)&ss, len) || listen(srv->fd, 64)) {
		e = errno;
		snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(e));
		if (srv->fd >= 0)
			close(srv->fd);
		free(srv);
		return -e;
	}
	*srvp = srv;
	return 0;
}

int http_server_run(struct http_server *srv, char *err, size_t errlen)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;

	if (srv->family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/*
	 * Bounded whatever the clients do: idle or slow connections are dropped after
	 * CONN_TIMEOUT_S, one address holds at most PER_IP_CONNS (a flood from one host cannot
	 * starve Prometheus's scrapes), all together at most MAX_CONNS, and a request's headers
	 * fit in CONN_MEMORY bytes or get 431.
	 */
	srv->d = MHD_start_daemon(flags, 0, NULL, NULL, answer, srv, MHD_OPTION_LISTEN_SOCKET,
				  srv->fd, MHD_OPTION_CONNECTION_TIMEOUT,
				  (unsigned int)CONN_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT,
				  (unsigned int)MAX_CONNS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				  (unsigned int)PER_IP_CONNS, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				  (size_t)CONN_MEMORY, MHD_OPTION_END);
	if (!srv->d) {
		snprintf(err, errlen, "cannot start the HTTP server: %s",
			 strerror(errno ? errno : EIO));
		return -EIO;
	}
	return 0;
}

int http_server_start(struct http_server **srvp, const char *listen, http_handler fn, void *ctx,
		      char *err, size_t errlen)
{
	int ret = http_server_bind(srvp, listen, fn, ctx, err, errlen);

	if (!ret && (ret = http_server_run(*srvp, err, errlen))) {
		http_server_stop(*srvp);
		*srvp = NULL;
	}
	return ret;
}

void http_server_stop(struct http_server *srv)
{
	if (!srv)
		return;
	if (srv->d)
		MHD_stop_daemon(srv->d); /* closes the listening socket too */
	else if (srv->fd >= 0)
		close(srv->fd);
	free(srv);
}
