// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's cgroup statistics as containerd's io.containerd.cgroups.v1
 * Metrics, the type the CRI plugin and "ctr task metrics" decode.  The
 * values are the guest's own numbers, copied; only the memory limit is
 * capped at the VM's size (the guest's "max" says nothing of the VM).
 */
#include <stdlib.h>
#include <string.h>

#include "containerd/cgroups/metrics_v1.pb-c.h"
#include "metrics.h"
#include "util.h"

typedef Io__Containerd__Cgroups__V1__BlkIOEntry BlkEntry;

static void mem_entry(Io__Containerd__Cgroups__V1__MemoryEntry *out,
		      const Grpc__MemoryData *in)
{
	io__containerd__cgroups__v1__memory_entry__init(out);
	if (!in)
		return;
	out->usage = in->usage;
	out->max = in->max_usage;
	out->failcnt = in->failcnt;
	out->limit = in->limit;
}

static uint64_t mem_stat(const Grpc__MemoryStats *m, const char *key)
{
	for (size_t i = 0; i < m->n_stats; i++)
		if (m->stats[i]->key && !strcmp(m->stats[i]->key, key))
			return m->stats[i]->value;
	return 0;
}

static BlkEntry **blk_list(Grpc__BlkioStatsEntry **in, size_t n,
			   BlkEntry *store)
{
	BlkEntry **out = xcalloc(n, sizeof(*out));

	for (size_t i = 0; i < n; i++) {
		io__containerd__cgroups__v1__blk_ioentry__init(&store[i]);
		store[i].op = in[i]->op;
		store[i].major = in[i]->major;
		store[i].minor = in[i]->minor;
		store[i].value = in[i]->value;
		out[i] = &store[i];
	}
	return out;
}

int metrics_from_agent(const Grpc__StatsContainerResponse *in,
		       uint64_t vm_mem, uint8_t **buf, size_t *len)
{
	Io__Containerd__Cgroups__V1__Metrics m =
		IO__CONTAINERD__CGROUPS__V1__METRICS__INIT;
	Io__Containerd__Cgroups__V1__PidsStat pids;
	Io__Containerd__Cgroups__V1__CPUStat cpu;
	Io__Containerd__Cgroups__V1__CPUUsage usage;
	Io__Containerd__Cgroups__V1__Throttle thr;
	Io__Containerd__Cgroups__V1__MemoryStat mem;
	Io__Containerd__Cgroups__V1__MemoryEntry mu, ms, mk;
	Io__Containerd__Cgroups__V1__BlkIOStat blk;
	const Grpc__CgroupStats *cg = in->cgroup_stats;
	Io__Containerd__Cgroups__V1__HugetlbStat *hs = NULL, **hp = NULL;
	Io__Containerd__Cgroups__V1__NetworkStat *ns = NULL, **np = NULL;
	BlkEntry *bstore[8] = { 0 };

	if (cg && cg->pids_stats) {
		io__containerd__cgroups__v1__pids_stat__init(&pids);
		pids.current = cg->pids_stats->current;
		pids.limit = cg->pids_stats->limit;
		m.pids = &pids;
	}
	if (cg && cg->cpu_stats) {
		io__containerd__cgroups__v1__cpustat__init(&cpu);
		io__containerd__cgroups__v1__cpuusage__init(&usage);
		io__containerd__cgroups__v1__throttle__init(&thr);
		if (cg->cpu_stats->cpu_usage) {
			const Grpc__CpuUsage *u = cg->cpu_stats->cpu_usage;

			usage.total = u->total_usage;
			usage.kernel = u->usage_in_kernelmode;
			usage.user = u->usage_in_usermode;
			usage.per_cpu = u->percpu_usage;
			usage.n_per_cpu = u->n_percpu_usage;
		}
		if (cg->cpu_stats->throttling_data) {
			const Grpc__ThrottlingData *t =
				cg->cpu_stats->throttling_data;

			thr.periods = t->periods;
			thr.throttled_periods = t->throttled_periods;
			thr.throttled_time = t->throttled_time;
		}
		cpu.usage = &usage;
		cpu.throttling = &thr;
		m.cpu = &cpu;
	}
	if (cg && cg->memory_stats) {
		const Grpc__MemoryStats *s = cg->memory_stats;

		io__containerd__cgroups__v1__memory_stat__init(&mem);
		mem.cache = s->cache;
		mem.rss = mem_stat(s, "rss");
		mem.rss_huge = mem_stat(s, "rss_huge");
		mem.mapped_file = mem_stat(s, "mapped_file");
		mem.dirty = mem_stat(s, "dirty");
		mem.writeback = mem_stat(s, "writeback");
		mem.inactive_anon = mem_stat(s, "inactive_anon");
		mem.active_anon = mem_stat(s, "active_anon");
		mem.inactive_file = mem_stat(s, "inactive_file");
		mem.active_file = mem_stat(s, "active_file");
		mem.unevictable = mem_stat(s, "unevictable");
		mem_entry(&mu, s->usage);
		if (vm_mem && (!mu.limit || mu.limit > vm_mem))
			mu.limit = vm_mem;
		mem.hierarchical_memory_limit = mu.limit;
		mem_entry(&ms, s->swap_usage);
		mem_entry(&mk, s->kernel_usage);
		mem.usage = &mu;
		mem.swap = &ms;
		mem.kernel = &mk;
		m.memory = &mem;
	}
	if (cg && cg->blkio_stats) {
		const Grpc__BlkioStats *b = cg->blkio_stats;
		Grpc__BlkioStatsEntry **lists[] = {
			b->io_service_bytes_recursive,
			b->io_serviced_recursive,
			b->io_queued_recursive,
			b->io_service_time_recursive,
			b->io_wait_time_recursive,
			b->io_merged_recursive,
			b->io_time_recursive,
			b->sectors_recursive,
		};
		size_t counts[] = {
			b->n_io_service_bytes_recursive,
			b->n_io_serviced_recursive,
			b->n_io_queued_recursive,
			b->n_io_service_time_recursive,
			b->n_io_wait_time_recursive,
			b->n_io_merged_recursive,
			b->n_io_time_recursive,
			b->n_sectors_recursive,
		};
		BlkEntry ***outs[] = {
			&blk.io_service_bytes_recursive,
			&blk.io_serviced_recursive,
			&blk.io_queued_recursive,
			&blk.io_service_time_recursive,
			&blk.io_wait_time_recursive,
			&blk.io_merged_recursive,
			&blk.io_time_recursive,
			&blk.sectors_recursive,
		};
		size_t *nouts[] = {
			&blk.n_io_service_bytes_recursive,
			&blk.n_io_serviced_recursive,
			&blk.n_io_queued_recursive,
			&blk.n_io_service_time_recursive,
			&blk.n_io_wait_time_recursive,
			&blk.n_io_merged_recursive,
			&blk.n_io_time_recursive,
			&blk.n_sectors_recursive,
		};

		io__containerd__cgroups__v1__blk_iostat__init(&blk);
		for (size_t k = 0; k < ARRAY_SIZE(lists); k++) {
			bstore[k] = xcalloc(counts[k], sizeof(BlkEntry));
			*outs[k] = blk_list(lists[k], counts[k], bstore[k]);
			*nouts[k] = counts[k];
		}
		m.blkio = &blk;
	}
	if (cg && cg->n_hugetlb_stats) {
		hs = xcalloc(cg->n_hugetlb_stats, sizeof(*hs));
		hp = xcalloc(cg->n_hugetlb_stats, sizeof(*hp));
		for (size_t i = 0; i < cg->n_hugetlb_stats; i++) {
			const Grpc__CgroupStats__HugetlbStatsEntry *e =
				cg->hugetlb_stats[i];

			io__containerd__cgroups__v1__hugetlb_stat__init(&hs[i]);
			hs[i].pagesize = e->key;
			if (e->value) {
				hs[i].usage = e->value->usage;
				hs[i].max = e->value->max_usage;
				hs[i].failcnt = e->value->failcnt;
			}
			hp[i] = &hs[i];
		}
		m.hugetlb = hp;
		m.n_hugetlb = cg->n_hugetlb_stats;
	}
	if (in->n_network_stats) {
		ns = xcalloc(in->n_network_stats, sizeof(*ns));
		np = xcalloc(in->n_network_stats, sizeof(*np));
		for (size_t i = 0; i < in->n_network_stats; i++) {
			const Grpc__NetworkStats *n = in->network_stats[i];

			io__containerd__cgroups__v1__network_stat__init(&ns[i]);
			ns[i].name = n->name;
			ns[i].rx_bytes = n->rx_bytes;
			ns[i].rx_packets = n->rx_packets;
			ns[i].rx_errors = n->rx_errors;
			ns[i].rx_dropped = n->rx_dropped;
			ns[i].tx_bytes = n->tx_bytes;
			ns[i].tx_packets = n->tx_packets;
			ns[i].tx_errors = n->tx_errors;
			ns[i].tx_dropped = n->tx_dropped;
			np[i] = &ns[i];
		}
		m.network = np;
		m.n_network = in->n_network_stats;
	}
	*len = io__containerd__cgroups__v1__metrics__get_packed_size(&m);
	*buf = xmalloc(*len);
	io__containerd__cgroups__v1__metrics__pack(&m, *buf);
	if (m.blkio) {
		free(blk.io_service_bytes_recursive);
		free(blk.io_serviced_recursive);
		free(blk.io_queued_recursive);
		free(blk.io_service_time_recursive);
		free(blk.io_wait_time_recursive);
		free(blk.io_merged_recursive);
		free(blk.io_time_recursive);
		free(blk.sectors_recursive);
	}
	for (size_t k = 0; k < ARRAY_SIZE(bstore); k++)
		free(bstore[k]);
	free(hs);
	free(hp);
	free(ns);
	free(np);
	return 0;
}
