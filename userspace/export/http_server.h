/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A small HTTP server on libmicrohttpd for the monitor's pages: GET (and HEAD) only, one
 * handler that builds each body whole. Runs in libmicrohttpd's own thread: the handler must
 * lock what it shares.
 */
#ifndef REKEYGAP_HTTP_SERVER_H
#define REKEYGAP_HTTP_SERVER_H

#include <stddef.h>
#include <sys/socket.h>

struct http_reply {
	unsigned int status;      /* 200, 404... */
	const char *content_type; /* static string */
	char *body;               /* malloc'ed, freed by the server */
	size_t len;
};

/* path: the URL path; accept: the Accept header or "". Fills reply; 0 or -errno (500). */
typedef int (*http_handler)(void *ctx, const char *path, const char *accept,
			    struct http_reply *reply);

struct http_server;

/*
 * "ADDR:PORT", "[IPV6]:PORT" or ":PORT" (every address). -EINVAL for anything else, with
 * the port in host order.
 */
int http_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len);

/* Listen and serve. 0 or -errno, with one line in err (address in use...). */
int http_server_start(struct http_server **srv, const char *listen, http_handler fn, void *ctx,
		      char *err, size_t errlen);
/*
 * The same in two steps: take the port now (fails at once if taken), serve later, from a
 * thread started then: it gets the capabilities the process has at that time.
 */
int http_server_bind(struct http_server **srv, const char *listen, http_handler fn, void *ctx,
		     char *err, size_t errlen);
int http_server_run(struct http_server *srv, char *err, size_t errlen);
void http_server_stop(struct http_server *srv);

#endif
