// SPDX-License-Identifier: Apache-2.0
/*
 * Reading a pod's network namespace: the interfaces the CNI made, their
 * addresses, the routes through them and their permanent neighbours, as
 * Kata's runtime reads them before it tells the agent (UpdateInterface,
 * UpdateRoutes, AddARPNeighbors).  The kernel's replies are parsed as
 * bounded input: every attribute's size is checked, every table has a
 * hard limit, and exceeding one fails with the namespace and interface
 * named.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if_arp.h>
#include <linux/neighbour.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "net.h"
#include "netlink.h"

struct scan {
	struct net_pod *pod;
	unsigned int max_ifaces;
	struct herr *err;
	bool failed; /* err is filled: a limit or malformed data */
};

static int scan_fail(struct scan *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int scan_fail(struct scan *s, const char *fmt, ...)
{
	char what[HERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	herr_set(s->err, GRPC_FAILED_PRECONDITION, 0, "pod network %s: %s",
		 s->pod->ns_path, what);
	s->failed = true;
	return -EINVAL;
}

static struct net_iface *iface_by_index(struct net_pod *pod, int ifindex)
{
	for (unsigned int i = 0; i < pod->n_ifaces; i++)
		if (pod->ifaces[i].ifindex == ifindex)
			return &pod->ifaces[i];
	return NULL;
}

static size_t family_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

/* IPv6 link-local (fe80::/10) or multicast (ff00::/8). */
static bool v6_local_or_mcast(const uint8_t *a)
{
	return (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || a[0] == 0xff;
}

/* ---- links --------------------------------------------------------------- */

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct scan *s = data;
	const struct ifinfomsg *ifi = NLMSG_DATA(nlh);
	const struct rtattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1];
	struct net_iface *ifc;
	const char *name, *kind;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    !nl_msg_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX))
		return 0;
	if (ifi->ifi_flags & IFF_LOOPBACK)
		return 0;
	name = nl_attr_str(tb[IFLA_IFNAME]);
	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return scan_fail(s, "link %d: no valid name", ifi->ifi_index);
	/* husk's own taps, left by a shim that died: not the pod's. */
	if (!strncmp(name, NET_TAP_PREFIX, strlen(NET_TAP_PREFIX)))
		return 0;
	if (ifi->ifi_type != ARPHRD_ETHER)
		return scan_fail(s,
				 "interface %s: link type %u is not Ethernet "
				 "and cannot be carried into the VM",
				 name, ifi->ifi_type);
	if (s->pod->n_ifaces >= s->max_ifaces)
		return scan_fail(s,
				 "interface %s: more than %u interfaces "
				 "(the configured maximum)",
				 name, s->max_ifaces);
	ifc = &s->pod->ifaces[s->pod->n_ifaces];
	memset(ifc, 0, sizeof(*ifc));
	ifc->tap_fd = -1;
	ifc->ifindex = ifi->ifi_index;
	ifc->flags = ifi->ifi_flags;
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	if (!nl_attr_copy(tb[IFLA_ADDRESS], ifc->mac, sizeof(ifc->mac)))
		return scan_fail(s, "interface %s: no 6-byte MAC address",
				 name);
	if (!nl_attr_u32(tb[IFLA_MTU], &ifc->mtu) || ifc->mtu < 68 ||
	    ifc->mtu > 65535)
		return scan_fail(s, "interface %s: no valid MTU", name);
	if (tb[IFLA_LINKINFO]) {
		nl_attrs_nested(tb[IFLA_LINKINFO], li, IFLA_INFO_MAX);
		kind = nl_attr_str(li[IFLA_INFO_KIND]);
		if (kind)
			snprintf(ifc->kind, sizeof(ifc->kind), "%s", kind);
	}
	s->pod->n_ifaces++;
	return 0;
}

static void link_restart(void *data)
{
	((struct scan *)data)->pod->n_ifaces = 0;
}

/* ---- addresses ----------------------------------------------------------- */

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct scan *s = data;
	const struct ifaddrmsg *ifa = NLMSG_DATA(nlh);
	const struct rtattr *tb[IFA_MAX + 1], *a;
	struct net_iface *ifc;
	struct net_addr *ad;
	size_t len;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    !nl_msg_attrs(nlh, sizeof(*ifa), tb, IFA_MAX))
		return 0;
	ifc = iface_by_index(s->pod, (int)ifa->ifa_index);
	len = family_len(ifa->ifa_family);
	if (!ifc || !len)
		return 0;
	/* IFA_LOCAL is the address itself; IFA_ADDRESS the peer's on a
	 * point-to-point link, the same otherwise. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (ifa->ifa_prefixlen > len * 8)
		return scan_fail(s, "interface %s: address prefix /%u too long",
				 ifc->name, ifa->ifa_prefixlen);
	if (ifc->n_addrs >= NET_ADDRS_MAX)
		return scan_fail(s, "interface %s: more than %d addresses",
				 ifc->name, NET_ADDRS_MAX);
	ad = &ifc->addrs[ifc->n_addrs];
	memset(ad, 0, sizeof(*ad));
	if (!nl_attr_copy(a, ad->addr, len))
		return scan_fail(s, "interface %s: malformed address",
				 ifc->name);
	if (ifa->ifa_family == AF_INET6 && v6_local_or_mcast(ad->addr))
		return 0;
	ad->family = ifa->ifa_family;
	ad->prefix = ifa->ifa_prefixlen;
	ifc->n_addrs++;
	return 0;
}

static void addr_restart(void *data)
{
	struct net_pod *pod = ((struct scan *)data)->pod;

	for (unsigned int i = 0; i < pod->n_ifaces; i++)
		pod->ifaces[i].n_addrs = 0;
}

/* ---- routes -------------------------------------------------------------- */

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct scan *s = data;
	const struct rtmsg *rtm = NLMSG_DATA(nlh);
	const struct rtattr *tb[RTA_MAX + 1], *mx[RTAX_MAX + 1];
	struct net_iface *ifc;
	struct net_route *r;
	uint32_t table, oif;
	size_t len;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    !nl_msg_attrs(nlh, sizeof(*rtm), tb, RTA_MAX))
		return 0;
	table = rtm->rtm_table;
	if (tb[RTA_TABLE] && !nl_attr_u32(tb[RTA_TABLE], &table))
		return scan_fail(s, "route: malformed table");
	len = family_len(rtm->rtm_family);
	/* Main-table unicast routes through a carried interface; multipath
	 * routes (no RTA_OIF) are not carried. */
	if (table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST || !len ||
	    !nl_attr_u32(tb[RTA_OIF], &oif))
		return 0;
	ifc = iface_by_index(s->pod, (int)oif);
	if (!ifc)
		return 0;
	if (rtm->rtm_dst_len > len * 8)
		return scan_fail(s, "interface %s: route prefix /%u too long",
				 ifc->name, rtm->rtm_dst_len);
	if (s->pod->n_routes >= NET_ROUTES_MAX)
		return scan_fail(s, "interface %s: more than %d routes",
				 ifc->name, NET_ROUTES_MAX);
	r = &s->pod->routes[s->pod->n_routes];
	memset(r, 0, sizeof(*r));
	if (tb[RTA_DST] && !nl_attr_copy(tb[RTA_DST], r->dst, len))
		return scan_fail(s, "interface %s: malformed route destination",
				 ifc->name);
	if (rtm->rtm_family == AF_INET6 && rtm->rtm_dst_len &&
	    v6_local_or_mcast(r->dst))
		return 0;
	if (tb[RTA_GATEWAY]) {
		if (!nl_attr_copy(tb[RTA_GATEWAY], r->gw, len))
			return scan_fail(s, "interface %s: malformed gateway",
					 ifc->name);
		r->has_gw = true;
	}
	if (tb[RTA_PREFSRC]) {
		if (!nl_attr_copy(tb[RTA_PREFSRC], r->src, len))
			return scan_fail(s, "interface %s: malformed source",
					 ifc->name);
		r->has_src = true;
	}
	if (tb[RTA_METRICS]) {
		nl_attrs_nested(tb[RTA_METRICS], mx, RTAX_MAX);
		if (mx[RTAX_MTU] && !nl_attr_u32(mx[RTAX_MTU], &r->mtu))
			return scan_fail(s, "interface %s: malformed route MTU",
					 ifc->name);
	}
	r->family = rtm->rtm_family;
	r->dst_len = rtm->rtm_dst_len;
	r->oif = ifc->ifindex;
	memcpy(r->dev, ifc->name, sizeof(r->dev));
	r->scope = rtm->rtm_scope;
	r->protocol = rtm->rtm_protocol;
	r->flags = rtm->rtm_flags;
	s->pod->n_routes++;
	return 0;
}

static void route_restart(void *data)
{
	((struct scan *)data)->pod->n_routes = 0;
}

/* ---- neighbours ---------------------------------------------------------- */

static int neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	struct scan *s = data;
	const struct ndmsg *ndm = NLMSG_DATA(nlh);
	const struct rtattr *tb[NDA_MAX + 1];
	struct net_iface *ifc;
	struct net_neigh *n;
	size_t len;

	if (nlh->nlmsg_type != RTM_NEWNEIGH ||
	    !nl_msg_attrs(nlh, sizeof(*ndm), tb, NDA_MAX))
		return 0;
	len = family_len(ndm->ndm_family);
	if (!(ndm->ndm_state & NUD_PERMANENT) || !len)
		return 0;
	ifc = iface_by_index(s->pod, ndm->ndm_ifindex);
	if (!ifc)
		return 0;
	if (s->pod->n_neighs >= NET_NEIGHS_MAX)
		return scan_fail(s, "interface %s: more than %d neighbours",
				 ifc->name, NET_NEIGHS_MAX);
	n = &s->pod->neighs[s->pod->n_neighs];
	memset(n, 0, sizeof(*n));
	if (!nl_attr_copy(tb[NDA_DST], n->ip, len) ||
	    !nl_attr_copy(tb[NDA_LLADDR], n->lladdr, sizeof(n->lladdr)))
		return scan_fail(s, "interface %s: malformed neighbour",
				 ifc->name);
	n->family = ndm->ndm_family;
	n->ifindex = ifc->ifindex;
	memcpy(n->dev, ifc->name, sizeof(n->dev));
	n->state = ndm->ndm_state;
	n->flags = ndm->ndm_flags;
	s->pod->n_neighs++;
	return 0;
}

static void neigh_restart(void *data)
{
	((struct scan *)data)->pod->n_neighs = 0;
}

/* ---- the scan ------------------------------------------------------------ */

/* One dump of @type with family header @hdr of @hdrlen bytes. */
static int scan_dump(struct scan *s, struct nl_sock *nl, uint16_t type,
		     const void *hdr, size_t hdrlen, nl_msg_cb cb,
		     void (*restart)(void *), const char *what)
{
	struct nl_req req;
	void *h;
	int r;

	nl_req_init(&req, type, NLM_F_DUMP);
	h = nl_req_reserve(&req, hdrlen);
	if (h)
		memcpy(h, hdr, hdrlen);
	r = nl_dump(nl, &req, cb, restart, s);
	if (r < 0 && s->failed)
		return -1;
	if (r < 0)
		return nl_fail(s->err, nl, -r, "pod network %s: list %s",
			       s->pod->ns_path, what);
	return 0;
}

static int scan_in_ns(void *arg, struct herr *err)
{
	struct scan *s = arg;
	_cleanup_nl_sock_ struct nl_sock nl = { .fd = -1 };
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct ifaddrmsg ifa = { .ifa_family = AF_UNSPEC };
	struct rtmsg rtm = { .rtm_family = AF_UNSPEC };
	struct ndmsg ndm = { .ndm_family = AF_UNSPEC };

	s->err = err;
	if (nl_open(&nl, err) < 0)
		return herr_prefix(err, "pod network %s", s->pod->ns_path);
	if (scan_dump(s, &nl, RTM_GETLINK, &ifi, sizeof(ifi), link_cb,
		      link_restart, "links") < 0 ||
	    scan_dump(s, &nl, RTM_GETADDR, &ifa, sizeof(ifa), addr_cb,
		      addr_restart, "addresses") < 0 ||
	    scan_dump(s, &nl, RTM_GETROUTE, &rtm, sizeof(rtm), route_cb,
		      route_restart, "routes") < 0 ||
	    scan_dump(s, &nl, RTM_GETNEIGH, &ndm, sizeof(ndm), neigh_cb,
		      neigh_restart, "neighbours") < 0)
		return -1;
	return 0;
}

void net_pod_init(struct net_pod *pod)
{
	memset(pod, 0, sizeof(*pod));
	for (unsigned int i = 0; i < NET_IFACES_MAX; i++)
		pod->ifaces[i].tap_fd = -1;
}

int net_scan(struct net_pod *pod, const char *ns_path, unsigned int max_ifaces,
	     struct herr *err)
{
	struct scan s = { .pod = pod, .err = err };

	net_pod_init(pod);
	if (strlen(ns_path) >= sizeof(pod->ns_path))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"network namespace path too long: %.64s...",
				ns_path);
	snprintf(pod->ns_path, sizeof(pod->ns_path), "%s", ns_path);
	s.max_ifaces = max_ifaces && max_ifaces < NET_IFACES_MAX
			       ? max_ifaces
			       : NET_IFACES_MAX;
	if (net_ns_run(ns_path, scan_in_ns, &s, err) < 0) {
		net_pod_init(pod);
		return -1;
	}
	return 0;
}
