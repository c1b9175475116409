/*
 * Guest networking over rtnetlink (lib/netlink.h): the agent's
 * UpdateInterface, UpdateRoutes, ListInterfaces, ListRoutes and
 * AddARPNeighbors, one file each under agent/net-*.c.  Every function
 * works in the calling process's network namespace.
 */
/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest networking over plain rtnetlink (<linux/rtnetlink.h>, NO libmnl: its
 * source package cannot be downloaded from our archive, so the static musl
 * agent cannot link it): the agent's UpdateInterface, UpdateRoutes,
 * ListInterfaces, ListRoutes and AddARPNeighbors.  Every function works in
 * the calling process's network namespace.
 */
#ifndef HUSK_AGENT_NETWORK_H
#define HUSK_AGENT_NETWORK_H

#include "agent.pb-c.h"
#include "err.h"
#include "types.pb-c.h"

/*
 * Find the link by hwAddr (or name when no hwAddr), rename it, set MTU,
 * replace its addresses, set flags (IFF_NOARP from raw_flags) and bring it
 * up.  *@out is the interface as it now is (free with
 * protobuf_c_message_free_unpacked-compatible net_interface_free()).
 * A missing link is NOT_FOUND "Link not found" (the runtime retries on it).
 */
int net_update_interface(const Types__Interface *want, Types__Interface **out,
			 struct herr *err);

/*
 * Replace the main routing table with @want: routes the kernel made for
 * addresses (proto kernel) and loopback's stay, every other unicast route
 * goes, then @want is added, routes without a gateway first.  *@out (if
 * @out) is the table afterwards, as net_list_routes() gives it.
 */
int net_update_routes(const Grpc__Routes *want, Grpc__Routes **out,
		      struct herr *err);

/* Every link with its addresses, MTU, hwAddr, kind (type) and flags. */
int net_list_interfaces(Grpc__Interfaces **out, struct herr *err);
/* Unicast routes of the main table; dest is "default" or a CIDR. */
int net_list_routes(Grpc__Routes **out, struct herr *err);
/* Add or replace neighbour entries (state 0 means NUD_PERMANENT). */
int net_add_arp_neighbors(const Grpc__ARPNeighbors *neighbors,
			  struct herr *err);

/* Free what the functions above return. */
void net_interface_free(Types__Interface *ifc);
void net_interfaces_free(Grpc__Interfaces *ifcs);
void net_routes_free(Grpc__Routes *routes);

#endif
