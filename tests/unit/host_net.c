// SPDX-License-Identifier: Apache-2.0
/*
 * host/net*.c against real namespaces (root): a "pod" namespace with two
 * veths whose peers sit in an "outside" one, addresses, routes and a
 * permanent neighbour made with ip(8) (the test may use ip and tc; the
 * code under test may not).  The scan is checked field by field, taps of
 * both models are made, an ARP exchange goes through the tc redirects,
 * and removal, crash sweep and failures leave nothing behind.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "net.h"

static char pod_ns[64], out_ns[64], pod_path[96];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The output of a command, NUL-terminated in @buf. */
static const char *out(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static const char *out(char *buf, size_t size, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	size_t n = 0;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	buf[0] = '\0';
	f = popen(cmd, "r");
	if (!f)
		return buf;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	pclose(f);
	return buf;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static bool ip4_eq(const uint8_t *a, const char *s)
{
	struct in_addr in;

	return inet_pton(AF_INET, s, &in) == 1 && !memcmp(a, &in, 4);
}

static bool ip6_eq(const uint8_t *a, const char *s)
{
	struct in6_addr in;

	return inet_pton(AF_INET6, s, &in) == 1 && !memcmp(a, &in, 16);
}

static const struct net_route *find_route(const struct net_pod *pod, int family,
					  const char *dst, unsigned int len)
{
	for (unsigned int i = 0; i < pod->n_routes; i++) {
		const struct net_route *r = &pod->routes[i];

		if (r->family != family || r->dst_len != len)
			continue;
		if (family == AF_INET ? ip4_eq(r->dst, dst)
				      : ip6_eq(r->dst, dst))
			return r;
	}
	return NULL;
}

static const uint8_t mac0[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t mac1[6] = { 2, 0, 0, 0, 0, 2 };
static const uint8_t mac_gw[6] = { 2, 0, 0, 0, 0, 0xaa };

/* Nothing of husk's in the pod namespace: only lo, veth0 and veth1, and
 * no qdisc or filter on ingress. */
static void assert_pristine(struct __test_metadata *_metadata)
{
	char buf[4096];

	out(buf, sizeof(buf), "ip -n %s -o link show", pod_ns);
	EXPECT_EQ(3, count_lines(buf))
	TH_LOG("links left: %s", buf);
	EXPECT_EQ(NULL, strstr(buf, NET_TAP_PREFIX "tap"));
	EXPECT_EQ(NULL, strstr(buf, NET_TAP_PREFIX "mvt"));
	for (int i = 0; i < 2; i++) {
		out(buf, sizeof(buf), "tc -n %s qdisc show dev veth%d", pod_ns,
		    i);
		EXPECT_EQ(NULL, strstr(buf, "ingress"))
		TH_LOG("veth%d: %s", i, buf);
	}
}

FIXTURE(podns)
{
	struct net_pod *pod;
	struct herr err;
	bool root;
};

FIXTURE_SETUP(podns)
{
	self->root = geteuid() == 0 && access("/usr/sbin/ip", X_OK) == 0;
	self->pod = calloc(1, sizeof(*self->pod));
	ASSERT_NE(NULL, self->pod);
	net_pod_init(self->pod);
	if (!self->root)
		return;
	snprintf(pod_ns, sizeof(pod_ns), "husk-unit-pod-%d", getpid());
	snprintf(out_ns, sizeof(out_ns), "husk-unit-out-%d", getpid());
	snprintf(pod_path, sizeof(pod_path), "/run/netns/%s", pod_ns);
	ASSERT_EQ(
		0,
		sh("set -e; P=%s O=%s; exec >/dev/null\n"
		   "ip netns add $P; ip netns add $O\n"
		   "ip -n $P link set lo up\n"
		   "ip -n $P link add veth0 type veth peer name out0 netns $O\n"
		   "ip -n $P link add veth1 type veth peer name out1 netns $O\n"
		   "ip -n $P link set veth0 address 02:00:00:00:00:01 mtu 1400 "
		   "up\n"
		   "ip -n $P link set veth1 address 02:00:00:00:00:02 up\n"
		   "ip -n $O link set out0 up; ip -n $O link set out1 up\n"
		   "ip -n $O addr add 10.55.0.1/24 dev out0\n"
		   "ip -n $P addr add 10.55.0.2/24 dev veth0\n"
		   "ip -n $P addr add 2001:db8::2/64 dev veth0 nodad\n"
		   "ip -n $P addr add 10.56.0.2/24 dev veth1\n"
		   "ip -n $P route add default via 10.55.0.1\n"
		   "ip -n $P route add 10.66.0.0/16 via 10.56.0.254\n"
		   "ip -n $P -6 route add default via 2001:db8::1\n"
		   "ip -n $P neigh add 10.55.0.1 lladdr 02:00:00:00:00:aa "
		   "dev veth0 nud permanent\n",
		   pod_ns, out_ns));
}

FIXTURE_TEARDOWN(podns)
{
	net_taps_remove(self->pod, NULL);
	free(self->pod);
	if (!self->root)
		return;
	sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null", pod_ns,
	   out_ns);
}

#define NEED_ROOT()                                           \
	do {                                                  \
		if (!self->root)                              \
			SKIP(return, "needs root and ip(8)"); \
	} while (0)

TEST_F(podns, scan_reads_every_field)
{
	const struct net_iface *v0, *v1;
	const struct net_route *r;
	const struct net_neigh *n;

	NEED_ROOT();
	ASSERT_EQ(0, net_scan(self->pod, pod_path, 8, &self->err))
	TH_LOG("%s", self->err.msg);
	ASSERT_EQ(2u, self->pod->n_ifaces);
	v0 = &self->pod->ifaces[0];
	v1 = &self->pod->ifaces[1];
	EXPECT_STREQ("veth0", v0->name);
	EXPECT_STREQ("veth1", v1->name);
	EXPECT_EQ(0, memcmp(mac0, v0->mac, 6));
	EXPECT_EQ(0, memcmp(mac1, v1->mac, 6));
	EXPECT_EQ(1400u, v0->mtu);
	EXPECT_EQ(1500u, v1->mtu);
	EXPECT_STREQ("veth", v0->kind);
	EXPECT_TRUE(!!(v0->flags & IFF_UP));
	EXPECT_EQ(-1, v0->tap_fd);

	/* Addresses: IPv4 and the global IPv6 one, not the link-local. */
	ASSERT_EQ(2u, v0->n_addrs);
	EXPECT_EQ(AF_INET, v0->addrs[0].family);
	EXPECT_TRUE(ip4_eq(v0->addrs[0].addr, "10.55.0.2"));
	EXPECT_EQ(24, v0->addrs[0].prefix);
	EXPECT_EQ(AF_INET6, v0->addrs[1].family);
	EXPECT_TRUE(ip6_eq(v0->addrs[1].addr, "2001:db8::2"));
	EXPECT_EQ(64, v0->addrs[1].prefix);
	ASSERT_EQ(1u, v1->n_addrs);
	EXPECT_TRUE(ip4_eq(v1->addrs[0].addr, "10.56.0.2"));

	/* Routes: the two defaults, the gatewayed /16, the subnets the
	 * kernel made; IPv6 link-local ones left out. */
	EXPECT_EQ(6u, self->pod->n_routes);
	r = find_route(self->pod, AF_INET, "0.0.0.0", 0);
	ASSERT_NE(NULL, r);
	EXPECT_TRUE(r->has_gw);
	EXPECT_TRUE(ip4_eq(r->gw, "10.55.0.1"));
	EXPECT_STREQ("veth0", r->dev);
	EXPECT_EQ(v0->ifindex, r->oif);
	EXPECT_EQ(RT_SCOPE_UNIVERSE, r->scope);
	r = find_route(self->pod, AF_INET, "10.66.0.0", 16);
	ASSERT_NE(NULL, r);
	EXPECT_TRUE(ip4_eq(r->gw, "10.56.0.254"));
	EXPECT_STREQ("veth1", r->dev);
	r = find_route(self->pod, AF_INET, "10.55.0.0", 24);
	ASSERT_NE(NULL, r);
	EXPECT_FALSE(r->has_gw);
	EXPECT_TRUE(r->has_src);
	EXPECT_TRUE(ip4_eq(r->src, "10.55.0.2"));
	EXPECT_EQ(RT_SCOPE_LINK, r->scope);
	EXPECT_EQ(RTPROT_KERNEL, r->protocol);
	EXPECT_NE(NULL, find_route(self->pod, AF_INET, "10.56.0.0", 24));
	r = find_route(self->pod, AF_INET6, "::", 0);
	ASSERT_NE(NULL, r);
	EXPECT_TRUE(ip6_eq(r->gw, "2001:db8::1"));
	EXPECT_NE(NULL, find_route(self->pod, AF_INET6, "2001:db8::", 64));
	EXPECT_EQ(NULL, find_route(self->pod, AF_INET6, "fe80::", 64));

	/* The permanent neighbour, and nothing learnt. */
	ASSERT_EQ(1u, self->pod->n_neighs);
	n = &self->pod->neighs[0];
	EXPECT_EQ(AF_INET, n->family);
	EXPECT_TRUE(ip4_eq(n->ip, "10.55.0.1"));
	EXPECT_EQ(0, memcmp(mac_gw, n->lladdr, 6));
	EXPECT_STREQ("veth0", n->dev);
	EXPECT_TRUE(!!(n->state & NUD_PERMANENT));

	/* Reading changed nothing, and the caller stayed where it was. */
	assert_pristine(_metadata);
	EXPECT_EQ(1, net_ns_is_own("/proc/self/ns/net", &self->err));
	EXPECT_EQ(0, net_ns_is_own(pod_path, &self->err));
}

/* An ARP request for 10.55.0.1 written to the tap leaves through veth0;
 * the outside namespace's reply comes back through the tap.  Returns
 * true when the reply arrived within two seconds. */
static bool arp_through(int fd)
{
	uint8_t frame[10 + 42] = { 0 }; /* virtio_net_hdr + ARP */
	uint8_t *e = frame + 10, buf[2048];
	struct timespec t0, t;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	memset(e, 0xff, 6);
	memcpy(e + 6, mac0, 6);
	e[12] = 0x08, e[13] = 0x06;
	e[14] = 0, e[15] = 1; /* Ethernet */
	e[16] = 0x08, e[17] = 0; /* IPv4 */
	e[18] = 6, e[19] = 4;
	e[20] = 0, e[21] = 1; /* request */
	memcpy(e + 22, mac0, 6);
	inet_pton(AF_INET, "10.55.0.2", e + 28);
	inet_pton(AF_INET, "10.55.0.1", e + 38);
	if (write(fd, frame, sizeof(frame)) != (ssize_t)sizeof(frame))
		return false;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 2 || poll(&p, 1, 200) < 0)
			return false;
		if (!(p.revents & POLLIN))
			continue;
		n = read(fd, buf, sizeof(buf));
		/* vnet header, then an ARP reply from 10.55.0.1 to us */
		if (n >= 10 + 42 && buf[10 + 12] == 0x08 &&
		    buf[10 + 13] == 0x06 && buf[10 + 21] == 2 &&
		    ip4_eq(buf + 10 + 28, "10.55.0.1") &&
		    !memcmp(buf + 10, mac0, 6))
			return true;
	}
}

TEST_F(podns, tcfilter_taps_carry_frames_and_go_away)
{
	char buf[4096];
	int fd0;

	NEED_ROOT();
	ASSERT_EQ(0, net_scan(self->pod, pod_path, 0, &self->err));
	ASSERT_EQ(0, net_taps_create(self->pod, NET_MODEL_TCFILTER, &self->err))
	TH_LOG("%s", self->err.msg);
	for (int i = 0; i < 2; i++) {
		const struct net_iface *ifc = &self->pod->ifaces[i];

		EXPECT_GE(ifc->tap_fd, 0);
		EXPECT_GT(ifc->tap_ifindex, 0);
		EXPECT_TRUE(ifc->made_ingress);
		EXPECT_STREQ(i ? "husktap1" : "husktap0", ifc->tap_name);
		out(buf, sizeof(buf), "ip -n %s -d -o link show %s", pod_ns,
		    ifc->tap_name);
		EXPECT_NE(NULL, strstr(buf, "tun type tap"))
		TH_LOG("%s", buf);
		EXPECT_NE(NULL, strstr(buf, i ? "mtu 1500" : "mtu 1400"));
		EXPECT_NE(NULL, strstr(buf, ",UP"));
		out(buf, sizeof(buf), "tc -n %s qdisc show dev %s", pod_ns,
		    ifc->name);
		EXPECT_NE(NULL, strstr(buf, "qdisc ingress ffff:"));
		out(buf, sizeof(buf), "tc -n %s qdisc show dev %s", pod_ns,
		    ifc->tap_name);
		EXPECT_NE(NULL, strstr(buf, "qdisc ingress ffff:"));
		out(buf, sizeof(buf), "tc -n %s filter show dev %s ingress",
		    pod_ns, ifc->name);
		EXPECT_NE(NULL, strstr(buf, "pref 18517 u32"))
		TH_LOG("%s", buf);
		EXPECT_NE(NULL, strstr(buf, "Redirect to device husktap"));
		out(buf, sizeof(buf), "tc -n %s filter show dev %s ingress",
		    pod_ns, ifc->tap_name);
		EXPECT_NE(NULL, strstr(buf, i ? "Redirect to device veth1"
					      : "Redirect to device veth0"))
		TH_LOG("%s", buf);
	}
	EXPECT_TRUE(arp_through(self->pod->ifaces[0].tap_fd));

	fd0 = self->pod->ifaces[0].tap_fd;
	ASSERT_EQ(0, net_taps_remove(self->pod, &self->err))
	TH_LOG("%s", self->err.msg);
	EXPECT_EQ(-1, self->pod->ifaces[0].tap_fd);
	EXPECT_EQ(-1, fcntl(fd0, F_GETFD)); /* closed */
	assert_pristine(_metadata);
	/* Twice is harmless. */
	EXPECT_EQ(0, net_taps_remove(self->pod, &self->err));
}

TEST_F(podns, macvtap_takes_the_mac_and_gives_it_back)
{
	char buf[4096], target[64] = "", want[64];
	const struct net_iface *v0 = &self->pod->ifaces[0];

	NEED_ROOT();
	ASSERT_EQ(0, net_scan(self->pod, pod_path, 0, &self->err));
	ASSERT_EQ(0, net_taps_create(self->pod, NET_MODEL_MACVTAP, &self->err))
	TH_LOG("%s", self->err.msg);
	EXPECT_GE(v0->tap_fd, 0);
	EXPECT_STREQ("huskmvt0", v0->tap_name);
	out(buf, sizeof(buf), "ip -n %s -d -o link show huskmvt0", pod_ns);
	EXPECT_NE(NULL, strstr(buf, "huskmvt0@veth0"))
	TH_LOG("%s", buf);
	EXPECT_NE(NULL, strstr(buf, "macvtap mode bridge"));
	EXPECT_NE(NULL, strstr(buf, "link/ether 02:00:00:00:00:01"));
	EXPECT_NE(NULL, strstr(buf, "mtu 1400"));
	out(buf, sizeof(buf), "ip -n %s -o link show veth0", pod_ns);
	EXPECT_EQ(NULL, strstr(buf, "link/ether 02:00:00:00:00:01"))
	TH_LOG("veth0 kept its MAC: %s", buf);
	/* The fd is the macvtap's char device. */
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d", v0->tap_fd);
	EXPECT_LT(0, readlink(buf, target, sizeof(target) - 1));
	snprintf(want, sizeof(want), "/dev/tap%d", v0->tap_ifindex);
	EXPECT_STREQ(want, target);

	ASSERT_EQ(0, net_taps_remove(self->pod, &self->err))
	TH_LOG("%s", self->err.msg);
	assert_pristine(_metadata);
	out(buf, sizeof(buf), "ip -n %s -o link show veth0", pod_ns);
	EXPECT_NE(NULL, strstr(buf, "link/ether 02:00:00:00:00:01"))
	TH_LOG("veth0's MAC not restored: %s", buf);
}

TEST_F(podns, sweep_after_a_crash)
{
	char buf[4096];
	unsigned int found = 0;
	struct net_pod *again;

	NEED_ROOT();
	/* A foreign filter on veth1's ingress must survive the sweep. */
	ASSERT_EQ(0, net_scan(self->pod, pod_path, 0, &self->err));
	ASSERT_EQ(0,
		  net_taps_create(self->pod, NET_MODEL_TCFILTER, &self->err));
	ASSERT_EQ(0, sh("tc -n %s filter add dev veth1 parent ffff: prio 7 "
			"protocol ip u32 match u8 0 0 classid :1",
			pod_ns));
	/* The shim dies: its fds close, its records are lost. */
	for (unsigned int i = 0; i < self->pod->n_ifaces; i++)
		close(self->pod->ifaces[i].tap_fd);
	net_pod_init(self->pod);

	ASSERT_EQ(0, net_taps_sweep(pod_path, &found, &self->err))
	TH_LOG("%s", self->err.msg);
	/* veth0: filter + qdisc; veth1: filter only (the taps went with
	 * their fds). */
	EXPECT_EQ(3u, found);
	out(buf, sizeof(buf), "tc -n %s filter show dev veth1 ingress", pod_ns);
	EXPECT_NE(NULL, strstr(buf, "pref 7 u32"));
	EXPECT_EQ(NULL, strstr(buf, "pref 18517"));
	ASSERT_EQ(0, sh("tc -n %s qdisc del dev veth1 ingress", pod_ns));
	assert_pristine(_metadata);
	/* A scan afterwards sees the pod's interfaces only. */
	again = calloc(1, sizeof(*again));
	ASSERT_NE(NULL, again);
	EXPECT_EQ(0, net_scan(again, pod_path, 0, &self->err));
	EXPECT_EQ(2u, again->n_ifaces);
	free(again);
	/* Gone namespace: nothing to do. */
	EXPECT_EQ(0, net_taps_sweep("/run/netns/husk-unit-none", &found,
				    &self->err));
	EXPECT_EQ(0u, found);
}

TEST_F(podns, sweep_finds_live_taps_by_name)
{
	unsigned int found = 0;
	int fds[2];

	NEED_ROOT();
	ASSERT_EQ(0, net_scan(self->pod, pod_path, 0, &self->err));
	ASSERT_EQ(0,
		  net_taps_create(self->pod, NET_MODEL_TCFILTER, &self->err));
	/* QEMU still holds the taps (here: we do); the records are lost. */
	fds[0] = self->pod->ifaces[0].tap_fd;
	fds[1] = self->pod->ifaces[1].tap_fd;
	net_pod_init(self->pod);
	ASSERT_EQ(0, net_taps_sweep(pod_path, &found, &self->err))
	TH_LOG("%s", self->err.msg);
	EXPECT_EQ(2u + 4u, found); /* 2 taps, 2 filters, 2 qdiscs */
	assert_pristine(_metadata);
	close(fds[0]);
	close(fds[1]);
}

TEST_F(podns, bad_namespaces_are_named)
{
	NEED_ROOT();
	EXPECT_EQ(-1, net_scan(self->pod, "/run/netns/husk-unit-none", 0,
			       &self->err));
	EXPECT_NE(NULL, strstr(self->err.msg, "/run/netns/husk-unit-none"))
	TH_LOG("%s", self->err.msg);
	EXPECT_NE(NULL, strstr(self->err.msg, "No such file"));

	EXPECT_EQ(-1, net_scan(self->pod, "/proc/self/ns/uts", 0, &self->err));
	EXPECT_NE(NULL, strstr(self->err.msg,
			       "/proc/self/ns/uts: not a network namespace"))
	TH_LOG("%s", self->err.msg);
	EXPECT_EQ(-1, net_scan(self->pod, "/etc/hostname", 0, &self->err));
	EXPECT_NE(NULL, strstr(self->err.msg, "not a network namespace"))
	TH_LOG("%s", self->err.msg);
	EXPECT_EQ(0u, self->pod->n_ifaces);
	EXPECT_EQ(-1, net_ns_is_own("/etc/hostname", &self->err));
	assert_pristine(_metadata);
}

TEST_F(podns, too_many_interfaces)
{
	NEED_ROOT();
	EXPECT_EQ(-1, net_scan(self->pod, pod_path, 1, &self->err));
	TH_LOG("%s", self->err.msg);
	EXPECT_NE(NULL, strstr(self->err.msg, pod_path));
	EXPECT_NE(NULL, strstr(self->err.msg, "interface veth1: more than 1 "
					      "interfaces"));
	EXPECT_EQ(0u, self->pod->n_ifaces);
	assert_pristine(_metadata);
}

TEST_F(podns, interface_that_cannot_be_carried)
{
	NEED_ROOT();
	/* A layer-3 tun device has no MAC to give the guest. */
	ASSERT_EQ(0, sh("ip -n %s tuntap add dev tun9 mode tun", pod_ns));
	EXPECT_EQ(-1, net_scan(self->pod, pod_path, 0, &self->err));
	TH_LOG("%s", self->err.msg);
	EXPECT_NE(NULL, strstr(self->err.msg, "interface tun9: link type"));
	EXPECT_NE(NULL, strstr(self->err.msg, pod_path));
	ASSERT_EQ(0, sh("ip -n %s link del tun9", pod_ns));
}

TEST_F(podns, failed_create_leaves_nothing)
{
	char buf[4096];

	NEED_ROOT();
	ASSERT_EQ(0, net_scan(self->pod, pod_path, 0, &self->err));
	/* husktap1 is taken (by a veth), so the second tap fails after the
	 * first was fully connected. */
	ASSERT_EQ(0, sh("ip -n %s link add husktap1 type veth peer name x1 "
			"netns %s",
			pod_ns, out_ns));
	EXPECT_EQ(-1,
		  net_taps_create(self->pod, NET_MODEL_TCFILTER, &self->err));
	TH_LOG("%s", self->err.msg);
	EXPECT_NE(NULL, strstr(self->err.msg, "interface veth1: tap husktap1"));
	EXPECT_EQ(-1, self->pod->ifaces[0].tap_fd);
	EXPECT_EQ(0, self->pod->ifaces[0].tap_ifindex);
	ASSERT_EQ(0, sh("ip -n %s link del husktap1", pod_ns));
	assert_pristine(_metadata);
	out(buf, sizeof(buf), "tc -n %s filter show dev veth0 ingress", pod_ns);
	EXPECT_STREQ("", buf);
}

TEST(models_by_name)
{
	EXPECT_EQ(NET_MODEL_TCFILTER, net_model_parse("tcfilter"));
	EXPECT_EQ(NET_MODEL_MACVTAP, net_model_parse("macvtap"));
	EXPECT_EQ(NET_MODEL_NONE, net_model_parse("none"));
	EXPECT_EQ(-1, net_model_parse("bridged"));
	EXPECT_STREQ("macvtap", net_model_name(NET_MODEL_MACVTAP));
}

TEST_HARNESS_MAIN
