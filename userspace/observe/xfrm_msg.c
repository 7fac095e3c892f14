// SPDX-License-Identifier: BSD-2-Clause
#include "xfrm_msg.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <string.h>

/* The attributes we report, checked and indexed by type; everything else is skipped. */
struct attrs {
	const struct nlattr *tb[XFRM_UAPI_ATTR_SA_PCPU + 1];
	const char *end; /* where the last attribute seen ends */
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	__u16 type = mnl_attr_get_type(attr), plen = mnl_attr_get_payload_len(attr);
	struct attrs *a = data;
	int err;

	a->end = (const char *)attr + attr->nla_len;
	switch (type) {
	case XFRMA_MARK:
		err = mnl_attr_validate2(attr, MNL_TYPE_UNSPEC, sizeof(struct xfrm_mark));
		break;
	case XFRMA_IF_ID:
		err = mnl_attr_validate(attr, MNL_TYPE_U32);
		break;
	case XFRM_UAPI_ATTR_SA_DIR:
		err = mnl_attr_validate(attr, MNL_TYPE_U8);
		break;
	case XFRM_UAPI_ATTR_SA_PCPU:
		err = mnl_attr_validate(attr, MNL_TYPE_U32);
		break;
	/* whole structs may grow at the end, as the kernel's own policy allows */
	case XFRMA_SA:
		err = plen < sizeof(struct xfrm_usersa_info) ? -1 : 0;
		break;
	case XFRMA_POLICY:
		err = plen < sizeof(struct xfrm_userpolicy_info) ? -1 : 0;
		break;
	case XFRMA_TMPL:
		err = plen % sizeof(struct xfrm_user_tmpl) ? -1 : 0;
		break;
	default:
		return MNL_CB_OK; /* keys (XFRMA_ALG_*) among them: never looked at */
	}
	if (err < 0)
		return MNL_CB_ERROR;
	a->tb[type] = attr;
	return MNL_CB_OK;
}

/*
 * The fixed body of nlh into body (copied: attributes are only 4-byte aligned and the
 * structs hold __u64), then its attributes into a. -EBADMSG if either is cut short.
 */
static int parse_body(const struct nlmsghdr *nlh, void *body, size_t size, struct attrs *a)
{
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(size);
	const char *start, *tail;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + size)
		return -EBADMSG;
	if (size)
		memcpy(body, mnl_nlmsg_get_payload(nlh), size);
	memset(a, 0, sizeof(*a));
	if (nlh->nlmsg_len <= off)
		return 0;
	start = (const char *)nlh + off;
	tail = (const char *)nlh + nlh->nlmsg_len;
	a->end = start;
	if (mnl_attr_parse_payload(start, tail - start, attr_cb, a) < MNL_CB_OK)
		return -EBADMSG;
	/* the walk stops quietly at an attribute overrunning the message: allow only its padding */
	if (MNL_ALIGN((size_t)(a->end - start)) < (size_t)(tail - start))
		return -EBADMSG;
	return 0;
}

static void attr_copy(const struct attrs *a, int type, void *dst, size_t size)
{
	if (a->tb[type])
		memcpy(dst, mnl_attr_get_payload(a->tb[type]), size);
}

static void sa_from_info(const struct xfrm_usersa_info *info, struct sa_event *sa)
{
	sa->family = info->family;
	sa->proto = info->id.proto;
	sa->spi = info->id.spi;
	sa->reqid = info->reqid;
	sa->mode = info->mode;
	memcpy(sa->saddr, &info->saddr, sizeof(sa->saddr));
	memcpy(sa->daddr, &info->id.daddr, sizeof(sa->daddr));
}

/* Attributes every SA message may carry. */
static void sa_from_attrs(const struct attrs *a, struct sa_event *sa)
{
	struct xfrm_mark mark = { 0 };
	__u8 dir = 0;

	attr_copy(a, XFRMA_MARK, &mark, sizeof(mark));
	sa->mark_v = mark.v;
	sa->mark_m = mark.m;
	attr_copy(a, XFRMA_IF_ID, &sa->if_id, sizeof(sa->if_id));
	attr_copy(a, XFRM_UAPI_ATTR_SA_DIR, &dir, sizeof(dir));
	sa->dir = dir == XFRM_UAPI_SA_DIR_IN    ? SA_DIR_IN
		  : dir == XFRM_UAPI_SA_DIR_OUT ? SA_DIR_OUT
					       : SA_DIR_UNKNOWN;
	sa->pcpu = a->tb[XFRM_UAPI_ATTR_SA_PCPU] != NULL;
	attr_copy(a, XFRM_UAPI_ATTR_SA_PCPU, &sa->pcpu_num, sizeof(sa->pcpu_num));
}

static void pol_from_sel(const struct xfrm_selector *sel, struct policy_event *pol)
{
	pol->family = sel->family;
	memcpy(pol->sel_saddr, &sel->saddr, sizeof(pol->sel_saddr));
	memcpy(pol->sel_daddr, &sel->daddr, sizeof(pol->sel_daddr));
	pol->sel_prefixlen_s = sel->prefixlen_s;
	pol->sel_prefixlen_d = sel->prefixlen_d;
	pol->sel_proto = sel->proto;
}

static void pol_from_info(const struct xfrm_userpolicy_info *info, struct policy_event *pol)
{
	pol_from_sel(&info->sel, pol);
	pol->dir = info->dir;
	pol->action = info->action;
	pol->index = info->index;
	pol->priority = info->priority;
}

/* Attributes every policy message may carry; tmpl gets the first template, if any. */
static void pol_from_attrs(const struct attrs *a, struct policy_event *pol,
			   struct xfrm_user_tmpl *tmpl)
{
	const struct nlattr *t = a->tb[XFRMA_TMPL];
	struct xfrm_mark mark = { 0 };
	size_t n;

	attr_copy(a, XFRMA_MARK, &mark, sizeof(mark));
	pol->mark_v = mark.v;
	pol->mark_m = mark.m;
	attr_copy(a, XFRMA_IF_ID, &pol->if_id, sizeof(pol->if_id));
	memset(tmpl, 0, sizeof(*tmpl));
	n = t ? mnl_attr_get_payload_len(t) / sizeof(*tmpl) : 0;
	if (!n)
		return;
	pol->n_tmpl = n > 255 ? 255 : n; /* the kernel allows 6 (XFRM_MAX_DEPTH) */
	memcpy(tmpl, mnl_attr_get_payload(t), sizeof(*tmpl));
	pol->tmpl_proto = tmpl->id.proto;
	pol->tmpl_mode = tmpl->mode;
	pol->tmpl_family = tmpl->family;
	pol->tmpl_spi = tmpl->id.spi;
	pol->tmpl_reqid = tmpl->reqid;
	memcpy(pol->tmpl_saddr, &tmpl->saddr, sizeof(pol->tmpl_saddr));
	memcpy(pol->tmpl_daddr, &tmpl->id.daddr, sizeof(pol->tmpl_daddr));
}

/* NEWSA, UPDSA: xfrm_usersa_info. */
static int parse_sa_info(const struct nlmsghdr *nlh, __u8 kind, struct xfrm_msg *out)
{
	struct xfrm_usersa_info info;
	struct attrs a;
	int err;

	err = parse_body(nlh, &info, sizeof(info), &a);
	if (err)
		return err;
	out->kind = XFRM_MSG_KIND_SA;
	out->sa.kind = kind;
	out->sa.km_state = XFRM_KM_VALID;
	sa_from_info(&info, &out->sa);
	sa_from_attrs(&a, &out->sa);
	return 0;
}

/* DELSA: the SA's id, the rest of it in XFRMA_SA. */
static int parse_sa_id(const struct nlmsghdr *nlh, struct xfrm_msg *out)
{
	struct xfrm_usersa_info info;
	struct xfrm_usersa_id id;
	struct attrs a;
	int err;

	err = parse_body(nlh, &id, sizeof(id), &a);
	if (err)
		return err;
	out->kind = XFRM_MSG_KIND_SA;
	out->sa.kind = SA_EVENT_DELETE;
	out->sa.km_state = XFRM_KM_DEAD;
	out->sa.family = id.family;
	out->sa.proto = id.proto;
	out->sa.spi = id.spi;
	memcpy(out->sa.daddr, &id.daddr, sizeof(out->sa.daddr));
	if (a.tb[XFRMA_SA]) {
		attr_copy(&a, XFRMA_SA, &info, sizeof(info));
		out->sa.reqid = info.reqid;
		out->sa.mode = info.mode;
		memcpy(out->sa.saddr, &info.saddr, sizeof(out->sa.saddr));
	}
	sa_from_attrs(&a, &out->sa);
	return 0;
}

/* EXPIRE: soft (the SA lives on) or hard (already deleted; no DELSA follows). */
static int parse_sa_expire(const struct nlmsghdr *nlh, struct xfrm_msg *out)
{
	struct xfrm_user_expire exp;
	struct attrs a;
	int err;

	err = parse_body(nlh, &exp, sizeof(exp), &a);
	if (err)
		return err;
	out->kind = XFRM_MSG_KIND_SA;
	out->sa.kind = SA_EVENT_EXPIRE;
	out->sa.hard = exp.hard != 0;
	out->sa.km_state = exp.hard ? XFRM_KM_EXPIRED : XFRM_KM_VALID;
	sa_from_info(&exp.state, &out->sa);
	sa_from_attrs(&a, &out->sa);
	return 0;
}

/*
 * MIGRATE_STATE (7.2): one SA moved to new addresses (and reqid), SPI and keys kept; sent to
 * XFRMNLGRP_MIGRATE of the SA's namespace once done. Its mark stays (nothing else in the
 * notification changes it).
 */
static int parse_sa_migrate(const struct nlmsghdr *nlh, struct xfrm_msg *out)
{
	struct xfrm_uapi_migrate_state m;
	struct attrs a;
	int err;

	err = parse_body(nlh, &m, sizeof(m), &a);
	if (err)
		return err;
	out->kind = XFRM_MSG_KIND_SA_MIGRATE;
	out->sa_old.kind = SA_EVENT_MIGRATE_OUT;
	out->sa_old.km_state = XFRM_KM_DEAD;
	out->sa_old.family = m.id.family;
	out->sa_old.proto = m.id.proto;
	out->sa_old.spi = m.id.spi;
	memcpy(out->sa_old.daddr, &m.id.daddr, sizeof(out->sa_old.daddr));
	out->sa_old.mark_v = m.old_mark.v;
	out->sa_old.mark_m = m.old_mark.m;
	out->sa_old.flags = SA_EVENT_F_IDENTITY_ONLY;
	out->sa = out->sa_old;
	out->sa.kind = SA_EVENT_MIGRATE_IN;
	out->sa.km_state = XFRM_KM_VALID;
	out->sa.family = (__u8)m.new_family;
	out->sa.reqid = m.new_reqid;
	memcpy(out->sa.daddr, &m.new_daddr, sizeof(out->sa.daddr));
	memcpy(out->sa.saddr, &m.new_saddr, sizeof(out->sa.saddr));
	return 0;
}

static int parse_sa_flush(const struct nlmsghdr *nlh, struct xfrm_msg *out)
{
	struct xfrm_usersa_flush flush;
	struct attrs a;
	int err;

	err = parse_body(nlh, &flush, sizeof(flush), &a);
	if (err)
		return err;
	out->kind = XFRM_MSG_KIND_SA_FLUSH;
	out->flush_proto = flush.proto;
	return 0;
}

/*
 * ACQUIRE: a larval SA now stands for a missing one. The body has no SA family, reqid or
 * mode: they come from the policy's template for that protocol, as the kernel took them.
 */
static int parse_acquire(const struct nlmsghdr *nlh, struct xfrm_msg *out)
{
	struct xfrm_user_acquire acq;
	struct xfrm_user_tmpl tmpl;
	struct attrs a;
	int err;

	err = parse_body(nlh, &acq, sizeof(acq), &a);
	if (err)
		return err;
	out->kind = XFRM_MSG_KIND_ACQUIRE;
	pol_from_info(&acq.policy, &out->pol);
	pol_from_attrs(&a, &out->pol, &tmpl);
	out->sa.km_state = XFRM_KM_ACQ;
	out->sa.proto = acq.id.proto;
	out->sa.spi = acq.id.spi;
	memcpy(out->sa.saddr, &acq.saddr, sizeof(out->sa.saddr));
	memcpy(out->sa.daddr, &acq.id.daddr, sizeof(out->sa.daddr));
	out->sa.family = acq.sel.family;
	if (out->pol.n_tmpl && tmpl.id.proto == acq.id.proto) {
		out->sa.family = tmpl.family;
		out->sa.reqid = tmpl.reqid;
		out->sa.mode = tmpl.mode;
	}
	sa_from_attrs(&a, &out->sa);
	return 0;
}

/* NEWPOLICY, UPDPOLICY: xfrm_userpolicy_info. */
static int parse_pol_info(const struct nlmsghdr *nlh, __u8 kind, struct xfrm_msg *out)
{
	struct xfrm_userpolicy_info info;
	struct xfrm_user_tmpl tmpl;
	struct attrs a;
	int err;

	err = parse_body(nlh, &info, sizeof(info), &a);
	if (err)
		return err;
	out->kind = XFRM_MSG_KIND_POLICY;
	out->pol.kind = kind;
	pol_from_info(&info, &out->pol);
	pol_from_attrs(&a, &out->pol, &tmpl);
	return 0;
}

/* DELPOLICY: the policy's id, the rest of it in XFRMA_POLICY. */
static int parse_pol_id(const struct nlmsghdr *nlh, struct xfrm_msg *out)
{
	struct xfrm_userpolicy_info info;
	struct xfrm_userpolicy_id id;
	struct xfrm_user_tmpl tmpl;
	struct attrs a;
	int err;

	err = parse_body(nlh, &id, sizeof(id), &a);
	if (err)
		return err;
	out->kind = XFRM_MSG_KIND_POLICY;
	out->pol.kind = POLICY_EVENT_DELETE;
	/* the id has the selector or the index, whichever the deletion named: prefer the policy */
	pol_from_sel(&id.sel, &out->pol);
	out->pol.index = id.index;
	out->pol.dir = id.dir;
	if (a.tb[XFRMA_POLICY]) {
		attr_copy(&a, XFRMA_POLICY, &info, sizeof(info));
		pol_from_info(&info, &out->pol);
	}
	pol_from_attrs(&a, &out->pol, &tmpl);
	return 0;
}

/* POLEXPIRE: soft or hard (the policy is already deleted). */
static int parse_pol_expire(const struct nlmsghdr *nlh, struct xfrm_msg *out)
{
	struct xfrm_user_polexpire exp;
	struct xfrm_user_tmpl tmpl;
	struct attrs a;
	int err;

	err = parse_body(nlh, &exp, sizeof(exp), &a);
	if (err)
		return err;
	out->kind = XFRM_MSG_KIND_POLICY;
	out->pol.kind = POLICY_EVENT_EXPIRE;
	out->pol.hard = exp.hard != 0;
	pol_from_info(&exp.pol, &out->pol);
	pol_from_attrs(&a, &out->pol, &tmpl);
	return 0;
}

/* FLUSHPOLICY: no body, an XFRMA_POLICY_TYPE we do not need. */
static int parse_pol_flush(const struct nlmsghdr *nlh, struct xfrm_msg *out)
{
	struct attrs a;
	int err;

	err = parse_body(nlh, NULL, 0, &a);
	if (err)
		return err;
	out->kind = XFRM_MSG_KIND_POLICY_FLUSH;
	return 0;
}

int xfrm_msg_parse(const struct nlmsghdr *nlh, size_t len, struct xfrm_msg *out)
{
	memset(out, 0, sizeof(*out));
	if (len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN || nlh->nlmsg_len > len)
		return -EBADMSG;
	switch (nlh->nlmsg_type) {
	case XFRM_MSG_NEWSA:
		return parse_sa_info(nlh, SA_EVENT_ADD, out);
	case XFRM_MSG_UPDSA:
		return parse_sa_info(nlh, SA_EVENT_UPDATE, out);
	case XFRM_MSG_DELSA:
		return parse_sa_id(nlh, out);
	case XFRM_MSG_EXPIRE:
		return parse_sa_expire(nlh, out);
	case XFRM_MSG_FLUSHSA:
		return parse_sa_flush(nlh, out);
	case XFRM_UAPI_MSG_MIGRATE_STATE:
		return parse_sa_migrate(nlh, out);
	case XFRM_MSG_ACQUIRE:
		return parse_acquire(nlh, out);
	case XFRM_MSG_NEWPOLICY:
		return parse_pol_info(nlh, POLICY_EVENT_ADD, out);
	case XFRM_MSG_UPDPOLICY:
		return parse_pol_info(nlh, POLICY_EVENT_UPDATE, out);
	case XFRM_MSG_DELPOLICY:
		return parse_pol_id(nlh, out);
	case XFRM_MSG_POLEXPIRE:
		return parse_pol_expire(nlh, out);
	case XFRM_MSG_FLUSHPOLICY:
		return parse_pol_flush(nlh, out);
	default:
		return -EOPNOTSUPP;
	}
}

static const char *const type_names[] = {
	[XFRM_MSG_NEWSA - XFRM_MSG_BASE] = "NEWSA",
	[XFRM_MSG_DELSA - XFRM_MSG_BASE] = "DELSA",
	[XFRM_MSG_GETSA - XFRM_MSG_BASE] = "GETSA",
	[XFRM_MSG_NEWPOLICY - XFRM_MSG_BASE] = "NEWPOLICY",
	[XFRM_MSG_DELPOLICY - XFRM_MSG_BASE] = "DELPOLICY",
	[XFRM_MSG_GETPOLICY - XFRM_MSG_BASE] = "GETPOLICY",
	[XFRM_MSG_ALLOCSPI - XFRM_MSG_BASE] = "ALLOCSPI",
	[XFRM_MSG_ACQUIRE - XFRM_MSG_BASE] = "ACQUIRE",
	[XFRM_MSG_EXPIRE - XFRM_MSG_BASE] = "EXPIRE",
	[XFRM_MSG_UPDPOLICY - XFRM_MSG_BASE] = "UPDPOLICY",
	[XFRM_MSG_UPDSA - XFRM_MSG_BASE] = "UPDSA",
	[XFRM_MSG_POLEXPIRE - XFRM_MSG_BASE] = "POLEXPIRE",
	[XFRM_MSG_FLUSHSA - XFRM_MSG_BASE] = "FLUSHSA",
	[XFRM_MSG_FLUSHPOLICY - XFRM_MSG_BASE] = "FLUSHPOLICY",
	[XFRM_MSG_NEWAE - XFRM_MSG_BASE] = "NEWAE",
	[XFRM_MSG_GETAE - XFRM_MSG_BASE] = "GETAE",
	[XFRM_MSG_REPORT - XFRM_MSG_BASE] = "REPORT",
	[XFRM_MSG_MIGRATE - XFRM_MSG_BASE] = "MIGRATE",
	[XFRM_MSG_NEWSADINFO - XFRM_MSG_BASE] = "NEWSADINFO",
	[XFRM_MSG_GETSADINFO - XFRM_MSG_BASE] = "GETSADINFO",
	[XFRM_MSG_NEWSPDINFO - XFRM_MSG_BASE] = "NEWSPDINFO",
	[XFRM_MSG_GETSPDINFO - XFRM_MSG_BASE] = "GETSPDINFO",
	[XFRM_MSG_MAPPING - XFRM_MSG_BASE] = "MAPPING",
#ifdef XFRM_MSG_SETDEFAULT /* 5.17 */
	[XFRM_MSG_SETDEFAULT - XFRM_MSG_BASE] = "SETDEFAULT",
	[XFRM_MSG_GETDEFAULT - XFRM_MSG_BASE] = "GETDEFAULT",
#endif
	[XFRM_UAPI_MSG_MIGRATE_STATE - XFRM_MSG_BASE] = "MIGRATE_STATE",
};

const char *xfrm_msg_type_name(__u16 type)
{
	if (type < XFRM_MSG_BASE ||
	    (size_t)(type - XFRM_MSG_BASE) >= sizeof(type_names) / sizeof(type_names[0]))
		return NULL;
	return type_names[type - XFRM_MSG_BASE];
}
