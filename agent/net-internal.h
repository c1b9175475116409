/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the agent's network files (agent/net-*.c) share: the kernel's
 * links, addresses and routes as dumped, a growable array to collect them
 * in, and the text parsers.  Not for use outside agent/net-*.c: the rest
 * of the agent calls network.h.
 */
#ifndef HUSK_AGENT_NET_INTERNAL_H
#define HUSK_AGENT_NET_INTERNAL_H

#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "netlink.h"

/* An address in either family, with a prefix length where one applies. */
struct net_ip {
	int af;
	unsigned char b[16];
	unsigned int prefix;
};

struct net_link {
	int index;
	unsigned int flags;
	unsigned int mtu;
	char name[IFNAMSIZ];
	unsigned char hw[32];
	size_t hw_len;
	char kind[32];
};

struct net_addr {
	int index;
	struct net_ip ip;
};

struct net_route {
	struct net_ip dst; /* prefix 0: default */
	struct net_ip gw;
	struct net_ip src;
	bool has_dst, has_gw, has_src;
	int oif;
	unsigned int scope, table, protocol, type, flags, mtu, priority;
	bool has_priority;
};

/* A growable array of fixed-size records (what a dump collects). */
struct net_vec {
	void *v;
	size_t n, cap, size;
};

#define NET_VEC_INIT(type)                                        \
	{                                                         \
		.v = NULL, .n = 0, .cap = 0, .size = sizeof(type) \
	}
#define NET_VEC_AT(vec, type, i) (&((type *)(vec)->v)[i])

static inline void net_vec_free(struct net_vec *vec)
{
	free(vec->v);
	vec->v = NULL;
	vec->n = vec->cap = 0;
}

#define _cleanup_net_vec_ __attribute__((cleanup(net_vec_free)))

/* A dump that starts again forgets what it collected. */
static inline void net_vec_restart(void *vec)
{
	((struct net_vec *)vec)->n = 0;
}

/* A zeroed new slot, or NULL with errno ENOMEM. */
static inline void *net_vec_push(struct net_vec *vec)
{
	char *slot;

	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 16;
		void *v = realloc(vec->v, cap * vec->size);

		if (!v) {
			errno = ENOMEM;
			return NULL;
		}
		vec->v = v;
		vec->cap = cap;
	}
	slot = (char *)vec->v + vec->n++ * vec->size;
	memset(slot, 0, vec->size);
	return slot;
}

/* net-ip.c: addresses, prefixes, MACs and names as text. */
size_t net_ip_len(int af);
unsigned int net_ip_max_prefix(int af);
int net_ip_parse(const char *s, int family, struct net_ip *ip);
int net_prefix_parse(const char *s, int af, unsigned int *prefix);
const char *net_ip_str(const struct net_ip *ip, char *buf, size_t len);
int net_mac_parse(const char *s, unsigned char mac[6]);
/* "aa:bb:...", malloc'd. */
char *net_hw_str(const unsigned char *hw, size_t len);
bool net_ifname_valid(const char *s);
bool net_ip_is_link_local6(const struct net_ip *ip);
bool net_ip_same(const struct net_ip *a, const struct net_ip *b);
bool net_attr_ip(const struct rtattr *a, int af, struct net_ip *ip);

/* net-link.c: every link (struct net_link), lookups, changes. */
int net_link_dump(struct nl_sock *nl, struct net_vec *links, struct herr *err);
const struct net_link *net_link_by_index(const struct net_vec *links,
					 int index);
const struct net_link *net_link_by_name(const struct net_vec *links,
					const char *name);
const struct net_link *net_link_by_hw(const struct net_vec *links,
				      const unsigned char mac[6]);
int net_link_set(struct nl_sock *nl, int index, unsigned int change,
		 unsigned int flags, const char *name, unsigned int mtu);

/* net-addr.c: every address (struct net_addr), and one link's replaced. */
int net_addr_dump(struct nl_sock *nl, struct net_vec *addrs, struct herr *err);
int net_addrs_replace(struct nl_sock *nl, const struct net_link *k,
		      const struct net_ip *want, size_t n, struct herr *err);

#endif
