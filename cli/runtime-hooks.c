// SPDX-License-Identifier: Apache-2.0
/*
 * The spec's host-side OCI hooks, run as runc runs them: prestart and
 * createRuntime once the container's namespaces exist (Docker 20.10 wires
 * its bridge network from a prestart hook, libnetwork-setkey), poststart
 * after start, poststop on delete.  Each gets the container's state JSON
 * on stdin, its own argv and, when given, exactly its env (otherwise ours);
 * its stdout and stderr go into the error when it fails, and a timeout
 * kills it.  createContainer and startContainer run inside the container's
 * namespaces, which are in the guest here: they are refused by create.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime.h"
#include "spec.h"
#include "util.h"

extern char **environ;

/* What a failing hook's output contributes to the error, per stream. */
#define HOOK_OUT_MAX 1024

struct hook_out {
	char buf[HOOK_OUT_MAX];
	size_t len;
};

static json_object *read_config(const char *bundle, struct herr *err)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	json_object *o;
	size_t len;

	if (asprintf(&path, "%s/config.json", bundle) < 0)
		abort();
	if (spec_read_file(path, 1 << 22, &text, &len, err) < 0)
		return NULL;
	o = json_tokener_parse(text);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		herr_set(err, 0, 0, "%s: not a JSON object", path);
		return NULL;
	}
	return o;
}

/* The hooks of @kind in the config, NULL if none. */
static json_object *hooks_of(json_object *conf, const char *kind)
{
	json_object *hooks, *list;

	if (!json_object_object_get_ex(conf, "hooks", &hooks) ||
	    !json_object_object_get_ex(hooks, kind, &list) ||
	    !json_object_is_type(list, json_type_array))
		return NULL;
	return list;
}

char *rt_hook_state_json(const char *id, const char *status, pid_t pid,
			 const char *bundle)
{
	json_object *o = json_object_new_object();
	json_object *conf, *ann = NULL;
	struct herr err;
	char *out;

	json_object_object_add(o, "ociVersion",
			       json_object_new_string("1.0.2"));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "pid", json_object_new_int(pid));
	json_object_object_add(o, "bundle", json_object_new_string(bundle));
	conf = read_config(bundle, &err);
	if (conf && json_object_object_get_ex(conf, "annotations", &ann) &&
	    json_object_is_type(ann, json_type_object))
		json_object_object_add(o, "annotations", json_object_get(ann));
	json_object_put(conf);
	out = xstrdup(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

/* A JSON array of strings as a NULL-terminated vector (NULL if absent). */
static int str_vector(json_object *hook, const char *key, char ***out,
		      struct herr *err)
{
	json_object *a;
	size_t n;
	char **v;

	*out = NULL;
	if (!json_object_object_get_ex(hook, key, &a) ||
	    json_object_is_type(a, json_type_null))
		return 0;
	if (!json_object_is_type(a, json_type_array))
		return herr_set(err, 0, 0, "%s is not an array", key);
	n = json_object_array_length(a);
	v = xcalloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(a, i);

		if (!json_object_is_type(s, json_type_string)) {
			free(v);
			return herr_set(err, 0, 0, "%s[%zu] is not a string",
					key, i);
		}
		v[i] = (char *)json_object_get_string(s);
	}
	*out = v;
	return 0;
}

static void drain(int *fd, struct hook_out *out)
{
	char buf[4096];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		closep(fd);
		*fd = -1;
		return;
	}
	if (out->len < sizeof(out->buf) - 1) {
		size_t k = (size_t)n;

		if (k > sizeof(out->buf) - 1 - out->len)
			k = sizeof(out->buf) - 1 - out->len;
		memcpy(out->buf + out->len, buf, k);
		out->len += k;
	}
	out->buf[out->len] = '\0';
}

static void hook_child(const char *path, char **argv, char **env, int in,
		       int out, int errfd, int mntns_fd)
{
	char *own_argv[] = { (char *)path, NULL };
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
		_exit(126);
	/* In the caller's mount namespace, as runc's hooks run. */
	if (mntns_fd >= 0 && setns(mntns_fd, CLONE_NEWNS) < 0) {
		dprintf(2, "enter the caller's mount namespace: %s",
			strerror(errno));
		_exit(126);
	}
	execve(path, argv && argv[0] ? argv : own_argv, env ? env : environ);
	dprintf(2, "exec %s: %s", path, strerror(errno));
	_exit(127);
}

/* Run one hook; -1 with @err saying why it failed. */
static int run_one(json_object *hook, const char *what, const char *state,
		   int mntns_fd, struct herr *err)
{
	_cleanup_free_ char **argv = NULL, **env = NULL;
	struct hook_out out = { 0 }, errout = { 0 };
	json_object *jp, *jt;
	int sin = -1, po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	long long deadline = -1;
	const char *path;
	int timeout = 0, st = 0, r = -1;
	pid_t pid;

	if (!json_object_object_get_ex(hook, "path", &jp) ||
	    !json_object_is_type(jp, json_type_string) ||
	    json_object_get_string(jp)[0] != '/')
		return herr_set(err, 0, 0,
				"%s: path is missing or not absolute", what);
	path = json_object_get_string(jp);
	if (json_object_object_get_ex(hook, "timeout", &jt) &&
	    !json_object_is_type(jt, json_type_null)) {
		if (!json_object_is_type(jt, json_type_int) ||
		    json_object_get_int(jt) <= 0)
			return herr_set(err, 0, 0,
					"%s (%s): timeout must be a positive "
					"number of seconds",
					what, path);
		timeout = json_object_get_int(jt);
		deadline = now_ms() + timeout * 1000LL;
	}
	if (str_vector(hook, "args", &argv, err) < 0 ||
	    str_vector(hook, "env", &env, err) < 0)
		return herr_prefix(err, "%s (%s)", what, path);
	/* The state as a file: a hook that never reads stdin cannot block
	 * us, and one that reads it gets all of it. */
	sin = memfd_create("hook-state", MFD_CLOEXEC);
	if (sin < 0 || write_all(sin, state, strlen(state)) < 0 ||
	    lseek(sin, 0, SEEK_SET) < 0) {
		herr_set(err, 0, errno, "%s (%s): state for stdin", what, path);
		goto out;
	}
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		herr_set(err, 0, errno, "%s (%s): pipe", what, path);
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		herr_set(err, 0, errno, "%s (%s): fork", what, path);
		goto out;
	}
	if (pid == 0)
		hook_child(path, argv, env, sin, po[1], pe[1], mntns_fd);
	closep(&po[1]);
	closep(&pe[1]);
	po[1] = pe[1] = -1;
	while (po[0] >= 0 || pe[0] >= 0) {
		struct pollfd pfd[2] = { { .fd = po[0], .events = POLLIN },
					 { .fd = pe[0], .events = POLLIN } };
		long long left = deadline < 0 ? -1 : deadline - now_ms();
		int n;

		if (deadline >= 0 && left <= 0)
			break;
		n = poll(pfd, 2, deadline < 0 ? -1 : (int)left);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		if (pfd[0].revents)
			drain(&po[0], &out);
		if (pfd[1].revents)
			drain(&pe[0], &errout);
	}
	if (po[0] >= 0 || pe[0] >= 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		herr_set(err, 0, 0,
			 "%s (%s): ran past its timeout of %d s, killed", what,
			 path, timeout);
		goto out;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		r = 0;
		goto out;
	}
	if (WIFEXITED(st))
		herr_set(err, 0, 0,
			 "%s (%s): exit status %d, stdout: %s, stderr: %s",
			 what, path, WEXITSTATUS(st), out.buf, errout.buf);
	else
		herr_set(err, 0, 0,
			 "%s (%s): killed by signal %d, stdout: %s, stderr: %s",
			 what, path, WTERMSIG(st), out.buf, errout.buf);
out:
	closep(&sin);
	closep(&po[0]);
	closep(&po[1]);
	closep(&pe[0]);
	closep(&pe[1]);
	return r;
}

int rt_hooks_run(const char *bundle, const char *kind, const char *state,
		 int mntns_fd, rt_hook_warn_fn warn, struct herr *err)
{
	json_object *conf, *list;
	int r = 0;

	conf = read_config(bundle, err);
	if (!conf)
		return herr_prefix(err, "%s hooks", kind);
	list = hooks_of(conf, kind);
	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		json_object *hook = json_object_array_get_idx(list, i);
		char what[64];
		struct herr e;

		snprintf(what, sizeof(what), "%s hook %zu", kind, i);
		if (!json_object_is_type(hook, json_type_object)) {
			herr_set(&e, 0, 0, "%s: not an object", what);
		} else if (run_one(hook, what, state, mntns_fd, &e) == 0) {
			continue;
		}
		/* poststart and poststop: warn, go on (the OCI spec). */
		if (warn) {
			warn(e.msg);
			continue;
		}
		*err = e;
		r = -1;
		break;
	}
	json_object_put(conf);
	return r;
}

int rt_hooks_check(const char *bundle, struct herr *err)
{
	static const char *const in_guest[] = { "createContainer",
						"startContainer" };
	json_object *conf = read_config(bundle, err), *list;

	if (!conf)
		return -1;
	for (size_t i = 0; i < 2; i++) {
		list = hooks_of(conf, in_guest[i]);
		if (list && json_object_array_length(list)) {
			json_object_put(conf);
			return herr_set(err, 0, 0,
					"%s hooks run in the container's "
					"namespaces, which are in a VM here: "
					"not supported",
					in_guest[i]);
		}
	}
	json_object_put(conf);
	return 0;
}
