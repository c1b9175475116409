/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How big a pod's VM must be: the configuration's default_memory and
 * default_vcpus (the VM's own overhead: kernel, agent) plus what its
 * containers were given, capped by default_maxmemory and default_maxvcpus.
 * Pure arithmetic over the converted spec, so the rules are unit-tested
 * without a VM (tests/unit/host_sizing.c).
 *
 *   memory  default_memory + the sum of the containers' memory limits
 *           (linux.resources.memory.limit, rounded up to a MiB)
 *   vCPUs   the larger of default_vcpus and the containers' CPU quotas
 *           added up (quota / period, rounded up): a 2-CPU quota needs
 *           2 CPUs to run at, while the agent's own share is idle time
 *
 * The sandbox (pause) container of a CRI pod brings the whole pod's
 * figures when its runtime provides them: containerd's
 * io.kubernetes.cri.sandbox-memory / sandbox-cpu-quota / sandbox-cpu-period,
 * or CRI-O's io.kubernetes.cri-o.PodLinuxResources (JSON of the CRI's
 * LinuxContainerResources).  The app containers' own limits then count
 * against that budget instead of being added to it a second time.
 */
#ifndef HUSK_HOST_SIZING_H
#define HUSK_HOST_SIZING_H

#include <stdbool.h>

#include "config.h"
#include "err.h"
#include "oci.pb-c.h"

/* What a container (or a pod, from the sandbox annotations) asks for. */
struct workload {
	unsigned long long mem_mib; /* 0: no memory limit */
	unsigned long long mcpus; /* thousandths of a CPU; 0: no quota */
};

/* A VM's memory (MiB) and vCPUs. */
struct vm_size {
	unsigned int mem_mib;
	unsigned int vcpus;
};

/* The pod annotation keys read (exported for tests and the README). */
#define SIZING_CRI_MEMORY "io.kubernetes.cri.sandbox-memory"
#define SIZING_CRI_CPU_QUOTA "io.kubernetes.cri.sandbox-cpu-quota"
#define SIZING_CRI_CPU_PERIOD "io.kubernetes.cri.sandbox-cpu-period"
#define SIZING_CRIO_RESOURCES "io.kubernetes.cri-o.PodLinuxResources"

/* Memory hot-added to a running VM comes in whole guest memory blocks. */
#define SIZING_HOTPLUG_BLOCK_MIB 128

/*
 * The container's own limits (@spec's linux.resources) in @own, and in
 * @pod what its sandbox annotations say the whole pod needs (zero when it
 * is not a sandbox or its runtime sent none).  A malformed annotation is
 * an error naming it.
 */
int sizing_workload(const Grpc__Spec *spec, struct workload *own,
		    struct workload *pod, struct herr *err);

/*
 * default_maxmemory / default_maxvcpus as they apply here: 0 in the
 * configuration means the host's memory / online CPUs (Kata's rule); never
 * below default_memory / default_vcpus.
 */
unsigned int sizing_max_memory(const struct husk_config *cfg);
unsigned int sizing_max_vcpus(const struct husk_config *cfg);

/*
 * The VM size for a pod whose containers add up to @sum and whose sandbox
 * annotations said @pod (the larger of the two counts, per resource).
 * Above a cap: -1 with an error naming the cap, the configured value and
 * what was asked (@who, e.g. "container web", starts the message).
 */
int sizing_vm(const struct husk_config *cfg, const struct workload *sum,
	      const struct workload *pod, const char *who, struct vm_size *out,
	      struct herr *err);

/* @a += @b. */
void sizing_add(struct workload *a, const struct workload *b);

#endif
