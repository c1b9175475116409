// SPDX-License-Identifier: Apache-2.0
/*
 * lib/netlink.c: requests built and parsed back, the reply walker fed
 * made-up batches (truncated, foreign, failed), and a real dump and change
 * of "lo" in a private network namespace (each test runs in its own forked
 * child, so the host's links are never touched).
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>

#include "netlink.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

/* A reply batch as the kernel would write it, 4-byte aligned. */
struct batch {
	union {
		struct nlmsghdr nlh;
		char buf[512];
	} u;
	size_t len;
};

static struct nlmsghdr *batch_add(struct batch *b, uint16_t type,
				  uint16_t flags, unsigned int seq,
				  unsigned int pid, const void *data,
				  size_t len)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(b->u.buf + b->len);

	h->nlmsg_len = (uint32_t)NLMSG_LENGTH(len);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = seq;
	h->nlmsg_pid = pid;
	if (len)
		memcpy(NLMSG_DATA(h), data, len);
	b->len += NLMSG_ALIGN(h->nlmsg_len);
	return h;
}

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	(*(int *)data)++;
	return 0;
}

static int stop_cb(const struct nlmsghdr *nlh, void *data)
{
	return -ECANCELED;
}

/* A sock that only walks: the walker needs its seq, port and ext. */
static struct nl_sock walk_sock(void)
{
	struct nl_sock nl = { .fd = -1, .portid = 77, .seq = 5 };

	return nl;
}

/* The shape the host needs for a tc filter: attributes three deep. */
TEST(build_nested_and_parse_back)
{
	struct nl_req req;
	struct tcmsg *tcm;
	struct rtattr *opts, *act, *one;
	const struct rtattr *tb[TCA_MAX + 1], *otb[TCA_U32_MAX + 1];
	const struct rtattr *atb[2], *ktb[TCA_ACT_MAX + 1];
	uint32_t v = 0;

	nl_req_init(&req, RTM_NEWTFILTER, NLM_F_ACK | NLM_F_CREATE);
	tcm = nl_req_hdr(&req, struct tcmsg);
	ASSERT_NE(NULL, tcm);
	tcm->tcm_ifindex = 3;
	nl_attr_put_str(&req, TCA_KIND, "u32");
	opts = nl_attr_nest_start(&req, TCA_OPTIONS);
	nl_attr_put_u32(&req, TCA_U32_CLASSID, 0x10001);
	act = nl_attr_nest_start(&req, TCA_U32_ACT);
	one = nl_attr_nest_start(&req, 1);
	nl_attr_put_str(&req, TCA_ACT_KIND, "mirred");
	nl_attr_nest_end(&req, one);
	nl_attr_nest_end(&req, act);
	nl_attr_nest_end(&req, opts);
	ASSERT_FALSE(req.full);
	EXPECT_EQ(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE,
		  req.u.nlh.nlmsg_flags);

	ASSERT_TRUE(nl_msg_attrs(&req.u.nlh, sizeof(*tcm), tb, TCA_MAX));
	EXPECT_STREQ("u32", nl_attr_str(tb[TCA_KIND]));
	ASSERT_NE(NULL, tb[TCA_OPTIONS]);
	/* The outer nest ends where the message ends. */
	EXPECT_EQ((char *)&req.u.nlh + req.u.nlh.nlmsg_len,
		  (char *)tb[TCA_OPTIONS] + tb[TCA_OPTIONS]->rta_len);
	nl_attrs_nested(tb[TCA_OPTIONS], otb, TCA_U32_MAX);
	ASSERT_TRUE(nl_attr_u32(otb[TCA_U32_CLASSID], &v));
	EXPECT_EQ(0x10001u, v);
	ASSERT_NE(NULL, otb[TCA_U32_ACT]);
	nl_attrs_nested(otb[TCA_U32_ACT], atb, 1);
	ASSERT_NE(NULL, atb[1]);
	nl_attrs_nested(atb[1], ktb, TCA_ACT_MAX);
	EXPECT_STREQ("mirred", nl_attr_str(ktb[TCA_ACT_KIND]));
}

TEST(request_full_is_refused)
{
	struct nl_sock nl = walk_sock();
	struct nl_req req;
	char big[200] = { 0 };
	int i;

	nl_req_init(&req, RTM_NEWLINK, NLM_F_ACK);
	ASSERT_NE(NULL, nl_req_hdr(&req, struct ifinfomsg));
	for (i = 0; i < 10; i++)
		nl_attr_put(&req, IFLA_IFALIAS, big, sizeof(big));
	EXPECT_TRUE(req.full);
	EXPECT_LE(req.u.nlh.nlmsg_len, (uint32_t)NL_REQ_SIZE);
	/* Nothing is put once full, even what would fit. */
	EXPECT_EQ(NULL, nl_attr_put_u8(&req, IFLA_OPERSTATE, 1));
	EXPECT_EQ(-EMSGSIZE, nl_talk(&nl, &req, NULL, NULL));
}

TEST(attrs_truncated_are_not_read)
{
	union {
		struct rtattr a;
		char buf[64];
	} u = { 0 };
	const struct rtattr *tb[IFLA_MAX + 1];
	struct rtattr *a = &u.a, *b;
	uint32_t v;

	a->rta_type = IFLA_MTU;
	a->rta_len = RTA_LENGTH(4);
	memcpy(RTA_DATA(a), &(uint32_t){ 1500 }, 4);
	b = (struct rtattr *)(u.buf + RTA_ALIGN(a->rta_len));
	b->rta_type = IFLA_IFNAME;
	b->rta_len = 40; /* runs past the 16 bytes we say are there */
	nl_attrs_parse(u.buf, RTA_ALIGN(a->rta_len) + 16, tb, IFLA_MAX);
	ASSERT_TRUE(nl_attr_u32(tb[IFLA_MTU], &v));
	EXPECT_EQ(1500u, v);
	EXPECT_EQ(NULL, tb[IFLA_IFNAME]);

	/* A length below the header's own stops the walk. */
	a->rta_len = 2;
	nl_attrs_parse(u.buf, sizeof(u.buf), tb, IFLA_MAX);
	EXPECT_EQ(NULL, tb[IFLA_MTU]);

	/* A string without its NUL, a u32 too short, a copy of another size. */
	a->rta_type = IFLA_IFNAME;
	a->rta_len = RTA_LENGTH(3);
	memcpy(RTA_DATA(a), "eth", 3);
	EXPECT_EQ(NULL, nl_attr_str(a));
	EXPECT_FALSE(nl_attr_u32(a, &v));
	EXPECT_FALSE(nl_attr_copy(a, &v, sizeof(v)));
	EXPECT_FALSE(nl_attr_u32(NULL, &v));
}

TEST(msg_too_short_for_its_header)
{
	struct nlmsghdr h = { .nlmsg_len = NLMSG_LENGTH(4) };
	const struct rtattr *tb[IFLA_MAX + 1];

	EXPECT_FALSE(nl_msg_attrs(&h, sizeof(struct ifinfomsg), tb, IFLA_MAX));
}

TEST(walk_data_then_done)
{
	struct nl_sock nl = walk_sock();
	struct ifinfomsg ifi = { 0 };
	struct batch b = { .len = 0 };
	int n = 0, zero = 0;

	batch_add(&b, RTM_NEWLINK, NLM_F_MULTI, 5, 77, &ifi, sizeof(ifi));
	/* Another request's and another port's messages are not ours. */
	batch_add(&b, RTM_NEWLINK, NLM_F_MULTI, 4, 77, &ifi, sizeof(ifi));
	batch_add(&b, RTM_NEWLINK, NLM_F_MULTI, 5, 78, &ifi, sizeof(ifi));
	batch_add(&b, RTM_NEWLINK, NLM_F_MULTI, 5, 77, &ifi, sizeof(ifi));
	/* Not the end yet: the dump goes on in the next batch. */
	EXPECT_EQ(1, nl_walk(&nl, b.u.buf, b.len, count_cb, &n));
	EXPECT_EQ(2, n);
	batch_add(&b, NLMSG_DONE, NLM_F_MULTI, 5, 77, &zero, sizeof(zero));
	n = 0;
	EXPECT_EQ(0, nl_walk(&nl, b.u.buf, b.len, count_cb, &n));
	EXPECT_EQ(2, n);
	EXPECT_EQ(-ECANCELED, nl_walk(&nl, b.u.buf, b.len, stop_cb, NULL));
}

TEST(walk_truncated_batch)
{
	struct nl_sock nl = walk_sock();
	struct ifinfomsg ifi = { 0 };
	struct batch b = { .len = 0 };
	struct nlmsghdr *h;
	int n = 0;

	batch_add(&b, RTM_NEWLINK, NLM_F_MULTI, 5, 77, &ifi, sizeof(ifi));
	h = batch_add(&b, RTM_NEWLINK, NLM_F_MULTI, 5, 77, &ifi, sizeof(ifi));
	/* The second message claims more than the batch holds. */
	h->nlmsg_len += 64;
	EXPECT_EQ(1, nl_walk(&nl, b.u.buf, b.len, count_cb, &n));
	EXPECT_EQ(1, n);
	/* A cut header, and a length below a header's own, end the walk. */
	n = 0;
	EXPECT_EQ(1, nl_walk(&nl, b.u.buf, 10, count_cb, &n));
	EXPECT_EQ(0, n);
	h->nlmsg_len = 4;
	EXPECT_EQ(1, nl_walk(&nl, h, sizeof(*h), count_cb, &n));
	EXPECT_EQ(0, n);
}

TEST(walk_error_with_kernel_message)
{
	struct nl_sock nl = walk_sock();
	struct batch b = { .len = 0 };
	struct {
		struct nlmsgerr e;
		struct rtattr a;
		char msg[16];
	} __attribute__((packed)) er = { 0 };
	struct herr err;

	er.e.error = -EPERM;
	er.e.msg.nlmsg_len = NLMSG_HDRLEN; /* our request, its body cut */
	er.a.rta_type = NLMSGERR_ATTR_MSG;
	er.a.rta_len = RTA_LENGTH(sizeof(er.msg));
	snprintf(er.msg, sizeof(er.msg), "not allowed");
	batch_add(&b, NLMSG_ERROR, NLM_F_ACK_TLVS, 5, 77, &er, sizeof(er));
	EXPECT_EQ(-EPERM, nl_walk(&nl, b.u.buf, b.len, NULL, NULL));
	EXPECT_STREQ("not allowed", nl.ext);
	EXPECT_EQ(-1, nl_fail(&err, &nl, EPERM, "link %s: set up", "x0"));
	EXPECT_STREQ("link x0: set up: Operation not permitted (not allowed)",
		     err.msg);

	/* The plain ACK. */
	b.len = 0;
	memset(&er, 0, sizeof(er));
	batch_add(&b, NLMSG_ERROR, 0, 5, 77, &er.e, sizeof(er.e));
	EXPECT_EQ(0, nl_walk(&nl, b.u.buf, b.len, NULL, NULL));

	/* An error message too short to hold struct nlmsgerr. */
	b.len = 0;
	batch_add(&b, NLMSG_ERROR, 0, 5, 77, &er.e, 4);
	EXPECT_EQ(-EBADMSG, nl_walk(&nl, b.u.buf, b.len, NULL, NULL));
}

TEST(walk_failed_and_interrupted_dumps)
{
	struct nl_sock nl = walk_sock();
	struct batch b = { .len = 0 };
	int r = -ENOBUFS, n = 0;

	batch_add(&b, NLMSG_DONE, NLM_F_MULTI, 5, 77, &r, sizeof(r));
	EXPECT_EQ(-ENOBUFS, nl_walk(&nl, b.u.buf, b.len, count_cb, &n));
	b.len = 0;
	batch_add(&b, RTM_NEWADDR, NLM_F_MULTI | NLM_F_DUMP_INTR, 5, 77, &r,
		  sizeof(r));
	EXPECT_EQ(-EINTR, nl_walk(&nl, b.u.buf, b.len, count_cb, &n));
	EXPECT_EQ(0, n);
}

/* The links of a dump, by name. */
struct seen {
	int lo_index;
	unsigned int lo_flags;
	int links;
	int restarts;
};

static int link_seen(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nlh);
	const struct rtattr *tb[IFLA_MAX + 1];
	struct seen *s = data;
	const char *name;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    !nl_msg_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX))
		return 0;
	s->links++;
	name = nl_attr_str(tb[IFLA_IFNAME]);
	if (name && !strcmp(name, "lo")) {
		s->lo_index = ifi->ifi_index;
		s->lo_flags = ifi->ifi_flags;
	}
	return 0;
}

static void seen_restart(void *data)
{
	struct seen *s = data;

	s->links = 0;
	s->restarts++;
}

static int dump_links(struct nl_sock *nl, struct seen *s)
{
	struct nl_req req;
	struct ifinfomsg *ifi;

	memset(s, 0, sizeof(*s));
	nl_req_init(&req, RTM_GETLINK, NLM_F_DUMP);
	ifi = nl_req_hdr(&req, struct ifinfomsg);
	ifi->ifi_family = AF_UNSPEC;
	return nl_dump(nl, &req, link_seen, seen_restart, s);
}

TEST(real_dump_and_change_in_private_netns)
{
	_cleanup_nl_sock_ struct nl_sock nl = { .fd = -1 };
	struct herr err;
	struct nl_req req;
	struct ifinfomsg *ifi;
	struct ifaddrmsg *ifa;
	uint8_t addr[4] = { 10, 0, 0, 1 };
	struct seen s;
	int r;

	ASSERT_EQ(0, unshare(CLONE_NEWNET))
	TH_LOG("unshare(CLONE_NEWNET): %s", strerror(errno));
	ASSERT_EQ(0, nl_open(&nl, &err))
	TH_LOG("%s", err.msg);

	/* A new namespace holds only lo, and lo is down. */
	ASSERT_EQ(0, dump_links(&nl, &s));
	EXPECT_EQ(1, s.links);
	EXPECT_EQ((int)if_nametoindex("lo"), s.lo_index);
	EXPECT_FALSE(!!(s.lo_flags & IFF_UP));
	EXPECT_TRUE(!!(s.lo_flags & IFF_LOOPBACK));

	/* Up by name, acknowledged; the next dump sees it. */
	nl_req_init(&req, RTM_NEWLINK, NLM_F_ACK);
	ifi = nl_req_hdr(&req, struct ifinfomsg);
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = IFF_UP;
	nl_attr_put_str(&req, IFLA_IFNAME, "lo");
	ASSERT_EQ(0, nl_talk(&nl, &req, NULL, NULL));
	ASSERT_EQ(0, dump_links(&nl, &s));
	EXPECT_TRUE(!!(s.lo_flags & IFF_UP));

	/* The kernel's errno comes back, with its explanation if any. */
	nl_req_init(&req, RTM_NEWLINK, NLM_F_ACK);
	ifi = nl_req_hdr(&req, struct ifinfomsg);
	nl_attr_put_str(&req, IFLA_IFNAME, "nosuch0");
	EXPECT_EQ(-ENODEV, nl_talk(&nl, &req, NULL, NULL));
	nl_req_init(&req, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE);
	ifa = nl_req_hdr(&req, struct ifaddrmsg);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 33;
	ifa->ifa_index = (unsigned int)s.lo_index;
	nl_attr_put(&req, IFA_LOCAL, &addr, sizeof(addr));
	r = nl_talk(&nl, &req, NULL, NULL);
	EXPECT_EQ(-EINVAL, r);
	nl_fail(&err, &nl, -r, "lo: add 10.0.0.1/33");
	TH_LOG("%s", err.msg);
	EXPECT_EQ(0, strncmp(err.msg, "lo: add 10.0.0.1/33: Invalid argument",
			     37));
	/* The socket still works after an error. */
	EXPECT_EQ(0, dump_links(&nl, &s));
}

TEST_HARNESS_MAIN
