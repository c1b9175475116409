/* SPDX-License-Identifier: Apache-2.0 */
/* Guest cgroup statistics in the format containerd's Stats call returns. */
#ifndef HUSK_SHIM_METRICS_H
#define HUSK_SHIM_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "agent.pb-c.h"

#define METRICS_V1_TYPE_URL "io.containerd.cgroups.v1.Metrics"

/* Encode io.containerd.cgroups.v1.Metrics; caller frees *buf. */
int metrics_from_agent(const Grpc__StatsContainerResponse *in, uint8_t **buf,
		       size_t *len);

#endif
