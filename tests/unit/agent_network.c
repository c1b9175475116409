// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's network calls (agent/net-*.c) against the real kernel: every test
 * runs in its own forked child, which moves into a fresh network namespace
 * first, so the host's links are never touched.  A veth pair (v0
 * 02:00:00:00:00:01, v1) stands in for the NIC the runtime hot-plugs.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "network.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

#define V0_MAC "02:00:00:00:00:01"

/* Output of a shell command (at most 4 KiB), for cross-checks with ip(8). */
static char *sh_out(const char *cmd)
{
	char *buf = xcalloc(1, 4096);
	FILE *f = popen(cmd, "r");
	size_t n;

	if (!f)
		return buf;
	n = fread(buf, 1, 4095, f);
	buf[n] = '\0';
	pclose(f);
	return buf;
}

static const Types__Interface *find_ifc(const Grpc__Interfaces *l,
					const char *name)
{
	size_t i;

	for (i = 0; i < l->n_interfaces; i++)
		if (!strcmp(l->interfaces[i]->name, name))
			return l->interfaces[i];
	return NULL;
}

static bool has_addr(const Types__Interface *ifc, const char *addr,
		     const char *mask)
{
	size_t i;

	for (i = 0; i < ifc->n_ipaddresses; i++)
		if (!strcmp(ifc->ipaddresses[i]->address, addr) &&
		    !strcmp(ifc->ipaddresses[i]->mask, mask))
			return true;
	return false;
}

static const Types__Route *find_route(const Grpc__Routes *l, const char *dest)
{
	size_t i;

	for (i = 0; i < l->n_routes; i++)
		if (!strcmp(l->routes[i]->dest, dest))
			return l->routes[i];
	return NULL;
}

FIXTURE(net)
{
	struct herr err;
};

FIXTURE_SETUP(net)
{
	ASSERT_EQ(0, unshare(CLONE_NEWNET))
	TH_LOG("unshare(CLONE_NEWNET): %s", strerror(errno));
	ASSERT_EQ(0,
		  system("ip link add v0 address " V0_MAC
			 " type veth peer name v1 address 02:00:00:00:00:02"));
	ASSERT_EQ(0, system("ip link set v1 up"));
	herr_clear(&self->err);
}

FIXTURE_TEARDOWN(net)
{
}

/* The interface the runtime sends for v0 in most tests. */
struct want_ifc {
	Types__Interface ifc;
	Types__IPAddress a[3];
	Types__IPAddress *ap[3];
};

static void want_ifc_init(struct want_ifc *r, const char *hw, const char *name)
{
	size_t i;

	types__interface__init(&r->ifc);
	for (i = 0; i < ARRAY_SIZE(r->a); i++) {
		types__ipaddress__init(&r->a[i]);
		r->ap[i] = &r->a[i];
	}
	r->ifc.hwaddr = (char *)hw;
	r->ifc.name = (char *)name;
	r->ifc.ipaddresses = r->ap;
}

static void want_ifc_addr(struct want_ifc *r, int fam, const char *addr,
			  const char *mask)
{
	Types__IPAddress *a = &r->a[r->ifc.n_ipaddresses++];

	a->family = fam;
	a->address = (char *)addr;
	a->mask = (char *)mask;
}

TEST_F(net, update_interface_sets_name_mtu_addresses_flags)
{
	Grpc__Interfaces *all = NULL;
	Types__Interface *out = NULL;
	const Types__Interface *eth;
	struct want_ifc r;
	char *ip;

	want_ifc_init(&r, V0_MAC, "eth7");
	want_ifc_addr(&r, TYPES__IPFAMILY__v4, "10.1.1.2", "24");
	want_ifc_addr(&r, TYPES__IPFAMILY__v6, "fd00::2", "64");
	r.ifc.mtu = 1400;
	r.ifc.raw_flags = IFF_NOARP;

	ASSERT_EQ(0, net_update_interface(&r.ifc, &out, &self->err))
	TH_LOG("%s", self->err.msg);
	ASSERT_NE(NULL, out);
	EXPECT_STREQ("eth7", out->name);
	EXPECT_EQ(1400u, out->mtu);
	EXPECT_STREQ(V0_MAC, out->hwaddr);
	EXPECT_TRUE(!!(out->raw_flags & IFF_UP));
	EXPECT_TRUE(!!(out->raw_flags & IFF_NOARP));
	EXPECT_TRUE(has_addr(out, "10.1.1.2", "24"));
	EXPECT_TRUE(has_addr(out, "fd00::2", "64"));
	EXPECT_STREQ("veth", out->type);
	net_interface_free(out);

	ASSERT_EQ(0, net_list_interfaces(&all, &self->err))
	TH_LOG("%s", self->err.msg);
	eth = find_ifc(all, "eth7");
	ASSERT_NE(NULL, eth);
	EXPECT_EQ(1400u, eth->mtu);
	EXPECT_TRUE(has_addr(eth, "10.1.1.2", "24"));
	EXPECT_NE(NULL, find_ifc(all, "lo"));
	EXPECT_NE(NULL, find_ifc(all, "v1"));
	EXPECT_EQ(NULL, find_ifc(all, "v0"));
	net_interfaces_free(all);

	/* What ip(8) sees agrees. */
	ip = sh_out("ip -o addr show dev eth7; ip -o link show dev eth7");
	EXPECT_NE(NULL, strstr(ip, "inet 10.1.1.2/24 brd 10.1.1.255"))
	TH_LOG("%s", ip);
	EXPECT_NE(NULL, strstr(ip, "inet6 fd00::2/64"));
	EXPECT_NE(NULL, strstr(ip, "NOARP"));
	EXPECT_NE(NULL, strstr(ip, "mtu 1400"));
	free(ip);
}

TEST_F(net, update_interface_replaces_addresses_and_clears_noarp)
{
	Types__Interface *out = NULL;
	struct want_ifc r;

	want_ifc_init(&r, V0_MAC, "eth0");
	want_ifc_addr(&r, TYPES__IPFAMILY__v4, "10.1.1.2", "24");
	want_ifc_addr(&r, TYPES__IPFAMILY__v4, "10.9.9.9", "16");
	r.ifc.raw_flags = IFF_NOARP;
	ASSERT_EQ(0, net_update_interface(&r.ifc, NULL, &self->err))
	TH_LOG("%s", self->err.msg);

	/* Same call again with a different set: the old ones go. */
	want_ifc_init(&r, "02:00:00:00:00:01", "eth0");
	want_ifc_addr(&r, TYPES__IPFAMILY__v4, "10.1.1.3", "24");
	ASSERT_EQ(0, net_update_interface(&r.ifc, &out, &self->err))
	TH_LOG("%s", self->err.msg);
	EXPECT_TRUE(has_addr(out, "10.1.1.3", "24"));
	EXPECT_FALSE(has_addr(out, "10.1.1.2", "24"));
	EXPECT_FALSE(has_addr(out, "10.9.9.9", "16"));
	EXPECT_FALSE(!!(out->raw_flags & IFF_NOARP));
	EXPECT_TRUE(!!(out->raw_flags & IFF_UP));
	net_interface_free(out);
}

TEST_F(net, update_interface_by_name_without_hwaddr)
{
	Types__Interface *out = NULL;
	struct want_ifc r;

	want_ifc_init(&r, "", "v0");
	want_ifc_addr(&r, TYPES__IPFAMILY__v4, "192.168.7.1", "32");
	ASSERT_EQ(0, net_update_interface(&r.ifc, &out, &self->err))
	TH_LOG("%s", self->err.msg);
	EXPECT_STREQ("v0", out->name);
	EXPECT_TRUE(has_addr(out, "192.168.7.1", "32"));
	net_interface_free(out);
}

TEST_F(net, missing_link_is_not_found)
{
	Types__Interface *out = NULL;
	struct want_ifc r;

	want_ifc_init(&r, "02:00:00:00:00:99", "eth0");
	ASSERT_EQ(-1, net_update_interface(&r.ifc, &out, &self->err));
	EXPECT_EQ(GRPC_NOT_FOUND, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "Link not found"))
	TH_LOG("%s", self->err.msg);
	EXPECT_NE(NULL, strstr(self->err.msg, "02:00:00:00:00:99"));
	EXPECT_EQ(NULL, out);

	want_ifc_init(&r, "", "nosuch0");
	ASSERT_EQ(-1, net_update_interface(&r.ifc, NULL, &self->err));
	EXPECT_EQ(GRPC_NOT_FOUND, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "Link not found"));
}

TEST_F(net, bad_input_is_invalid_argument)
{
	static const struct {
		const char *hw, *name, *addr, *mask;
		int fam;
		const char *field;
	} cases[] = {
		{ "02:00:00:00:00", "eth0", "10.0.0.1", "24", 0, "hwAddr" },
		{ "02:00:00:00:00:0g", "eth0", "10.0.0.1", "24", 0, "hwAddr" },
		{ "02:00:00:00:00:01:", "eth0", "10.0.0.1", "24", 0, "hwAddr" },
		{ V0_MAC, "eth0", "10.0.0.256", "24", 0,
		  "address \"10.0.0.256\"" },
		{ V0_MAC, "eth0", "bogus", "24", 0, "address \"bogus\"" },
		{ V0_MAC, "eth0", "10.0.0.1", "33", 0, "mask \"33\"" },
		{ V0_MAC, "eth0", "10.0.0.1", "2x", 0, "mask \"2x\"" },
		{ V0_MAC, "eth0", "10.0.0.1", "-1", 0, "mask \"-1\"" },
		{ V0_MAC, "eth0", "fd00::1", "129", 1, "mask \"129\"" },
		{ V0_MAC, "eth0", "10.0.0.1", "24", 1, "not an IPv6 address" },
		{ V0_MAC, "a/b", "10.0.0.1", "24", 0, "name \"a/b\"" },
		{ V0_MAC, "0123456789abcdef", "10.0.0.1", "24", 0, "name" },
	};
	struct want_ifc r;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		herr_clear(&self->err);
		want_ifc_init(&r, cases[i].hw, cases[i].name);
		want_ifc_addr(&r, cases[i].fam, cases[i].addr, cases[i].mask);
		EXPECT_EQ(-1, net_update_interface(&r.ifc, NULL, &self->err));
		EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code)
		TH_LOG("case %zu: %s", i, self->err.msg);
		EXPECT_NE(NULL, strstr(self->err.msg, cases[i].field))
		TH_LOG("case %zu: %s", i, self->err.msg);
	}
	/* Nothing was applied on the way. */
	EXPECT_EQ(0, system("ip -o addr show dev v0 | grep -q 10.0.0.1 && exit "
			    "1; exit 0"));
}

TEST_F(net, kernel_refusal_names_interface_and_value)
{
	struct want_ifc r;

	want_ifc_init(&r, V0_MAC, "eth0");
	r.ifc.mtu = 70000;
	ASSERT_EQ(-1, net_update_interface(&r.ifc, NULL, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL,
		  strstr(self->err.msg,
			 "interface eth0: set mtu 70000: Invalid argument"))
	TH_LOG("%s", self->err.msg);
}

/* init/loopback.c brings lo up at boot; here ip(8) does. */
TEST_F(net, loopback_listed)
{
	Grpc__Interfaces *all = NULL;
	const Types__Interface *lo;

	ASSERT_EQ(0, system("ip link set lo up"));
	ASSERT_EQ(0, net_list_interfaces(&all, &self->err));
	lo = find_ifc(all, "lo");
	ASSERT_NE(NULL, lo);
	EXPECT_TRUE(!!(lo->raw_flags & IFF_UP));
	EXPECT_TRUE(!!(lo->raw_flags & IFF_LOOPBACK));
	EXPECT_STREQ("00:00:00:00:00:00", lo->hwaddr);
	EXPECT_TRUE(has_addr(lo, "127.0.0.1", "8"));
	net_interfaces_free(all);
}

/* Routes the runtime sends for a pod: subnet, default, a gateway'd net. */
TEST_F(net, update_routes_replaces_table)
{
	Types__Route r[5];
	Types__Route *rp[5];
	Grpc__Routes want = GRPC__ROUTES__INIT;
	Grpc__Routes *out = NULL, *list = NULL;
	const Types__Route *got;
	struct want_ifc ifc;
	char *ip;
	size_t i;

	want_ifc_init(&ifc, V0_MAC, "eth0");
	want_ifc_addr(&ifc, TYPES__IPFAMILY__v4, "10.1.1.2", "24");
	want_ifc_addr(&ifc, TYPES__IPFAMILY__v6, "fd00::2", "64");
	ASSERT_EQ(0, net_update_interface(&ifc.ifc, NULL, &self->err))
	TH_LOG("%s", self->err.msg);
	/* A stale route the update must remove. */
	ASSERT_EQ(0, system("ip route add 172.16.0.0/16 dev eth0"));

	for (i = 0; i < ARRAY_SIZE(r); i++) {
		types__route__init(&r[i]);
		rp[i] = &r[i];
	}
	/* Gateway routes first in the request: the agent must reorder. */
	r[0].dest = "default";
	r[0].gateway = "10.1.1.1";
	r[0].device = "eth0";
	r[1].dest = "192.168.5.0/24";
	r[1].gateway = "10.1.1.254";
	r[1].mtu = 1300;
	r[2].dest = "10.1.1.0/24";
	r[2].device = "eth0";
	r[2].source = "10.1.1.2";
	r[2].scope = 253;
	r[3].dest = "10.3.0.0/16";
	r[3].device = "eth0";
	r[3].scope = 253;
	r[4].dest = "fd01::/64";
	r[4].gateway = "fd00::1";
	r[4].device = "eth0";
	r[4].family = TYPES__IPFAMILY__v6;
	want.routes = rp;
	want.n_routes = 5;

	ASSERT_EQ(0, net_update_routes(&want, &out, &self->err))
	TH_LOG("%s", self->err.msg);
	got = find_route(out, "default");
	ASSERT_NE(NULL, got);
	EXPECT_STREQ("10.1.1.1", got->gateway);
	EXPECT_STREQ("eth0", got->device);
	got = find_route(out, "192.168.5.0/24");
	ASSERT_NE(NULL, got);
	EXPECT_STREQ("10.1.1.254", got->gateway);
	EXPECT_EQ(1300u, got->mtu);
	got = find_route(out, "10.1.1.0/24");
	ASSERT_NE(NULL, got);
	EXPECT_STREQ("10.1.1.2", got->source);
	EXPECT_EQ(253u, got->scope);
	got = find_route(out, "fd01::/64");
	ASSERT_NE(NULL, got);
	EXPECT_EQ(TYPES__IPFAMILY__v6, (int)got->family);
	EXPECT_STREQ("fd00::1", got->gateway);
	EXPECT_EQ(NULL, find_route(out, "172.16.0.0/16"));
	net_routes_free(out);

	/* Replace with less: what is no longer wanted goes. */
	want.routes = &rp[2];
	want.n_routes = 1;
	ASSERT_EQ(0, net_update_routes(&want, NULL, &self->err))
	TH_LOG("%s", self->err.msg);
	ASSERT_EQ(0, net_list_routes(&list, &self->err));
	EXPECT_EQ(NULL, find_route(list, "default"));
	EXPECT_EQ(NULL, find_route(list, "192.168.5.0/24"));
	EXPECT_EQ(NULL, find_route(list, "10.3.0.0/16"));
	EXPECT_EQ(NULL, find_route(list, "fd01::/64"));
	EXPECT_NE(NULL, find_route(list, "10.1.1.0/24"));
	/* The kernel's own IPv6 subnet route stays. */
	EXPECT_NE(NULL, find_route(list, "fd00::/64"));
	net_routes_free(list);

	ip = sh_out("ip route show table main");
	EXPECT_EQ(NULL, strstr(ip, "default")) TH_LOG("%s", ip);
	EXPECT_NE(NULL, strstr(ip, "10.1.1.0/24 dev eth0"));
	free(ip);
}

TEST_F(net, bad_routes)
{
	Types__Route r;
	Types__Route *rp = &r;
	Grpc__Routes want = GRPC__ROUTES__INIT;

	want.routes = &rp;
	want.n_routes = 1;

	types__route__init(&r);
	r.dest = "10.0.0.0/33";
	r.device = "v0";
	ASSERT_EQ(-1, net_update_routes(&want, NULL, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "route 10.0.0.0/33"))
	TH_LOG("%s", self->err.msg);

	types__route__init(&r);
	r.dest = "nonsense";
	ASSERT_EQ(-1, net_update_routes(&want, NULL, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "dest \"nonsense\""));

	types__route__init(&r);
	r.dest = "default";
	r.gateway = "fd00::1";
	r.family = TYPES__IPFAMILY__v4;
	r.source = "10.0.0.1";
	ASSERT_EQ(-1, net_update_routes(&want, NULL, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "source \"10.0.0.1\""))
	TH_LOG("%s", self->err.msg);

	types__route__init(&r);
	r.dest = "10.5.0.0/16";
	r.device = "eth9";
	ASSERT_EQ(-1, net_update_routes(&want, NULL, &self->err));
	EXPECT_EQ(GRPC_NOT_FOUND, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "eth9: Link not found"))
	TH_LOG("%s", self->err.msg);

	/* A gateway nothing leads to: the kernel refuses, we name the route. */
	types__route__init(&r);
	r.dest = "10.6.0.0/16";
	r.gateway = "10.99.0.1";
	ASSERT_EQ(-1, net_update_routes(&want, NULL, &self->err));
	EXPECT_NE(NULL,
		  strstr(self->err.msg, "route 10.6.0.0/16 via 10.99.0.1: add"))
	TH_LOG("%s", self->err.msg);
}

TEST_F(net, arp_neighbor_added)
{
	Types__IPAddress to = TYPES__IPADDRESS__INIT;
	Types__ARPNeighbor nb = TYPES__ARPNEIGHBOR__INIT;
	Types__ARPNeighbor *nbp = &nb;
	Grpc__ARPNeighbors list = GRPC__ARPNEIGHBORS__INIT;
	char *ip;

	ASSERT_EQ(
		0,
		system("ip link set v0 up && ip addr add 10.1.1.2/24 dev v0"));
	to.address = "10.1.1.5";
	nb.toipaddress = &to;
	nb.device = "v0";
	nb.lladdr = "02:00:00:00:00:05";
	nb.state = 0x80; /* NUD_PERMANENT */
	list.arpneighbors = &nbp;
	list.n_arpneighbors = 1;
	ASSERT_EQ(0, net_add_arp_neighbors(&list, &self->err))
	TH_LOG("%s", self->err.msg);
	/* Again: replaces, no EEXIST. */
	ASSERT_EQ(0, net_add_arp_neighbors(&list, &self->err))
	TH_LOG("%s", self->err.msg);
	ip = sh_out("ip neigh show dev v0");
	EXPECT_NE(NULL,
		  strstr(ip, "10.1.1.5 lladdr 02:00:00:00:00:05 PERMANENT"))
	TH_LOG("%s", ip);
	free(ip);

	nb.device = "nope0";
	ASSERT_EQ(-1, net_add_arp_neighbors(&list, &self->err));
	EXPECT_EQ(GRPC_NOT_FOUND, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "Link not found"));

	nb.device = "v0";
	nb.lladdr = "zz";
	ASSERT_EQ(-1, net_add_arp_neighbors(&list, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "lladdr \"zz\""));

	nb.lladdr = "02:00:00:00:00:05";
	to.address = "10.1.1";
	ASSERT_EQ(-1, net_add_arp_neighbors(&list, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "toIPAddress \"10.1.1\""));
}

TEST_HARNESS_MAIN
