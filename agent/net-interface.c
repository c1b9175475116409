// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's UpdateInterface and ListInterfaces: a link found by MAC or
 * name, renamed, its MTU, addresses and flags set, and every link
 * described back as a Types__Interface.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net-internal.h"
#include "netlink.h"
#include "network.h"
#include "util.h"

static Types__IPAddress *ipaddr_build(const struct net_ip *ip)
{
	Types__IPAddress *a = xmalloc(sizeof(*a));
	char buf[INET6_ADDRSTRLEN];

	types__ipaddress__init(a);
	a->family =
		ip->af == AF_INET6 ? TYPES__IPFAMILY__v6 : TYPES__IPFAMILY__v4;
	a->address = xstrdup(net_ip_str(ip, buf, sizeof(buf)));
	snprintf(buf, sizeof(buf), "%u", ip->prefix);
	a->mask = xstrdup(buf);
	return a;
}

/* Every string is malloc'd so protobuf_c_message_free_unpacked() frees it. */
static Types__Interface *ifc_build(const struct net_link *k,
				   const struct net_vec *addrs)
{
	Types__Interface *ifc = xmalloc(sizeof(*ifc));
	const struct net_addr *ad;
	size_t i, n = 0;

	types__interface__init(ifc);
	ifc->device = xstrdup("");
	ifc->name = xstrdup(k->name);
	ifc->mtu = k->mtu;
	ifc->hwaddr = net_hw_str(k->hw, k->hw_len);
	ifc->devicepath = xstrdup("");
	ifc->type = xstrdup(k->kind);
	ifc->raw_flags = k->flags;
	for (i = 0; i < addrs->n; i++)
		if (NET_VEC_AT(addrs, struct net_addr, i)->index == k->index)
			n++;
	if (!n)
		return ifc;
	ifc->ipaddresses = xcalloc(n, sizeof(*ifc->ipaddresses));
	for (i = 0; i < addrs->n; i++) {
		ad = NET_VEC_AT(addrs, struct net_addr, i);
		if (ad->index == k->index)
			ifc->ipaddresses[ifc->n_ipaddresses++] =
				ipaddr_build(&ad->ip);
	}
	return ifc;
}

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

int net_list_interfaces(Grpc__Interfaces **out, struct herr *err)
{
	_cleanup_nl_sock_ struct nl_sock nl = { .fd = -1 };
	_cleanup_net_vec_ struct net_vec links = NET_VEC_INIT(struct net_link);
	_cleanup_net_vec_ struct net_vec addrs = NET_VEC_INIT(struct net_addr);
	Grpc__Interfaces *res;
	size_t i;

	if (nl_open(&nl, err) < 0 || net_link_dump(&nl, &links, err) < 0 ||
	    net_addr_dump(&nl, &addrs, err) < 0)
		return -1;
	res = xmalloc(sizeof(*res));
	grpc__interfaces__init(res);
	if (links.n)
		res->interfaces = xcalloc(links.n, sizeof(*res->interfaces));
	for (i = 0; i < links.n; i++)
		res->interfaces[res->n_interfaces++] = ifc_build(
			NET_VEC_AT(&links, struct net_link, i), &addrs);
	*out = res;
	return 0;
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
			struct net_ip **ips, struct herr *err)
{
	const char *label = ifc_label(want);
	const Types__IPAddress *a;
	size_t i;

	if (want->hwaddr && *want->hwaddr &&
	    net_mac_parse(want->hwaddr, mac) < 0)
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"interface %s: hwAddr \"%s\" is not a MAC address",
			label, want->hwaddr);
	if (want->name && *want->name && !net_ifname_valid(want->name))
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
		    net_ip_parse(a->address, a->family, &(*ips)[i]) < 0)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"interface %s: IPAddresses[%zu]: address "
				"\"%s\" is not an %s address",
				label, i, a && a->address ? a->address : "",
				a && a->family == TYPES__IPFAMILY__v6 ? "IPv6"
								      : "IP");
		if (net_prefix_parse(a->mask ? a->mask : "", (*ips)[i].af,
				     &(*ips)[i].prefix) < 0)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"interface %s: IPAddresses[%zu]: mask \"%s\" "
				"of %s is not a prefix length (0-%u)",
				label, i, a->mask ? a->mask : "", a->address,
				net_ip_max_prefix((*ips)[i].af));
	}
	return 0;
}

static Types__Interface *ifc_lookup_build(struct nl_sock *nl, int index,
					  struct herr *err)
{
	_cleanup_net_vec_ struct net_vec links = NET_VEC_INIT(struct net_link);
	_cleanup_net_vec_ struct net_vec addrs = NET_VEC_INIT(struct net_addr);
	const struct net_link *k;

	if (net_link_dump(nl, &links, err) < 0 ||
	    net_addr_dump(nl, &addrs, err) < 0)
		return NULL;
	k = net_link_by_index(&links, index);
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
	_cleanup_net_vec_ struct net_vec links = NET_VEC_INIT(struct net_link);
	_cleanup_free_ struct net_ip *ips = NULL;
	unsigned char mac[6];
	const struct net_link *found;
	struct net_link k;
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
	if (nl_open(&nl, err) < 0 || net_link_dump(&nl, &links, err) < 0)
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
	found = by_hw ? net_link_by_hw(&links, mac)
		      : net_link_by_name(&links, key);
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
			r = net_link_set(&nl, k.index, IFF_UP, 0, NULL, 0);
			if (r < 0)
				return nl_fail(err, &nl, -r,
					       "interface %s: set down",
					       k.name);
		}
		r = net_link_set(&nl, k.index, 0, 0, want->name, 0);
		if (r < 0)
			return nl_fail(err, &nl, -r,
				       "interface %s: rename to %s", k.name,
				       want->name);
		snprintf(k.name, sizeof(k.name), "%s", want->name);
	}
	if (want->mtu && want->mtu != k.mtu) {
		r = net_link_set(&nl, k.index, 0, 0, NULL,
				 (unsigned int)want->mtu);
		if (r < 0)
			return nl_fail(err, &nl, -r,
				       "interface %s: set mtu %llu", k.name,
				       (unsigned long long)want->mtu);
	}
	if (net_addrs_replace(&nl, &k, ips, want->n_ipaddresses, err) < 0)
		return -1;
	/* Only IFF_NOARP comes from the runtime; the link always goes up. */
	flags = IFF_UP | (want->raw_flags & IFF_NOARP);
	r = net_link_set(&nl, k.index, IFF_UP | IFF_NOARP, flags, NULL, 0);
	if (r < 0)
		return nl_fail(err, &nl, -r, "interface %s: set up", k.name);

	if (out) {
		*out = ifc_lookup_build(&nl, k.index, err);
		if (!*out)
			return herr_prefix(err, "interface %s", k.name);
	}
	return 0;
}
