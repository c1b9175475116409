// SPDX-License-Identifier: Apache-2.0
/*
 * Addresses on links: the RTM_GETADDR dump, and making one link's
 * addresses exactly what the runtime asked for.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_addr.h>

#include "net-internal.h"
#include "netlink.h"
#include "network.h"
#include "util.h"

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(nlh);
	const struct rtattr *tb[IFA_MAX + 1];
	const struct rtattr *a;
	struct net_ip ip;
	struct net_addr *ad;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    !nl_msg_attrs(nlh, sizeof(*ifa), tb, IFA_MAX) ||
	    (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return 0;
	/* IFA_LOCAL is the address itself; IFA_ADDRESS may be a peer. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!net_attr_ip(a, ifa->ifa_family, &ip))
		return 0;
	ip.prefix = ifa->ifa_prefixlen;
	ad = net_vec_push(data);
	if (!ad)
		return -ENOMEM;
	ad->index = (int)ifa->ifa_index;
	ad->ip = ip;
	return 0;
}

int net_addr_dump(struct nl_sock *nl, struct net_vec *addrs, struct herr *err)
{
	int r = nl_dump_all(nl, RTM_GETADDR, sizeof(struct ifaddrmsg), addr_cb,
			    net_vec_restart, addrs);

	if (r < 0)
		return nl_fail(err, nl, -r, "list addresses");
	return 0;
}

static int addr_change(struct nl_sock *nl, uint16_t type, int index,
		       const struct net_ip *ip)
{
	struct nl_req req;
	struct ifaddrmsg *ifa;
	unsigned char brd[4];
	uint32_t host;
	size_t len = net_ip_len(ip->af);

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

/* Make the link's addresses exactly @want (link-local IPv6 aside). */
int net_addrs_replace(struct nl_sock *nl, const struct net_link *k,
		      const struct net_ip *want, size_t n, struct herr *err)
{
	_cleanup_net_vec_ struct net_vec addrs = NET_VEC_INIT(struct net_addr);
	const struct net_addr *ad;
	char buf[INET6_ADDRSTRLEN];
	size_t i, j;
	int r;

	if (net_addr_dump(nl, &addrs, err) < 0)
		return herr_prefix(err, "interface %s", k->name);
	for (i = 0; i < addrs.n; i++) {
		ad = NET_VEC_AT(&addrs, struct net_addr, i);
		if (ad->index != k->index || net_ip_is_link_local6(&ad->ip))
			continue;
		for (j = 0; j < n; j++)
			if (net_ip_same(&ad->ip, &want[j]))
				break;
		if (j < n)
			continue;
		r = addr_change(nl, RTM_DELADDR, k->index, &ad->ip);
		/* Deleting a primary IPv4 address takes its secondaries. */
		if (r < 0 && r != -EADDRNOTAVAIL && r != -ENOENT)
			return nl_fail(err, nl, -r,
				       "interface %s: delete address %s/%u",
				       k->name,
				       net_ip_str(&ad->ip, buf, sizeof(buf)),
				       ad->ip.prefix);
	}
	for (j = 0; j < n; j++) {
		r = addr_change(nl, RTM_NEWADDR, k->index, &want[j]);
		if (r < 0)
			return nl_fail(
				err, nl, -r, "interface %s: add address %s/%u",
				k->name, net_ip_str(&want[j], buf, sizeof(buf)),
				want[j].prefix);
	}
	return 0;
}
