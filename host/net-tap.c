// SPDX-License-Identifier: Apache-2.0
/*
 * Connecting a pod's interfaces to the VM, inside the pod's namespace, the
 * two ways Kata's users know:
 *
 *  tcfilter  a tap per interface; an ingress qdisc on both and a u32
 *            match-all filter with a mirred egress redirect each way, so
 *            every frame the CNI's veth receives leaves through the tap to
 *            the guest and back.  The veth keeps its MAC; the guest NIC
 *            uses it, so the CNI bridge's tables stay right.
 *  macvtap   a macvtap in bridge mode on the interface, opened through
 *            /dev/tapN.  The macvtap takes the interface's MAC (the guest's)
 *            and the interface gets a random one, as in Kata: a macvtap
 *            only receives frames for its own address.  The interface
 *            also gets IFF_NOARP, or the namespace's own stack would
 *            answer ARP for the pod's address with the random MAC.
 *
 * Taps are not persistent: one whose fds are all closed goes away by
 * itself.  Everything made is recorded in struct net_iface, so removal
 * undoes exactly that; net_taps_sweep() finds husk's objects by name and
 * filter priority after a crash.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "net.h"
#include "netlink.h"
#include "util.h"

#define INGRESS_HANDLE TC_H_MAKE(TC_H_INGRESS, 0)
#define TAP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)

int net_model_parse(const char *name)
{
	if (!strcmp(name, "none"))
		return NET_MODEL_NONE;
	if (!strcmp(name, "tcfilter"))
		return NET_MODEL_TCFILTER;
	if (!strcmp(name, "macvtap"))
		return NET_MODEL_MACVTAP;
	return -1;
}

const char *net_model_name(enum net_model model)
{
	switch (model) {
	case NET_MODEL_NONE:
		return "none";
	case NET_MODEL_TCFILTER:
		return "tcfilter";
	case NET_MODEL_MACVTAP:
		return "macvtap";
	}
	return "?";
}

/* ---- rtnetlink requests -------------------------------------------------- */

/* Set @ifindex's MTU (0: leave), MAC (NULL: leave) and bring it up. */
static int link_set(struct nl_sock *nl, int ifindex, uint32_t mtu,
		    const uint8_t *mac, bool up)
{
	struct nl_req req;
	struct ifinfomsg *ifi;

	nl_req_init(&req, RTM_NEWLINK, NLM_F_ACK);
	ifi = nl_req_hdr(&req, struct ifinfomsg);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (up) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = IFF_UP;
	}
	if (mtu)
		nl_attr_put_u32(&req, IFLA_MTU, mtu);
	if (mac)
		nl_attr_put(&req, IFLA_ADDRESS, mac, 6);
	return nl_talk(nl, &req, NULL, NULL);
}

/* IFF_NOARP on or off: with its MAC given to a macvtap, the interface
 * must not answer ARP for the pod's address with its new one. */
static int link_noarp(struct nl_sock *nl, int ifindex, bool on)
{
	struct nl_req req;
	struct ifinfomsg *ifi;

	nl_req_init(&req, RTM_NEWLINK, NLM_F_ACK);
	ifi = nl_req_hdr(&req, struct ifinfomsg);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_change = IFF_NOARP;
	ifi->ifi_flags = on ? IFF_NOARP : 0;
	return nl_talk(nl, &req, NULL, NULL);
}

static int link_del_by_name(struct nl_sock *nl, const char *name)
{
	struct nl_req req;
	struct ifinfomsg *ifi;

	nl_req_init(&req, RTM_DELLINK, NLM_F_ACK);
	ifi = nl_req_hdr(&req, struct ifinfomsg);
	ifi->ifi_family = AF_UNSPEC;
	nl_attr_put_str(&req, IFLA_IFNAME, name);
	return nl_talk(nl, &req, NULL, NULL);
}

/* The ingress qdisc on @ifindex: add (EEXIST when there is one) or
 * delete. */
static int ingress_qdisc(struct nl_sock *nl, int ifindex, bool add)
{
	struct nl_req req;
	struct tcmsg *tc;

	nl_req_init(&req, add ? RTM_NEWQDISC : RTM_DELQDISC,
		    NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0));
	tc = nl_req_hdr(&req, struct tcmsg);
	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = ifindex;
	tc->tcm_handle = INGRESS_HANDLE;
	tc->tcm_parent = TC_H_INGRESS;
	nl_attr_put_str(&req, TCA_KIND, "ingress");
	return nl_talk(nl, &req, NULL, NULL);
}

/*
 * On @from's ingress: u32 matching every frame (one key, mask 0), action
 * mirred egress redirect to @to, at husk's priority.  tc's
 * "u32 match u8 0 0 action mirred egress redirect dev TO".
 */
static int redirect_add(struct nl_sock *nl, int from, int to)
{
	char selbuf[sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key)];
	struct tc_u32_sel *sel = (struct tc_u32_sel *)selbuf;
	struct tc_mirred mirred = { .action = TC_ACT_STOLEN,
				    .eaction = TCA_EGRESS_REDIR,
				    .ifindex = (uint32_t)to };
	struct rtattr *opts, *acts, *act, *aopts;
	struct nl_req req;
	struct tcmsg *tc;

	memset(selbuf, 0, sizeof(selbuf));
	sel->flags = TC_U32_TERMINAL;
	sel->nkeys = 1;
	nl_req_init(&req, RTM_NEWTFILTER,
		    NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	tc = nl_req_hdr(&req, struct tcmsg);
	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = from;
	tc->tcm_parent = INGRESS_HANDLE;
	tc->tcm_info =
		TC_H_MAKE((uint32_t)NET_FILTER_PRIO << 16, htons(ETH_P_ALL));
	nl_attr_put_str(&req, TCA_KIND, "u32");
	opts = nl_attr_nest_start(&req, TCA_OPTIONS);
	nl_attr_put(&req, TCA_U32_SEL, selbuf, sizeof(selbuf));
	acts = nl_attr_nest_start(&req, TCA_U32_ACT);
	act = nl_attr_nest_start(&req, 1); /* the first action */
	nl_attr_put_str(&req, TCA_ACT_KIND, "mirred");
	aopts = nl_attr_nest_start(&req, TCA_ACT_OPTIONS);
	nl_attr_put(&req, TCA_MIRRED_PARMS, &mirred, sizeof(mirred));
	nl_attr_nest_end(&req, aopts);
	nl_attr_nest_end(&req, act);
	nl_attr_nest_end(&req, acts);
	nl_attr_nest_end(&req, opts);
	return nl_talk(nl, &req, NULL, NULL);
}

/* Delete husk's filters (its priority) from @ifindex's ingress. */
static int redirect_del(struct nl_sock *nl, int ifindex)
{
	struct nl_req req;
	struct tcmsg *tc;

	nl_req_init(&req, RTM_DELTFILTER, NLM_F_ACK);
	tc = nl_req_hdr(&req, struct tcmsg);
	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = ifindex;
	tc->tcm_parent = INGRESS_HANDLE;
	tc->tcm_info =
		TC_H_MAKE((uint32_t)NET_FILTER_PRIO << 16, htons(ETH_P_ALL));
	return nl_talk(nl, &req, NULL, NULL);
}

/* A macvtap in bridge mode named @name on @lower, down; its ifindex. */
static int macvtap_add(struct nl_sock *nl, const char *name, int lower,
		       uint32_t mtu)
{
	struct rtattr *info, *data;
	struct nl_req req;
	struct ifinfomsg *ifi;
	int r;

	nl_req_init(&req, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	ifi = nl_req_hdr(&req, struct ifinfomsg);
	ifi->ifi_family = AF_UNSPEC;
	nl_attr_put_str(&req, IFLA_IFNAME, name);
	nl_attr_put_u32(&req, IFLA_LINK, (uint32_t)lower);
	nl_attr_put_u32(&req, IFLA_MTU, mtu);
	info = nl_attr_nest_start(&req, IFLA_LINKINFO);
	nl_attr_put_str(&req, IFLA_INFO_KIND, "macvtap");
	data = nl_attr_nest_start(&req, IFLA_INFO_DATA);
	nl_attr_put_u32(&req, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
	nl_attr_nest_end(&req, data);
	nl_attr_nest_end(&req, info);
	r = nl_talk(nl, &req, NULL, NULL);
	if (r < 0)
		return r;
	r = (int)if_nametoindex(name);
	return r > 0 ? r : -errno;
}

/* ---- making and removing one interface's tap ------------------------------
 */

struct tap_job {
	struct net_pod *pod;
	enum net_model model;
};

static int fail(struct herr *err, struct nl_sock *nl, int r,
		const struct net_pod *pod, const struct net_iface *ifc,
		const char *what)
{
	return nl_fail(err, nl, -r, "pod network %s: interface %s: %s",
		       pod->ns_path, ifc->name, what);
}

/* A tap named ifc->tap_name from /dev/net/tun, in the current namespace. */
static int tap_open(struct net_iface *ifc)
{
	struct ifreq ifr = { 0 };
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ifr.ifr_flags = TAP_FLAGS;
	memcpy(ifr.ifr_name, ifc->tap_name, sizeof(ifr.ifr_name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	ifc->tap_fd = fd;
	ifc->tap_ifindex = (int)if_nametoindex(ifc->tap_name);
	return ifc->tap_ifindex > 0 ? 0 : -errno;
}

static int tcfilter_make(struct nl_sock *nl, struct net_pod *pod,
			 struct net_iface *ifc, struct herr *err)
{
	int r;

	r = tap_open(ifc);
	if (r < 0)
		return herr_errno(err, -r,
				  "pod network %s: interface %s: tap %s",
				  pod->ns_path, ifc->name, ifc->tap_name);
	r = link_set(nl, ifc->tap_ifindex, ifc->mtu, NULL, true);
	if (r < 0)
		return fail(err, nl, r, pod, ifc, "tap MTU and up");
	r = ingress_qdisc(nl, ifc->ifindex, true);
	if (r < 0 && r != -EEXIST)
		return fail(err, nl, r, pod, ifc, "ingress qdisc");
	ifc->made_ingress = r == 0;
	r = ingress_qdisc(nl, ifc->tap_ifindex, true);
	if (r < 0)
		return fail(err, nl, r, pod, ifc, "ingress qdisc on the tap");
	r = redirect_add(nl, ifc->ifindex, ifc->tap_ifindex);
	if (r < 0)
		return fail(err, nl, r, pod, ifc, "redirect to the tap");
	ifc->made_filter = true;
	r = redirect_add(nl, ifc->tap_ifindex, ifc->ifindex);
	if (r < 0)
		return fail(err, nl, r, pod, ifc, "redirect from the tap");
	return 0;
}

/* A random unicast, locally administered MAC. */
static int random_mac(uint8_t mac[6])
{
	if (getrandom(mac, 6, 0) != 6)
		return -EIO;
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);
	return 0;
}

static int macvtap_make(struct nl_sock *nl, struct net_pod *pod,
			struct net_iface *ifc, struct herr *err)
{
	struct ifreq ifr = { 0 };
	char dev[32];
	int r, fd;

	r = macvtap_add(nl, ifc->tap_name, ifc->ifindex, ifc->mtu);
	if (r < 0)
		return fail(err, nl, r, pod, ifc, "macvtap");
	ifc->tap_ifindex = r;
	/* The interface's MAC is busy while the interface has it. */
	r = random_mac(ifc->iface_new_mac);
	if (r < 0)
		return fail(err, NULL, r, pod, ifc, "random MAC");
	r = link_set(nl, ifc->ifindex, 0, ifc->iface_new_mac, false);
	if (r < 0)
		return fail(err, nl, r, pod, ifc, "new MAC");
	ifc->mac_swapped = true;
	r = link_noarp(nl, ifc->ifindex, true);
	if (r < 0)
		return fail(err, nl, r, pod, ifc, "ARP off");
	r = link_set(nl, ifc->tap_ifindex, 0, ifc->mac, true);
	if (r < 0)
		return fail(err, nl, r, pod, ifc, "macvtap MAC and up");
	snprintf(dev, sizeof(dev), "/dev/tap%d", ifc->tap_ifindex);
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return herr_errno(err, errno,
				  "pod network %s: interface %s: open %s",
				  pod->ns_path, ifc->name, dev);
	ifc->tap_fd = fd;
	ifr.ifr_flags = TAP_FLAGS;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return herr_errno(err, errno,
				  "pod network %s: interface %s: %s flags",
				  pod->ns_path, ifc->name, dev);
	return 0;
}

/* Undo what @ifc records; the first error is kept, the rest still done. */
static int iface_undo(struct nl_sock *nl, struct net_pod *pod,
		      struct net_iface *ifc, struct herr *err)
{
	int rc = 0, r;

	if (ifc->tap_fd >= 0) {
		close(ifc->tap_fd);
		ifc->tap_fd = -1;
	}
	if (ifc->made_filter) {
		r = redirect_del(nl, ifc->ifindex);
		if (r < 0 && r != -ENOENT && r != -ENODEV && !rc)
			rc = fail(err, nl, r, pod, ifc, "remove redirect");
		ifc->made_filter = false;
	}
	if (ifc->made_ingress) {
		r = ingress_qdisc(nl, ifc->ifindex, false);
		if (r < 0 && r != -ENOENT && r != -ENODEV && r != -EINVAL &&
		    !rc)
			rc = fail(err, nl, r, pod, ifc, "remove ingress qdisc");
		ifc->made_ingress = false;
	}
	if (ifc->tap_ifindex) {
		/* By the name husk gave it; gone already if its last fd
		 * was the one closed above. */
		r = link_del_by_name(nl, ifc->tap_name);
		if (r < 0 && r != -ENODEV && !rc)
			rc = fail(err, nl, r, pod, ifc, "remove tap");
		ifc->tap_ifindex = 0;
	}
	if (ifc->mac_swapped) {
		r = link_set(nl, ifc->ifindex, 0, ifc->mac, false);
		if (r < 0 && r != -ENODEV && !rc)
			rc = fail(err, nl, r, pod, ifc, "restore MAC");
		r = link_noarp(nl, ifc->ifindex, ifc->flags & IFF_NOARP);
		if (r < 0 && r != -ENODEV && !rc)
			rc = fail(err, nl, r, pod, ifc, "restore ARP");
		ifc->mac_swapped = false;
	}
	return rc;
}

static int remove_in_ns(void *arg, struct herr *err)
{
	struct net_pod *pod = arg;
	_cleanup_nl_sock_ struct nl_sock nl = { .fd = -1 };
	int rc = 0;

	if (nl_open(&nl, err) < 0)
		return herr_prefix(err, "pod network %s", pod->ns_path);
	for (unsigned int i = 0; i < pod->n_ifaces; i++)
		if (iface_undo(&nl, pod, &pod->ifaces[i], rc ? NULL : err) < 0)
			rc = -1;
	return rc;
}

static int create_in_ns(void *arg, struct herr *err)
{
	struct tap_job *job = arg;
	struct net_pod *pod = job->pod;
	_cleanup_nl_sock_ struct nl_sock nl = { .fd = -1 };
	struct net_iface *ifc;
	int r;

	if (nl_open(&nl, err) < 0)
		return herr_prefix(err, "pod network %s", pod->ns_path);
	for (unsigned int i = 0; i < pod->n_ifaces; i++) {
		ifc = &pod->ifaces[i];
		snprintf(ifc->tap_name, sizeof(ifc->tap_name), "%s%s%u",
			 NET_TAP_PREFIX,
			 job->model == NET_MODEL_MACVTAP ? "mvt" : "tap",
			 (unsigned char)i); /* i < NET_IFACES_MAX */
		r = job->model == NET_MODEL_MACVTAP
			    ? macvtap_make(&nl, pod, ifc, err)
			    : tcfilter_make(&nl, pod, ifc, err);
		if (r < 0) {
			remove_in_ns(pod, NULL);
			return -1;
		}
	}
	return 0;
}

int net_taps_create(struct net_pod *pod, enum net_model model, struct herr *err)
{
	struct tap_job job = { .pod = pod, .model = model };

	if (model != NET_MODEL_TCFILTER && model != NET_MODEL_MACVTAP)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"pod network %s: no taps for model %s",
				pod->ns_path, net_model_name(model));
	pod->model = model;
	return net_ns_run(pod->ns_path, create_in_ns, &job, err);
}

int net_taps_remove(struct net_pod *pod, struct herr *err)
{
	if (!net_ns_exists(pod->ns_path)) {
		/* The namespace took the taps, qdiscs and filters with it. */
		for (unsigned int i = 0; i < pod->n_ifaces; i++) {
			struct net_iface *ifc = &pod->ifaces[i];

			if (ifc->tap_fd >= 0)
				close(ifc->tap_fd);
			ifc->tap_fd = -1;
			ifc->tap_ifindex = 0;
			ifc->made_filter = ifc->made_ingress = false;
			ifc->mac_swapped = false;
		}
		return 0;
	}
	return net_ns_run(pod->ns_path, remove_in_ns, pod, err);
}

/* ---- after a crash ------------------------------------------------------- */

struct sweep {
	const char *ns_path;
	unsigned int found;
	/* Links of the namespace: index and name, husk's marked. */
	struct {
		int ifindex;
		char name[IFNAMSIZ];
	} links[256];
	unsigned int n_links;
	unsigned int ours, others; /* filters on the link being looked at */
};

static int sweep_link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sweep *s = data;
	const struct ifinfomsg *ifi = NLMSG_DATA(nlh);
	const struct rtattr *tb[IFLA_MAX + 1];
	const char *name;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    !nl_msg_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX))
		return 0;
	name = nl_attr_str(tb[IFLA_IFNAME]);
	if (!name || strlen(name) >= IFNAMSIZ)
		return 0;
	if (s->n_links >= ARRAY_SIZE(s->links))
		return -E2BIG;
	s->links[s->n_links].ifindex = ifi->ifi_index;
	snprintf(s->links[s->n_links].name, IFNAMSIZ, "%s", name);
	s->n_links++;
	return 0;
}

static void sweep_link_restart(void *data)
{
	((struct sweep *)data)->n_links = 0;
}

static int sweep_filter_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sweep *s = data;
	const struct tcmsg *tc = NLMSG_DATA(nlh);

	if (nlh->nlmsg_type != RTM_NEWTFILTER ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*tc)))
		return 0;
	if (TC_H_MAJ(tc->tcm_info) >> 16 == NET_FILTER_PRIO)
		s->ours++;
	else
		s->others++;
	return 0;
}

static void sweep_filter_restart(void *data)
{
	struct sweep *s = data;

	s->ours = s->others = 0;
}

static int sweep_in_ns(void *arg, struct herr *err)
{
	struct sweep *s = arg;
	_cleanup_nl_sock_ struct nl_sock nl = { .fd = -1 };
	size_t plen = strlen(NET_TAP_PREFIX);
	struct ifinfomsg *ifi;
	struct tcmsg *tc;
	struct nl_req req;
	int r;

	if (nl_open(&nl, err) < 0)
		return herr_prefix(err, "pod network %s", s->ns_path);
	nl_req_init(&req, RTM_GETLINK, NLM_F_DUMP);
	ifi = nl_req_hdr(&req, struct ifinfomsg);
	ifi->ifi_family = AF_UNSPEC;
	r = nl_dump(&nl, &req, sweep_link_cb, sweep_link_restart, s);
	if (r < 0)
		return nl_fail(err, &nl, -r, "pod network %s: list links",
			       s->ns_path);
	for (unsigned int i = 0; i < s->n_links; i++) {
		const char *name = s->links[i].name;

		if (!strncmp(name, NET_TAP_PREFIX, plen)) {
			r = link_del_by_name(&nl, name);
			if (r < 0 && r != -ENODEV)
				return nl_fail(err, &nl, -r,
					       "pod network %s: remove %s",
					       s->ns_path, name);
			s->found++;
			continue;
		}
		s->ours = s->others = 0;
		nl_req_init(&req, RTM_GETTFILTER, NLM_F_DUMP);
		tc = nl_req_hdr(&req, struct tcmsg);
		tc->tcm_family = AF_UNSPEC;
		tc->tcm_ifindex = s->links[i].ifindex;
		tc->tcm_parent = INGRESS_HANDLE;
		r = nl_dump(&nl, &req, sweep_filter_cb, sweep_filter_restart,
			    s);
		if (r < 0 || !s->ours)
			continue; /* no ingress qdisc: nothing of ours */
		r = redirect_del(&nl, s->links[i].ifindex);
		if (r < 0 && r != -ENOENT)
			return nl_fail(err, &nl, -r,
				       "pod network %s: interface %s: "
				       "remove redirect",
				       s->ns_path, name);
		s->found++;
		if (s->others)
			continue;
		r = ingress_qdisc(&nl, s->links[i].ifindex, false);
		if (r < 0 && r != -ENOENT && r != -EINVAL)
			return nl_fail(err, &nl, -r,
				       "pod network %s: interface %s: "
				       "remove ingress qdisc",
				       s->ns_path, name);
		if (r == 0)
			s->found++;
	}
	return 0;
}

int net_taps_sweep(const char *ns_path, unsigned int *found, struct herr *err)
{
	_cleanup_free_ struct sweep *s = NULL;
	int rc;

	if (found)
		*found = 0;
	if (!net_ns_exists(ns_path))
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return herr_errno(err, ENOMEM, "pod network %s", ns_path);
	s->ns_path = ns_path;
	rc = net_ns_run(ns_path, sweep_in_ns, s, err);
	if (found)
		*found = s->found;
	return rc;
}
