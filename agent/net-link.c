// SPDX-License-Identifier: Apache-2.0
/*
 * Links: the RTM_GETLINK dump, lookups in it by index, name and MAC, and
 * RTM_NEWLINK changes (flags, name, MTU).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/if_link.h>

#include "net-internal.h"
#include "netlink.h"
#include "network.h"
#include "util.h"

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nlh);
	const struct rtattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
	const char *name, *kind;
	struct net_link *k;
	size_t len;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    !nl_msg_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX))
		return 0;
	k = net_vec_push(data);
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

int net_link_dump(struct nl_sock *nl, struct net_vec *links, struct herr *err)
{
	int r = nl_dump_all(nl, RTM_GETLINK, sizeof(struct ifinfomsg), link_cb,
			    net_vec_restart, links);

	if (r < 0)
		return nl_fail(err, nl, -r, "list links");
	return 0;
}

const struct net_link *net_link_by_index(const struct net_vec *links, int index)
{
	size_t i;

	for (i = 0; i < links->n; i++)
		if (NET_VEC_AT(links, struct net_link, i)->index == index)
			return NET_VEC_AT(links, struct net_link, i);
	return NULL;
}

const struct net_link *net_link_by_name(const struct net_vec *links,
					const char *name)
{
	size_t i;

	for (i = 0; i < links->n; i++)
		if (!strcmp(NET_VEC_AT(links, struct net_link, i)->name, name))
			return NET_VEC_AT(links, struct net_link, i);
	return NULL;
}

const struct net_link *net_link_by_hw(const struct net_vec *links,
				      const unsigned char mac[6])
{
	const struct net_link *k;
	size_t i;

	for (i = 0; i < links->n; i++) {
		k = NET_VEC_AT(links, struct net_link, i);
		if (k->hw_len == 6 && !memcmp(k->hw, mac, 6))
			return k;
	}
	return NULL;
}

/* RTM_NEWLINK on @index: flags under @change, and a name or MTU if given. */
int net_link_set(struct nl_sock *nl, int index, unsigned int change,
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
