/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seccomp filters from the OCI spec's linux.seccomp, built with libseccomp:
 * default action, architectures, flags, syscalls with argument conditions.
 * Validation happens in the agent before the container process is created,
 * so a bad profile is an INVALID_ARGUMENT naming the field, not a failed
 * child.
 */
#ifndef HUSK_AGENT_SECCOMP_H
#define HUSK_AGENT_SECCOMP_H

#include "err.h"
#include "oci.pb-c.h"

struct seccomp_filter;

/* Check names, actions, operators and arches; build the filter. */
int seccomp_filter_build(const Grpc__LinuxSeccomp *spec,
			 struct seccomp_filter **out, struct herr *err);

/*
 * Load the filter into the calling process (in the container child, just
 * before execve).  no_new_privs is the spec's choice (identity_apply()):
 * the kernel takes the filter without it only from a task holding
 * CAP_SYS_ADMIN, so if the caller has neither, it is set here rather than
 * failing.  To keep no_new_privs off for a non-root process, load before
 * identity_apply() drops the capabilities.
 */
int seccomp_filter_load(struct seccomp_filter *f, struct herr *err);

void seccomp_filter_free(struct seccomp_filter *f);

#endif
