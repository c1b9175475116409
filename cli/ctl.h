/* SPDX-License-Identifier: Apache-2.0 */
/* husk ctl: options shared by the verbs and the spec builder. */
#ifndef HUSK_CLI_CTL_H
#define HUSK_CLI_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "oci.pb-c.h"

#define CTL_LIST_MAX 64

struct strlist {
	char *v[CTL_LIST_MAX];
	size_t n;
};

struct ctl_opts {
	const char *addr;
	const char *id, *exec_id, *sandbox_id;
	const char *rootfs, *hostname, *cwd, *user, *groups, *caps;
	const char *signal, *data, *service, *cpuset;
	bool tty, readonly, no_new_privs, net, no_pidns, sandbox_pidns, once;
	bool no_caps_default, cgroupns;
	long long oom_score_adj, memory, cpu_quota, cpu_period, cpu_shares;
	long long pids_limit, timeout, len, rows, cols, seccomp_errno;
	long long hook_timeout; /* seconds, each hook's (default 10) */
	struct strlist env, cap_drop, rlimits, masked, ro_paths, seccomp_deny;
	struct strlist mounts, sysctls, dns, hooks_prestart, hooks_poststop;
	struct strlist hooks_start_container, hooks_create_container;
	char **args;
	int n_args;
};

/* The OCI spec for "create" (runc-like defaults, then the options). */
Grpc__Spec *ctl_build_spec(const struct ctl_opts *o, int *err_out);
Grpc__Process *ctl_build_process(const struct ctl_opts *o);
Grpc__LinuxResources *ctl_build_resources(const struct ctl_opts *o);

int ctl_main(int argc, char **argv);

#endif
