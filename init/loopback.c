// SPDX-License-Identifier: Apache-2.0
/*
 * "lo" up at boot, over rtnetlink (lib/netlink): the agent's own local
 * traffic and every container that shares the guest's network namespace
 * need it before the runtime configures anything.
 */
#include <net/if.h>
#include <sys/socket.h>

#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "init.h"
#include "netlink.h"

int init_loopback_up(struct herr *err)
{
	_cleanup_nl_sock_ struct nl_sock nl = { .fd = -1 };
	struct nl_req req;
	struct ifinfomsg *ifi;
	int r;

	if (nl_open(&nl, err) < 0)
		return -1;
	nl_req_init(&req, RTM_NEWLINK, NLM_F_ACK);
	ifi = nl_req_hdr(&req, struct ifinfomsg);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = IFF_UP;
	/* Index 0 and a name: the kernel finds the link by its name. */
	nl_attr_put_str(&req, IFLA_IFNAME, "lo");
	r = nl_talk(&nl, &req, NULL, NULL);
	if (r < 0)
		return nl_fail(err, &nl, -r, "interface lo: set up");
	return 0;
}
