// SPDX-License-Identifier: Apache-2.0
/*
 * rtnetlink plumbing (see netlink.h).  Replies are untrusted only in the
 * sense that a bug must not read past them: every message and attribute
 * length is checked against what is left before it is used, without the
 * signed/unsigned mix of NLMSG_OK() and RTA_OK().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netlink.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

void nl_close(struct nl_sock *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
	free(nl->buf);
	nl->buf = NULL;
}

int nl_open(struct nl_sock *nl, struct herr *err)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t len = sizeof(sa);
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0)
		return herr_errno(err, errno, "netlink: open socket");
	/* Port 0: the kernel picks one, which getsockname() then tells. */
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(nl->fd, (struct sockaddr *)&sa, &len) < 0) {
		herr_errno(err, errno, "netlink: bind");
		nl_close(nl);
		return -1;
	}
	nl->portid = sa.nl_pid;
	/* The kernel then says why ("mtu greater than ..."), if it can. */
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	nl->seq = (unsigned int)time(NULL);
	nl->buf = malloc(NL_BUF_SIZE);
	if (!nl->buf) {
		nl_close(nl);
		return herr_errno(err, ENOMEM, "netlink: buffer");
	}
	return 0;
}

int nl_fail(struct herr *err, const struct nl_sock *nl, int errnum,
	    const char *fmt, ...)
{
	char what[HERR_MSG_MAX];
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	herr_errno(err, errnum, "%s", what);
	if (err && nl && nl->ext[0]) {
		len = strlen(err->msg);
		snprintf(err->msg + len, sizeof(err->msg) - len, " (%s)",
			 nl->ext);
	}
	return -1;
}

/* ---- building requests ---- */

struct nlmsghdr *nl_req_init(struct nl_req *req, uint16_t type, uint16_t flags)
{
	memset(req, 0, sizeof(*req));
	req->u.nlh.nlmsg_len = NLMSG_HDRLEN;
	req->u.nlh.nlmsg_type = type;
	req->u.nlh.nlmsg_flags = NLM_F_REQUEST | flags;
	return &req->u.nlh;
}

void *nl_req_reserve(struct nl_req *req, size_t size)
{
	struct nlmsghdr *nlh = &req->u.nlh;
	size_t at = NLMSG_ALIGN(nlh->nlmsg_len);

	if (req->full || size > sizeof(req->u.buf) ||
	    at + NLMSG_ALIGN(size) > sizeof(req->u.buf)) {
		req->full = true;
		return NULL;
	}
	nlh->nlmsg_len = (uint32_t)(at + NLMSG_ALIGN(size));
	return req->u.buf + at;
}

struct rtattr *nl_attr_put(struct nl_req *req, unsigned short type,
			   const void *data, size_t len)
{
	struct rtattr *a;

	if (len > sizeof(req->u.buf)) {
		req->full = true;
		return NULL;
	}
	a = nl_req_reserve(req, RTA_LENGTH(len));
	if (!a)
		return NULL;
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	return a;
}

struct rtattr *nl_attr_put_u8(struct nl_req *req, unsigned short type,
			      uint8_t v)
{
	return nl_attr_put(req, type, &v, sizeof(v));
}

struct rtattr *nl_attr_put_u16(struct nl_req *req, unsigned short type,
			       uint16_t v)
{
	return nl_attr_put(req, type, &v, sizeof(v));
}

struct rtattr *nl_attr_put_u32(struct nl_req *req, unsigned short type,
			       uint32_t v)
{
	return nl_attr_put(req, type, &v, sizeof(v));
}

struct rtattr *nl_attr_put_str(struct nl_req *req, unsigned short type,
			       const char *s)
{
	return nl_attr_put(req, type, s, strlen(s) + 1);
}

struct rtattr *nl_attr_nest_start(struct nl_req *req, unsigned short type)
{
	return nl_attr_put(req, type, NULL, 0);
}

void nl_attr_nest_end(struct nl_req *req, struct rtattr *nest)
{
	/* The request is at most NL_REQ_SIZE long, so the length fits. */
	if (nest)
		nest->rta_len =
			(unsigned short)((char *)&req->u.nlh +
					 req->u.nlh.nlmsg_len - (char *)nest);
}

/* ---- reading replies ---- */

void nl_attrs_parse(const void *p, size_t len, const struct rtattr **tb,
		    unsigned int max)
{
	const struct rtattr *a = p;
	unsigned int type;
	size_t step;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	while (len >= sizeof(*a) && a->rta_len >= sizeof(*a) &&
	       a->rta_len <= len) {
		type = a->rta_type & NLA_TYPE_MASK;
		if (type <= max)
			tb[type] = a;
		step = RTA_ALIGN(a->rta_len);
		if (step >= len)
			break;
		len -= step;
		a = (const struct rtattr *)((const char *)a + step);
	}
}

bool nl_msg_attrs(const struct nlmsghdr *nlh, size_t hdrlen,
		  const struct rtattr **tb, unsigned int max)
{
	size_t off = NLMSG_LENGTH(NLMSG_ALIGN(hdrlen));

	if (nlh->nlmsg_len < NLMSG_LENGTH(hdrlen))
		return false;
	nl_attrs_parse((const char *)nlh + off,
		       nlh->nlmsg_len > off ? nlh->nlmsg_len - off : 0, tb,
		       max);
	return true;
}

void nl_attrs_nested(const struct rtattr *a, const struct rtattr **tb,
		     unsigned int max)
{
	nl_attrs_parse(RTA_DATA(a), RTA_PAYLOAD(a), tb, max);
}

bool nl_attr_u32(const struct rtattr *a, uint32_t *v)
{
	if (!a || RTA_PAYLOAD(a) < sizeof(*v))
		return false;
	memcpy(v, RTA_DATA(a), sizeof(*v));
	return true;
}

const char *nl_attr_str(const struct rtattr *a)
{
	if (!a || !RTA_PAYLOAD(a) || !memchr(RTA_DATA(a), '\0', RTA_PAYLOAD(a)))
		return NULL;
	return RTA_DATA(a);
}

bool nl_attr_copy(const struct rtattr *a, void *dst, size_t len)
{
	if (!a || RTA_PAYLOAD(a) != len)
		return false;
	memcpy(dst, RTA_DATA(a), len);
	return true;
}

/* An error or ACK; 0, or -errno with nl->ext filled when the kernel said. */
static int nl_error(struct nl_sock *nl, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = NLMSG_DATA(nlh);
	const struct rtattr *tb[NLMSGERR_ATTR_MSG + 1];
	size_t len = nlh->nlmsg_len - NLMSG_HDRLEN, off = sizeof(*e);
	const char *msg;

	if (nlh->nlmsg_len < NLMSG_HDRLEN || len < sizeof(*e))
		return -EBADMSG;
	if (e->error == 0)
		return 0; /* the ACK */
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		/* The TLVs follow our request unless the kernel cut it. */
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
		    e->msg.nlmsg_len >= NLMSG_HDRLEN)
			off += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
		if (off < len) {
			nl_attrs_parse((const char *)e + off, len - off, tb,
				       NLMSGERR_ATTR_MSG);
			msg = nl_attr_str(tb[NLMSGERR_ATTR_MSG]);
			if (msg)
				snprintf(nl->ext, sizeof(nl->ext), "%s", msg);
		}
	}
	return e->error < 0 ? e->error : -e->error;
}

int nl_walk(struct nl_sock *nl, const void *buf, size_t len, nl_msg_cb cb,
	    void *data)
{
	const struct nlmsghdr *h = buf;
	size_t step;
	int r;

	while (len >= sizeof(*h) && h->nlmsg_len >= sizeof(*h) &&
	       h->nlmsg_len <= len) {
		if (h->nlmsg_seq != nl->seq || h->nlmsg_pid != nl->portid)
			goto next;
		if (h->nlmsg_flags & NLM_F_DUMP_INTR)
			return -EINTR;
		switch (h->nlmsg_type) {
		case NLMSG_NOOP:
			goto next;
		case NLMSG_ERROR:
			return nl_error(nl, h);
		case NLMSG_DONE:
			/* A dump that failed half-way says so here. */
			if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
				memcpy(&r, NLMSG_DATA(h), sizeof(r));
				if (r < 0)
					return r;
			}
			return 0;
		case NLMSG_OVERRUN:
			return -ENOBUFS;
		}
		if (h->nlmsg_type >= NLMSG_MIN_TYPE && cb) {
			r = cb(h, data);
			if (r < 0)
				return r;
		}
next:
		step = NLMSG_ALIGN(h->nlmsg_len);
		if (step >= len)
			break;
		len -= step;
		h = (const struct nlmsghdr *)((const char *)h + step);
	}
	return 1;
}

/*
 * Replies to earlier requests (the rest of a dump abandoned on an error)
 * are skipped by their sequence number.
 */
int nl_talk(struct nl_sock *nl, struct nl_req *req, nl_msg_cb cb, void *data)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct sockaddr_nl from;
	struct iovec iov = { .iov_base = nl->buf, .iov_len = NL_BUF_SIZE };
	struct msghdr msg = { .msg_name = &from,
			      .msg_iov = &iov,
			      .msg_iovlen = 1 };
	struct nlmsghdr *nlh = &req->u.nlh;
	ssize_t n;
	int r;

	if (req->full)
		return -EMSGSIZE;
	nl->ext[0] = '\0';
	nlh->nlmsg_seq = ++nl->seq;
	do
		n = sendto(nl->fd, nlh, nlh->nlmsg_len, 0,
			   (struct sockaddr *)&kernel, sizeof(kernel));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (;;) {
		msg.msg_namelen = sizeof(from);
		n = recvmsg(nl->fd, &msg, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (msg.msg_flags & MSG_TRUNC)
			return -ENOSPC;
		if (from.nl_pid != 0)
			continue; /* only the kernel talks to us */
		r = nl_walk(nl, nl->buf, (size_t)n, cb, data);
		if (r <= 0)
			return r;
	}
}

int nl_dump(struct nl_sock *nl, struct nl_req *req, nl_msg_cb cb,
	    void (*restart)(void *data), void *data)
{
	int tries = 3;
	int r;

	for (;;) {
		r = nl_talk(nl, req, cb, data);
		if (r != -EINTR || --tries == 0)
			return r;
		if (restart)
			restart(data);
	}
}
