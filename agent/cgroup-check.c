// SPDX-License-Identifier: Apache-2.0
/*
 * Checking a container's resource limits before any cgroup is touched:
 * value ranges, cpuset lists, device numbers, hugepage sizes.  Errors
 * name the OCI field.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cgroup-internal.h"
#include "util.h"

static int check_limit(int64_t v, const char *field, struct herr *err)
{
	if (v < -1)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"linux.resources.%s: invalid value %" PRId64
				" (a positive number, or -1 for no limit)",
				field, v);
	return 0;
}

static int check_weight(uint32_t w, const char *field, struct herr *err)
{
	if (w && (w < 10 || w > 1000))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"linux.resources.%s: %u out of range (10-1000)",
				field, w);
	return 0;
}

static int check_dev(int64_t major, int64_t minor, const char *field, size_t i,
		     struct herr *err)
{
	if (major < 0 || minor < 0 || major > 0xfff || minor > 0xfffff)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"linux.resources.blockIO.%s[%zu]: invalid "
				"device %" PRId64 ":%" PRId64,
				field, i, major, minor);
	return 0;
}

/* A list like "0-3,8,10-11", as cpuset.cpus and cpuset.mems take. */
static int check_list(const char *s, const char *field, struct herr *err)
{
	const char *p = s;

	while (*p) {
		unsigned long a, b;
		char *end;

		if (*p < '0' || *p > '9')
			goto bad;
		a = strtoul(p, &end, 10);
		b = a;
		p = end;
		if (*p == '-') {
			if (p[1] < '0' || p[1] > '9')
				goto bad;
			b = strtoul(p + 1, &end, 10);
			p = end;
		}
		if (a > b || b >= 1U << 16)
			goto bad;
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			goto bad;
	}
	return 0;
bad:
	return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
			"linux.resources.cpu.%s: invalid list \"%s\"", field,
			s);
}

/* "2MB", "1GB", "64KB": the size in the hugetlb file names. */
static int check_pagesize(const char *s, size_t i, struct herr *err)
{
	size_t n = strspn(s, "0123456789");

	if (!n || n > 8 || !s[n] || !strchr("KMG", s[n]) ||
	    strcmp(s + n + 1, "B"))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"linux.resources.hugepageLimits[%zu].pageSize: "
				"invalid size \"%s\"",
				i, s);
	return 0;
}

static int check_throttle(Grpc__LinuxThrottleDevice **devs, size_t n,
			  const char *field, struct herr *err)
{
	for (size_t i = 0; i < n; i++)
		if (check_dev(devs[i]->major, devs[i]->minor, field, i, err))
			return -1;
	return 0;
}

int cgroup_resources_check(const Grpc__LinuxResources *res, struct herr *err)
{
	const Grpc__LinuxMemory *m = res ? res->memory : NULL;
	const Grpc__LinuxCPU *c = res ? res->cpu : NULL;
	const Grpc__LinuxBlockIO *b = res ? res->blockio : NULL;

	if (!res)
		return 0;
	if (m) {
		if (check_limit(m->limit, "memory.limit", err) ||
		    check_limit(m->reservation, "memory.reservation", err) ||
		    check_limit(m->swap, "memory.swap", err))
			return -1;
		/* swap is memory plus swap, as in cgroup v1. */
		if (m->limit > 0 && m->swap > 0 && m->swap < m->limit)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"linux.resources.memory.swap: %" PRId64
					" is below memory.limit %" PRId64,
					m->swap, m->limit);
		if (m->swappiness > 100)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"linux.resources.memory.swappiness: %" PRIu64
				" out of range (0-100)",
				m->swappiness);
	}
	if (c) {
		if (check_limit(c->quota, "cpu.quota", err) ||
		    check_limit(c->realtimeruntime, "cpu.realtimeRuntime",
				err) ||
		    check_list(c->cpus, "cpus", err) ||
		    check_list(c->mems, "mems", err))
			return -1;
	}
	if (res->pids && check_limit(res->pids->limit, "pids.limit", err))
		return -1;
	if (b) {
		if (check_weight(b->weight, "blockIO.weight", err) ||
		    check_weight(b->leafweight, "blockIO.leafWeight", err))
			return -1;
		for (size_t i = 0; i < b->n_weightdevice; i++) {
			const Grpc__LinuxWeightDevice *w = b->weightdevice[i];
			char field[64];

			snprintf(field, sizeof(field),
				 "blockIO.weightDevice[%zu].weight", i);
			if (check_dev(w->major, w->minor, "weightDevice", i,
				      err) ||
			    check_weight(w->weight, field, err))
				return -1;
		}
		if (check_throttle(b->throttlereadbpsdevice,
				   b->n_throttlereadbpsdevice,
				   "throttleReadBpsDevice", err) ||
		    check_throttle(b->throttlewritebpsdevice,
				   b->n_throttlewritebpsdevice,
				   "throttleWriteBpsDevice", err) ||
		    check_throttle(b->throttlereadiopsdevice,
				   b->n_throttlereadiopsdevice,
				   "throttleReadIOPSDevice", err) ||
		    check_throttle(b->throttlewriteiopsdevice,
				   b->n_throttlewriteiopsdevice,
				   "throttleWriteIOPSDevice", err))
			return -1;
	}
	for (size_t i = 0; i < res->n_hugepagelimits; i++)
		if (check_pagesize(res->hugepagelimits[i]->pagesize, i, err))
			return -1;
	return 0;
}
