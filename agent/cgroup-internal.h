/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the agent's cgroup files (agent/cgroup*.c) share: the cgroup
 * object, and the helpers that read and write its files by full path (so
 * that errors can name them).  The rest of the agent calls cgroup.h.
 */
#ifndef HUSK_AGENT_CGROUP_INTERNAL_H
#define HUSK_AGENT_CGROUP_INTERNAL_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"
#include "err.h"

enum {
	/* The v1 controllers a container joins (cgroup.c: v1_ctrls). */
	CG_V1_CTRLS = 8,
	/* How deep below its own cgroup a container's cgroups are followed. */
	CG_MAX_DEPTH = 16,
};

struct cg_dir {
	const char *ctrl; /* v1 controller, NULL on v2 */
	char *dir; /* absolute directory of this cgroup */
	int created; /* trailing path levels this cgroup created */
	bool alias; /* same hierarchy as an earlier entry (cpu,cpuacct) */
};

struct cgroup {
	char *path; /* "/a/b", relative to each hierarchy */
	bool v2;
	size_t ndirs;
	struct cg_dir dirs[CG_V1_CTRLS];
	int oom_fd; /* v2 memory.events, v1 eventfd; -1 until asked */
	uint64_t oom_events; /* v1: OOM notifications read so far */
};

/* cgroup.c */
/* The directory of v1 controller @ctrl (any name on v2), or NULL. */
const char *cg_ctrl_dir(const struct cgroup *cg, const char *ctrl);
/* cg_ctrl_dir(), or FAILED_PRECONDITION naming @field when not mounted. */
int cg_need_dir(const struct cgroup *cg, const char *ctrl, const char *field,
		const char **dir, struct herr *err);
/* Enable @ctrls on every level above the cgroup's own directory (v2). */
int cg_v2_enable_path(const struct cgroup *cg, const char *const *ctrls,
		      size_t n, struct herr *err);

/* cgroup-file.c */
/* "<dir>/<file>" into @buf (PATH_MAX), or INVALID_ARGUMENT when too long. */
int cg_file_path(char *buf, const struct cgroup *cg, const char *dir,
		 const char *file, struct herr *err);
bool cg_has(const char *dir, const char *file);
int cg_write(const struct cgroup *cg, const char *dir, const char *file,
	     const char *val, struct herr *err);
int cg_printf(const struct cgroup *cg, const char *dir, const char *file,
	      struct herr *err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/*
 * Read a whole file.  With @optional, a missing file is not an error:
 * returns 1 and leaves *out NULL.
 */
int cg_read(const struct cgroup *cg, const char *dir, const char *file,
	    bool optional, char **out, struct herr *err);
/* A number, or "max" as UINT64_MAX. */
int cg_parse_u64(const char *s, uint64_t *v);
/* Read a file holding one number ("max" counts as UINT64_MAX). */
int cg_read_u64(const struct cgroup *cg, const char *dir, const char *file,
		bool optional, uint64_t *v, struct herr *err);
/* Value of "key N" in a flat-keyed file (memory.stat, cpu.stat, ...). */
bool cg_kv_get(const char *buf, const char *key, uint64_t *v);
void cg_sleep_ms(long ms);
/*
 * The next cgroup below @dir (opened as @d) as "<dir>/<name>" in @sub
 * (PATH_MAX bytes); false at the end.  Files, "." and ".." are skipped,
 * and so are names too long for a path.
 */
bool cg_next_subdir(DIR *d, const char *dir, char *sub);

#endif
