/* SPDX-License-Identifier: Apache-2.0 */
/* Guest cgroup statistics in the format containerd's Stats call returns. */
#ifndef HUSK_SHIM_METRICS_H
#define HUSK_SHIM_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "agent.pb-c.h"

#define METRICS_V1_TYPE_URL "io.containerd.cgroups.v1.Metrics"

/*
 * Encode io.containerd.cgroups.v1.Metrics; caller frees *buf.  @vm_mem is
 * the VM's memory in bytes now (0: unknown): a container limit above it,
 * or none, is reported as the VM's size, the most the container can get.
 */
int metrics_from_agent(const Grpc__StatsContainerResponse *in,
		       uint64_t vm_mem, uint8_t **buf, size_t *len);

#endif
