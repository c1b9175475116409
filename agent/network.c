// SPDX-License-Identifier: Apache-2.0
/*
 * Guest networking over rtnetlink, through lib/netlink (no libmnl, which
 * the static musl agent cannot link).  Every public call opens its own
 * netlink socket: the calls are few (a handful at sandbox start) and a
 * private socket keeps one call's sequence numbers and stray replies away
 * from another's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "netlink.h"
#include "network.h"
#include "util.h"

/* An address in either family, with a prefix length where one applies. */
struct ip {
	int af;
	unsigned char b[16];
	unsigned int prefix;
};

struct link {
	int index;
	unsigned int flags;
	unsigned int mtu;
	char name[IFNAMSIZ];
	unsigned char hw[32];
	size_t hw_len;
	char kind[32];
};

struct addr {
	int index;
	struct ip ip;
};

struct route {
	struct ip dst; /* prefix 0: default */
	struct ip gw;
	struct ip src;
	bool has_dst, has_gw, has_src;
	int oif;
	unsigned int scope, table, protocol, type, flags, mtu, priority;
	bool has_priority;
};

/* A growable array of fixed-size records. */
struct vec {
	void *v;
	size_t n, cap, size;
};

#define VEC_INIT(type)                                            \
	{                                                         \
		.v = NULL, .n = 0, .cap = 0, .size = sizeof(type) \
	}
#define VEC_AT(vec, type, i) (&((type *)(vec)->v)[i])

static void vec_free(struct vec *vec)
{
	free(vec->v);
	vec->v = NULL;
	vec->n = vec->cap = 0;
}

#define _cleanup_vec_ __attribute__((cleanup(vec_free)))

/* A dump that starts again forgets what it collected. */
static void vec_restart(void *vec)
{
	((struct vec *)vec)->n = 0;
}

/* A zeroed new slot, or NULL with errno ENOMEM. */
static void *vec_push(struct vec *vec)
{
	char *slot;

	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 16;
		void *v = realloc(vec->v, cap * vec->size);

		if (!v) {
			errno = ENOMEM;
			return NULL;
		}
		vec->v = v;
		vec->cap = cap;
	}
	slot = (char *)vec->v + vec->n++ * vec->size;
	memset(slot, 0, vec->size);
	return slot;
}

/* An address attribute of the family's exact size. */
static bool attr_ip(const struct rtattr *a, int af, struct ip *ip)
{
	if (!nl_attr_copy(a, ip->b, af == AF_INET ? 4 : 16))
		return false;
	ip->af = af;
	return true;
}

/* ---- parsing and formatting what the runtime sends ---- */

static size_t ip_len(int af)
{
	return af == AF_INET ? 4 : 16;
}

static unsigned int ip_max_prefix(int af)
{
	return af == AF_INET ? 32 : 128;
}

/*
 * Parse an IP address.  @family is the message's IPFamily; v4 is also its
 * zero value, so an IPv6 literal wins over it, but an explicit v6 does not
 * accept an IPv4 literal.  -1 on a bad string or a family mismatch.
 */
static int ip_parse(const char *s, int family, struct ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->b) == 1)
		ip->af = AF_INET;
	else if (inet_pton(AF_INET6, s, ip->b) == 1)
		ip->af = AF_INET6;
	else
		return -1;
	if (family == TYPES__IPFAMILY__v6 && ip->af != AF_INET6)
		return -1;
	ip->prefix = ip_max_prefix(ip->af);
	return 0;
}

/* A decimal prefix length no larger than the family allows ("" = host). */
static int prefix_parse(const char *s, int af, unsigned int *prefix)
{
	unsigned int v = 0;

	if (!*s) {
		*prefix = ip_max_prefix(af);
		return 0;
	}
	if (strlen(s) > 3)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned int)(*s - '0');
	}
	if (v > ip_max_prefix(af))
		return -1;
	*prefix = v;
	return 0;
}

static const char *ip_str(const struct ip *ip, char *buf, size_t len)
{
	if (!inet_ntop(ip->af, ip->b, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "aa:bb:cc:dd:ee:ff", two hex digits per byte. */
static int mac_parse(const char *s, unsigned char mac[6])
{
	int i, hi, lo;

	for (i = 0; i < 6; i++) {
		hi = hex_digit(s[0]);
		lo = hi < 0 ? -1 : hex_digit(s[1]);
		if (lo < 0)
			return -1;
		mac[i] = (unsigned char)(hi << 4 | lo);
		s += 2;
		if (i < 5 && *s++ != ':')
			return -1;
	}
	return *s ? -1 : 0;
}

static char *hw_str(const unsigned char *hw, size_t len)
{
	char *s = xmalloc(len ? len * 3 : 1);
	size_t i;

	s[0] = '\0';
	for (i = 0; i < len; i++)
		sprintf(s + i * 3, i + 1 < len ? "%02x:" : "%02x", hw[i]);
	return s;
}

/* Linux accepts any name below IFNAMSIZ without '/', ':' or spaces. */
static bool ifname_valid(const char *s)
{
	size_t len = strlen(s);

	if (!len || len >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	return !strpbrk(s, "/: \t\n");
}

/* ---- dumps ---- */

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nlh);
	const struct rtattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
	const char *name, *kind;
	struct link *k;
	size_t len;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    !nl_msg_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX))
		return 0;
	k = vec_push(data);
	if (!k)
		return -ENOMEM;
	k->index = ifi->ifi_index;
	k->flags = ifi->ifi_flags;
	name = nl_attr_str(tb[IFLA_IFNAME]);
	if (name)
		snprintf(k->name, sizeof(k->name), "%s", name);
	nl_attr_u32(tb[IFLA_MTU], &k->mtu);
	if (tb[IFLA_ADDRESS]) {
		len = RTA_PAYLOAD(tb[IFLA_ADDRESS]);
		if (len <= sizeof(k->hw)) {
			memcpy(k->hw, RTA_DATA(tb[IFLA_ADDRESS]), len);
			k->hw_len = len;
		}
	}
	if (tb[IFLA_LINKINFO]) {
		nl_attrs_nested(tb[IFLA_LINKINFO], info, IFLA_INFO_MAX);
		kind = nl_attr_str(info[IFLA_INFO_KIND]);
		if (kind)
			snprintf(k->kind, sizeof(k->kind), "%s", kind);
	}
	return 0;
}

static int link_dump(struct nl_sock *nl, struct vec *links, struct herr *err)
{
	struct nl_req req;
	struct ifinfomsg *ifi;
	int r;

	nl_req_init(&req, RTM_GETLINK, NLM_F_DUMP);
	ifi = nl_req_hdr(&req, struct ifinfomsg);
	ifi->ifi_family = AF_UNSPEC;
	r = nl_dump(nl, &req, link_cb, vec_restart, links);
	if (r < 0)
		return nl_fail(err, nl, -r, "list links");
	return 0;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(nlh);
	const struct rtattr *tb[IFA_MAX + 1];
	const struct rtattr *a;
	struct ip ip;
	struct addr *ad;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    !nl_msg_attrs(nlh, sizeof(*ifa), tb, IFA_MAX) ||
	    (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return 0;
	/* IFA_LOCAL is the address itself; IFA_ADDRESS may be a peer. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!attr_ip(a, ifa->ifa_family, &ip))
		return 0;
	ip.prefix = ifa->ifa_prefixlen;
	ad = vec_push(data);
	if (!ad)
		return -ENOMEM;
	ad->index = (int)ifa->ifa_index;
	ad->ip = ip;
	return 0;
}

static int addr_dump(struct nl_sock *nl, struct vec *addrs, struct herr *err)
{
	struct nl_req req;
	struct ifaddrmsg *ifa;
	int r;

	nl_req_init(&req, RTM_GETADDR, NLM_F_DUMP);
	ifa = nl_req_hdr(&req, struct ifaddrmsg);
	ifa->ifa_family = AF_UNSPEC;
	r = nl_dump(nl, &req, addr_cb, vec_restart, addrs);
	if (r < 0)
		return nl_fail(err, nl, -r, "list addresses");
	return 0;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = NLMSG_DATA(nlh);
	const struct rtattr *tb[RTA_MAX + 1], *metrics[RTAX_MAX + 1];
	struct route rt = { 0 };
	unsigned int oif = 0;
	struct route *slot;
	int af;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    !nl_msg_attrs(nlh, sizeof(*rtm), tb, RTA_MAX))
		return 0;
	af = rtm->rtm_family;
	if (af != AF_INET && af != AF_INET6)
		return 0;
	rt.table = rtm->rtm_table;
	nl_attr_u32(tb[RTA_TABLE], &rt.table);
	rt.dst.af = af;
	rt.has_dst = attr_ip(tb[RTA_DST], af, &rt.dst);
	rt.dst.prefix = rtm->rtm_dst_len;
	rt.has_gw = attr_ip(tb[RTA_GATEWAY], af, &rt.gw);
	rt.has_src = attr_ip(tb[RTA_PREFSRC], af, &rt.src);
	if (nl_attr_u32(tb[RTA_OIF], &oif))
		rt.oif = (int)oif;
	rt.has_priority = nl_attr_u32(tb[RTA_PRIORITY], &rt.priority);
	if (tb[RTA_METRICS]) {
		nl_attrs_nested(tb[RTA_METRICS], metrics, RTAX_MAX);
		nl_attr_u32(metrics[RTAX_MTU], &rt.mtu);
	}
	rt.scope = rtm->rtm_scope;
	rt.protocol = rtm->rtm_protocol;
	rt.type = rtm->rtm_type;
	rt.flags = rtm->rtm_flags;
	slot = vec_push(data);
	if (!slot)
		return -ENOMEM;
	*slot = rt;
	return 0;
}

static int route_dump(struct nl_sock *nl, struct vec *routes, struct herr *err)
{
	struct nl_req req;
	struct rtmsg *rtm;
	int r;

	nl_req_init(&req, RTM_GETROUTE, NLM_F_DUMP);
	rtm = nl_req_hdr(&req, struct rtmsg);
	rtm->rtm_family = AF_UNSPEC;
	r = nl_dump(nl, &req, route_cb, vec_restart, routes);
	if (r < 0)
		return nl_fail(err, nl, -r, "list routes");
	return 0;
}

static const struct link *link_by_index(const struct vec *links, int index)
{
	size_t i;

	for (i = 0; i < links->n; i++)
		if (VEC_AT(links, struct link, i)->index == index)
			return VEC_AT(links, struct link, i);
	return NULL;
}

static const struct link *link_by_name(const struct vec *links,
				       const char *name)
{
	size_t i;

	for (i = 0; i < links->n; i++)
		if (!strcmp(VEC_AT(links, struct link, i)->name, name))
			return VEC_AT(links, struct link, i);
	return NULL;
}

static const struct link *link_by_hw(const struct vec *links,
				     const unsigned char mac[6])
{
	const struct link *k;
	size_t i;

	for (i = 0; i < links->n; i++) {
		k = VEC_AT(links, struct link, i);
		if (k->hw_len == 6 && !memcmp(k->hw, mac, 6))
			return k;
	}
	return NULL;
}

/* ---- changes ---- */

/* RTM_NEWLINK on @index: flags under @change, and a name or MTU if given. */
static int link_set(struct nl_sock *nl, int index, unsigned int change,
		    unsigned int flags, const char *name, unsigned int mtu)
{
	struct nl_req req;
	struct ifinfomsg *ifi;

	nl_req_init(&req, RTM_NEWLINK, NLM_F_ACK);
	ifi = nl_req_hdr(&req, struct ifinfomsg);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	ifi->ifi_change = change;
	ifi->ifi_flags = flags;
	if (name)
		nl_attr_put_str(&req, IFLA_IFNAME, name);
	if (mtu)
		nl_attr_put_u32(&req, IFLA_MTU, mtu);
	return nl_talk(nl, &req, NULL, NULL);
}

static int addr_change(struct nl_sock *nl, uint16_t type, int index,
		       const struct ip *ip)
{
	struct nl_req req;
	struct ifaddrmsg *ifa;
	unsigned char brd[4];
	uint32_t host;
	size_t len = ip_len(ip->af);

	nl_req_init(&req, type,
		    NLM_F_ACK |
			    (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_REPLACE
						 : 0));
	ifa = nl_req_hdr(&req, struct ifaddrmsg);
	ifa->ifa_family = (unsigned char)ip->af;
	ifa->ifa_prefixlen = (unsigned char)ip->prefix;
	ifa->ifa_index = (unsigned int)index;
	/*
	 * The runtime owns address uniqueness; duplicate address detection
	 * would only leave the address tentative, and routes that name it as
	 * their source would be refused until it finished.
	 */
	if (type == RTM_NEWADDR && ip->af == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	nl_attr_put(&req, IFA_LOCAL, ip->b, len);
	nl_attr_put(&req, IFA_ADDRESS, ip->b, len);
	if (type == RTM_NEWADDR && ip->af == AF_INET && ip->prefix <= 30) {
		host = ip->prefix ? 0xffffffffu >> ip->prefix : 0xffffffffu;
		memcpy(brd, ip->b, 4);
		brd[0] |= (unsigned char)(host >> 24);
		brd[1] |= (unsigned char)(host >> 16);
		brd[2] |= (unsigned char)(host >> 8);
		brd[3] |= (unsigned char)host;
		nl_attr_put(&req, IFA_BROADCAST, brd, 4);
	}
	return nl_talk(nl, &req, NULL, NULL);
}

/* Kernel-made IPv6 link-local addresses stay: NDP needs them. */
static bool ip_is_link_local6(const struct ip *ip)
{
	return ip->af == AF_INET6 && ip->b[0] == 0xfe &&
	       (ip->b[1] & 0xc0) == 0x80;
}

static bool ip_same(const struct ip *a, const struct ip *b)
{
	return a->af == b->af && a->prefix == b->prefix &&
	       !memcmp(a->b, b->b, ip_len(a->af));
}

/* Make the link's addresses exactly @want (link-local IPv6 aside). */
static int addrs_replace(struct nl_sock *nl, const struct link *k,
			 const struct ip *want, size_t n, struct herr *err)
{
	_cleanup_vec_ struct vec addrs = VEC_INIT(struct addr);
	const struct addr *ad;
	char buf[INET6_ADDRSTRLEN];
	size_t i, j;
	int r;

	if (addr_dump(nl, &addrs, err) < 0)
		return herr_prefix(err, "interface %s", k->name);
	for (i = 0; i < addrs.n; i++) {
		ad = VEC_AT(&addrs, struct addr, i);
		if (ad->index != k->index || ip_is_link_local6(&ad->ip))
			continue;
		for (j = 0; j < n; j++)
			if (ip_same(&ad->ip, &want[j]))
				break;
		if (j < n)
			continue;
		r = addr_change(nl, RTM_DELADDR, k->index, &ad->ip);
		/* Deleting a primary IPv4 address takes its secondaries. */
		if (r < 0 && r != -EADDRNOTAVAIL && r != -ENOENT)
			return nl_fail(err, nl, -r,
				       "interface %s: delete address %s/%u",
				       k->name,
				       ip_str(&ad->ip, buf, sizeof(buf)),
				       ad->ip.prefix);
	}
	for (j = 0; j < n; j++) {
		r = addr_change(nl, RTM_NEWADDR, k->index, &want[j]);
		if (r < 0)
			return nl_fail(
				err, nl, -r, "interface %s: add address %s/%u",
				k->name, ip_str(&want[j], buf, sizeof(buf)),
				want[j].prefix);
	}
	return 0;
}

/* ---- building the replies ---- */

static Types__IPAddress *ipaddr_build(const struct ip *ip)
{
	Types__IPAddress *a = xmalloc(sizeof(*a));
	char buf[INET6_ADDRSTRLEN];

	types__ipaddress__init(a);
	a->family =
		ip->af == AF_INET6 ? TYPES__IPFAMILY__v6 : TYPES__IPFAMILY__v4;
	a->address = xstrdup(ip_str(ip, buf, sizeof(buf)));
	snprintf(buf, sizeof(buf), "%u", ip->prefix);
	a->mask = xstrdup(buf);
	return a;
}

/* Every string is malloc'd so protobuf_c_message_free_unpacked() frees it. */
static Types__Interface *ifc_build(const struct link *k,
				   const struct vec *addrs)
{
	Types__Interface *ifc = xmalloc(sizeof(*ifc));
	const struct addr *ad;
	size_t i, n = 0;

	types__interface__init(ifc);
	ifc->device = xstrdup("");
	ifc->name = xstrdup(k->name);
	ifc->mtu = k->mtu;
	ifc->hwaddr = hw_str(k->hw, k->hw_len);
	ifc->devicepath = xstrdup("");
	ifc->type = xstrdup(k->kind);
	ifc->raw_flags = k->flags;
	for (i = 0; i < addrs->n; i++)
		if (VEC_AT(addrs, struct addr, i)->index == k->index)
			n++;
	if (!n)
		return ifc;
	ifc->ipaddresses = xcalloc(n, sizeof(*ifc->ipaddresses));
	for (i = 0; i < addrs->n; i++) {
		ad = VEC_AT(addrs, struct addr, i);
		if (ad->index == k->index)
			ifc->ipaddresses[ifc->n_ipaddresses++] =
				ipaddr_build(&ad->ip);
	}
	return ifc;
}

/* "default" or "<address>/<prefix>". */
static const char *route_dest_fmt(const struct route *rt, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (rt->dst.prefix == 0)
		snprintf(buf, len, "default");
	else
		snprintf(buf, len, "%s/%u",
			 rt->has_dst ? ip_str(&rt->dst, ip, sizeof(ip)) : "?",
			 rt->dst.prefix & 0xff);
	return buf;
}

static Types__Route *route_build(const struct route *rt,
				 const struct vec *links)
{
	Types__Route *r = xmalloc(sizeof(*r));
	const struct link *k = link_by_index(links, rt->oif);
	char buf[INET6_ADDRSTRLEN];
	char dst[INET6_ADDRSTRLEN + 16];

	types__route__init(r);
	r->dest = xstrdup(route_dest_fmt(rt, dst, sizeof(dst)));
	r->gateway =
		xstrdup(rt->has_gw ? ip_str(&rt->gw, buf, sizeof(buf)) : "");
	r->device = xstrdup(k ? k->name : "");
	r->source =
		xstrdup(rt->has_src ? ip_str(&rt->src, buf, sizeof(buf)) : "");
	r->scope = rt->scope;
	r->family = rt->dst.af == AF_INET6 ? TYPES__IPFAMILY__v6
					   : TYPES__IPFAMILY__v4;
	r->flags = rt->flags;
	r->mtu = rt->mtu;
	return r;
}

/* The routes a Types__Route can describe: unicast ones in the main table. */
static bool route_listed(const struct route *rt)
{
	return rt->table == RT_TABLE_MAIN && rt->type == RTN_UNICAST;
}

static int routes_collect(struct nl_sock *nl, Grpc__Routes **out,
			  struct herr *err)
{
	_cleanup_vec_ struct vec links = VEC_INIT(struct link);
	_cleanup_vec_ struct vec routes = VEC_INIT(struct route);
	Grpc__Routes *res;
	const struct route *rt;
	size_t i;

	if (link_dump(nl, &links, err) < 0 || route_dump(nl, &routes, err) < 0)
		return -1;
	res = xmalloc(sizeof(*res));
	grpc__routes__init(res);
	if (routes.n)
		res->routes = xcalloc(routes.n, sizeof(*res->routes));
	for (i = 0; i < routes.n; i++) {
		rt = VEC_AT(&routes, struct route, i);
		if (route_listed(rt))
			res->routes[res->n_routes++] = route_build(rt, &links);
	}
	*out = res;
	return 0;
}

/* ---- public calls ---- */

void net_interface_free(Types__Interface *ifc)
{
	if (ifc)
		protobuf_c_message_free_unpacked(&ifc->base, NULL);
}

void net_interfaces_free(Grpc__Interfaces *ifcs)
{
	if (ifcs)
		protobuf_c_message_free_unpacked(&ifcs->base, NULL);
}

void net_routes_free(Grpc__Routes *routes)
{
	if (routes)
		protobuf_c_message_free_unpacked(&routes->base, NULL);
}

int net_list_interfaces(Grpc__Interfaces **out, struct herr *err)
{
	_cleanup_nl_sock_ struct nl_sock nl = { .fd = -1 };
	_cleanup_vec_ struct vec links = VEC_INIT(struct link);
	_cleanup_vec_ struct vec addrs = VEC_INIT(struct addr);
	Grpc__Interfaces *res;
	size_t i;

	if (nl_open(&nl, err) < 0 || link_dump(&nl, &links, err) < 0 ||
	    addr_dump(&nl, &addrs, err) < 0)
		return -1;
	res = xmalloc(sizeof(*res));
	grpc__interfaces__init(res);
	if (links.n)
		res->interfaces = xcalloc(links.n, sizeof(*res->interfaces));
	for (i = 0; i < links.n; i++)
		res->interfaces[res->n_interfaces++] =
			ifc_build(VEC_AT(&links, struct link, i), &addrs);
	*out = res;
	return 0;
}

int net_list_routes(Grpc__Routes **out, struct herr *err)
{
	_cleanup_nl_sock_ struct nl_sock nl = { .fd = -1 };

	if (nl_open(&nl, err) < 0)
		return -1;
	return routes_collect(&nl, out, err);
}

/* The name errors use for the interface the runtime described. */
static const char *ifc_label(const Types__Interface *want)
{
	if (want->name && *want->name)
		return want->name;
	if (want->device && *want->device)
		return want->device;
	if (want->hwaddr && *want->hwaddr)
		return want->hwaddr;
	return "?";
}

static int ifc_validate(const Types__Interface *want, unsigned char mac[6],
			struct ip **ips, struct herr *err)
{
	const char *label = ifc_label(want);
	const Types__IPAddress *a;
	size_t i;

	if (want->hwaddr && *want->hwaddr && mac_parse(want->hwaddr, mac) < 0)
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"interface %s: hwAddr \"%s\" is not a MAC address",
			label, want->hwaddr);
	if (want->name && *want->name && !ifname_valid(want->name))
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"interface %s: name \"%s\" is not a valid link name",
			label, want->name);
	if (want->mtu > UINT32_MAX)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"interface %s: mtu %llu is out of range", label,
				(unsigned long long)want->mtu);
	if (!want->n_ipaddresses)
		return 0;
	*ips = xcalloc(want->n_ipaddresses, sizeof(**ips));
	for (i = 0; i < want->n_ipaddresses; i++) {
		a = want->ipaddresses[i];
		if (!a || !a->address ||
		    ip_parse(a->address, a->family, &(*ips)[i]) < 0)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"interface %s: IPAddresses[%zu]: address "
				"\"%s\" is not an %s address",
				label, i, a && a->address ? a->address : "",
				a && a->family == TYPES__IPFAMILY__v6 ? "IPv6"
								      : "IP");
		if (prefix_parse(a->mask ? a->mask : "", (*ips)[i].af,
				 &(*ips)[i].prefix) < 0)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"interface %s: IPAddresses[%zu]: mask \"%s\" "
				"of %s is not a prefix length (0-%u)",
				label, i, a->mask ? a->mask : "", a->address,
				ip_max_prefix((*ips)[i].af));
	}
	return 0;
}

static Types__Interface *ifc_lookup_build(struct nl_sock *nl, int index,
					  struct herr *err)
{
	_cleanup_vec_ struct vec links = VEC_INIT(struct link);
	_cleanup_vec_ struct vec addrs = VEC_INIT(struct addr);
	const struct link *k;

	if (link_dump(nl, &links, err) < 0 || addr_dump(nl, &addrs, err) < 0)
		return NULL;
	k = link_by_index(&links, index);
	if (!k) {
		herr_set(err, GRPC_NOT_FOUND, 0,
			 "interface index %d: Link not found", index);
		return NULL;
	}
	return ifc_build(k, &addrs);
}

int net_update_interface(const Types__Interface *want, Types__Interface **out,
			 struct herr *err)
{
	_cleanup_nl_sock_ struct nl_sock nl = { .fd = -1 };
	_cleanup_vec_ struct vec links = VEC_INIT(struct link);
	_cleanup_free_ struct ip *ips = NULL;
	unsigned char mac[6];
	const struct link *found;
	struct link k;
	const char *label, *key;
	bool by_hw, rename;
	unsigned int flags;
	int r;

	if (!want)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"interface: no interface given");
	label = ifc_label(want);
	if (ifc_validate(want, mac, &ips, err) < 0)
		return -1;
	if (nl_open(&nl, err) < 0 || link_dump(&nl, &links, err) < 0)
		return -1;

	by_hw = want->hwaddr && *want->hwaddr;
	if (by_hw)
		key = want->hwaddr;
	else if (want->device && *want->device)
		key = want->device;
	else
		key = want->name;
	if (!key || !*key)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"interface: neither hwAddr nor name given");
	found = by_hw ? link_by_hw(&links, mac) : link_by_name(&links, key);
	/* The runtime retries on exactly this text while hotplug runs. */
	if (!found)
		return herr_set(err, GRPC_NOT_FOUND, 0,
				"interface %s: Link not found (%s %s)", label,
				by_hw ? "hwAddr" : "name", key);
	k = *found;

	rename = want->name && *want->name && strcmp(want->name, k.name);
	if (rename) {
		/* Linux renames only links that are down. */
		if (k.flags & IFF_UP) {
			r = link_set(&nl, k.index, IFF_UP, 0, NULL, 0);
			if (r < 0)
				return nl_fail(err, &nl, -r,
					       "interface %s: set down",
					       k.name);
		}
		r = link_set(&nl, k.index, 0, 0, want->name, 0);
		if (r < 0)
			return nl_fail(err, &nl, -r,
				       "interface %s: rename to %s", k.name,
				       want->name);
		snprintf(k.name, sizeof(k.name), "%s", want->name);
	}
	if (want->mtu && want->mtu != k.mtu) {
		r = link_set(&nl, k.index, 0, 0, NULL, (unsigned int)want->mtu);
		if (r < 0)
			return nl_fail(err, &nl, -r,
				       "interface %s: set mtu %llu", k.name,
				       (unsigned long long)want->mtu);
	}
	if (addrs_replace(&nl, &k, ips, want->n_ipaddresses, err) < 0)
		return -1;
	/* Only IFF_NOARP comes from the runtime; the link always goes up. */
	flags = IFF_UP | (want->raw_flags & IFF_NOARP);
	r = link_set(&nl, k.index, IFF_UP | IFF_NOARP, flags, NULL, 0);
	if (r < 0)
		return nl_fail(err, &nl, -r, "interface %s: set up", k.name);

	if (out) {
		*out = ifc_lookup_build(&nl, k.index, err);
		if (!*out)
			return herr_prefix(err, "interface %s", k.name);
	}
	return 0;
}

/* A route the runtime asked for, parsed. */
struct route_want {
	struct route rt;
	const Types__Route *msg;
};

static void route_label(const Types__Route *m, char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len, "route %s", *m->dest ? m->dest : "default");
	if (n >= 0 && (size_t)n < len && *m->gateway)
		n += snprintf(buf + n, len - n, " via %s", m->gateway);
	if (n >= 0 && (size_t)n < len && *m->device)
		snprintf(buf + n, len - n, " dev %s", m->device);
}

/* Family from the addresses given, else from the message's field. */
static int route_family(const Types__Route *m)
{
	struct ip ip;
	const char *s[] = { m->gateway, m->source };
	const char *slash;
	char dst[INET6_ADDRSTRLEN];
	size_t i, len;

	if (*m->dest && strcmp(m->dest, "default")) {
		slash = strchr(m->dest, '/');
		len = slash ? (size_t)(slash - m->dest) : strlen(m->dest);
		if (len < sizeof(dst)) {
			memcpy(dst, m->dest, len);
			dst[len] = '\0';
			if (ip_parse(dst, TYPES__IPFAMILY__v4, &ip) == 0)
				return ip.af;
		}
	}
	for (i = 0; i < ARRAY_SIZE(s); i++)
		if (*s[i] && ip_parse(s[i], TYPES__IPFAMILY__v4, &ip) == 0)
			return ip.af;
	return m->family == TYPES__IPFAMILY__v6 ? AF_INET6 : AF_INET;
}

static int route_parse(const Types__Route *m, const struct vec *links,
		       struct route *rt, struct herr *err)
{
	int af = route_family(m);
	int fam = af == AF_INET6 ? TYPES__IPFAMILY__v6 : TYPES__IPFAMILY__v4;
	char label[256], dst[INET6_ADDRSTRLEN];
	const struct link *k;
	const char *slash;
	size_t len;

	route_label(m, label, sizeof(label));
	memset(rt, 0, sizeof(*rt));
	if (m->family == TYPES__IPFAMILY__v6 && af != AF_INET6)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s: family is v6 but the addresses are IPv4",
				label);
	rt->dst.af = af;
	if (*m->dest && strcmp(m->dest, "default")) {
		slash = strchr(m->dest, '/');
		len = slash ? (size_t)(slash - m->dest) : strlen(m->dest);
		if (len >= sizeof(dst))
			goto bad_dest;
		memcpy(dst, m->dest, len);
		dst[len] = '\0';
		if (ip_parse(dst, fam, &rt->dst) < 0 || rt->dst.af != af)
			goto bad_dest;
		if (slash && prefix_parse(slash + 1, af, &rt->dst.prefix) < 0)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"%s: dest prefix \"%s\" is not a "
					"prefix length (0-%u)",
					label, slash + 1, ip_max_prefix(af));
		rt->has_dst = true;
	}
	if (*m->gateway) {
		if (ip_parse(m->gateway, fam, &rt->gw) < 0 || rt->gw.af != af)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"%s: gateway \"%s\" is not an %s address",
				label, m->gateway,
				af == AF_INET6 ? "IPv6" : "IPv4");
		rt->has_gw = true;
	}
	if (*m->source) {
		if (ip_parse(m->source, fam, &rt->src) < 0 || rt->src.af != af)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"%s: source \"%s\" is not an %s address", label,
				m->source, af == AF_INET6 ? "IPv6" : "IPv4");
		rt->has_src = true;
	}
	if (m->scope > 255)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s: scope %u is out of range", label,
				m->scope);
	if (*m->device) {
		k = link_by_name(links, m->device);
		if (!k)
			return herr_set(err, GRPC_NOT_FOUND, 0,
					"%s: device %s: Link not found", label,
					m->device);
		rt->oif = k->index;
	}
	rt->scope = m->scope;
	/* Of the route flags only "onlink" means something when adding. */
	rt->flags = m->flags & RTNH_F_ONLINK;
	rt->mtu = m->mtu;
	rt->table = RT_TABLE_MAIN;
	rt->type = RTN_UNICAST;
	rt->protocol = RTPROT_BOOT;
	return 0;
bad_dest:
	return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
			"%s: dest \"%s\" is not \"default\" or an %s CIDR",
			label, m->dest, af == AF_INET6 ? "IPv6" : "IPv4");
}

static int route_change(struct nl_sock *nl, uint16_t type,
			const struct route *rt)
{
	struct nl_req req;
	struct rtmsg *rtm;
	struct rtattr *nest;
	size_t len = ip_len(rt->dst.af);
	bool add = type == RTM_NEWROUTE;

	nl_req_init(&req, type,
		    NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0));
	rtm = nl_req_hdr(&req, struct rtmsg);
	rtm->rtm_family = (unsigned char)rt->dst.af;
	rtm->rtm_dst_len = (unsigned char)rt->dst.prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = (unsigned char)rt->protocol;
	/* On delete, "nowhere" matches a route of any scope. */
	rtm->rtm_scope = add ? (unsigned char)rt->scope : RT_SCOPE_NOWHERE;
	rtm->rtm_type = (unsigned char)rt->type;
	rtm->rtm_flags = add ? rt->flags : 0;
	if (rt->has_dst && rt->dst.prefix)
		nl_attr_put(&req, RTA_DST, rt->dst.b, len);
	if (rt->has_gw)
		nl_attr_put(&req, RTA_GATEWAY, rt->gw.b, len);
	if (rt->has_src)
		nl_attr_put(&req, RTA_PREFSRC, rt->src.b, len);
	if (rt->oif)
		nl_attr_put_u32(&req, RTA_OIF, (uint32_t)rt->oif);
	if (!add && rt->has_priority)
		nl_attr_put_u32(&req, RTA_PRIORITY, rt->priority);
	if (add && rt->mtu) {
		nest = nl_attr_nest_start(&req, RTA_METRICS);
		nl_attr_put_u32(&req, RTAX_MTU, rt->mtu);
		nl_attr_nest_end(&req, nest);
	}
	return nl_talk(nl, &req, NULL, NULL);
}

/*
 * Routes the kernel made for an address, and those on loopback, are not
 * the runtime's to replace.
 */
static bool route_replaceable(const struct route *rt, const struct vec *links)
{
	const struct link *k = link_by_index(links, rt->oif);

	if (!route_listed(rt) || rt->protocol == RTPROT_KERNEL)
		return false;
	return !(k && (k->flags & IFF_LOOPBACK));
}

int net_update_routes(const Grpc__Routes *want, Grpc__Routes **out,
		      struct herr *err)
{
	_cleanup_nl_sock_ struct nl_sock nl = { .fd = -1 };
	_cleanup_vec_ struct vec links = VEC_INIT(struct link);
	_cleanup_vec_ struct vec old = VEC_INIT(struct route);
	_cleanup_free_ struct route *rts = NULL;
	size_t n = want ? want->n_routes : 0;
	char label[256], dst[INET6_ADDRSTRLEN + 16];
	const struct route *rt;
	size_t i;
	int pass, r;

	if (nl_open(&nl, err) < 0 || link_dump(&nl, &links, err) < 0)
		return -1;
	if (n)
		rts = xcalloc(n, sizeof(*rts));
	for (i = 0; i < n; i++) {
		if (!want->routes[i])
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"routes[%zu]: empty", i);
		if (route_parse(want->routes[i], &links, &rts[i], err) < 0)
			return -1;
	}

	if (route_dump(&nl, &old, err) < 0)
		return -1;
	for (i = 0; i < old.n; i++) {
		rt = VEC_AT(&old, struct route, i);
		if (!route_replaceable(rt, &links))
			continue;
		r = route_change(&nl, RTM_DELROUTE, rt);
		/* Gone with an address or a link deleted meanwhile. */
		if (r < 0 && r != -ESRCH && r != -ENOENT)
			return nl_fail(err, &nl, -r, "route %s: delete",
				       route_dest_fmt(rt, dst, sizeof(dst)));
	}
	/* Device routes first: a gateway must be reachable when added. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			if (rts[i].has_gw != (pass == 1))
				continue;
			r = route_change(&nl, RTM_NEWROUTE, &rts[i]);
			if (r < 0) {
				route_label(want->routes[i], label,
					    sizeof(label));
				return nl_fail(err, &nl, -r, "%s: add", label);
			}
		}
	}
	if (out)
		return routes_collect(&nl, out, err);
	return 0;
}

int net_add_arp_neighbors(const Grpc__ARPNeighbors *neighbors, struct herr *err)
{
	_cleanup_nl_sock_ struct nl_sock nl = { .fd = -1 };
	_cleanup_vec_ struct vec links = VEC_INIT(struct link);
	struct nl_req req;
	const Types__ARPNeighbor *nb;
	const struct link *k;
	struct ndmsg *ndm;
	unsigned char mac[6];
	struct ip ip;
	const char *to;
	size_t i;
	int r;

	if (!neighbors || !neighbors->n_arpneighbors)
		return 0;
	if (nl_open(&nl, err) < 0 || link_dump(&nl, &links, err) < 0)
		return -1;
	for (i = 0; i < neighbors->n_arpneighbors; i++) {
		nb = neighbors->arpneighbors[i];
		to = nb && nb->toipaddress ? nb->toipaddress->address : "";
		if (!nb || !nb->toipaddress ||
		    ip_parse(to, nb->toipaddress->family, &ip) < 0)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"neighbor[%zu]: toIPAddress \"%s\" is "
					"not an IP address",
					i, to);
		if (*nb->lladdr && mac_parse(nb->lladdr, mac) < 0)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"neighbor %s: lladdr \"%s\" is not a "
					"MAC address",
					to, nb->lladdr);
		if (nb->state < 0 || nb->state > 0xffff)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"neighbor %s: state %d is out of range",
					to, nb->state);
		if (nb->flags < 0 || nb->flags > 0xff)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"neighbor %s: flags %d are out of range", to,
				nb->flags);
		if (!*nb->device)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"neighbor %s: no device given", to);
		k = link_by_name(&links, nb->device);
		if (!k)
			return herr_set(err, GRPC_NOT_FOUND, 0,
					"neighbor %s dev %s: Link not found",
					to, nb->device);

		nl_req_init(&req, RTM_NEWNEIGH,
			    NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
		ndm = nl_req_hdr(&req, struct ndmsg);
		ndm->ndm_family = (unsigned char)ip.af;
		ndm->ndm_ifindex = k->index;
		/* No state means a static entry, as "ip neigh add" makes. */
		ndm->ndm_state =
			nb->state ? (uint16_t)nb->state : NUD_PERMANENT;
		ndm->ndm_flags = (uint8_t)nb->flags;
		nl_attr_put(&req, NDA_DST, ip.b, ip_len(ip.af));
		if (*nb->lladdr)
			nl_attr_put(&req, NDA_LLADDR, mac, sizeof(mac));
		r = nl_talk(&nl, &req, NULL, NULL);
		if (r < 0)
			return nl_fail(err, &nl, -r, "neighbor %s dev %s: add",
				       to, nb->device);
	}
	return 0;
}

int net_loopback_up(struct herr *err)
{
	_cleanup_nl_sock_ struct nl_sock nl = { .fd = -1 };
	_cleanup_vec_ struct vec links = VEC_INIT(struct link);
	const struct link *lo;
	int r;

	if (nl_open(&nl, err) < 0 || link_dump(&nl, &links, err) < 0)
		return -1;
	lo = link_by_name(&links, "lo");
	if (!lo)
		return herr_set(err, GRPC_NOT_FOUND, 0,
				"interface lo: Link not found");
	if (lo->flags & IFF_UP)
		return 0;
	r = link_set(&nl, lo->index, IFF_UP, IFF_UP, NULL, 0);
	if (r < 0)
		return nl_fail(err, &nl, -r, "interface lo: set up");
	return 0;
}
