// SPDX-License-Identifier: Apache-2.0
/*
 * The pod's network, as Kata carries it: the interfaces the CNI put in the
 * pod's network namespace are scanned and given a tap each (host/net.h)
 * before the VM starts, the taps reach QEMU as inherited fds with the
 * interfaces' own MACs, and once the agent answers it gets each
 * interface's name, MTU and addresses (UpdateInterface, matched by MAC),
 * the routes (UpdateRoutes) and the permanent neighbours (AddARPNeighbors)
 * before CreateSandbox.  A host-network pod cannot share the host's stack
 * from a VM: it gets lo only.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"
#include "log.h"
#include "net.h"
#include "pod.h"
#include "util.h"

void pod_net_set_spec(struct pod *pod, const struct spec_result *spec)
{
	free(pod->netns_path);
	free(pod->hostname);
	pod->netns_path = spec->netns_path ? xstrdup(spec->netns_path) : NULL;
	pod->host_netns = spec->host_netns;
	pod->hostname = spec->spec && spec->spec->hostname
				? xstrdup(spec->spec->hostname)
				: NULL;
}

int pod_net_setup(struct pod *pod, struct vm_nic *nics, size_t *n_nics,
		  struct herr *err)
{
	const char *mname = pod->cfg->internetworking_model;
	struct net_pod *net;
	int model, own;

	*n_nics = 0;
	if (!pod->netns_path && pod->host_netns)
		log_warn("sandbox %s: the spec names no network namespace "
			 "(hostNetwork): a VM cannot share the host's network "
			 "stack, the pod gets lo only",
			 pod->id);
	if (!pod->netns_path)
		return 0;
	model = net_model_parse(mname ? mname : "tcfilter");
	if (model < 0)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"internetworking_model \"%s\" is unknown",
				mname);
	own = net_ns_is_own(pod->netns_path, err);
	if (own < 0)
		return herr_prefix(err, "pod network");
	if (own) {
		log_warn("sandbox %s: network namespace %s is the host's "
			 "(hostNetwork): a VM cannot share the host's network "
			 "stack, the pod gets lo only",
			 pod->id, pod->netns_path);
		return 0;
	}
	if (model == NET_MODEL_NONE) {
		log_msg(LOG_INFO, "pod network not carried",
			"sandbox=%s netns=%s internetworking_model=none",
			pod->id, pod->netns_path);
		return 0;
	}
	net = xcalloc(1, sizeof(*net));
	net_pod_init(net);
	if (net_scan(net, pod->netns_path, VM_NICS_MAX, err) < 0 ||
	    net_taps_create(net, (enum net_model)model, err) < 0) {
		free(net);
		return herr_prefix(err, "pod network");
	}
	for (unsigned int i = 0; i < net->n_ifaces; i++) {
		nics[i].fd = net->ifaces[i].tap_fd;
		memcpy(nics[i].mac, net->ifaces[i].mac, 6);
	}
	*n_nics = net->n_ifaces;
	pod->net = net;
	log_msg(LOG_INFO, "pod network",
		"sandbox=%s netns=%s model=%s interfaces=%u routes=%u "
		"neighbours=%u",
		pod->id, pod->netns_path, net_model_name(net->model),
		net->n_ifaces, net->n_routes, net->n_neighs);
	return 0;
}

void pod_net_teardown(struct pod *pod)
{
	struct herr err;

	if (!pod->net)
		return;
	if (net_taps_remove(pod->net, &err) < 0)
		log_warn("sandbox %s: remove pod network taps in %s: %s",
			 pod->id, pod->netns_path, err.msg);
	free(pod->net);
	pod->net = NULL;
}

void pod_net_free(struct pod *pod)
{
	pod_net_teardown(pod);
	free(pod->netns_path);
	free(pod->hostname);
	pod->netns_path = pod->hostname = NULL;
}

/* ---- the agent's view ------------------------------------------------- */

static void mac_str(const uint8_t *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		 m[3], m[4], m[5]);
}

static Types__IPFamily family_of(int af)
{
	return af == AF_INET6 ? TYPES__IPFAMILY__v6 : TYPES__IPFAMILY__v4;
}

/* Text form of a family's address; "" if it does not convert. */
static void ip_str(int af, const uint8_t *a, char *buf, size_t len)
{
	if (!inet_ntop(af, a, buf, (socklen_t)len))
		buf[0] = '\0';
}

static void net_step(struct pod *pod);

static void on_net_step(void *resp, const struct herr *err, void *data)
{
	struct pod *pod = data;
	struct herr why;

	(void)resp;
	if (pod->state != POD_BOOTING)
		return;
	if (err) {
		herr_set(&why, err->code, 0, "pod network: agent: %s",
			 err->msg);
		pod->net_done(&why, pod);
		return;
	}
	pod->net_step++;
	net_step(pod);
}

static void send_interface(struct pod *pod, const struct net_iface *ifc)
{
	Grpc__UpdateInterfaceRequest req = GRPC__UPDATE_INTERFACE_REQUEST__INIT;
	Types__Interface t = TYPES__INTERFACE__INIT;
	Types__IPAddress ips[NET_ADDRS_MAX], *ipp[NET_ADDRS_MAX];
	char addr[NET_ADDRS_MAX][INET6_ADDRSTRLEN], mask[NET_ADDRS_MAX][4];
	char mac[18];

	mac_str(ifc->mac, mac, sizeof(mac));
	for (unsigned int i = 0; i < ifc->n_addrs; i++) {
		types__ipaddress__init(&ips[i]);
		ip_str(ifc->addrs[i].family, ifc->addrs[i].addr, addr[i],
		       sizeof(addr[i]));
		snprintf(mask[i], sizeof(mask[i]), "%u", ifc->addrs[i].prefix);
		ips[i].family = family_of(ifc->addrs[i].family);
		ips[i].address = addr[i];
		ips[i].mask = mask[i];
		ipp[i] = &ips[i];
	}
	t.device = "";
	t.name = (char *)ifc->name;
	t.hwaddr = mac;
	t.mtu = ifc->mtu;
	t.ipaddresses = ipp;
	t.n_ipaddresses = ifc->n_addrs;
	req.interface = &t;
	agent_update_interface(pod->agent, &req, on_net_step, pod);
}

static void send_routes(struct pod *pod)
{
	const struct net_pod *net = pod->net;
	Grpc__UpdateRoutesRequest req = GRPC__UPDATE_ROUTES_REQUEST__INIT;
	Grpc__Routes rs = GRPC__ROUTES__INIT;
	Types__Route r[NET_ROUTES_MAX], *rp[NET_ROUTES_MAX];
	char dst[NET_ROUTES_MAX][INET6_ADDRSTRLEN + 4];
	char gw[NET_ROUTES_MAX][INET6_ADDRSTRLEN];
	char src[NET_ROUTES_MAX][INET6_ADDRSTRLEN];

	for (unsigned int i = 0; i < net->n_routes; i++) {
		const struct net_route *n = &net->routes[i];
		char a[INET6_ADDRSTRLEN];

		types__route__init(&r[i]);
		if (n->dst_len) {
			ip_str(n->family, n->dst, a, sizeof(a));
			snprintf(dst[i], sizeof(dst[i]), "%s/%u", a,
				 n->dst_len);
		} else {
			snprintf(dst[i], sizeof(dst[i]), "default");
		}
		gw[i][0] = src[i][0] = '\0';
		if (n->has_gw)
			ip_str(n->family, n->gw, gw[i], sizeof(gw[i]));
		if (n->has_src)
			ip_str(n->family, n->src, src[i], sizeof(src[i]));
		r[i].dest = dst[i];
		r[i].gateway = gw[i];
		r[i].source = src[i];
		r[i].device = (char *)n->dev;
		r[i].scope = n->scope;
		r[i].family = family_of(n->family);
		r[i].flags = n->flags;
		r[i].mtu = n->mtu;
		rp[i] = &r[i];
	}
	rs.routes = rp;
	rs.n_routes = net->n_routes;
	req.routes = &rs;
	agent_update_routes(pod->agent, &req, on_net_step, pod);
}

static void send_neighbours(struct pod *pod)
{
	const struct net_pod *net = pod->net;
	Grpc__AddARPNeighborsRequest req = GRPC__ADD_ARPNEIGHBORS_REQUEST__INIT;
	Grpc__ARPNeighbors ns = GRPC__ARPNEIGHBORS__INIT;
	Types__ARPNeighbor n[NET_NEIGHS_MAX], *np[NET_NEIGHS_MAX];
	Types__IPAddress ip[NET_NEIGHS_MAX];
	char addr[NET_NEIGHS_MAX][INET6_ADDRSTRLEN], mac[NET_NEIGHS_MAX][18];

	for (unsigned int i = 0; i < net->n_neighs; i++) {
		const struct net_neigh *e = &net->neighs[i];

		types__arpneighbor__init(&n[i]);
		types__ipaddress__init(&ip[i]);
		ip_str(e->family, e->ip, addr[i], sizeof(addr[i]));
		ip[i].family = family_of(e->family);
		ip[i].address = addr[i];
		ip[i].mask = "";
		mac_str(e->lladdr, mac[i], sizeof(mac[i]));
		n[i].toipaddress = &ip[i];
		n[i].device = (char *)e->dev;
		n[i].lladdr = mac[i];
		n[i].state = e->state;
		n[i].flags = e->flags;
		np[i] = &n[i];
	}
	ns.arpneighbors = np;
	ns.n_arpneighbors = net->n_neighs;
	req.neighbors = &ns;
	agent_add_arp_neighbors(pod->agent, &req, on_net_step, pod);
}

/* Step k: interfaces 0..n-1, then the routes, then the neighbours. */
static void net_step(struct pod *pod)
{
	const struct net_pod *net = pod->net;
	unsigned int k = pod->net_step;

	if (k < net->n_ifaces) {
		send_interface(pod, &net->ifaces[k]);
		return;
	}
	k -= net->n_ifaces;
	if (k == 0 && net->n_routes) {
		send_routes(pod);
		return;
	}
	if (k == 0)
		k++, pod->net_step++;
	if (k == 1 && net->n_neighs) {
		send_neighbours(pod);
		return;
	}
	pod->net_done(NULL, pod);
}

void pod_net_update_agent(struct pod *pod, pod_booted_cb done)
{
	pod->net_done = done;
	pod->net_step = 0;
	if (!pod->net || !pod->net->n_ifaces) {
		done(NULL, pod);
		return;
	}
	net_step(pod);
}
