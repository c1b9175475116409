// SPDX-License-Identifier: Apache-2.0
/*
 * Applying a container's resource limits (memory, cpu, cpuset, pids, io
 * and hugetlb) to its cgroup, translated to the v2 files where the
 * hierarchy is unified.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "log.h"
#include "util.h"

/* "-1" or "max" for -1 (no limit), else the number. */
static const char *limit_str(char *buf, size_t size, int64_t v, bool v2)
{
	if (v == -1)
		return v2 ? "max" : "-1";
	snprintf(buf, size, "%" PRId64, v);
	return buf;
}

/*
 * memsw (memory + swap) may never be below the memory limit, so which one
 * is written first depends on whether the limits grow or shrink.
 */
static int v1_memory_limits(const struct cgroup *cg, const char *dir,
			    const Grpc__LinuxMemory *m, struct herr *err)
{
	char lbuf[24], sbuf[24];
	const char *lim = limit_str(lbuf, sizeof(lbuf), m->limit, false);
	const char *swap = limit_str(sbuf, sizeof(sbuf), m->swap, false);
	const char *memsw = "memory.memsw.limit_in_bytes";

	if (m->swap && !cg_has(dir, memsw)) {
		/* No swap accounting: nothing to enforce beyond the limit. */
		if (m->swap != -1 && m->swap != m->limit)
			return herr_set(
				err, GRPC_FAILED_PRECONDITION, 0,
				"cgroup %s: linux.resources.memory.swap: %s/%s "
				"missing (swap accounting disabled)",
				cg->path, dir, memsw);
		log_debug("cgroup %s: no swap accounting, swap limit skipped",
			  cg->path);
	} else if (m->swap) {
		struct herr first;

		if (!m->limit)
			return cg_write(cg, dir, memsw, swap, err);
		if (!cg_write(cg, dir, "memory.limit_in_bytes", lim, &first))
			return cg_write(cg, dir, memsw, swap, err);
		/* Growing: memsw first, then the limit below it. */
		if (cg_write(cg, dir, memsw, swap, err))
			return -1;
	}
	if (m->limit)
		return cg_write(cg, dir, "memory.limit_in_bytes", lim, err);
	return 0;
}

/* cgroup v2 has a separate swap limit: OCI's memory+swap minus memory. */
static int v2_swap(const struct cgroup *cg, const char *dir,
		   const Grpc__LinuxMemory *m, struct herr *err)
{
	const char *file = "memory.swap.max";
	char val[24];

	if (m->swap == -1) {
		snprintf(val, sizeof(val), "max");
	} else if (m->limit == -1) {
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"linux.resources.memory.swap: %" PRId64
				" with no memory limit",
				m->swap);
	} else if (m->limit <= 0) {
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"linux.resources.memory.swap: needs "
				"memory.limit on cgroup v2");
	} else {
		snprintf(val, sizeof(val), "%" PRId64, m->swap - m->limit);
	}
	if (!cg_has(dir, file)) {
		if (m->swap == -1 || m->swap == m->limit)
			return 0;
		return herr_set(err, GRPC_FAILED_PRECONDITION, 0,
				"cgroup %s: linux.resources.memory.swap: %s/%s "
				"missing (no swap accounting)",
				cg->path, dir, file);
	}
	return cg_write(cg, dir, file, val, err);
}

static int apply_memory(const struct cgroup *cg, const Grpc__LinuxMemory *m,
			struct herr *err)
{
	const char *dir;
	char buf[24];

	if (cg_need_dir(cg, "memory", "linux.resources.memory", &dir, err))
		return -1;
	if (m->kernel || m->kerneltcp)
		log_debug(
			"cgroup %s: kernel memory limits are obsolete, skipped",
			cg->path);
	if (!cg->v2) {
		if (v1_memory_limits(cg, dir, m, err))
			return -1;
		if (m->reservation &&
		    cg_write(cg, dir, "memory.soft_limit_in_bytes",
			     limit_str(buf, sizeof(buf), m->reservation, false),
			     err))
			return -1;
		if (m->swappiness && cg_printf(cg, dir, "memory.swappiness",
					       err, "%" PRIu64, m->swappiness))
			return -1;
		if (m->disableoomkiller &&
		    cg_write(cg, dir, "memory.oom_control", "1", err))
			return -1;
		return 0;
	}
	if (m->limit &&
	    cg_write(cg, dir, "memory.max",
		     limit_str(buf, sizeof(buf), m->limit, true), err))
		return -1;
	if (m->swap && v2_swap(cg, dir, m, err))
		return -1;
	if (m->reservation &&
	    cg_write(cg, dir, "memory.low",
		     limit_str(buf, sizeof(buf), m->reservation, true), err))
		return -1;
	if (m->swappiness || m->disableoomkiller)
		log_debug("cgroup %s: swappiness and disableOOMKiller do not "
			  "exist on cgroup v2, skipped",
			  cg->path);
	return 0;
}

/* cpu.shares (2..262144, default 1024) to cpu.weight (1..10000, 100). */
static uint64_t shares_to_weight(uint64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

static int v2_cpu_max(const struct cgroup *cg, const char *dir,
		      const Grpc__LinuxCPU *c, struct herr *err)
{
	_cleanup_free_ char *cur = NULL;
	char quota[24] = "max";
	uint64_t period = c->period;

	/* A half-given pair keeps the other half as it is. */
	if (!c->quota || !c->period) {
		if (cg_read(cg, dir, "cpu.max", false, &cur, err))
			return -1;
		if (!c->quota)
			sscanf(cur, "%23s", quota);
		if (!period && sscanf(cur, "%*s %" SCNu64, &period) != 1)
			period = 100000;
	}
	if (c->quota > 0)
		snprintf(quota, sizeof(quota), "%" PRId64, c->quota);
	else if (c->quota == -1)
		snprintf(quota, sizeof(quota), "max");
	return cg_printf(cg, dir, "cpu.max", err, "%s %" PRIu64, quota, period);
}

static int apply_cpu(const struct cgroup *cg, const Grpc__LinuxCPU *c,
		     struct herr *err)
{
	bool cpu = c->shares || c->quota || c->period || c->realtimeruntime ||
		   c->realtimeperiod;
	const char *dir = NULL, *set = NULL;
	char buf[24];

	if (cpu && cg_need_dir(cg, "cpu", "linux.resources.cpu", &dir, err))
		return -1;
	if ((*c->cpus || *c->mems) &&
	    cg_need_dir(cg, "cpuset", "linux.resources.cpu.cpus", &set, err))
		return -1;
	if (cg->v2) {
		if (c->realtimeruntime || c->realtimeperiod)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"linux.resources.cpu.realtimeRuntime: "
					"not supported on cgroup v2");
		if (c->shares &&
		    cg_printf(cg, dir, "cpu.weight", err, "%" PRIu64,
			      shares_to_weight(c->shares)))
			return -1;
		if ((c->quota || c->period) && v2_cpu_max(cg, dir, c, err))
			return -1;
	} else if (cpu) {
		if (c->shares && cg_printf(cg, dir, "cpu.shares", err,
					   "%" PRIu64, c->shares))
			return -1;
		if (c->period && cg_printf(cg, dir, "cpu.cfs_period_us", err,
					   "%" PRIu64, c->period))
			return -1;
		if (c->quota &&
		    cg_write(cg, dir, "cpu.cfs_quota_us",
			     limit_str(buf, sizeof(buf), c->quota, false), err))
			return -1;
		if (c->realtimeperiod &&
		    cg_printf(cg, dir, "cpu.rt_period_us", err, "%" PRIu64,
			      c->realtimeperiod))
			return -1;
		if (c->realtimeruntime &&
		    cg_write(cg, dir, "cpu.rt_runtime_us",
			     limit_str(buf, sizeof(buf), c->realtimeruntime,
				       false),
			     err))
			return -1;
	}
	if (*c->cpus && cg_write(cg, set, "cpuset.cpus", c->cpus, err))
		return -1;
	if (*c->mems && cg_write(cg, set, "cpuset.mems", c->mems, err))
		return -1;
	return 0;
}

/* blkio weight (10..1000) to io.weight (1..10000, default 100). */
static uint64_t blkio_to_io_weight(uint32_t w)
{
	return 1 + ((uint64_t)w - 10) * 9999 / 990;
}

static int apply_weights(const struct cgroup *cg, const char *dir,
			 const Grpc__LinuxBlockIO *b, struct herr *err)
{
	/* Kernels with only BFQ name the files after it; same range. */
	const char *wfile, *wdfile;
	bool bfq;

	if (cg->v2) {
		bfq = cg_has(dir, "io.bfq.weight");
		wfile = wdfile = bfq ? "io.bfq.weight" : "io.weight";
	} else {
		bfq = !cg_has(dir, "blkio.weight");
		wfile = bfq ? "blkio.bfq.weight" : "blkio.weight";
		wdfile =
			bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
	}
	if (b->weight) {
		int rc;

		if (cg->v2 && !bfq)
			rc = cg_printf(cg, dir, wfile, err, "default %" PRIu64,
				       blkio_to_io_weight(b->weight));
		else
			rc = cg_printf(cg, dir, wfile, err, "%u", b->weight);
		if (rc)
			return -1;
	}
	if (b->leafweight) {
		if (!cg->v2 && cg_has(dir, "blkio.leaf_weight")) {
			if (cg_printf(cg, dir, "blkio.leaf_weight", err, "%u",
				      b->leafweight))
				return -1;
		} else {
			log_debug("cgroup %s: blockIO.leafWeight unsupported "
				  "here, skipped",
				  cg->path);
		}
	}
	for (size_t i = 0; i < b->n_weightdevice; i++) {
		const Grpc__LinuxWeightDevice *w = b->weightdevice[i];
		uint64_t v = w->weight;

		if (!w->weight)
			continue;
		if (cg->v2 && !bfq)
			v = blkio_to_io_weight(w->weight);
		if (cg_printf(cg, dir, wdfile, err,
			      "%" PRId64 ":%" PRId64 " %" PRIu64, w->major,
			      w->minor, v))
			return -1;
	}
	return 0;
}

static int apply_throttle(const struct cgroup *cg, const char *dir,
			  Grpc__LinuxThrottleDevice **devs, size_t n,
			  const char *v1_file, const char *v2_key,
			  struct herr *err)
{
	for (size_t i = 0; i < n; i++) {
		const Grpc__LinuxThrottleDevice *t = devs[i];
		int rc;

		if (!cg->v2)
			rc = cg_printf(cg, dir, v1_file, err,
				       "%" PRId64 ":%" PRId64 " %" PRIu64,
				       t->major, t->minor, t->rate);
		else if (!t->rate) /* 0 lifts the limit, as on v1 */
			rc = cg_printf(cg, dir, "io.max", err,
				       "%" PRId64 ":%" PRId64 " %s=max",
				       t->major, t->minor, v2_key);
		else
			rc = cg_printf(cg, dir, "io.max", err,
				       "%" PRId64 ":%" PRId64 " %s=%" PRIu64,
				       t->major, t->minor, v2_key, t->rate);
		if (rc)
			return -1;
	}
	return 0;
}

static int apply_blkio(const struct cgroup *cg, const Grpc__LinuxBlockIO *b,
		       struct herr *err)
{
	const char *dir;

	if (cg_need_dir(cg, "blkio", "linux.resources.blockIO", &dir, err) ||
	    apply_weights(cg, dir, b, err))
		return -1;
	if (apply_throttle(cg, dir, b->throttlereadbpsdevice,
			   b->n_throttlereadbpsdevice,
			   "blkio.throttle.read_bps_device", "rbps", err) ||
	    apply_throttle(cg, dir, b->throttlewritebpsdevice,
			   b->n_throttlewritebpsdevice,
			   "blkio.throttle.write_bps_device", "wbps", err) ||
	    apply_throttle(cg, dir, b->throttlereadiopsdevice,
			   b->n_throttlereadiopsdevice,
			   "blkio.throttle.read_iops_device", "riops", err) ||
	    apply_throttle(cg, dir, b->throttlewriteiopsdevice,
			   b->n_throttlewriteiopsdevice,
			   "blkio.throttle.write_iops_device", "wiops", err))
		return -1;
	return 0;
}

static int apply_hugetlb(const struct cgroup *cg,
			 const Grpc__LinuxResources *res, struct herr *err)
{
	static const char *const hugetlb[] = { "hugetlb" };
	const char *dir;

	if (cg_need_dir(cg, "hugetlb", "linux.resources.hugepageLimits", &dir,
			err))
		return -1;
	if (cg->v2 && cg_v2_enable_path(cg, hugetlb, 1, err))
		return -1;
	for (size_t i = 0; i < res->n_hugepagelimits; i++) {
		const Grpc__LinuxHugepageLimit *h = res->hugepagelimits[i];
		char file[64];

		snprintf(file, sizeof(file),
			 cg->v2 ? "hugetlb.%s.max"
				: "hugetlb.%s.limit_in_bytes",
			 h->pagesize);
		if (cg_printf(cg, dir, file, err, "%" PRIu64, h->limit))
			return -1;
	}
	return 0;
}

int cgroup_apply(struct cgroup *cg, const Grpc__LinuxResources *res,
		 struct herr *err)
{
	if (!res)
		return 0;
	if (cgroup_resources_check(res, err))
		return -1;
	if (res->n_devices || res->network)
		log_debug("cgroup %s: device and network rules are not applied "
			  "in the guest",
			  cg->path);
	if (res->memory && apply_memory(cg, res->memory, err))
		return -1;
	if (res->cpu && apply_cpu(cg, res->cpu, err))
		return -1;
	if (res->pids && res->pids->limit) {
		const char *dir;
		char buf[24];

		if (cg_need_dir(cg, "pids", "linux.resources.pids", &dir,
				err) ||
		    cg_write(
			    cg, dir, "pids.max",
			    limit_str(buf, sizeof(buf), res->pids->limit, true),
			    err))
			return -1;
	}
	if (res->blockio && apply_blkio(cg, res->blockio, err))
		return -1;
	if (res->n_hugepagelimits && apply_hugetlb(cg, res, err))
		return -1;
	return 0;
}
