/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pod networking on the host: what a pod's network namespace holds (the
 * interfaces the CNI made, their addresses, routes and permanent
 * neighbours), and the taps that carry each interface into the VM.
 *
 * Everything happens inside the pod's namespace, entered by path on a
 * short-lived thread of its own (net-ns.c): setns() changes only the
 * calling thread, so the shim's other threads never leave the host's
 * namespace, and the sockets and tap fds opened there keep working in it
 * after the thread is gone.  All changes go through rtnetlink
 * (lib/netlink.h); nothing runs ip or tc.
 *
 *   net_scan()         read the namespace into a struct net_pod
 *   net_taps_create()  a tap per interface, connected by the model; the
 *                      fds to hand to the hypervisor are in ifaces[i].tap_fd
 *   net_taps_remove()  undo exactly what net_taps_create() recorded
 *   net_taps_sweep()   after a crash (`delete`): remove every link named
 *                      NET_TAP_PREFIX* and every tc filter of husk's
 *                      priority in the namespace
 */
#ifndef HUSK_HOST_NET_H
#define HUSK_HOST_NET_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* Links husk makes are named NET_TAP_PREFIX "tap%u" (tcfilter) or
 * NET_TAP_PREFIX "mvt%u" (macvtap); the scan skips them, the sweep finds
 * them by it. */
#define NET_TAP_PREFIX "husk"
/* The priority of husk's u32 redirect filters ("HU"), which tells them
 * from anyone else's on a shared ingress qdisc. */
#define NET_FILTER_PRIO 0x4855

/* Hard bounds on what one namespace may hold. */
#define NET_IFACES_MAX 16
#define NET_ADDRS_MAX 16 /* per interface */
#define NET_ROUTES_MAX 64
#define NET_NEIGHS_MAX 64

enum net_model {
	NET_MODEL_NONE, /* no NIC in the VM */
	NET_MODEL_TCFILTER, /* tap + ingress qdiscs + mirred redirects */
	NET_MODEL_MACVTAP, /* macvtap (bridge mode) on the interface */
};

/* "none", "tcfilter", "macvtap" <-> the enum; -1 for an unknown name. */
int net_model_parse(const char *name);
const char *net_model_name(enum net_model model);

struct net_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t prefix;
};

struct net_iface {
	int ifindex;
	char name[IFNAMSIZ];
	uint8_t mac[6];
	uint32_t mtu;
	uint32_t flags; /* IFF_* as the kernel reports them */
	char kind[16]; /* IFLA_INFO_KIND: "veth", ... ("" for none) */
	struct net_addr addrs[NET_ADDRS_MAX];
	unsigned int n_addrs;

	/* Filled by net_taps_create(), read by net_taps_remove(). */
	char tap_name[IFNAMSIZ];
	int tap_ifindex; /* 0: no tap */
	int tap_fd; /* for the hypervisor; O_CLOEXEC, -1 if none */
	bool made_ingress; /* husk added the ingress qdisc on this iface */
	bool made_filter; /* and its redirect filter (tcfilter) */
	bool mac_swapped; /* macvtap: iface's MAC moved to the macvtap */
	uint8_t iface_new_mac[6]; /* what the iface got instead */
};

struct net_route {
	int family;
	uint8_t dst[16]; /* all zero with dst_len 0: the default route */
	uint8_t dst_len;
	uint8_t gw[16];
	bool has_gw;
	uint8_t src[16];
	bool has_src;
	int oif; /* ifindex, in the namespace */
	char dev[IFNAMSIZ];
	uint8_t scope; /* RT_SCOPE_* */
	uint8_t protocol; /* RTPROT_*: RTPROT_KERNEL ones come with addresses */
	uint32_t flags; /* rtm_flags (RTNH_F_ONLINK, ...) */
	uint32_t mtu; /* RTAX_MTU, 0 if unset */
};

struct net_neigh {
	int family;
	uint8_t ip[16];
	uint8_t lladdr[6];
	int ifindex;
	char dev[IFNAMSIZ];
	uint16_t state; /* NUD_PERMANENT: only those are collected */
	uint8_t flags;
};

/* A pod's network namespace as scanned. Allocate with calloc (it is big);
 * net_pod_init() before use. */
struct net_pod {
	char ns_path[256];
	enum net_model model;
	struct net_iface ifaces[NET_IFACES_MAX];
	unsigned int n_ifaces;
	struct net_route routes[NET_ROUTES_MAX];
	unsigned int n_routes;
	struct net_neigh neighs[NET_NEIGHS_MAX];
	unsigned int n_neighs;
};

void net_pod_init(struct net_pod *pod);

/*
 * Run @fn(@arg, @err) on a new thread that has entered the network
 * namespace at @ns_path, and return what it returned.  Fails, naming the
 * path, when it does not exist, is not a network namespace, or cannot be
 * entered.
 */
int net_ns_run(const char *ns_path, int (*fn)(void *arg, struct herr *err),
	       void *arg, struct herr *err);

/* 1 when @ns_path is a network namespace, 0 when it is gone (or is no
 * namespace any more: CRI unmounted it). */
int net_ns_exists(const char *ns_path);

/* 1 when @ns_path is the namespace the caller runs in (a host-network
 * pod: the VM gets no NIC), 0 when it is another, -1 on error. */
int net_ns_is_own(const char *ns_path, struct herr *err);

/*
 * Read every interface but lo (and husk's own taps) in @ns_path into
 * @pod: name, MAC, MTU, addresses (IPv6 link-local ones left out: the
 * guest makes the same from the same MAC), main-table routes through those
 * interfaces (IPv6 link-local and multicast ones left out), permanent
 * neighbours.  More than @max_ifaces interfaces (at most NET_IFACES_MAX),
 * or more addresses, routes or neighbours than the bounds above, or an
 * interface that is not Ethernet: fails, naming the namespace and the
 * interface.  Nothing in the namespace changes.
 */
int net_scan(struct net_pod *pod, const char *ns_path, unsigned int max_ifaces,
	     struct herr *err);

/*
 * For each scanned interface, make a tap inside the namespace and connect
 * it by @model (TCFILTER or MACVTAP), up and with the interface's MTU.
 * On success ifaces[i].tap_fd is the fd the hypervisor's
 * `-netdev tap,fd=N,vhost=off` takes (with IFF_VNET_HDR; the guest NIC
 * must use ifaces[i].mac).  On failure everything made so far is removed.
 */
int net_taps_create(struct net_pod *pod, enum net_model model,
		    struct herr *err);

/*
 * Remove what net_taps_create() recorded in @pod (taps by ifindex and
 * name, husk's filters and the ingress qdiscs it added, the interfaces'
 * MACs back) and close the tap fds.  A namespace that is gone already
 * took everything with it: 0.  Safe to call twice.
 */
int net_taps_remove(struct net_pod *pod, struct herr *err);

/*
 * Crash recovery: in @ns_path delete every link named NET_TAP_PREFIX*,
 * every ingress filter of priority NET_FILTER_PRIO, and an ingress qdisc
 * left empty by that.  Sets *@found to how many objects it removed (may be
 * NULL).  A namespace that does not exist: 0.  What it cannot undo: the
 * random MAC macvtap gave the interface (the original was in the lost
 * record; the CNI removes its veth anyway).
 */
int net_taps_sweep(const char *ns_path, unsigned int *found, struct herr *err);

#endif
