/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shim daemon's state: one pod (sandbox) per shim, its VM and agent
 * connection, its containers and their processes.  Everything runs on one
 * event loop; agent calls are asynchronous, and every object an
 * outstanding call points at holds a reference, so a VM that dies in the
 * middle of anything only makes calls fail, never leaves them dangling.
 *
 * A reader follows an RPC from task-*.c (containerd's Task service)
 * through sandbox.c / process.c to agent-client.c and on to the guest.
 */
#ifndef HUSK_SHIM_H
#define HUSK_SHIM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "agent-client.h"
#include "config.h"
#include "containerd/task/shim.pb-c.h"
#include "err.h"
#include "evloop.h"
#include "flags.h"
#include "ttrpc/server.h"
#include "spec.h"
#include "shim-stdio.h"

struct events;
struct vm;
struct pod;
struct pod_container;

/* Where a process is in its life (values of containerd.v1.types.Status). */
enum pod_process_status {
	POD_PROCESS_CREATED = 1,
	POD_PROCESS_RUNNING = 2,
	POD_PROCESS_STOPPED = 3,
};

/* Exit status of a task whose VM or agent went away (Kata's choice). */
#define EXIT_STATUS_LOST 255

struct shim_waiter {
	struct ttrpc_call *call;
	struct shim_waiter *next;
};

/* A container's init process or an exec'd process. */
struct pod_process {
	struct pod_container *c;
	char *exec_id; /* "" for init */
	char *agent_exec_id; /* what the agent calls it: cid for init */
	enum pod_process_status status;
	bool exec_started_sent;
	uint32_t exit_status;
	struct timespec exited_at;
	bool terminal;
	char *stdin_path, *stdout_path, *stderr_path;
	struct shim_stdio io;
	Grpc__Process *exec_spec; /* an exec's process until it starts */
	uint32_t pending_rows, pending_cols; /* resize before start */
	bool waiting; /* WaitProcess in flight or done */
	uint32_t wait_status; /* its answer, held while output drains */
	struct shim_waiter *waiters; /* containerd Wait calls */
	int refs;
	bool removed; /* taken out of its container */
	struct pod_process *next;
};

enum pod_container_state {
	POD_CONTAINER_CREATING, /* Create in progress */
	POD_CONTAINER_READY, /* created in the guest */
	POD_CONTAINER_FAILED, /* Create failed: being undone */
};

struct pod_container {
	struct pod *pod;
	char *id;
	char *bundle;
	enum pod_container_state state;
	struct spec_result spec;
	Containerd__Types__Mount **rootfs; /* from CreateTaskRequest */
	size_t n_rootfs;
	bool rootfs_mounted; /* <bundle>/rootfs */
	bool rootfs_shared; /* <shared>/<cid>/rootfs */
	size_t n_shares_bound;
	bool paused;
	struct pod_process *init;
	struct pod_process *execs;
	struct ttrpc_call *create_call; /* until Create answers */
	int refs;
	bool removed;
	struct pod_container *next;
};

enum pod_state {
	POD_NEW, /* no VM yet */
	POD_BOOTING, /* VM started, waiting for the agent / CreateSandbox */
	POD_READY, /* agent serving */
	POD_STOPPING, /* last container gone: DestroySandbox, VM stop */
	POD_DEAD, /* VM or agent gone; tasks report EXIT_STATUS_LOST */
};

#define CONSOLE_TAIL_MAX 1024

struct pod_boot_waiter {
	struct pod_container *c;
	struct pod_boot_waiter *next;
};

struct pod {
	struct shim *shim;
	char *id;
	char *run_dir; /* <run root>/<ns>/<id> */
	char *shared_dir; /* <run_dir>/shared, exported as kataShared */
	enum pod_state state;
	struct vm *vm;
	pid_t vm_pid;
	struct agent_client *agent;
	long long boot_started; /* now_ms() at vm_start */
	long long boot_deadline;
	struct herr death; /* why the VM or agent went away */
	struct pod_boot_waiter *boot_waiters;
	void (*teardown_done)(void *data);
	void *teardown_data;
	/* Recently deleted containers: a late OOM event still names them. */
	char *recent[8];
	size_t recent_next;
	struct pod_container *containers;
	size_t n_containers;
	/* Hypervisor console: logged at debug, tail kept for errors. */
	int console_fd;
	char console_tail[CONSOLE_TAIL_MAX];
	size_t console_len;
	char console_line[512];
	size_t console_line_len;
};

struct shim {
	struct evloop *loop;
	struct ttrpc_server *srv;
	struct shim_flags flags;
	struct husk_config cfg;
	bool cfg_loaded;
	char *cfg_path; /* explicit configuration file, or NULL */
	struct events *events;
	struct pod *pod;
	char *address; /* path of our listening socket, removed at exit */
	char *run_dir;
	bool shutdown; /* Shutdown accepted: exit once events are out */
	long long shutdown_deadline;
	int sigfd;
};

/* ---- service.c -------------------------------------------------------- */

/* Where Create/Start/... reply pids: the VM process (guest pids are not
 * visible on the host). */
uint32_t shim_task_pid(const struct shim *s);

/* Called whenever a container goes away: exits after Shutdown if idle. */
void shim_maybe_exit(struct shim *s);

/* Load the configuration once (the Create options may name the file). */
int shim_load_config(struct shim *s, struct herr *err);

/* ---- sandbox.c -------------------------------------------------------- */

struct pod *pod_new(struct shim *s, const char *id);
/* At exit: no container is left, the VM is stopped. */
void pod_free(struct pod *pod);

/*
 * Make sure the VM is up and the agent answered CreateSandbox, then call
 * pod_container_boot_done(c, err) (err NULL on success).  Never calls back
 * from inside this function.
 */
void pod_boot(struct pod *pod, struct pod_container *c);

/* The hypervisor process exited (from the SIGCHLD handler). */
void pod_vm_exited(struct pod *pod, int wait_status);

/* The VM or agent is unusable: kill it, every task exits. */
void pod_fail(struct pod *pod, const struct herr *why);

/* Last container gone: DestroySandbox, stop the VM, remove the run dir;
 * @done runs when it is finished. */
void pod_teardown(struct pod *pod, void (*done)(void *data), void *data);

bool pod_usable(const struct pod *pod);

struct pod_container *pod_find(struct pod *pod, const char *id);
void pod_add_container(struct pod *pod, struct pod_container *c);
void pod_remove_container(struct pod *pod, struct pod_container *c);

/* ---- container.c ------------------------------------------------------ */

struct pod_container *pod_container_new(struct pod *pod, const char *id,
					const char *bundle);
void pod_container_ref(struct pod_container *c);
void pod_container_unref(struct pod_container *c);
/* Boot finished (or failed): go on with CreateContainer. */
void pod_container_boot_done(struct pod_container *c, const struct herr *err);
struct pod_process *pod_container_find_process(struct pod_container *c,
					       const char *exec_id);
/* Undo what Create set up on the host (mounts, shared dir, stdio). */
void pod_container_release_host(struct pod_container *c);

/* ---- process.c -------------------------------------------------------- */

struct pod_process *pod_process_new(struct pod_container *c,
				    const char *exec_id, bool terminal,
				    const char *in, const char *out,
				    const char *err_path);
void pod_process_ref(struct pod_process *p);
void pod_process_unref(struct pod_process *p);
/* Started in the guest: pump stdio, then WaitProcess after EOF. */
void pod_process_started(struct pod_process *p);
/* Both output streams reached EOF: WaitProcess next (from stdio.c). */
void pod_process_output_done(struct pod_process *p);
/* Record the exit, publish /tasks/exit and answer Wait calls. */
void pod_process_exited(struct pod_process *p, uint32_t status);
/* The VM is gone: processes that never ran are marked stopped. */
void pod_process_lost(struct pod_process *p);
/* Answer @call now if exited, else when it does. */
void pod_process_add_waiter(struct pod_process *p, struct ttrpc_call *call);
/* Drop a process from its container and free it when unreferenced. */
void pod_process_remove(struct pod_process *p);

/* ---- rootfs.c --------------------------------------------------------- */

/* Mount the rootfs on <bundle>/rootfs and share it (and bind sources). */
int rootfs_setup(struct pod_container *c, struct herr *err);
void rootfs_teardown(struct pod_container *c);

/* ---- task-*.c --------------------------------------------------------- */

extern const struct ttrpc_method task_methods[];
extern const size_t task_n_methods;

/* Helpers shared by the task handlers. */
struct pod_container *task_container(struct shim *s, const char *id,
				     struct ttrpc_call *call);
struct pod_process *task_process(struct shim *s, const char *id,
				 const char *exec_id, struct ttrpc_call *call);
void timestamp_set(Google__Protobuf__Timestamp *ts, const struct timespec *t);

#endif
