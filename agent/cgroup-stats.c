// SPDX-License-Identifier: Apache-2.0
/*
 * Cgroup statistics for StatsContainer: cpu, memory, pids and blkio, from
 * the v1 files or their v2 counterparts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "util.h"

static void *msg_new(const ProtobufCMessageDescriptor *desc)
{
	void *m = xcalloc(1, desc->sizeof_message);

	protobuf_c_message_init(desc, m);
	return m;
}

static size_t count_lines(const char *buf)
{
	size_t n = 0;

	for (const char *p = buf; *p; p++)
		n += *p == '\n';
	return n + 1;
}

static int cpu_stats(const struct cgroup *cg, Grpc__CgroupStats *out,
		     struct herr *err)
{
	_cleanup_free_ char *stat = NULL, *acct = NULL, *percpu = NULL;
	const char *dir = cg_ctrl_dir(cg, "cpuacct");
	const char *cpudir = cg_ctrl_dir(cg, "cpu");
	Grpc__CpuStats *cs;
	Grpc__CpuUsage *u;
	Grpc__ThrottlingData *t;
	uint64_t v;

	if (!dir && !cpudir)
		return 0;
	cs = out->cpu_stats = msg_new(&grpc__cpu_stats__descriptor);
	u = cs->cpu_usage = msg_new(&grpc__cpu_usage__descriptor);
	t = cs->throttling_data = msg_new(&grpc__throttling_data__descriptor);
	if (cg->v2) {
		/* cpu.stat exists even without the cpu controller. */
		if (cg_read(cg, dir, "cpu.stat", false, &stat, err))
			return -1;
		if (cg_kv_get(stat, "usage_usec", &v))
			u->total_usage = v * 1000;
		if (cg_kv_get(stat, "user_usec", &v))
			u->usage_in_usermode = v * 1000;
		if (cg_kv_get(stat, "system_usec", &v))
			u->usage_in_kernelmode = v * 1000;
		if (cg_kv_get(stat, "nr_periods", &v))
			t->periods = v;
		if (cg_kv_get(stat, "nr_throttled", &v))
			t->throttled_periods = v;
		if (cg_kv_get(stat, "throttled_usec", &v))
			t->throttled_time = v * 1000;
		return 0;
	}
	if (dir) {
		long hz = sysconf(_SC_CLK_TCK);
		uint64_t tick_ns =
			hz > 0 ? 1000000000ULL / (uint64_t)hz : 10000000ULL;

		if (cg_read_u64(cg, dir, "cpuacct.usage", false,
				&u->total_usage, err) ||
		    cg_read(cg, dir, "cpuacct.stat", false, &acct, err) ||
		    cg_read(cg, dir, "cpuacct.usage_percpu", true, &percpu,
			    err) < 0)
			return -1;
		/* cpuacct.stat counts in USER_HZ ticks. */
		if (cg_kv_get(acct, "user", &v))
			u->usage_in_usermode = v * tick_ns;
		if (cg_kv_get(acct, "system", &v))
			u->usage_in_kernelmode = v * tick_ns;
		if (percpu) {
			size_t cap = 1;

			for (const char *p = percpu; *p; p++)
				cap += *p == ' ';
			u->percpu_usage = xcalloc(cap, sizeof(uint64_t));
			for (char *p = percpu, *end; u->n_percpu_usage < cap;
			     p = end) {
				v = strtoull(p, &end, 10);
				if (end == p)
					break;
				u->percpu_usage[u->n_percpu_usage++] = v;
			}
		}
	}
	if (cpudir) {
		if (cg_read(cg, cpudir, "cpu.stat", true, &stat, err) < 0)
			return -1;
		if (stat && cg_kv_get(stat, "nr_periods", &v))
			t->periods = v;
		if (stat && cg_kv_get(stat, "nr_throttled", &v))
			t->throttled_periods = v;
		if (stat && cg_kv_get(stat, "throttled_time", &v))
			t->throttled_time = v;
	}
	return 0;
}

/* usage/max/limit/failcnt from v1 files "<prefix>usage_in_bytes" etc. */
static int v1_memory_data(const struct cgroup *cg, const char *dir,
			  const char *prefix, Grpc__MemoryData **out,
			  struct herr *err)
{
	static const char *const names[] = { "usage_in_bytes",
					     "max_usage_in_bytes",
					     "limit_in_bytes", "failcnt" };
	uint64_t v[ARRAY_SIZE(names)];
	Grpc__MemoryData *d;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char file[64];
		int rc;

		snprintf(file, sizeof(file), "%s%s", prefix, names[i]);
		rc = cg_read_u64(cg, dir, file, true, &v[i], err);
		if (rc < 0)
			return -1;
		/* Swap or kernel accounting may be off: no data then. */
		if (rc > 0)
			return 0;
	}
	d = *out = msg_new(&grpc__memory_data__descriptor);
	d->usage = v[0];
	d->max_usage = v[1];
	d->limit = v[2];
	d->failcnt = v[3];
	return 0;
}

/*
 * cgroup v2: usage from <prefix>.current, peak, max; failcnt is how often
 * the limit was hit ("max" in <prefix>.events).
 */
static int v2_memory_data(const struct cgroup *cg, const char *dir,
			  const char *prefix, Grpc__MemoryData **out,
			  struct herr *err)
{
	_cleanup_free_ char *events = NULL;
	char file[64];
	uint64_t cur;
	Grpc__MemoryData *d;
	int rc;

	snprintf(file, sizeof(file), "%s.current", prefix);
	rc = cg_read_u64(cg, dir, file, true, &cur, err);
	if (rc)
		return rc < 0 ? -1 : 0;
	d = *out = msg_new(&grpc__memory_data__descriptor);
	d->usage = cur;
	snprintf(file, sizeof(file), "%s.peak", prefix);
	if (cg_read_u64(cg, dir, file, true, &d->max_usage, err) < 0)
		return -1;
	snprintf(file, sizeof(file), "%s.max", prefix);
	if (cg_read_u64(cg, dir, file, true, &d->limit, err) < 0)
		return -1;
	snprintf(file, sizeof(file), "%s.events", prefix);
	if (cg_read(cg, dir, file, true, &events, err) < 0)
		return -1;
	if (events)
		cg_kv_get(events, "max", &d->failcnt);
	return 0;
}

static int memory_stats(const struct cgroup *cg, Grpc__CgroupStats *out,
			struct herr *err)
{
	_cleanup_free_ char *stat = NULL;
	const char *dir = cg_ctrl_dir(cg, "memory");
	Grpc__MemoryStats *ms;
	uint64_t v;
	int rc;

	if (!dir)
		return 0;
	/* On v2 the files exist only with the controller enabled. */
	rc = cg_read(cg, dir, "memory.stat", true, &stat, err);
	if (rc)
		return rc < 0 ? -1 : 0;
	ms = out->memory_stats = msg_new(&grpc__memory_stats__descriptor);
	ms->stats = xcalloc(count_lines(stat), sizeof(*ms->stats));
	for (char *l = stat, *next; *l; l = next) {
		char *sp = strchr(l, ' ');
		Grpc__MemoryStats__StatsEntry *e;

		next = strchrnul(l, '\n');
		if (*next)
			*next++ = '\0';
		if (!sp)
			continue;
		*sp = '\0';
		e = msg_new(&grpc__memory_stats__stats_entry__descriptor);
		e->key = xstrdup(l);
		cg_parse_u64(sp + 1, &e->value);
		ms->stats[ms->n_stats++] = e;
	}
	if (cg->v2) {
		ms->use_hierarchy = true;
		for (size_t i = 0; i < ms->n_stats; i++)
			if (!strcmp(ms->stats[i]->key, "file"))
				ms->cache = ms->stats[i]->value;
		if (v2_memory_data(cg, dir, "memory", &ms->usage, err) ||
		    v2_memory_data(cg, dir, "memory.swap", &ms->swap_usage,
				   err))
			return -1;
		return 0;
	}
	for (size_t i = 0; i < ms->n_stats; i++)
		if (!strcmp(ms->stats[i]->key, "cache"))
			ms->cache = ms->stats[i]->value;
	if (cg_read_u64(cg, dir, "memory.use_hierarchy", true, &v, err) < 0)
		return -1;
	ms->use_hierarchy = v != 0;
	if (v1_memory_data(cg, dir, "memory.", &ms->usage, err) ||
	    v1_memory_data(cg, dir, "memory.memsw.", &ms->swap_usage, err) ||
	    v1_memory_data(cg, dir, "memory.kmem.", &ms->kernel_usage, err))
		return -1;
	return 0;
}

static int pids_stats(const struct cgroup *cg, Grpc__CgroupStats *out,
		      struct herr *err)
{
	const char *dir = cg_ctrl_dir(cg, "pids");
	uint64_t cur, max;
	int rc;

	if (!dir)
		return 0;
	rc = cg_read_u64(cg, dir, "pids.current", true, &cur, err);
	if (rc)
		return rc < 0 ? -1 : 0;
	if (cg_read_u64(cg, dir, "pids.max", true, &max, err) < 0)
		return -1;
	out->pids_stats = msg_new(&grpc__pids_stats__descriptor);
	out->pids_stats->current = cur;
	/* No limit reads as 0, as runc and the Kata agent report it. */
	out->pids_stats->limit = max == UINT64_MAX ? 0 : max;
	return 0;
}

static Grpc__BlkioStatsEntry *blkio_entry(uint64_t major, uint64_t minor,
					  const char *op, uint64_t value)
{
	Grpc__BlkioStatsEntry *e =
		msg_new(&grpc__blkio_stats_entry__descriptor);

	e->major = major;
	e->minor = minor;
	e->op = xstrdup(op);
	e->value = value;
	return e;
}

/* v1 "8:0 Read 4096" lines; the "Total" lines carry no device. */
static void v1_blkio_list(char *buf, Grpc__BlkioStatsEntry ***list, size_t *n)
{
	*list = xcalloc(count_lines(buf), sizeof(**list));
	for (char *l = buf, *next; *l; l = next) {
		unsigned int maj, min;
		char op[16];
		uint64_t v;

		next = strchrnul(l, '\n');
		if (*next)
			*next++ = '\0';
		if (sscanf(l, "%u:%u %15s %" SCNu64, &maj, &min, op, &v) == 4)
			(*list)[(*n)++] = blkio_entry(maj, min, op, v);
	}
}

/* v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0". */
static void v2_blkio(char *buf, Grpc__BlkioStats *bs)
{
	static const struct {
		const char *key, *op;
		bool ios;
	} keys[] = {
		{ "rbytes", "Read", false },	{ "wbytes", "Write", false },
		{ "dbytes", "Discard", false }, { "rios", "Read", true },
		{ "wios", "Write", true },	{ "dios", "Discard", true },
	};
	/* Three of each kind per device line. */
	size_t cap = count_lines(buf) * 3;

	bs->io_service_bytes_recursive = xcalloc(cap, sizeof(void *));
	bs->io_serviced_recursive = xcalloc(cap, sizeof(void *));
	for (char *l = buf, *next; *l; l = next) {
		unsigned int maj, min;
		int off;

		next = strchrnul(l, '\n');
		if (*next)
			*next++ = '\0';
		if (sscanf(l, "%u:%u%n", &maj, &min, &off) != 2)
			continue;
		for (char *tok = strtok(l + off, " "); tok;
		     tok = strtok(NULL, " ")) {
			char *eq = strchr(tok, '=');
			uint64_t v;

			if (!eq || cg_parse_u64(eq + 1, &v))
				continue;
			*eq = '\0';
			for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
				if (strcmp(tok, keys[k].key))
					continue;
				if (bs->n_io_serviced_recursive == cap ||
				    bs->n_io_service_bytes_recursive == cap)
					return;
				if (keys[k].ios)
					bs->io_serviced_recursive
						[bs->n_io_serviced_recursive++] =
						blkio_entry(maj, min,
							    keys[k].op, v);
				else
					bs->io_service_bytes_recursive
						[bs->n_io_service_bytes_recursive++] =
						blkio_entry(maj, min,
							    keys[k].op, v);
			}
		}
	}
}

static int blkio_stats(const struct cgroup *cg, Grpc__CgroupStats *out,
		       struct herr *err)
{
	_cleanup_free_ char *bytes = NULL, *ios = NULL;
	const char *dir = cg_ctrl_dir(cg, "blkio");
	Grpc__BlkioStats *bs;
	int rc;

	if (!dir)
		return 0;
	if (cg->v2) {
		rc = cg_read(cg, dir, "io.stat", true, &bytes, err);
		if (rc)
			return rc < 0 ? -1 : 0;
		bs = out->blkio_stats = msg_new(&grpc__blkio_stats__descriptor);
		v2_blkio(bytes, bs);
		return 0;
	}
	/* Older kernels have no _recursive variants. */
	rc = cg_read(cg, dir, "blkio.throttle.io_service_bytes_recursive", true,
		     &bytes, err);
	if (rc > 0)
		rc = cg_read(cg, dir, "blkio.throttle.io_service_bytes", false,
			     &bytes, err);
	if (rc < 0)
		return -1;
	rc = cg_read(cg, dir, "blkio.throttle.io_serviced_recursive", true,
		     &ios, err);
	if (rc > 0)
		rc = cg_read(cg, dir, "blkio.throttle.io_serviced", false, &ios,
			     err);
	if (rc < 0)
		return -1;
	bs = out->blkio_stats = msg_new(&grpc__blkio_stats__descriptor);
	v1_blkio_list(bytes, &bs->io_service_bytes_recursive,
		      &bs->n_io_service_bytes_recursive);
	v1_blkio_list(ios, &bs->io_serviced_recursive,
		      &bs->n_io_serviced_recursive);
	return 0;
}

int cgroup_stats(struct cgroup *cg, Grpc__CgroupStats *out, struct herr *err)
{
	if (cpu_stats(cg, out, err) || memory_stats(cg, out, err) ||
	    pids_stats(cg, out, err) || blkio_stats(cg, out, err)) {
		cgroup_stats_free(out);
		return -1;
	}
	return 0;
}

void cgroup_stats_free(Grpc__CgroupStats *st)
{
	/* Built with malloc, which is what the default allocator frees. */
	if (st->cpu_stats)
		protobuf_c_message_free_unpacked(&st->cpu_stats->base, NULL);
	if (st->memory_stats)
		protobuf_c_message_free_unpacked(&st->memory_stats->base, NULL);
	if (st->pids_stats)
		protobuf_c_message_free_unpacked(&st->pids_stats->base, NULL);
	if (st->blkio_stats)
		protobuf_c_message_free_unpacked(&st->blkio_stats->base, NULL);
	for (size_t i = 0; i < st->n_hugetlb_stats; i++)
		protobuf_c_message_free_unpacked(&st->hugetlb_stats[i]->base,
						 NULL);
	free(st->hugetlb_stats);
	st->cpu_stats = NULL;
	st->memory_stats = NULL;
	st->pids_stats = NULL;
	st->blkio_stats = NULL;
	st->hugetlb_stats = NULL;
	st->n_hugetlb_stats = 0;
}
