// SPDX-License-Identifier: Apache-2.0
/*
 * Addresses, prefixes, MACs and link names as text: parsing what the
 * runtime sends (bounded, it is untrusted) and formatting what the agent
 * answers.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "net-internal.h"
#include "netlink.h"
#include "network.h"
#include "util.h"

size_t net_ip_len(int af)
{
	return af == AF_INET ? 4 : 16;
}

unsigned int net_ip_max_prefix(int af)
{
	return af == AF_INET ? 32 : 128;
}

/*
 * Parse an IP address.  @family is the message's IPFamily; v4 is also its
 * zero value, so an IPv6 literal wins over it, but an explicit v6 does not
 * accept an IPv4 literal.  -1 on a bad string or a family mismatch.
 */
int net_ip_parse(const char *s, int family, struct net_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, s, ip->b) == 1)
		ip->af = AF_INET;
	else if (inet_pton(AF_INET6, s, ip->b) == 1)
		ip->af = AF_INET6;
	else
		return -1;
	if (family == TYPES__IPFAMILY__v6 && ip->af != AF_INET6)
		return -1;
	ip->prefix = net_ip_max_prefix(ip->af);
	return 0;
}

/* A decimal prefix length no larger than the family allows ("" = host). */
int net_prefix_parse(const char *s, int af, unsigned int *prefix)
{
	unsigned int v = 0;

	if (!*s) {
		*prefix = net_ip_max_prefix(af);
		return 0;
	}
	if (strlen(s) > 3)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned int)(*s - '0');
	}
	if (v > net_ip_max_prefix(af))
		return -1;
	*prefix = v;
	return 0;
}

const char *net_ip_str(const struct net_ip *ip, char *buf, size_t len)
{
	if (!inet_ntop(ip->af, ip->b, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "aa:bb:cc:dd:ee:ff", two hex digits per byte. */
int net_mac_parse(const char *s, unsigned char mac[6])
{
	int i, hi, lo;

	for (i = 0; i < 6; i++) {
		hi = hex_digit(s[0]);
		lo = hi < 0 ? -1 : hex_digit(s[1]);
		if (lo < 0)
			return -1;
		mac[i] = (unsigned char)(hi << 4 | lo);
		s += 2;
		if (i < 5 && *s++ != ':')
			return -1;
	}
	return *s ? -1 : 0;
}

char *net_hw_str(const unsigned char *hw, size_t len)
{
	char *s = xmalloc(len ? len * 3 : 1);
	size_t i;

	s[0] = '\0';
	for (i = 0; i < len; i++)
		sprintf(s + i * 3, i + 1 < len ? "%02x:" : "%02x", hw[i]);
	return s;
}

/* Linux accepts any name below IFNAMSIZ without '/', ':' or spaces. */
bool net_ifname_valid(const char *s)
{
	size_t len = strlen(s);

	if (!len || len >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	return !strpbrk(s, "/: \t\n");
}

/* Kernel-made IPv6 link-local addresses stay: NDP needs them. */
bool net_ip_is_link_local6(const struct net_ip *ip)
{
	return ip->af == AF_INET6 && ip->b[0] == 0xfe &&
	       (ip->b[1] & 0xc0) == 0x80;
}

bool net_ip_same(const struct net_ip *a, const struct net_ip *b)
{
	return a->af == b->af && a->prefix == b->prefix &&
	       !memcmp(a->b, b->b, net_ip_len(a->af));
}

/* An address attribute of the family's exact size. */
bool net_attr_ip(const struct rtattr *a, int af, struct net_ip *ip)
{
	if (!nl_attr_copy(a, ip->b, af == AF_INET ? 4 : 16))
		return false;
	ip->af = af;
	return true;
}
