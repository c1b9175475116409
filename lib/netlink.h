/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rtnetlink plumbing both tiers share, over plain <linux/rtnetlink.h> (no
 * libmnl: the static musl agent cannot link it): a NETLINK_ROUTE socket,
 * requests with nested attributes built into a bounded buffer, and a reply
 * walker that checks every length before it reads.  The guest agent
 * configures its links, addresses, routes and neighbours with it; the host
 * reads a pod's namespace and makes taps, qdiscs and filters with it.
 *
 * A socket works in the network namespace its opener was in at nl_open();
 * a caller that wants another one enters it (setns) first.
 */
#ifndef HUSK_NETLINK_H
#define HUSK_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "err.h"

/* Room for one reply batch; the kernel fills up to 32 KiB per read. */
#define NL_BUF_SIZE 32768
/* Room for one request: a family header and some nested attributes. */
#define NL_REQ_SIZE 1024

struct nl_sock {
	int fd;
	unsigned int portid;
	unsigned int seq; /* of the request last sent */
	char *buf; /* NL_BUF_SIZE bytes for replies */
	char ext[160]; /* the kernel's extended-ACK message, if any */
};

/* One request being built: netlink header, family header, attributes. */
struct nl_req {
	union {
		struct nlmsghdr nlh;
		char buf[NL_REQ_SIZE];
	} u;
	bool full; /* something did not fit: sending it fails, EMSGSIZE */
};

/* Called for each data message of a reply; 0 to go on, or -errno to stop. */
typedef int (*nl_msg_cb)(const struct nlmsghdr *nlh, void *data);

/* Open and bind a NETLINK_ROUTE socket (extended ACKs on, if the kernel has
 * them). */
int nl_open(struct nl_sock *nl, struct herr *err);
/* Close it; a zeroed socket with fd -1, or one closed already, is fine. */
void nl_close(struct nl_sock *nl);
#define _cleanup_nl_sock_ __attribute__((cleanup(nl_close)))

/*
 * Fill @err with "<what>: <strerror(errnum)>", followed by the kernel's
 * own explanation in parentheses when the last reply carried one.
 * Returns -1.
 */
int nl_fail(struct herr *err, const struct nl_sock *nl, int errnum,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Building a request. */

/* Start @req as a message of @type with NLM_F_REQUEST | @flags. */
struct nlmsghdr *nl_req_init(struct nl_req *req, uint16_t type, uint16_t flags);
/* @size zeroed bytes at the end of @req (a family header), or NULL when full.
 */
void *nl_req_reserve(struct nl_req *req, size_t size);
/* The family header, right after the netlink header: call first. */
#define nl_req_hdr(req, type) ((type *)nl_req_reserve(req, sizeof(type)))

/* An attribute of @len bytes from @data; NULL (and @req full) when it does not
 * fit. */
struct rtattr *nl_attr_put(struct nl_req *req, unsigned short type,
			   const void *data, size_t len);
struct rtattr *nl_attr_put_u8(struct nl_req *req, unsigned short type,
			      uint8_t v);
struct rtattr *nl_attr_put_u16(struct nl_req *req, unsigned short type,
			       uint16_t v);
struct rtattr *nl_attr_put_u32(struct nl_req *req, unsigned short type,
			       uint32_t v);
/* A NUL-terminated string attribute. */
struct rtattr *nl_attr_put_str(struct nl_req *req, unsigned short type,
			       const char *s);
/*
 * Open a nested attribute: what is put until nl_attr_nest_end() goes
 * inside it; nests nest.  @type may carry NLA_F_NESTED where the kernel
 * asks for it.
 */
struct rtattr *nl_attr_nest_start(struct nl_req *req, unsigned short type);
void nl_attr_nest_end(struct nl_req *req, struct rtattr *nest);

/* Talking to the kernel. */

/*
 * Send @req and feed each data message of the reply to @cb (NULL: none
 * expected) until the kernel acknowledges the request or ends the dump.
 * Add NLM_F_ACK to a change request so that its success is reported too.
 * Returns 0 or the kernel's -errno; nl->ext then holds its explanation, if
 * it gave one.  -EINTR: a dump was interrupted by a change (see nl_dump).
 */
int nl_talk(struct nl_sock *nl, struct nl_req *req, nl_msg_cb cb, void *data);

/*
 * nl_talk() for a dump (NLM_F_DUMP request): a dump the kernel marks
 * inconsistent (the table changed meanwhile) is done again from the
 * start, at most three times, after @restart(@data) forgot what @cb
 * collected.
 */
int nl_dump(struct nl_sock *nl, struct nl_req *req, nl_msg_cb cb,
	    void (*restart)(void *data), void *data);

/*
 * Walk one batch of @len bytes received on @nl: messages of another
 * sequence number or port are skipped, each data message goes to @cb.
 * Returns 1 when the reply goes on in the next batch, 0 at its end (ACK
 * or NLMSG_DONE), or -errno (an error reply, a failed or interrupted
 * dump, an overrun, or what @cb returned).  A message whose length runs
 * past the batch ends the walk of that batch.  nl_talk() uses it.
 */
int nl_walk(struct nl_sock *nl, const void *buf, size_t len, nl_msg_cb cb,
	    void *data);

/* Reading replies: every accessor checks lengths first. */

/*
 * Index the attributes in @p[0..len) by type into @tb[0..max]: later
 * duplicates win, types above @max are left out, a truncated attribute
 * ends the walk.
 */
void nl_attrs_parse(const void *p, size_t len, const struct rtattr **tb,
		    unsigned int max);
/*
 * The attributes after @nlh's family header of @hdrlen bytes; false when
 * the message is too short to hold that header.
 */
bool nl_msg_attrs(const struct nlmsghdr *nlh, size_t hdrlen,
		  const struct rtattr **tb, unsigned int max);
/* The attributes nested in @a. */
void nl_attrs_nested(const struct rtattr *a, const struct rtattr **tb,
		     unsigned int max);
/* A u32 attribute into *@v; false when @a is NULL or too short. */
bool nl_attr_u32(const struct rtattr *a, uint32_t *v);
/* A string attribute, NUL-terminated within its payload, or NULL. */
const char *nl_attr_str(const struct rtattr *a);
/* Copy exactly @len bytes of payload into @dst; false on another size. */
bool nl_attr_copy(const struct rtattr *a, void *dst, size_t len);

#endif
