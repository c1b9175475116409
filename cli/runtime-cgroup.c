// SPDX-License-Identifier: Apache-2.0
/*
 * The VM's host processes in the cgroup config.json's linux.cgroupsPath
 * names, so that docker stats, podman stats and host limits see the
 * container's real cost: the monitor joins that cgroup in every mounted
 * hierarchy (v1 controllers and the v2 tree) before it starts QEMU, which
 * inherits it.  The spec's resource limits are the guest's business and
 * are not copied here.  At the end the monitor moves back to the parent
 * and removes the directories it made; delete removes them too after a
 * monitor that died.  Only cgroupfs paths: systemd's "slice:prefix:name"
 * form is refused earlier (--systemd-cgroup).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "path.h"
#include "runtime.h"
#include "util.h"

/* Each cgroup mount point (v1 hierarchies and v2), one per line. */
static char *cgroup_mounts(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], *out = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - "), mnt[1024], fstype[64];

		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 ||
		    (strcmp(fstype, "cgroup") && strcmp(fstype, "cgroup2")))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1)
			continue;
		out = realloc(out, len + strlen(mnt) + 2);
		if (!out)
			abort();
		memcpy(out + len, mnt, strlen(mnt));
		len += strlen(mnt);
		out[len++] = '\n';
		out[len] = '\0';
	}
	fclose(f);
	return out;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* cpuset (v1) takes no task before it has cpus and mems: the parent's. */
static void cpuset_inherit(const char *dir)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	char path[4200], parent[4200], buf[256];

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (access(path, F_OK) < 0)
			return;
		if (read_file_str(path, buf, sizeof(buf)) > 1)
			continue;
		snprintf(parent, sizeof(parent), "%s/../%s", dir, files[i]);
		if (read_file_str(parent, buf, sizeof(buf)) > 0)
			write_str(path, buf);
	}
}

int rt_cgroup_enter(const char *cgpath, pid_t pid, struct herr *err)
{
	_cleanup_free_ char *mounts = cgroup_mounts();
	char pidstr[32], *save = NULL;

	if (!cgpath || !*cgpath)
		return 0;
	if (strstr(cgpath, ".."))
		return herr_set(err, 0, 0,
				"linux.cgroupsPath \"%s\": \"..\" is not "
				"allowed",
				cgpath);
	snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	for (char *m = mounts ? strtok_r(mounts, "\n", &save) : NULL; m;
	     m = strtok_r(NULL, "\n", &save)) {
		_cleanup_free_ char *dir = NULL, *procs = NULL;
		int r;

		if (asprintf(&dir, "%s/%s", m,
			     cgpath[0] == '/' ? cgpath + 1 : cgpath) < 0 ||
		    asprintf(&procs, "%s/cgroup.procs", dir) < 0)
			abort();
		if (mkdir_p(dir, 0755) < 0)
			return herr_set(err, 0, errno, "cgroup %s", dir);
		cpuset_inherit(dir);
		r = write_str(procs, pidstr);
		/* The v2 tree of a hybrid host may refuse a process that
		 * sits in v1 controllers' non-root cgroups: not fatal. */
		if (r < 0)
			log_warn("cgroup %s: join: %s", dir, strerror(-r));
	}
	return 0;
}

void rt_cgroup_remove(const char *cgpath, bool leave)
{
	_cleanup_free_ char *mounts = cgroup_mounts();
	char pidstr[32], *save = NULL;

	if (!cgpath || !*cgpath || strstr(cgpath, ".."))
		return;
	snprintf(pidstr, sizeof(pidstr), "%d", (int)getpid());
	for (char *m = mounts ? strtok_r(mounts, "\n", &save) : NULL; m;
	     m = strtok_r(NULL, "\n", &save)) {
		_cleanup_free_ char *dir = NULL, *up = NULL;

		if (asprintf(&dir, "%s/%s", m,
			     cgpath[0] == '/' ? cgpath + 1 : cgpath) < 0 ||
		    asprintf(&up, "%s/../cgroup.procs", dir) < 0)
			abort();
		if (leave)
			write_str(up, pidstr);
		if (rmdir(dir) < 0 && errno != ENOENT)
			log_debug("cgroup %s: remove: %s", dir,
				  strerror(errno));
	}
}
