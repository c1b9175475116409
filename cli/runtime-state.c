// SPDX-License-Identifier: Apache-2.0
/*
 * A container's state across invocations: <root>/<id>/state.json, written
 * atomically by create and by the monitor as the container moves on, and
 * read by every later invocation.  The monitor's pid and start time tell
 * whether it still runs: a monitor that died means a stopped container,
 * whatever the file last said.
 */
#include <errno.h>
#include <ftw.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"
#include "util.h"

static const char *const status_names[] = {
	[RT_CREATING] = "creating", [RT_CREATED] = "created",
	[RT_RUNNING] = "running",   [RT_PAUSED] = "paused",
	[RT_STOPPED] = "stopped",
};

const char *rt_status_name(enum rt_status s)
{
	return s <= RT_STOPPED ? status_names[s] : "unknown";
}

char *rt_state_json(const struct rt_state *st, const char *annotations_json)
{
	json_object *o = json_object_new_object();
	json_object *ann = NULL;
	enum rt_status s = st->status;
	char *out;

	if (annotations_json)
		ann = json_tokener_parse(annotations_json);
	if (!ann || !json_object_is_type(ann, json_type_object)) {
		json_object_put(ann);
		ann = json_object_new_object();
	}
	json_object_object_add(o, "ociVersion",
			       json_object_new_string("1.0.2"));
	json_object_object_add(o, "id", json_object_new_string(st->id));
	/* runc reports no pid once the container stopped. */
	json_object_object_add(
		o, "pid", json_object_new_int(s == RT_STOPPED ? 0 : st->pid));
	json_object_object_add(o, "status",
			       json_object_new_string(rt_status_name(s)));
	json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
	json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
	json_object_object_add(o, "created",
			       json_object_new_string(st->created));
	json_object_object_add(o, "owner", json_object_new_string(""));
	json_object_object_add(o, "annotations", ann);
	out = xstrdup(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

char *rt_state_encode(const struct rt_state *st)
{
	json_object *o = json_object_new_object();
	char *out;

	json_object_object_add(o, "id", json_object_new_string(st->id));
	json_object_object_add(o, "bundle", json_object_new_string(st->bundle));
	json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs));
	json_object_object_add(o, "created",
			       json_object_new_string(st->created));
	json_object_object_add(o, "run_dir",
			       json_object_new_string(st->run_dir));
	json_object_object_add(o, "cgroup", json_object_new_string(st->cgroup));
	json_object_object_add(o, "pid", json_object_new_int(st->pid));
	json_object_object_add(o, "pid_start",
			       json_object_new_int64((int64_t)st->pid_start));
	json_object_object_add(o, "vm_pid", json_object_new_int(st->vm_pid));
	json_object_object_add(o, "vm_start",
			       json_object_new_int64((int64_t)st->vm_start));
	json_object_object_add(
		o, "status",
		json_object_new_string(rt_status_name(st->status)));
	json_object_object_add(o, "exit_status",
			       json_object_new_int(st->exit_status));
	out = xstrdup(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

static int get_string(json_object *o, const char *key, char *buf, size_t size,
		      struct herr *err)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return herr_set(err, 0, 0, "state file: \"%s\" missing", key);
	s = json_object_get_string(v);
	if (strlen(s) >= size)
		return herr_set(err, 0, 0, "state file: \"%s\" too long", key);
	strcpy(buf, s);
	return 0;
}

static long long get_int(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_int64(v);
}

int rt_state_decode(const char *text, struct rt_state *st, struct herr *err)
{
	json_object *o = json_tokener_parse(text);
	char status[32];
	int r = -1;

	memset(st, 0, sizeof(*st));
	if (!o || !json_object_is_type(o, json_type_object)) {
		herr_set(err, 0, 0, "state file: not a JSON object");
		goto out;
	}
	if (get_string(o, "id", st->id, sizeof(st->id), err) < 0 ||
	    get_string(o, "bundle", st->bundle, sizeof(st->bundle), err) < 0 ||
	    get_string(o, "rootfs", st->rootfs, sizeof(st->rootfs), err) < 0 ||
	    get_string(o, "created", st->created, sizeof(st->created), err) <
		    0 ||
	    get_string(o, "run_dir", st->run_dir, sizeof(st->run_dir), err) <
		    0 ||
	    get_string(o, "status", status, sizeof(status), err) < 0)
		goto out;
	st->status = RT_STOPPED + 1;
	for (int i = RT_CREATING; i <= RT_STOPPED; i++)
		if (!strcmp(status, status_names[i]))
			st->status = i;
	if (st->status > RT_STOPPED) {
		herr_set(err, 0, 0, "state file: unknown status \"%s\"",
			 status);
		goto out;
	}
	if (json_object_object_get_ex(o, "cgroup", NULL) &&
	    get_string(o, "cgroup", st->cgroup, sizeof(st->cgroup), err) < 0)
		goto out;
	st->pid = (pid_t)get_int(o, "pid");
	st->pid_start = (unsigned long long)get_int(o, "pid_start");
	st->vm_pid = (pid_t)get_int(o, "vm_pid");
	st->vm_start = (unsigned long long)get_int(o, "vm_start");
	st->exit_status = (int)get_int(o, "exit_status");
	r = 0;
out:
	json_object_put(o);
	return r;
}

char *rt_dir(const char *root, const char *id)
{
	char *d;

	if (asprintf(&d, "%s/%s", root, id) < 0)
		abort();
	return d;
}

int rt_state_write(const char *root, const struct rt_state *st,
		   struct herr *err)
{
	_cleanup_free_ char *dir = rt_dir(root, st->id);
	_cleanup_free_ char *text = rt_state_encode(st);

	return write_file_atomic(dir, "state.json", text, err);
}

int rt_state_read(const char *root, const char *id, struct rt_state *st,
		  struct herr *err)
{
	_cleanup_free_ char *dir = rt_dir(root, id);
	_cleanup_free_ char *path = NULL;
	char buf[16384];
	ssize_t n;

	if (asprintf(&path, "%s/state.json", dir) < 0)
		abort();
	n = read_file_str(path, buf, sizeof(buf));
	if (n < 0) {
		if (access(dir, F_OK) < 0)
			return herr_set(err, 0, ENOENT,
					"container %s does not exist", id);
		return herr_set(err, 0, errno ? errno : EIO,
				"container %s: read %s", id, path);
	}
	if (rt_state_decode(buf, st, err) < 0)
		return herr_prefix(err, "container %s", id);
	return 0;
}

unsigned long long rt_proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file_str(path, buf, sizeof(buf)) < 0)
		return 0;
	/* Field 22, counted after the ")" that ends the command name. */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);
	return start;
}

bool rt_alive(pid_t pid, unsigned long long start)
{
	unsigned long long now;
	char path[64], state[1024], *p;

	if (pid <= 0)
		return false;
	now = rt_proc_start(pid);
	if (!now || (start && now != start))
		return false;
	/* A zombie is as good as gone. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file_str(path, state, sizeof(state)) < 0)
		return false;
	p = strrchr(state, ')');
	return !(p && (p[2] == 'Z' || p[2] == 'X'));
}

enum rt_status rt_state_status(const struct rt_state *st)
{
	if (st->status == RT_STOPPED)
		return RT_STOPPED;
	return rt_alive(st->pid, st->pid_start) ? st->status : RT_STOPPED;
}

static int remove_one(const char *path, const struct stat *sb, int flag,
		      struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

int rt_remove_tree(const char *path)
{
	if (access(path, F_OK) < 0)
		return 0;
	return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

void rt_state_cleanup(const char *root, const struct rt_state *st)
{
	_cleanup_free_ char *dir = rt_dir(root, st->id);

	/* The monitor's mounts died with its mount namespace; its VM may
	 * not have (QEMU outlives a killed parent). */
	if (rt_alive(st->vm_pid, st->vm_start))
		kill(st->vm_pid, SIGKILL);
	if (*st->run_dir)
		rt_remove_tree(st->run_dir);
	rt_cgroup_remove(st->cgroup, false);
	rt_remove_tree(dir);
}
