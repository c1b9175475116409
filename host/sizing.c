// SPDX-License-Identifier: Apache-2.0
/*
 * VM sizing from the containers' limits and the pod's annotations (the
 * rules are in sizing.h).  Everything read here comes from the caller's
 * config.json, so every number is checked for range before it is used.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sizing.h"
#include "util.h"

#define MIB (1024ULL * 1024ULL)
/* More than any VM gets: keeps the sums below far from overflowing. */
#define SIZING_MEM_MAX_MIB (1ULL << 32)
#define SIZING_MCPUS_MAX (1000ULL << 20)

static const char *const sandbox_types[][2] = {
	{ "io.kubernetes.cri.container-type", "sandbox" },
	{ "io.kubernetes.cri-o.ContainerType", "sandbox" },
};

static const char *annotation(const Grpc__Spec *spec, const char *key)
{
	for (size_t i = 0; i < spec->n_annotations; i++)
		if (!strcmp(spec->annotations[i]->key, key))
			return spec->annotations[i]->value;
	return NULL;
}

static bool is_sandbox(const Grpc__Spec *spec)
{
	for (size_t i = 0; i < ARRAY_SIZE(sandbox_types); i++) {
		const char *v = annotation(spec, sandbox_types[i][0]);

		if (v && !strcmp(v, sandbox_types[i][1]))
			return true;
	}
	return false;
}

static unsigned long long mib_up(long long bytes)
{
	unsigned long long b = (unsigned long long)bytes;

	return b / MIB + (b % MIB != 0);
}

/* A quota of @quota µs every @period µs, in thousandths of a CPU. */
static unsigned long long mcpus(long long quota, long long period)
{
	unsigned long long q = (unsigned long long)quota;
	unsigned long long p = (unsigned long long)period;

	if (quota <= 0 || period <= 0)
		return 0;
	return (q * 1000 + p - 1) / p;
}

/* A decimal annotation: absent or "" is 0; negative means "unset". */
static int annotation_ll(const Grpc__Spec *spec, const char *key,
			 long long *out, struct herr *err)
{
	const char *v = annotation(spec, key);
	char *end;

	*out = 0;
	if (!v || !*v)
		return 0;
	errno = 0;
	*out = strtoll(v, &end, 10);
	if (errno || *end)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"annotation %s: \"%.40s\" is not an integer",
				key, v);
	return 0;
}

static int json_ll(struct json_object *o, const char *key, long long *out,
		   struct herr *err)
{
	struct json_object *v;

	*out = 0;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"annotation " SIZING_CRIO_RESOURCES
				": %s: expected an integer",
				key);
	*out = json_object_get_int64(v);
	return 0;
}

/* CRI-O: one JSON object, the CRI's LinuxContainerResources. */
static int crio_pod(const char *text, long long *mem, long long *quota,
		    long long *period, struct herr *err)
{
	struct json_object *o = json_tokener_parse(text);
	int rc = -1;

	if (!o || !json_object_is_type(o, json_type_object)) {
		herr_set(err, GRPC_INVALID_ARGUMENT, 0,
			 "annotation " SIZING_CRIO_RESOURCES
			 ": not a JSON object");
		goto out;
	}
	if (json_ll(o, "memory_limit_in_bytes", mem, err) < 0 ||
	    json_ll(o, "cpu_quota", quota, err) < 0 ||
	    json_ll(o, "cpu_period", period, err) < 0)
		goto out;
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

static int check(const char *what, const struct workload *w, struct herr *err)
{
	if (w->mem_mib > SIZING_MEM_MAX_MIB)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s: memory %llu MiB is absurd", what,
				w->mem_mib);
	if (w->mcpus > SIZING_MCPUS_MAX)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s: a CPU quota of %llu CPUs is absurd", what,
				w->mcpus / 1000);
	return 0;
}

int sizing_workload(const Grpc__Spec *spec, struct workload *own,
		    struct workload *pod, struct herr *err)
{
	const Grpc__LinuxResources *r =
		spec && spec->linux ? spec->linux->resources : NULL;
	long long mem = 0, quota = 0, period = 0;
	const char *crio;

	*own = (struct workload){ 0 };
	*pod = (struct workload){ 0 };
	if (r && r->memory && r->memory->limit > 0)
		own->mem_mib = mib_up(r->memory->limit);
	if (r && r->cpu)
		own->mcpus = mcpus(r->cpu->quota, (long long)r->cpu->period);
	if (check("linux.resources", own, err) < 0)
		return -1;
	if (!spec || !is_sandbox(spec))
		return 0;
	if (annotation_ll(spec, SIZING_CRI_MEMORY, &mem, err) < 0 ||
	    annotation_ll(spec, SIZING_CRI_CPU_QUOTA, &quota, err) < 0 ||
	    annotation_ll(spec, SIZING_CRI_CPU_PERIOD, &period, err) < 0)
		return -1;
	crio = annotation(spec, SIZING_CRIO_RESOURCES);
	if (!mem && !quota && crio && *crio &&
	    crio_pod(crio, &mem, &quota, &period, err) < 0)
		return -1;
	if (mem > 0)
		pod->mem_mib = mib_up(mem);
	pod->mcpus = mcpus(quota, period);
	return check("sandbox annotations", pod, err);
}

void sizing_add(struct workload *a, const struct workload *b)
{
	a->mem_mib += b->mem_mib;
	a->mcpus += b->mcpus;
}

unsigned int sizing_max_memory(const struct husk_config *cfg)
{
	unsigned long long m = cfg->default_maxmemory;

	if (!m) {
		long pages = sysconf(_SC_PHYS_PAGES);
		long psize = sysconf(_SC_PAGESIZE);

		m = pages > 0 && psize > 0
			    ? (unsigned long long)pages *
				      (unsigned long long)psize / MIB
			    : cfg->default_memory;
	}
	if (m > UINT32_MAX)
		m = UINT32_MAX;
	return m < cfg->default_memory ? cfg->default_memory : (unsigned int)m;
}

unsigned int sizing_max_vcpus(const struct husk_config *cfg)
{
	unsigned int m = cfg->default_maxvcpus;

	if (!m) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		m = n > 0 ? (unsigned int)n : 1;
	}
	/* QEMU's limit for a q35 machine with the default APIC. */
	if (m > 255)
		m = 255;
	return m < cfg->default_vcpus ? cfg->default_vcpus : m;
}

static unsigned long long max_ull(unsigned long long a, unsigned long long b)
{
	return a > b ? a : b;
}

int sizing_vm(const struct husk_config *cfg, const struct workload *sum,
	      const struct workload *pod, const char *who, struct vm_size *out,
	      struct herr *err)
{
	unsigned long long mem = max_ull(sum->mem_mib, pod->mem_mib);
	unsigned long long cpus =
		(max_ull(sum->mcpus, pod->mcpus) + 999) / 1000;
	unsigned int max_mem = sizing_max_memory(cfg);
	unsigned int max_cpus = sizing_max_vcpus(cfg);
	unsigned long long want_mem = cfg->default_memory + mem;
	unsigned long long want_cpus = max_ull(cfg->default_vcpus, cpus);

	if (want_mem > max_mem)
		return herr_set(err, GRPC_RESOURCE_EXHAUSTED, 0,
				"%s: memory limits of %llu MiB need a VM of "
				"%llu MiB (default_memory %u MiB on top), "
				"above default_maxmemory (%u MiB%s)",
				who, mem, want_mem, cfg->default_memory,
				max_mem,
				cfg->default_maxmemory ? "" : ": the host's");
	if (want_cpus > max_cpus)
		return herr_set(err, GRPC_RESOURCE_EXHAUSTED, 0,
				"%s: CPU quotas of %llu CPUs need %llu vCPUs, "
				"above default_maxvcpus (%u%s)",
				who, cpus, want_cpus, max_cpus,
				cfg->default_maxvcpus ? ""
						      : ": the host's CPUs");
	out->mem_mib = (unsigned int)want_mem;
	out->vcpus = (unsigned int)want_cpus;
	return 0;
}
