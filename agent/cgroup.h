/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's cgroup.  cgroup v2 when the unified hierarchy has the
 * controllers (the guest kernel); otherwise a v1 fallback with one directory
 * per controller (as on hosts with hybrid hierarchies).  All paths are
 * derived from the spec's cgroupsPath, or <parent>/<container id> when empty
 * (the agent's --cgroup-parent, /husk by default).
 */
#ifndef HUSK_AGENT_CGROUP_H
#define HUSK_AGENT_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "agent.pb-c.h"
#include "err.h"
#include "oci.pb-c.h"

struct cgroup;

/*
 * Where the hierarchies are mounted (default /sys/fs/cgroup): cgroup2 there
 * means v2, anything else the v1 layout <dir>/<controller>.  For tests and
 * odd mounts; @dir must stay valid while cgroups are in use.
 */
void cgroup_set_root(const char *dir);

/*
 * Create (mkdir -p) the cgroup @path ("/a/b", relative to the hierarchy).
 * Empty components and "." are dropped; ".." and the root are refused.
 */
int cgroup_create(const char *path, struct cgroup **out, struct herr *err);

/* Move @pid into the cgroup (every v1 controller, or v2 cgroup.procs). */
int cgroup_add_pid(struct cgroup *cg, pid_t pid, struct herr *err);

/*
 * The v2 cgroup's directory, opened for clone3(CLONE_INTO_CGROUP): a
 * process born there needs no cgroup_add_pid().  -1 on v1 (a process is
 * in several hierarchies there), when it cannot be opened, and when the
 * cgroup is frozen (a process born there would stop at once).
 */
int cgroup_open_dir(const struct cgroup *cg);

/*
 * Validate @res without touching any cgroup: value ranges, cpuset lists,
 * device numbers.  Errors name the field ("linux.resources.pids.limit").
 */
int cgroup_resources_check(const Grpc__LinuxResources *res, struct herr *err);

/*
 * Apply memory, cpu, cpuset, pids, io (blkio) and hugetlb limits after
 * cgroup_resources_check(); device and network rules are ignored (the
 * runtime drops them for the guest).  Fields left unset
 * (0, "") are left alone.  Used by CreateContainer and UpdateContainer.
 */
int cgroup_apply(struct cgroup *cg, const Grpc__LinuxResources *res,
		 struct herr *err);

/* Freeze or thaw every process (PauseContainer/ResumeContainer). */
int cgroup_freeze(struct cgroup *cg, bool frozen, struct herr *err);

/* The pids in the cgroup (malloc'd array). */
int cgroup_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct herr *err);

/*
 * Fill @out with cpu, memory, pids and blkio statistics.  Sub-messages are
 * allocated; release them with cgroup_stats_free().
 */
int cgroup_stats(struct cgroup *cg, Grpc__CgroupStats *out, struct herr *err);
void cgroup_stats_free(Grpc__CgroupStats *st);

/*
 * An fd the event loop can watch for OOM kills in this cgroup: readable
 * (EPOLLIN) or EPOLLPRI when something changed; then cgroup_oom_kills() tells
 * whether the count of OOM kills went up.  -1 with @err if unsupported.
 * Each call returns a new fd (a duplicate of one @cg keeps) that the caller
 * closes; cgroup_oom_kills() re-arms it.
 */
int cgroup_oom_fd(struct cgroup *cg, unsigned int *events, struct herr *err);
/* Number of OOM kills so far (-1 if unknown); call after the fd fired. */
long cgroup_oom_kills(struct cgroup *cg);

/*
 * Remove the cgroup directories (after any cgroups made below them, and
 * waiting a bounded time for exiting tasks), and the parents
 * cgroup_create() made as far as they are empty; then free @cg.  On error
 * @cg is left as it was, for a retry or cgroup_free().
 */
int cgroup_destroy(struct cgroup *cg, struct herr *err);
void cgroup_free(struct cgroup *cg);

/* True when the v2 hierarchy is used (for tests and logs). */
bool cgroup_is_v2(const struct cgroup *cg);

#endif
