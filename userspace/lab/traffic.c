// SPDX-License-Identifier: BSD-2-Clause
/* Sequence-numbered UDP for the lab: see traffic.h. */
#include "traffic.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define PAYLOAD_BYTES 64 /* the sequence number, then zeroes */
#define RX_POLL_MS 50

static int udp_socket(const struct in_addr *addr, __u16 port, char *err, size_t errlen)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = *addr,
				   .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0) {
		snprintf(err, errlen, "UDP socket: %s", strerror(errno));
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		int e = errno;

		snprintf(err, errlen, "bind UDP %s:%u: %s", inet_ntoa(*addr), port, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

static void *receiver(void *arg)
{
	struct traffic_flow *f = arg;
	__u8 buf[PAYLOAD_BYTES];

	while (!f->stop_rx) {
		ssize_t n = recv(f->rx_fd, buf, sizeof(buf), 0);
		__u64 seq;

		if (n < (ssize_t)sizeof(seq))
			continue; /* the poll timeout, or not ours */
		memcpy(&seq, buf, sizeof(seq));
		if (seq < f->capacity && !f->received[seq]) {
			f->received[seq] = 1;
			f->arrived++;
		}
	}
	return NULL;
}

static void *sender(void *arg)
{
	struct traffic_flow *f = arg;
	__u8 buf[PAYLOAD_BYTES] = { 0 };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_addr = f->dst,
				   .sin_port = htons(f->port) };
	char err[128];
	int fd;
	struct timespec start, next;

	if (setns(f->tx_nsfd, CLONE_NEWNET)) {
		snprintf(f->error, sizeof(f->error), "setns (sender): %s", strerror(errno));
		return NULL;
	}
	fd = udp_socket(&f->src, 0, err, sizeof(err));
	if (fd < 0) {
		snprintf(f->error, sizeof(f->error), "%s", err);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (__u64 seq = 0; seq < f->capacity && !f->stop_tx; seq++) {
		/* datagram seq is due at start + seq / rate: no drift, no burst after a stall
		 * longer than a second */
		__u64 due = (__u64)start.tv_sec * NSEC_PER_SEC + (__u64)start.tv_nsec +
			    seq * NSEC_PER_SEC / f->rate;

		next.tv_sec = (time_t)(due / NSEC_PER_SEC);
		next.tv_nsec = (long)(due % NSEC_PER_SEC);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
		memcpy(buf, &seq, sizeof(seq));
		f->sent_ns[seq] = monotonic_ns();
		/* refused at once (no SA: blackholed): lost all the same, it never arrives */
		if (sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
			f->send_errors++;
		f->sent = (__u32)seq + 1;
	}
	close(fd);
	return NULL;
}

/* The receiver's socket, bound in its namespace by a short-lived thread. */
struct bind_job {
	struct traffic_flow *f;
	int fd;
	char err[128];
};

static void *bind_in_ns(void *arg)
{
	struct bind_job *j = arg;
	struct timeval tv = { .tv_usec = RX_POLL_MS * 1000 };

	if (setns(j->f->rx_nsfd, CLONE_NEWNET)) {
		snprintf(j->err, sizeof(j->err), "setns (receiver): %s", strerror(errno));
		j->fd = -1;
		return NULL;
	}
	j->fd = udp_socket(&j->f->dst, j->f->port, j->err, sizeof(j->err));
	if (j->fd >= 0) {
		/* a receiver thread starved on a busy host must not lose datagrams in its own
		 * socket buffer: the lab's ground truth is what XFRM dropped, nothing else */
		int rcvbuf = 8 << 20;

		setsockopt(j->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
		setsockopt(j->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	return NULL;
}

int traffic_start(struct traffic_flow *f)
{
	struct bind_job j = { .f = f, .fd = -1 };
	pthread_t t;
	int e;

	f->sent = f->arrived = f->send_errors = 0;
	f->stop_tx = f->stop_rx = false;
	f->sent_ns = calloc(f->capacity, sizeof(*f->sent_ns));
	f->received = calloc(f->capacity, 1);
	f->rx_fd = -1;
	if (!f->sent_ns || !f->received || !f->rate) {
		snprintf(f->error, sizeof(f->error), "out of memory");
		return -ENOMEM;
	}
	e = pthread_create(&t, NULL, bind_in_ns, &j);
	if (e || pthread_join(t, NULL) || j.fd < 0) {
		snprintf(f->error, sizeof(f->error), "%s", e ? strerror(e) : j.err);
		return e ? -e : -EIO;
	}
	f->rx_fd = j.fd;
	e = pthread_create(&f->rx, NULL, receiver, f);
	if (e) {
		snprintf(f->error, sizeof(f->error), "receiver thread: %s", strerror(e));
		return -e;
	}
	f->rx_up = true;
	e = pthread_create(&f->tx, NULL, sender, f);
	if (e) {
		snprintf(f->error, sizeof(f->error), "sender thread: %s", strerror(e));
		return -e;
	}
	f->tx_up = true;
	return 0;
}

void traffic_stop(struct traffic_flow *f, unsigned int settle_ms)
{
	if (f->tx_up) {
		f->stop_tx = true;
		pthread_join(f->tx, NULL);
		f->tx_up = false;
		usleep(settle_ms * 1000);
	}
	if (f->rx_up) {
		f->stop_rx = true;
		pthread_join(f->rx, NULL);
		f->rx_up = false;
	}
	if (f->rx_fd >= 0) {
		close(f->rx_fd);
		f->rx_fd = -1;
	}
}

void traffic_count(const struct traffic_flow *f, __u64 t0, __u64 t1, __u32 *sent, __u32 *lost)
{
	*sent = *lost = 0;
	for (__u32 i = 0; i < f->sent; i++) {
		__u64 t = f->sent_ns[i];

		if (t < t0 || t >= t1)
			continue;
		(*sent)++;
		if (!f->received[i])
			(*lost)++;
	}
}

void traffic_free(struct traffic_flow *f)
{
	traffic_stop(f, 0);
	free(f->sent_ns);
	free(f->received);
	f->sent_ns = NULL;
	f->received = NULL;
}
