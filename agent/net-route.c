// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's UpdateRoutes and ListRoutes: the RTM_GETROUTE dump, routes
 * the runtime sends parsed and checked, the main table replaced, and the
 * table described back as Types__Route.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net-internal.h"
#include "netlink.h"
#include "network.h"
#include "util.h"

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = NLMSG_DATA(nlh);
	const struct rtattr *tb[RTA_MAX + 1], *metrics[RTAX_MAX + 1];
	struct net_route rt = { 0 };
	unsigned int oif = 0;
	struct net_route *slot;
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
	rt.has_dst = net_attr_ip(tb[RTA_DST], af, &rt.dst);
	rt.dst.prefix = rtm->rtm_dst_len;
	rt.has_gw = net_attr_ip(tb[RTA_GATEWAY], af, &rt.gw);
	rt.has_src = net_attr_ip(tb[RTA_PREFSRC], af, &rt.src);
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
	slot = net_vec_push(data);
	if (!slot)
		return -ENOMEM;
	*slot = rt;
	return 0;
}

static int route_dump(struct nl_sock *nl, struct net_vec *routes,
		      struct herr *err)
{
	int r = nl_dump_all(nl, RTM_GETROUTE, sizeof(struct rtmsg), route_cb,
			    net_vec_restart, routes);

	if (r < 0)
		return nl_fail(err, nl, -r, "list routes");
	return 0;
}

/* "default" or "<address>/<prefix>". */
static const char *route_dest_fmt(const struct net_route *rt, char *buf,
				  size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (rt->dst.prefix == 0)
		snprintf(buf, len, "default");
	else
		snprintf(buf, len, "%s/%u",
			 rt->has_dst ? net_ip_str(&rt->dst, ip, sizeof(ip))
				     : "?",
			 rt->dst.prefix & 0xff);
	return buf;
}

static Types__Route *route_build(const struct net_route *rt,
				 const struct net_vec *links)
{
	Types__Route *r = xmalloc(sizeof(*r));
	const struct net_link *k = net_link_by_index(links, rt->oif);
	char buf[INET6_ADDRSTRLEN];
	char dst[INET6_ADDRSTRLEN + 16];

	types__route__init(r);
	r->dest = xstrdup(route_dest_fmt(rt, dst, sizeof(dst)));
	r->gateway = xstrdup(rt->has_gw ? net_ip_str(&rt->gw, buf, sizeof(buf))
					: "");
	r->device = xstrdup(k ? k->name : "");
	r->source = xstrdup(rt->has_src ? net_ip_str(&rt->src, buf, sizeof(buf))
					: "");
	r->scope = rt->scope;
	r->family = rt->dst.af == AF_INET6 ? TYPES__IPFAMILY__v6
					   : TYPES__IPFAMILY__v4;
	r->flags = rt->flags;
	r->mtu = rt->mtu;
	return r;
}

/* The routes a Types__Route can describe: unicast ones in the main table. */
static bool route_listed(const struct net_route *rt)
{
	return rt->table == RT_TABLE_MAIN && rt->type == RTN_UNICAST;
}

static int routes_collect(struct nl_sock *nl, Grpc__Routes **out,
			  struct herr *err)
{
	_cleanup_net_vec_ struct net_vec links = NET_VEC_INIT(struct net_link);
	_cleanup_net_vec_ struct net_vec routes =
		NET_VEC_INIT(struct net_route);
	Grpc__Routes *res;
	const struct net_route *rt;
	size_t i;

	if (net_link_dump(nl, &links, err) < 0 ||
	    route_dump(nl, &routes, err) < 0)
		return -1;
	res = xmalloc(sizeof(*res));
	grpc__routes__init(res);
	if (routes.n)
		res->routes = xcalloc(routes.n, sizeof(*res->routes));
	for (i = 0; i < routes.n; i++) {
		rt = NET_VEC_AT(&routes, struct net_route, i);
		if (route_listed(rt))
			res->routes[res->n_routes++] = route_build(rt, &links);
	}
	*out = res;
	return 0;
}

void net_routes_free(Grpc__Routes *routes)
{
	if (routes)
		protobuf_c_message_free_unpacked(&routes->base, NULL);
}

int net_list_routes(Grpc__Routes **out, struct herr *err)
{
	_cleanup_nl_sock_ struct nl_sock nl = { .fd = -1 };

	if (nl_open(&nl, err) < 0)
		return -1;
	return routes_collect(&nl, out, err);
}

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
	struct net_ip ip;
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
			if (net_ip_parse(dst, TYPES__IPFAMILY__v4, &ip) == 0)
				return ip.af;
		}
	}
	for (i = 0; i < ARRAY_SIZE(s); i++)
		if (*s[i] && net_ip_parse(s[i], TYPES__IPFAMILY__v4, &ip) == 0)
			return ip.af;
	return m->family == TYPES__IPFAMILY__v6 ? AF_INET6 : AF_INET;
}

static int route_parse(const Types__Route *m, const struct net_vec *links,
		       struct net_route *rt, struct herr *err)
{
	int af = route_family(m);
	int fam = af == AF_INET6 ? TYPES__IPFAMILY__v6 : TYPES__IPFAMILY__v4;
	char label[256], dst[INET6_ADDRSTRLEN];
	const struct net_link *k;
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
		if (net_ip_parse(dst, fam, &rt->dst) < 0 || rt->dst.af != af)
			goto bad_dest;
		if (slash &&
		    net_prefix_parse(slash + 1, af, &rt->dst.prefix) < 0)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"%s: dest prefix \"%s\" is not a "
					"prefix length (0-%u)",
					label, slash + 1,
					net_ip_max_prefix(af));
		rt->has_dst = true;
	}
	if (*m->gateway) {
		if (net_ip_parse(m->gateway, fam, &rt->gw) < 0 ||
		    rt->gw.af != af)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"%s: gateway \"%s\" is not an %s address",
				label, m->gateway,
				af == AF_INET6 ? "IPv6" : "IPv4");
		rt->has_gw = true;
	}
	if (*m->source) {
		if (net_ip_parse(m->source, fam, &rt->src) < 0 ||
		    rt->src.af != af)
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
		k = net_link_by_name(links, m->device);
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
			const struct net_route *rt)
{
	struct nl_req req;
	struct rtmsg *rtm;
	struct rtattr *nest;
	size_t len = net_ip_len(rt->dst.af);
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
static bool route_replaceable(const struct net_route *rt,
			      const struct net_vec *links)
{
	const struct net_link *k = net_link_by_index(links, rt->oif);

	if (!route_listed(rt) || rt->protocol == RTPROT_KERNEL)
		return false;
	return !(k && (k->flags & IFF_LOOPBACK));
}

int net_update_routes(const Grpc__Routes *want, Grpc__Routes **out,
		      struct herr *err)
{
	_cleanup_nl_sock_ struct nl_sock nl = { .fd = -1 };
	_cleanup_net_vec_ struct net_vec links = NET_VEC_INIT(struct net_link);
	_cleanup_net_vec_ struct net_vec old = NET_VEC_INIT(struct net_route);
	_cleanup_free_ struct net_route *rts = NULL;
	size_t n = want ? want->n_routes : 0;
	char label[256], dst[INET6_ADDRSTRLEN + 16];
	const struct net_route *rt;
	size_t i;
	int pass, r;

	if (nl_open(&nl, err) < 0 || net_link_dump(&nl, &links, err) < 0)
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
		rt = NET_VEC_AT(&old, struct net_route, i);
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
