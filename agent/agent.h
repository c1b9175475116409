/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's shared state and the interfaces between its parts: the RPC
 * layer (agent/rpc*.c) validates requests and calls the container library
 * (sandbox, container, process, stdio, mounts, hooks, oom), which works on
 * the structures declared here.  Everything runs on one event loop.
 */
#ifndef HUSK_AGENT_AGENT_H
#define HUSK_AGENT_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent.pb-c.h"
#include "err.h"
#include "path.h"
#include "version.h"
#include "evloop.h"
#include "oci.pb-c.h"
#include "ttrpc/server.h"

#define AGENT_GRPC_VERSION "0.0.1"

struct agent;
struct container;
struct process;
struct cgroup;
struct seccomp_filter;

/* A parked RPC (ReadStdout, WaitProcess, WriteStdin, ...) on a list. */
struct waiter {
	struct ttrpc_call *call;
	struct waiter **head;
	struct waiter *next, *prev;
	void *owner;
	size_t len; /* ReadStream: bytes asked for */
	const uint8_t *data; /* WriteStdin: what is left to write */
	size_t off, total;
};

struct waiter *waiter_park(struct waiter **head, struct ttrpc_call *call,
			   void *owner);
/* Unlink and free; the call is not touched. */
void waiter_drop(struct waiter *w);

/* One output stream (stdout, stderr, or the pty master). */
struct stream {
	struct agent *a;
	int fd; /* agent's end, non-blocking; -1 once closed */
	bool eof;
	bool watched;
	struct waiter *readers;
	struct process *p;
};

struct stdio {
	bool tty;
	int in_fd; /* write end of stdin (or a dup of the pty master) */
	bool in_watched, in_close_pending;
	struct waiter *writers;
	struct stream out, err;
	int child[3]; /* the child's ends; closed once the child has them */
	int pty_slave;
};

struct process {
	struct agent *a;
	struct container *c;
	char *exec_id;
	bool is_init;
	pid_t pid; /* 0 until the child exists */
	bool exited, waited;
	int status; /* exit code, or 128 + signal */
	long long exit_ms;
	struct ev_timer *drain_timer;
	bool drain_over; /* 500 ms after exit: EAGAIN now means EOF */
	struct stdio io;
	struct waiter *waiters; /* WaitProcess */
	Grpc__Process *spec; /* owned copy */
	struct spawn *spawn; /* while being created */
	struct process *next;
};

enum container_state {
	CT_CREATING,
	CT_CREATED,
	CT_STARTING,
	CT_RUNNING,
	CT_STOPPED,
};

struct container {
	struct agent *a;
	char *id;
	enum container_state state;
	Grpc__Spec *spec; /* owned copy */
	char *bundle; /* <state dir>/<id> */
	struct cgroup *cg;
	struct seccomp_filter *filter;
	bool paused;
	struct process *init;
	struct process *procs; /* all, init included */
	char **storages; /* mount points this container added */
	size_t n_storages;
	bool sandbox_pidns;
	/* RemoveContainer in progress */
	bool removing;
	struct waiter *removers;
	struct ev_timer *remove_timer;
	/* OOM watch */
	int oom_fd;
	long oom_kills;
	struct container *next;
};

struct sandbox {
	bool created;
	char *id;
	char *hostname;
	bool pidns;
	int ipc_fd, uts_fd; /* shared namespaces, -1 */
	int pid_fd; /* the sandbox pid namespace, once its holder exists */
	char **storages;
	size_t n_storages;
	struct ttrpc_call *destroy_call;
	struct ev_timer *destroy_timer;
	bool destroying;
};

struct agent {
	struct evloop *loop;
	struct ttrpc_server *srv;
	char *state_dir;
	/* Parent of the cgroups of specs without cgroupsPath ("/husk"). */
	const char *cgroup_parent;
	bool init_mode;
	uint32_t pipe_size; /* agent.container_pipe_size; 0: the default */
	bool dry_run; /* validate only, change nothing (fuzzing) */
	int sig_fd;
	struct sandbox sb;
	struct container *containers;
	/* GetOOMEvent */
	struct waiter *oom_waiters;
	char **oom_queue;
	size_t n_oom_queue;
	/* Called after DestroySandbox has answered (init mode powers off). */
	void (*on_destroyed)(struct agent *a);
};

/*
 * The agent object and its ttRPC server on @loop.  @state_dir NULL makes a
 * dry-run agent that validates requests and changes nothing (fuzzing).
 */
int agent_init(struct agent *a, struct evloop *loop, const char *state_dir,
	       struct herr *err);
void agent_fini(struct agent *a);

/* rpc.c: the method table for grpc.AgentService and grpc.Health. */
const struct ttrpc_method *agent_methods(size_t *n);

/* Reaper (process.c): waitpid everything, record exits. */
void agent_reap(struct agent *a);

/* validate.c: checks shared by the handlers and the fuzzer. */
int validate_id(const char *field, const char *id, struct herr *err);
int validate_exec_id(const char *id, struct herr *err);
int validate_spec(const Grpc__Spec *spec, struct herr *err);
int validate_process(const char *field, const Grpc__Process *p,
		     struct herr *err);
int validate_path(const char *field, const char *path, bool absolute,
		  struct herr *err);

/* sandbox.c */
int sandbox_create(struct agent *a, const Grpc__CreateSandboxRequest *req,
		   struct herr *err);
/* Kill every container; answer @call when all are gone. */
void sandbox_destroy(struct agent *a, struct ttrpc_call *call);
void sandbox_container_gone(struct agent *a);

/* container.c */
struct container *container_find(struct agent *a, const char *id);
/* Keeps @call and answers it when the process is created (or not). */
void container_create(struct agent *a, const Grpc__CreateContainerRequest *req,
		      struct ttrpc_call *call);
void container_start(struct container *c, struct ttrpc_call *call);
void container_exec(struct container *c, const Grpc__ExecProcessRequest *req,
		    struct ttrpc_call *call);
/* Kill, reap, unmount, remove; @timeout_s 0 = wait forever. */
void container_remove(struct container *c, uint32_t timeout_s,
		      struct ttrpc_call *call);
int container_signal(struct container *c, const char *exec_id, int sig,
		     struct herr *err);
/* A process of @c exited (from the reaper); @c may be freed. */
void container_process_exited(struct container *c, bool was_init);
/* Forget @c entirely (after its processes are gone). */
void container_free(struct container *c);

/* spawn.c: fork the container child, drive it through create/start. */
struct spawn_req {
	struct container *c;
	struct process *p;
	const Grpc__Process *proc;
	bool init;
	struct caps *caps;
	struct ttrpc_call *call;
	void (*done)(struct process *p, struct ttrpc_call *call,
		     const struct herr *err);
};
int spawn_process(struct spawn_req *sr, struct herr *err);
/* Release the init process of a created container (StartContainer). */
int spawn_release(struct process *p, struct ttrpc_call *call,
		  void (*done)(struct process *p, struct ttrpc_call *call,
			       const struct herr *err),
		  struct herr *err);
void spawn_abort(struct process *p);

/*
 * setup-diag.c: a container's (or exec's) setup not done after this long
 * logs one warning with what its helper, child and every task in state D
 * are doing (spawn.c arms the timer; a quick setup costs nothing).
 */
#define SETUP_SLOW_MS 15000
void setup_diag_report(const char *cid, const char *eid, pid_t helper,
		       pid_t child, long long pending_ms);
/* The main thread, its children and the D tasks, from another thread. */
void loop_stall_report(long long busy_ms);

/*
 * loop-watchdog.c: a thread that logs loop_stall_report() once per stall
 * when one callback has held @loop for LOOP_STALL_MS.  0 or -errno.
 */
#define LOOP_STALL_MS 15000
int loop_watchdog_start(struct evloop *loop);

/*
 * mounts.c, in the container child: everything up to pivot_root.
 * @own_cgroupns: the child is in a cgroup namespace other than the agent's.
 */
int mounts_setup_rootfs(const Grpc__Spec *spec, const char *cid,
			bool own_cgroupns, struct herr *err);
/* After pivot_root: masked/readonly paths, ro root. */
int mounts_finish(const Grpc__Spec *spec, struct herr *err);
int mount_validate(const Grpc__Mount *m, size_t i, struct herr *err);

/* process.c */
struct process *process_new(struct container *c, const char *exec_id,
			    bool is_init);
struct process *process_find(struct container *c, const char *exec_id,
			     struct herr *err);
struct process *process_by_pid(struct agent *a, pid_t pid);
void process_wait(struct process *p, struct ttrpc_call *call);
/* Exit seen: record it, answer waiters, start the output drain clock. */
void process_exited(struct process *p, int wstatus);
void process_free(struct process *p);
/* An exit the reaper saw before the pid was known; 1 if found. */
int process_take_early_exit(pid_t pid, int *wstatus);

/* stdio.c */
int stdio_setup(struct process *p, bool tty, const Grpc__Box *size,
		struct herr *err);
void stdio_close_child_ends(struct stdio *io);
/* The pty master created by the child in the container's devpts. */
void stdio_attach_pty(struct process *p, int master);
void stdio_close(struct stdio *io);
void stdio_read(struct process *p, bool is_stderr, uint32_t len,
		struct ttrpc_call *call);
void stdio_write(struct process *p, const ProtobufCBinaryData *data,
		 struct ttrpc_call *call);
int stdio_close_stdin(struct process *p, struct herr *err);
int stdio_resize(struct process *p, uint32_t rows, uint32_t cols,
		 struct herr *err);
/* The process exited long enough ago: readers waiting on nothing get EOF. */
void stdio_drain_over(struct process *p);

/* hooks.c: OCI hooks the agent runs (prestart, poststart, poststop...). */
enum hook_kind {
	HOOK_PRESTART,
	HOOK_CREATE_RUNTIME,
	HOOK_CREATE_CONTAINER,
	HOOK_START_CONTAINER,
	HOOK_POSTSTART,
	HOOK_POSTSTOP,
};
/* Runs every hook of @kind in order; the state JSON goes to stdin. */
int hooks_run(const Grpc__Spec *spec, const char *cid, const char *bundle,
	      enum hook_kind kind, pid_t pid, const char *status,
	      struct herr *err);

/* oom.c */
void oom_watch(struct container *c);
void oom_unwatch(struct container *c);
/*
 * Report an OOM kill the cgroup counted but the event loop has not seen
 * yet: called before a process's exit is answered, so the OOM event is
 * never later than the exit (nor lost when the sandbox goes right after).
 */
void oom_check(struct container *c);
void oom_wait(struct agent *a, struct ttrpc_call *call);
void oom_cancel_all(struct agent *a, const char *why);

/* Small helpers (agent/helpers.c). */
int rm_rf(const char *path);
int write_file(const char *path, const char *data);
char *strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Free @n strings and the array that holds them. */
void strvn_free(char **v, size_t n);

#endif
