// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's AddARPNeighbors: static neighbour entries (RTM_NEWNEIGH),
 * so that the pod reaches its gateway without waiting for ARP.
 */
#include <linux/neighbour.h>

#include "net-internal.h"
#include "netlink.h"
#include "network.h"
#include "util.h"

int net_add_arp_neighbors(const Grpc__ARPNeighbors *neighbors, struct herr *err)
{
	_cleanup_nl_sock_ struct nl_sock nl = { .fd = -1 };
	_cleanup_net_vec_ struct net_vec links = NET_VEC_INIT(struct net_link);
	struct nl_req req;
	const Types__ARPNeighbor *nb;
	const struct net_link *k;
	struct ndmsg *ndm;
	unsigned char mac[6];
	struct net_ip ip;
	const char *to;
	size_t i;
	int r;

	if (!neighbors || !neighbors->n_arpneighbors)
		return 0;
	if (nl_open(&nl, err) < 0 || net_link_dump(&nl, &links, err) < 0)
		return -1;
	for (i = 0; i < neighbors->n_arpneighbors; i++) {
		nb = neighbors->arpneighbors[i];
		to = nb && nb->toipaddress ? nb->toipaddress->address : "";
		if (!nb || !nb->toipaddress ||
		    net_ip_parse(to, nb->toipaddress->family, &ip) < 0)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"neighbor[%zu]: toIPAddress \"%s\" is "
					"not an IP address",
					i, to);
		if (*nb->lladdr && net_mac_parse(nb->lladdr, mac) < 0)
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
		k = net_link_by_name(&links, nb->device);
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
		nl_attr_put(&req, NDA_DST, ip.b, net_ip_len(ip.af));
		if (*nb->lladdr)
			nl_attr_put(&req, NDA_LLADDR, mac, sizeof(mac));
		r = nl_talk(&nl, &req, NULL, NULL);
		if (r < 0)
			return nl_fail(err, &nl, -r, "neighbor %s dev %s: add",
				       to, nb->device);
	}
	return 0;
}
