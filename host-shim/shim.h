/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shim daemon's state: containerd's side of one pod.  The pod itself
 * (VM, agent connection, containers, processes) is the host library's
 * (host/pod.h); the shim adds what containerd needs: the Task service
 * handlers (task-*.c), the stdio FIFOs and Wait calls of each process
 * (shim-process.c, stdio.c), events and the daemon's life (service.c).
 *
 * A reader follows an RPC from task-*.c (containerd's Task service)
 * through host/pod*.c to host/agent-client.c and on to the guest.
 */
#ifndef HUSK_SHIM_H
#define HUSK_SHIM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"
#include "containerd/task/shim.pb-c.h"
#include "err.h"
#include "evloop.h"
#include "flags.h"
#include "pod.h"
#include "ttrpc/server.h"
#include "shim-stdio.h"

struct events;

/* A Wait call parked until its process exits. */
struct shim_waiter {
	struct ttrpc_call *call;
	struct shim_waiter *next;
};

/* What the shim keeps about a pod process (pod_process.fe). */
struct shim_process {
	struct pod_process *p;
	char *stdin_path, *stdout_path, *stderr_path; /* containerd's */
	struct shim_stdio io;
	struct shim_waiter *waiters; /* containerd Wait calls */
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

/* ---- shim-process.c --------------------------------------------------- */

/* Attach the shim's state to @p: containerd's stdio paths ("" if none). */
struct shim_process *shim_process_new(struct pod_process *p, const char *in,
				      const char *out, const char *err_path);
/* Answer @call now if exited, else when it does. */
void shim_process_add_waiter(struct pod_process *p, struct ttrpc_call *call);
/* The pod_ops process callbacks (service.c hands them to pod_new()). */
void shim_process_started(struct pod_process *p, void *data);
void shim_process_waited(struct pod_process *p, void *data);
void shim_process_exited(struct pod_process *p, bool ran, void *data);
void shim_process_lost(struct pod_process *p, void *data);
void shim_process_removed(struct pod_process *p, void *data);
void shim_process_free(struct pod_process *p, void *data);

/* ---- task-*.c --------------------------------------------------------- */

extern const struct ttrpc_method task_methods[];
extern const size_t task_n_methods;

/*
 * A Kill or Delete of a container whose Create is still in flight (its
 * VM booting): answer that Create with @why at once.  _abort() also
 * undoes the container (and tears the pod down when it was its last),
 * _cancel() leaves that to its caller (Delete).  False when no Create
 * was waiting.
 */
bool task_create_abort(struct shim *s, struct pod_container *c,
		       const struct herr *why);
bool task_create_cancel(struct pod_container *c, const struct herr *why);

/* Helpers shared by the task handlers. */
struct pod_container *task_container(struct shim *s, const char *id,
				     struct ttrpc_call *call);
struct pod_process *task_process(struct shim *s, const char *id,
				 const char *exec_id, struct ttrpc_call *call);
/* The same, also finding a container whose Create is still in flight (its
 * VM booting): for State, Kill, Delete and Wait. */
struct pod_process *task_process_creating(struct shim *s, const char *id,
					  const char *exec_id,
					  struct ttrpc_call *call);
void timestamp_set(Google__Protobuf__Timestamp *ts, const struct timespec *t);

#endif
