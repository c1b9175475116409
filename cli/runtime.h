/* SPDX-License-Identifier: Apache-2.0 */
/*
 * husk-runtime: the runc-compatible front end of the host library, for
 * Docker (through containerd-shim-runc-v2) and Podman (through conmon).
 *
 *   runtime-main.c     verbs and global flags, errors on stderr and --log
 *   runtime-args.c     runc's command line parsed into struct rt_cmd
 *   runtime-state.c    <root>/<id>/state.json and runc's state JSON
 *   runtime-monitor.c  the per-container monitor: VM, agent, stdio relay
 *   runtime-ctl.c      the monitor's control socket, fd passing, consoles
 *   runtime-cgroup.c   the VM's host processes in linux.cgroupsPath
 *   runtime-hooks.c    the spec's host-side OCI hooks (prestart, ...)
 *
 * A container is one VM owned by its monitor, a process forked by create
 * whose pid goes to --pid-file.  It lives as long as the container's init,
 * serves later invocations on <root>/<id>/ctl.sock and exits with the
 * init's exit status after tearing the VM down.
 */
#ifndef HUSK_CLI_RUNTIME_H
#define HUSK_CLI_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define RT_DEFAULT_ROOT "/run/husk-runtime"

enum rt_verb {
	RT_NONE,
	RT_CREATE,
	RT_START,
	RT_RUN,
	RT_STATE,
	RT_KILL,
	RT_DELETE,
	RT_EXEC,
	RT_PAUSE,
	RT_RESUME,
	RT_PS,
	RT_UPDATE,
	RT_FEATURES,
	RT_VERSION,
	RT_HELP,
};

/* One invocation, as parsed (strings point into argv). */
struct rt_cmd {
	enum rt_verb verb;
	const char *verb_name;
	/* global */
	const char *root;
	const char *log;
	bool log_json;
	bool debug;
	bool systemd_cgroup;
	/* verb flags */
	const char *id;
	const char *bundle;
	const char *pid_file;
	const char *console_socket;
	const char *process; /* exec --process */
	const char *resources; /* update --resources */
	const char *format; /* ps --format, state is always JSON */
	const char *signal; /* kill's second argument (default TERM) */
	bool all, force, detach, tty;
	char **args; /* exec's command when --process is absent */
	int n_args;
};

/* Parse argv (without argv[0]); -1 with @err naming the flag or verb. */
int rt_parse(int argc, char **argv, struct rt_cmd *cmd, struct herr *err);
/* "TERM", "SIGTERM", "15" -> 15; -1 if unknown. */
int rt_signal_parse(const char *s);

/* ---- runtime-state.c ------------------------------------------------ */

enum rt_status {
	RT_CREATING,
	RT_CREATED,
	RT_RUNNING,
	RT_PAUSED,
	RT_STOPPED,
};

struct rt_state {
	char id[256];
	char bundle[4096];
	char rootfs[4096];
	char created[64]; /* RFC 3339 */
	char run_dir[512]; /* the VM's files (short: socket paths) */
	char cgroup[1024]; /* linux.cgroupsPath, "" if none */
	pid_t pid; /* the monitor */
	unsigned long long pid_start; /* its start time, against pid reuse */
	pid_t vm_pid;
	unsigned long long vm_start;
	enum rt_status status;
	int exit_status; /* once stopped */
};

const char *rt_status_name(enum rt_status s);
/* runc's `state` output (malloc'd JSON); annotations may be NULL. */
char *rt_state_json(const struct rt_state *st, const char *annotations_json);
/* The state file's own form, and back. */
char *rt_state_encode(const struct rt_state *st);
int rt_state_decode(const char *text, struct rt_state *st, struct herr *err);

char *rt_dir(const char *root, const char *id);
int rt_state_write(const char *root, const struct rt_state *st,
		   struct herr *err);
int rt_state_read(const char *root, const char *id, struct rt_state *st,
		  struct herr *err);
/* Start time of @pid from /proc (0 if gone). */
unsigned long long rt_proc_start(pid_t pid);
/* The recorded process still runs (same pid and start time). */
bool rt_alive(pid_t pid, unsigned long long start);
/* The status as seen now: a monitor that died means stopped. */
enum rt_status rt_state_status(const struct rt_state *st);
int rt_remove_tree(const char *path);
/* Kill what a dead monitor left (its VM), remove its files. */
void rt_state_cleanup(const char *root, const struct rt_state *st);

/* ---- runtime-ctl.c -------------------------------------------------- */

/* Control socket path usable with bind/connect whatever --root's length. */
int rt_ctl_listen(const char *dir, struct herr *err);
int rt_ctl_connect(const char *root, const char *id, struct herr *err);
/* One message with up to 3 fds; a reply of at most @size bytes. */
int rt_ctl_send(int fd, const char *msg, size_t len, const int *fds, int nfd);
ssize_t rt_ctl_recv(int fd, char *buf, size_t size, int *fds, int *nfd);
/* Request @msg, wait for the answer "ok ..." or "err ...". */
int rt_ctl_call(const char *root, const char *id, const char *msg, char *reply,
		size_t size, struct herr *err);
/* A new pty: send its master to @console_socket, return the slave (raw). */
int rt_console_open(const char *console_socket, int *slave, struct herr *err);

/* ---- runtime-cgroup.c --------------------------------------------- */

/* Put @pid in @cgpath in every mounted hierarchy ("" does nothing). */
int rt_cgroup_enter(const char *cgpath, pid_t pid, struct herr *err);
/* Remove those cgroups; @leave: move the caller to the parents first. */
void rt_cgroup_remove(const char *cgpath, bool leave);

/* ---- runtime-hooks.c ---------------------------------------------- */

/* The state a hook reads on stdin (malloc'd JSON, annotations included). */
char *rt_hook_state_json(const char *id, const char *status, pid_t pid,
			 const char *bundle);
typedef void (*rt_hook_warn_fn)(const char *msg);
/*
 * Run config.json's hooks of @kind ("prestart", "createRuntime",
 * "poststart", "poststop") in order, @state on their stdin, in the mount
 * namespace @mntns_fd (-1: ours).  Without @warn the first failure stops
 * them (-1, @err names the hook and carries its output); with @warn each
 * failure is handed to it and the rest still run.
 */
int rt_hooks_run(const char *bundle, const char *kind, const char *state,
		 int mntns_fd, rt_hook_warn_fn warn, struct herr *err);
/* Refuse the hooks that would run inside the container (in the guest). */
int rt_hooks_check(const char *bundle, struct herr *err);

/* ---- runtime-monitor.c ---------------------------------------------- */

/*
 * Fork the monitor for create: it boots the VM and creates the container,
 * then reports on @ready_fd ("ok" or "err MESSAGE").  Returns its pid in
 * the parent; never returns in the child.
 */
pid_t rt_monitor_spawn(const struct rt_cmd *cmd, const char *root,
		       int *ready_fd, struct herr *err);

#endif
