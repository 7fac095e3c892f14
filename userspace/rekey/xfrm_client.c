// SPDX-License-Identifier: BSD-2-Clause
/*
 * The XFRM netlink transport (xfrm_client.h): batches built, sent in one sendmsg, their acks
 * and replies matched to requests; single GETSA, ALLOCSPI and GETPOLICY requests and dumps.
 * What the messages hold is xfrm_sa.c's.
 */
#include "xfrm_client.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "netns.h"
#include "nlmsg.h"

/* A dump fills at most 32 KiB per read (af_netlink's max_recvmsg_len): take it whole. */
#define RECV_BUF_SIZE 32768
/* Acks are queued as they are made, during sendmsg: each costs ~1 KiB of receive buffer. */
#define RCVBUF_BYTES (256 * 1024)
/* Requests are answered inside sendmsg: a reply this late is not coming. */
#define RECV_TIMEOUT_S 5
/* b->err[i] until request i is answered: errors are 0 or negative */
#define ANSWER_PENDING 1

/* --- batches --------------------------------------------------------------------------- */

void xfrm_batch_init(struct xfrm_batch *b)
{
	b->n = 0;
	b->len = 0;
	memset(b->type, 0, sizeof(b->type));
	memset(b->err, 0, sizeof(b->err));
}

void xfrm_batch_wipe(struct xfrm_batch *b)
{
	/* only what was written: the buffer is 40 KiB, a rekey's requests about 1 KiB, and
	 * clearing all of it three times a rekey was a quarter of rekeygap's CPU time */
	explicit_bzero(b->buf, b->len);
	xfrm_batch_init(b);
}

/*
 * A new request of size bytes (header included) at the end of the batch, or NULL if it is
 * full. Its sequence number is its place (1, 2...) until xfrm_client_run numbers it.
 */
/*
 * mnl_attr_put, and the attribute's padding zeroed: libmnl 1.0.4 leaves it as the buffer
 * had it, which would send old bytes (of an earlier request's key, say) to the kernel.
 */
static void put_attr(struct nlmsghdr *nlh, __u16 type, size_t len, const void *data)
{
	mnl_attr_put(nlh, type, len, data);
	memset((char *)nlh + nlh->nlmsg_len - (MNL_ALIGN(len) - len), 0, MNL_ALIGN(len) - len);
}

static struct nlmsghdr *batch_put(struct xfrm_batch *b, __u16 type, size_t size)
{
	struct nlmsghdr *nlh;

	if (b->n >= XFRM_BATCH_MAX || size > sizeof(b->buf) - b->len)
		return NULL;
	nlh = mnl_nlmsg_put_header(b->buf + b->len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = b->n + 1;
	return nlh;
}

static void batch_commit(struct xfrm_batch *b, const struct nlmsghdr *nlh)
{
	b->type[b->n] = nlh->nlmsg_type;
	b->err[b->n] = 0;
	b->n++;
	b->len += nlh->nlmsg_len;
}

int xfrm_batch_add_sa(struct xfrm_batch *b, __u16 type, const struct xfrm_sa *sa)
{
	struct xfrm_usersa_info *info;
	const struct nlattr *a;
	struct nlmsghdr *nlh;
	size_t size;
	int err;

	if (type != XFRM_MSG_NEWSA && type != XFRM_MSG_UPDSA)
		return -EINVAL;
	err = xfrm_sa_check(sa, &size);
	if (err)
		return err == -EMSGSIZE ? -EINVAL : err;
	nlh = batch_put(b, type, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*info)) + size);
	if (!nlh)
		return -ENOSPC;
	info = mnl_nlmsg_put_extra_header(nlh, sizeof(*info));
	memcpy(info, &sa->info, sizeof(*info));
	xfrm_for_each_attr(a, sa)
	{
		put_attr(nlh, a->nla_type, mnl_attr_get_payload_len(a),
			     mnl_attr_get_payload(a));
	}
	batch_commit(b, nlh);
	return 0;
}

int xfrm_batch_add_msg(struct xfrm_batch *b, __u16 type, const void *body, size_t len)
{
	struct nlmsghdr *nlh = batch_put(b, type, NLMSG_HDRLEN + NLMSG_ALIGN(len));

	if (!nlh)
		return -ENOSPC;
	memcpy(mnl_nlmsg_put_extra_header(nlh, len), body, len);
	batch_commit(b, nlh);
	return 0;
}

int xfrm_batch_add_delsa(struct xfrm_batch *b, const struct xfrm_sa *sa)
{
	struct xfrm_usersa_id *id;
	struct nlmsghdr *nlh;
	struct xfrm_mark mark;
	bool has_mark = xfrm_sa_mark(sa, &mark);
	/* xfrm_user_state_lookup: ESP, AH and IPComp are found by SPI, the others by address */
	bool by_addr = sa->info.id.proto != IPPROTO_ESP && sa->info.id.proto != IPPROTO_AH &&
		       sa->info.id.proto != IPPROTO_COMP;
	size_t size = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*id));

	if (has_mark)
		size += MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(mark));
	if (by_addr)
		size += MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(xfrm_address_t));
	nlh = batch_put(b, XFRM_MSG_DELSA, size);
	if (!nlh)
		return -ENOSPC;
	id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));
	id->daddr = sa->info.id.daddr;
	id->spi = sa->info.id.spi;
	id->family = sa->info.family;
	id->proto = sa->info.id.proto;
	if (has_mark)
		put_attr(nlh, XFRMA_MARK, sizeof(mark), &mark);
	if (by_addr)
		put_attr(nlh, XFRMA_SRCADDR, sizeof(sa->info.saddr), &sa->info.saddr);
	batch_commit(b, nlh);
	return 0;
}

/* The attributes that name a policy for GETPOLICY and DELPOLICY (xfrm_get_policy). */
static void put_pol_name(struct nlmsghdr *nlh, const struct xfrm_pol *p)
{
	static const __u16 names[] = { XFRMA_MARK, XFRMA_IF_ID, XFRMA_POLICY_TYPE, XFRMA_SEC_CTX };
	struct xfrm_userpolicy_id *id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));

	id->sel = p->info.sel;
	id->index = p->info.index;
	id->dir = p->info.dir;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct nlattr *a = xfrm_pol_attr(p, names[i]);

		/* by index, the context is not looked at */
		if (a && !(names[i] == XFRMA_SEC_CTX && p->info.index))
			put_attr(nlh, names[i], mnl_attr_get_payload_len(a),
				     mnl_attr_get_payload(a));
	}
}

/* What put_pol_name may take: the id and the attributes, at most all of them. */
static size_t pol_name_size(const struct xfrm_pol *p)
{
	return NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct xfrm_userpolicy_id)) +
	       MNL_ALIGN(p->attrs_len);
}

int xfrm_batch_add_pol(struct xfrm_batch *b, __u16 type, const struct xfrm_pol *p)
{
	const struct nlattr *a;
	struct nlmsghdr *nlh;
	size_t size;
	int err;

	if (type != XFRM_MSG_NEWPOLICY && type != XFRM_MSG_UPDPOLICY)
		return -EINVAL;
	err = xfrm_pol_check(p, &size);
	if (err)
		return err == -EMSGSIZE ? -EINVAL : err;
	nlh = batch_put(b, type, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(p->info)) + size);
	if (!nlh)
		return -ENOSPC;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(p->info)), &p->info, sizeof(p->info));
	xfrm_for_each_attr(a, p)
	{
		put_attr(nlh, a->nla_type, mnl_attr_get_payload_len(a),
			     mnl_attr_get_payload(a));
	}
	batch_commit(b, nlh);
	return 0;
}

int xfrm_batch_add_delpol(struct xfrm_batch *b, const struct xfrm_pol *p)
{
	struct nlmsghdr *nlh;

	if (xfrm_pol_check(p, NULL))
		return -EINVAL;
	nlh = batch_put(b, XFRM_MSG_DELPOLICY, pol_name_size(p));
	if (!nlh)
		return -ENOSPC;
	put_pol_name(nlh, p);
	batch_commit(b, nlh);
	return 0;
}

/* --- the socket ------------------------------------------------------------------------ */

/* A socket buffer of at least want bytes: raised if need be, never lowered. 0 or -ENOBUFS. */
static int sock_buf(int fd, int opt, int force_opt, int want)
{
	socklen_t sl = sizeof(int);
	int have = 0, half = want / 2 + 1; /* the kernel doubles what it is given */

	if (!getsockopt(fd, SOL_SOCKET, opt, &have, &sl) && have >= want)
		return 0;
	/* FORCE goes past [wr]mem_max (CAP_NET_ADMIN, which XFRM needs anyway) */
	if (setsockopt(fd, SOL_SOCKET, force_opt, &half, sizeof(half)))
		setsockopt(fd, SOL_SOCKET, opt, &half, sizeof(half));
	sl = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, opt, &have, &sl) || have < want)
		return -ENOBUFS;
	return 0;
}

int xfrm_client_open(struct xfrm_client *c, int nsfd)
{
	struct timeval tv = { .tv_sec = RECV_TIMEOUT_S };
	int one = 1, fd, err;

	memset(c, 0, sizeof(*c));
	if (nsfd >= 0) {
		fd = netns_socket(nsfd, AF_NETLINK, SOCK_RAW, NETLINK_XFRM);
		if (fd < 0)
			return fd;
	} else {
		fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_XFRM);
		if (fd < 0)
			return -errno;
	}
	/* the kernel refuses a message longer than its sk_sndbuf - 32 (netlink_sendmsg) */
	if (sock_buf(fd, SO_SNDBUF, SO_SNDBUFFORCE, XFRM_BATCH_BYTES + 32)) {
		close(fd);
		return -ENOBUFS;
	}
	/* room for a batch's acks and a dump's reads; short of it, answers_wait says ENOBUFS */
	sock_buf(fd, SO_RCVBUF, SO_RCVBUFFORCE, RCVBUF_BYTES);
	/* failed requests are not echoed back in their ack: they hold keys (Linux 4.2+) */
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	c->nl = mnl_socket_fdopen(fd);
	if (!c->nl) {
		err = -errno;
		close(fd);
		return err ? err : -ENOMEM;
	}
	if (mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		xfrm_client_close(c);
		return err;
	}
	c->portid = mnl_socket_get_portid(c->nl);
	return 0;
}

void xfrm_client_close(struct xfrm_client *c)
{
	if (c->nl)
		mnl_socket_close(c->nl);
	c->nl = NULL;
}

/* n sequence numbers for the next requests: the first. 0 is never used (libmnl: "any"). */
static __u32 client_seq(struct xfrm_client *c, unsigned int n)
{
	if (c->seq > UINT32_MAX - n)
		c->seq = 0;
	c->seq += n;
	return c->seq - n + 1;
}

static int client_send(struct xfrm_client *c, const void *buf, size_t len, unsigned int n)
{
	ssize_t ret;

	ret = mnl_socket_sendto(c->nl, buf, len);
	c->syscalls++;
	if (ret < 0)
		return -errno;
	if ((size_t)ret != len)
		return -EIO;
	c->messages += n;
	return 0;
}

/* --- answers --------------------------------------------------------------------------- */

/*
 * Requests sent together, numbered seq, seq + 1... and what came back for each. A request is
 * answered by its ack (NLMSG_ERROR, error 0 or -errno), by the end of its dump (NLMSG_DONE),
 * or, when it asked for one reply (GETSA, ALLOCSPI), by that reply. Anything else (other
 * sequence numbers, answers to requests already answered) is not ours and is skipped.
 */
struct answers {
	__u32 seq;
	unsigned int n;
	unsigned int pending;
	int *err; /* per request: ANSWER_PENDING, then 0 or -errno */
	bool dump;
	bool reply;
	bool ack_last_only; /* a batch: only errors and the last request are acked */
	/* data messages of ours; with reply, its result answers the request */
	int (*fn)(const struct nlmsghdr *nlh, void *ctx);
	void *ctx;
};

static int answers_index(const struct answers *w, const struct nlmsghdr *nlh)
{
	__u32 i = nlh->nlmsg_seq - w->seq;

	return i < w->n && w->err[i] == ANSWER_PENDING ? (int)i : -1;
}

static void answers_set(struct answers *w, int i, int err)
{
	w->err[i] = err;
	w->pending--;
}

static int answers_ctl(const struct nlmsghdr *nlh, void *data)
{
	struct answers *w = data;
	int i = answers_index(w, nlh), err = 0;

	switch (nlh->nlmsg_type) {
	case NLMSG_ERROR:
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nlmsgerr)) {
			errno = EBADMSG;
			return MNL_CB_ERROR;
		}
		if (i < 0)
			break;
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
		answers_set(w, i, err > 0 ? -err : err); /* signs differ between subsystems */
		/* the kernel ran the batch in order and acked every error as it went: the
		 * last request's answer means the others, still unanswered, succeeded */
		if (w->ack_last_only && i == (int)w->n - 1)
			for (int j = 0; j < i; j++)
				if (w->err[j] == ANSWER_PENDING)
					answers_set(w, j, 0);
		break;
	case NLMSG_DONE:
		if (i < 0 || !w->dump)
			break;
		/* since 4.20 it carries the dump's error, if it broke off */
		if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(err))
			memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
		answers_set(w, i, err > 0 ? -err : err);
		break;
	default: /* NOOP, OVERRUN */
		break;
	}
	return MNL_CB_OK;
}

static int answers_data(const struct nlmsghdr *nlh, void *data)
{
	struct answers *w = data;
	int i = answers_index(w, nlh), err;

	if (i < 0 || !w->fn)
		return MNL_CB_OK;
	err = w->fn(nlh, w->ctx);
	if (w->reply)
		answers_set(w, i, err);
	return MNL_CB_OK;
}

/*
 * One datagram from the kernel: whole messages only (a cut one would leave its request
 * waiting forever), each to its request. 0 or -errno.
 */
static int answers_process(struct answers *w, const void *buf, size_t len, __u32 portid)
{
	static const mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_NOOP] = answers_ctl,
		[NLMSG_ERROR] = answers_ctl,
		[NLMSG_DONE] = answers_ctl,
		[NLMSG_OVERRUN] = answers_ctl,
	};
	if (len > INT32_MAX)
		return -EMSGSIZE;
	if (!nlmsg_buffer_ok(buf, len))
		return -EBADMSG;
	errno = 0;
	if (mnl_cb_run2(buf, len, 0, portid, answers_data, w, (mnl_cb_t *)ctl, NLMSG_MIN_TYPE) <
	    MNL_CB_STOP)
		return errno ? -errno : -EBADMSG;
	return 0;
}

/*
 * One datagram: a dump's part, a reply or an ack. A batch's acks are all queued by the time
 * its sendmsg returns (the kernel runs it inside), errors first and the last request's ack
 * at the end, so reading them one at a time costs one recvmsg when all went well. Returns
 * its length, 0 if it did not fit, or -errno.
 */
static ssize_t receive(struct xfrm_client *c, char *buf, size_t size)
{
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(mnl_socket_get_fd(c->nl), &msg, 0);

	c->syscalls++;
	if (n < 0)
		return -errno;
	return msg.msg_flags & MSG_TRUNC ? 0 : n;
}

/* Read until every request is answered; on failure, those not yet answered get its error. */
static int answers_wait(struct xfrm_client *c, struct answers *w)
{
	char buf[RECV_BUF_SIZE] __attribute__((aligned(8)));
	int err = 0;

	while (w->pending && !err) {
		ssize_t n = receive(c, buf, sizeof(buf));

		if (n == -EINTR)
			continue;
		if (n < 0) {
			/* EAGAIN: SO_RCVTIMEO ran out; ENOBUFS: answers were dropped */
			err = n == -EAGAIN || n == -EWOULDBLOCK ? -ETIMEDOUT : (int)n;
			break;
		}
		err = n ? answers_process(w, buf, (size_t)n, c->portid) : -EMSGSIZE;
		/* replies and echoed requests hold keys: what was written, wiped */
		explicit_bzero(buf, n ? (size_t)n : sizeof(buf));
	}
	for (unsigned int i = 0; err && i < w->n; i++)
		if (w->err[i] == ANSWER_PENDING)
			answers_set(w, (int)i, err);
	return err;
}

int xfrm_client_run(struct xfrm_client *c, struct xfrm_batch *b)
{
	struct answers w = { .n = b->n, .err = b->err };
	struct nlmsghdr *nlh = (struct nlmsghdr *)b->buf;
	int rest = (int)b->len, err;
	unsigned int i = 0;

	if (!b->n)
		return 0;
	w.seq = client_seq(c, b->n);
	w.ack_last_only = true;
	for (; mnl_nlmsg_ok(nlh, rest) && i < b->n; i++, nlh = mnl_nlmsg_next(nlh, &rest)) {
		nlh->nlmsg_seq = w.seq + i;
		/* errors are acked anyway (netlink_rcv_skb): successes need no ack of
		 * their own but the last, which tells the batch is done */
		if (i + 1 < b->n)
			nlh->nlmsg_flags &= ~NLM_F_ACK;
		else
			nlh->nlmsg_flags |= NLM_F_ACK;
	}
	if (i != b->n || rest > 0)
		return -EINVAL; /* not built by xfrm_batch_add_* */
	for (i = 0; i < b->n; i++)
		b->err[i] = ANSWER_PENDING;
	w.pending = b->n;

	err = client_send(c, b->buf, b->len, b->n);
	if (err) {
		for (i = 0; i < b->n; i++)
			b->err[i] = err;
		return err;
	}
	err = answers_wait(c, &w);
	if (err)
		return err;
	for (i = 0; i < b->n; i++)
		if (b->err[i])
			return b->err[i];
	return 0;
}

/* --- single requests ------------------------------------------------------------------- */

/* Send the request in buf (one, numbered here) and wait for its answer. */
static int client_request(struct xfrm_client *c, struct nlmsghdr *nlh, struct answers *w)
{
	int err, answer = ANSWER_PENDING;

	nlh->nlmsg_seq = client_seq(c, 1);
	w->seq = nlh->nlmsg_seq;
	w->n = w->pending = 1;
	w->err = &answer;
	err = client_send(c, nlh, nlh->nlmsg_len, 1);
	if (!err)
		err = answers_wait(c, w);
	return err ? err : answer;
}

static int get_reply(const struct nlmsghdr *nlh, void *ctx)
{
	if (nlh->nlmsg_type != XFRM_MSG_NEWSA)
		return -EBADMSG;
	return xfrm_sa_from_msg(nlh, nlh->nlmsg_len, ctx);
}

int xfrm_sa_get(struct xfrm_client *c, __u16 family, const xfrm_address_t *daddr, __be32 spi,
		__u8 proto, const struct xfrm_mark *mark, struct xfrm_sa *out)
{
	char buf[MNL_NLMSG_HDRLEN + 64] __attribute__((aligned(8)));
	struct answers w = { .reply = true, .fn = get_reply, .ctx = out };
	struct xfrm_usersa_id *id;
	struct nlmsghdr *nlh;
	int err;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_GETSA;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	id = mnl_nlmsg_put_extra_header(nlh, sizeof(*id));
	id->daddr = *daddr;
	id->spi = spi;
	id->family = family;
	id->proto = proto;
	if (mark && (mark->v || mark->m))
		put_attr(nlh, XFRMA_MARK, sizeof(*mark), mark);
	xfrm_sa_wipe(out); /* only now: daddr or mark may lie in it */
	err = client_request(c, nlh, &w);
	if (err)
		xfrm_sa_wipe(out);
	return err == -ESRCH ? -ENOENT : err;
}

struct dump_ctx {
	xfrm_sa_fn fn;
	void *ctx;
	int ret; /* fn's non-zero, or why the dump could not be read: then fn is not called */
	struct xfrm_sa sa;
};

static int dump_reply(const struct nlmsghdr *nlh, void *ctx)
{
	struct dump_ctx *d = ctx;
	int err;

	/* once stopped, the rest of the dump is read all the same, and dropped */
	if (d->ret || nlh->nlmsg_type != XFRM_MSG_NEWSA)
		return 0;
	err = xfrm_sa_from_msg(nlh, nlh->nlmsg_len, &d->sa);
	d->ret = err ? err : d->fn(d->ctx, &d->sa);
	xfrm_sa_wipe(&d->sa);
	return 0;
}

int xfrm_sa_dump(struct xfrm_client *c, xfrm_sa_fn fn, void *ctx)
{
	char buf[MNL_NLMSG_HDRLEN] __attribute__((aligned(8)));
	struct dump_ctx d;
	struct answers w = { .dump = true, .fn = dump_reply, .ctx = &d };
	struct nlmsghdr *nlh;
	int err;

	memset(&d, 0, sizeof(d));
	d.fn = fn;
	d.ctx = ctx;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_GETSA;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	err = client_request(c, nlh, &w);
	xfrm_sa_wipe(&d.sa);
	return err ? err : d.ret;
}

static int spi_reply(const struct nlmsghdr *nlh, void *ctx)
{
	struct xfrm_sa *sa = ctx;
	int err;

	if (nlh->nlmsg_type != XFRM_MSG_NEWSA)
		return -EBADMSG;
	err = xfrm_sa_from_msg(nlh, nlh->nlmsg_len, sa);
	return err ? err : sa->info.id.spi ? 0 : -EBADMSG;
}

int xfrm_spi_alloc(struct xfrm_client *c, const struct xfrm_sa *tmpl, __u32 min, __u32 max,
		   __be32 *spi)
{
	char buf[MNL_NLMSG_HDRLEN + 512] __attribute__((aligned(8)));
	struct xfrm_sa larval;
	struct answers w = { .reply = true, .fn = spi_reply, .ctx = &larval };
	const struct nlattr *if_id = xfrm_sa_attr(tmpl, XFRMA_IF_ID);
	struct xfrm_userspi_info *sp;
	struct xfrm_mark mark;
	struct nlmsghdr *nlh;
	int err;

	*spi = 0;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_ALLOCSPI;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	sp = mnl_nlmsg_put_extra_header(nlh, sizeof(*sp));
	/* what xfrm_alloc_userspi looks at; seq 0: a new larval SA, not an ACQUIRE's */
	sp->info.family = tmpl->info.family;
	sp->info.id.daddr = tmpl->info.id.daddr;
	sp->info.id.proto = tmpl->info.id.proto;
	sp->info.saddr = tmpl->info.saddr;
	sp->info.mode = tmpl->info.mode;
	sp->info.reqid = tmpl->info.reqid;
	sp->min = min;
	sp->max = max;
	if (xfrm_sa_mark(tmpl, &mark))
		put_attr(nlh, XFRMA_MARK, sizeof(mark), &mark);
	if (if_id && mnl_attr_get_payload_len(if_id) == sizeof(__u32))
		mnl_attr_put_u32(nlh, XFRMA_IF_ID, mnl_attr_get_u32(if_id)); /* 4 bytes: no padding */
	err = client_request(c, nlh, &w);
	if (!err)
		*spi = larval.info.id.spi;
	xfrm_sa_wipe(&larval);
	return err;
}

static int pol_reply(const struct nlmsghdr *nlh, void *ctx)
{
	return xfrm_pol_from_msg(nlh, nlh->nlmsg_len, ctx);
}

int xfrm_pol_get(struct xfrm_client *c, const struct xfrm_pol *like, struct xfrm_pol *out)
{
	char buf[MNL_NLMSG_HDRLEN + sizeof(struct xfrm_userpolicy_id) + XFRM_ATTRS_MAX]
		__attribute__((aligned(8)));
	struct answers w = { .reply = true, .fn = pol_reply, .ctx = out };
	struct nlmsghdr *nlh;
	int err;

	if (xfrm_pol_check(like, NULL))
		return -EINVAL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_GETPOLICY;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	put_pol_name(nlh, like);
	memset(out, 0, sizeof(*out)); /* only now: like may be out */
	err = client_request(c, nlh, &w);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

struct pol_dump_ctx {
	xfrm_pol_fn fn;
	void *ctx;
	int ret;
	struct xfrm_pol p;
};

static int pol_dump_reply(const struct nlmsghdr *nlh, void *ctx)
{
	struct pol_dump_ctx *d = ctx;
	int err;

	if (d->ret || nlh->nlmsg_type != XFRM_MSG_NEWPOLICY)
		return 0;
	err = xfrm_pol_from_msg(nlh, nlh->nlmsg_len, &d->p);
	d->ret = err ? err : d->fn(d->ctx, &d->p);
	return 0;
}

int xfrm_pol_dump(struct xfrm_client *c, xfrm_pol_fn fn, void *ctx)
{
	struct pol_dump_ctx d = { .fn = fn, .ctx = ctx };
	struct answers w = { .dump = true, .fn = pol_dump_reply, .ctx = &d };
	char buf[MNL_NLMSG_HDRLEN] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	int err;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XFRM_MSG_GETPOLICY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	err = client_request(c, nlh, &w);
	return err ? err : d.ret;
}
