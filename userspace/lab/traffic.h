/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Ground-truth traffic for the lab: sequence-numbered UDP datagrams from one namespace to
 * another at a fixed rate, each datagram's send time kept, each arrival marked. What was
 * lost, and when it was sent, is then exact: no counter of the kernel's is trusted.
 * A sender and a receiver thread per flow; each thread enters its namespace (setns affects
 * only the calling thread).
 */
#ifndef REKEYGAP_TRAFFIC_H
#define REKEYGAP_TRAFFIC_H

#include <linux/types.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>

struct traffic_flow {
	/* set by the caller */
	int tx_nsfd, rx_nsfd; /* namespaces of the sender and the receiver */
	struct in_addr src, dst;
	__u16 port;
	__u32 rate;     /* datagrams per second */
	__u32 capacity; /* at most this many datagrams; the sender stops there */
	/* results: sent_ns[i] is when datagram i was sent (CLOCK_MONOTONIC; one refused by
	 * sendto counts as sent and lost); received[i] is 1 once it arrived */
	__u64 *sent_ns;
	__u8 *received;
	volatile __u32 sent;     /* datagrams sent (or tried) so far */
	volatile __u32 arrived;  /* distinct datagrams received */
	volatile __u32 send_errors;
	/* private */
	pthread_t tx, rx;
	volatile bool stop_tx, stop_rx;
	bool tx_up, rx_up;
	int rx_fd;
	char error[128];
};

/* Start the receiver (bound and ready when this returns) and the sender. 0 or -errno with
 * the reason in f->error. */
int traffic_start(struct traffic_flow *f);
/* Stop sending, give what is in flight settle_ms to arrive, stop receiving. */
void traffic_stop(struct traffic_flow *f, unsigned int settle_ms);
/* Datagrams sent within [t0, t1), and how many of them never arrived. */
void traffic_count(const struct traffic_flow *f, __u64 t0, __u64 t1, __u32 *sent, __u32 *lost);
void traffic_free(struct traffic_flow *f);

#endif
