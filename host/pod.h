/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pod: one VM, its agent connection and the containers it runs, with
 * their processes (pod.c, pod-console.c, pod-container.c, pod-process.c,
 * rootfs.c).
 * Everything runs on the caller's event loop; agent calls are
 * asynchronous, and every object an outstanding call points at holds a
 * reference, so a VM that dies in the middle of anything only makes calls
 * fail, never leaves them dangling.
 *
 * The pod knows nothing of its front end (containerd's shim, the husk
 * utility, the runc-compatible runtime): it reports what happens through
 * the struct pod_ops its front end hands pod_new(), and through the
 * callback each asynchronous operation takes, never by calling a front
 * end by name.
 */
#ifndef HUSK_HOST_POD_H
#define HUSK_HOST_POD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "agent-client.h"
#include "config.h"
#include "containerd/types/mount.pb-c.h"
#include "err.h"
#include "evloop.h"
#include "sizing.h"
#include "spec.h"

struct vm;
struct pod;
struct pod_container;
struct pod_process;

/* Where a process is in its life (values of containerd.v1.types.Status). */
enum pod_process_status {
	POD_PROCESS_CREATED = 1,
	POD_PROCESS_RUNNING = 2,
	POD_PROCESS_STOPPED = 3,
};

/* Exit status of a process whose VM or agent went away (Kata's choice). */
#define EXIT_STATUS_LOST 255

/*
 * What the pod tells its front end.  @data is pod_new()'s @ops_data.  The
 * process callbacks let the front end move the process's I/O (its own
 * state hangs off pod_process.fe) and say when an exit is final.
 */
struct pod_ops {
	/* The agent reported an OOM kill in a container of this pod (one
	 * just deleted included). */
	void (*oom)(struct pod *pod, const char *container_id, void *data);
	/* @p runs in the guest: start moving its I/O; call
	 * pod_process_output_done() once its output reached EOF. */
	void (*process_started)(struct pod_process *p, void *data);
	/* The agent answered WaitProcess (p->wait_status): call
	 * pod_process_exited() once the output has been delivered. */
	void (*process_waited)(struct pod_process *p, void *data);
	/* The exit is recorded (p->exit_status, p->exited_at): release the
	 * I/O and tell whoever waits.  @ran is false for a process that
	 * never started (its VM died first). */
	void (*process_exited)(struct pod_process *p, bool ran, void *data);
	/* The VM is gone while @p ran: stop waiting for output that will
	 * never come (then pod_process_output_done()). */
	void (*process_lost)(struct pod_process *p, void *data);
	/* @p was taken out of its container: release its I/O, answer or
	 * fail whatever waits for it. */
	void (*process_removed)(struct pod_process *p, void *data);
	/* @p is freed: free p->fe. */
	void (*process_free)(struct pod_process *p, void *data);
};

/* A container's init process or an exec'd process. */
struct pod_process {
	struct pod_container *c;
	char *exec_id; /* "" for init */
	char *agent_exec_id; /* what the agent calls it: cid for init */
	enum pod_process_status status;
	uint32_t exit_status;
	struct timespec exited_at;
	bool terminal;
	Grpc__Process *exec_spec; /* an exec's process until it starts */
	uint32_t pending_rows, pending_cols; /* resize before start */
	bool waiting; /* WaitProcess in flight or done */
	uint32_t wait_status; /* its answer, held while output drains */
	void *fe; /* the front end's state (I/O, waiters) */
	int refs;
	bool removed; /* taken out of its container */
	struct pod_process *next;
};

enum pod_container_state {
	POD_CONTAINER_CREATING, /* Create in progress */
	POD_CONTAINER_READY, /* created in the guest */
	POD_CONTAINER_FAILED, /* Create failed (being undone), or deleted */
};

typedef void (*pod_created_cb)(struct pod_container *c, const struct herr *err,
			       void *data);

struct pod_container {
	struct pod *pod;
	char *id;
	char *bundle;
	enum pod_container_state state;
	struct spec_result spec;
	Containerd__Types__Mount **rootfs; /* containerd's rootfs mounts */
	size_t n_rootfs;
	bool rootfs_mounted; /* <bundle>/rootfs */
	bool rootfs_shared; /* <shared>/<cid>/rootfs */
	size_t n_shares_bound;
	bool paused;
	struct pod_process *init;
	struct pod_process *execs;
	/* pod_container_create()'s callback; a front end that answers its
	 * caller itself (Delete during the boot) sets it to NULL first. */
	pod_created_cb created;
	void *created_data;
	struct workload workload; /* its limits, counted in pod->sum */
	bool counted; /* ... once the VM is sized or grown for them */
	int refs;
	bool removed;
	struct pod_container *next;
};

enum pod_state {
	POD_NEW, /* no VM yet */
	POD_BOOTING, /* VM started, waiting for the agent / CreateSandbox */
	POD_READY, /* agent serving */
	POD_STOPPING, /* last container gone: DestroySandbox, VM stop */
	POD_DEAD, /* VM or agent gone; processes report EXIT_STATUS_LOST */
};

#define CONSOLE_TAIL_MAX 1024

typedef void (*pod_booted_cb)(const struct herr *err, void *data);

/*
 * A pod's start, phase by phase (monotonic ms, 0: did not happen), in the
 * order the "start timeline" log line prints them (pod-timeline.c).
 */
enum pod_phase {
	POD_T_START, /* the shim's "start" command (front end) */
	POD_T_CREATE, /* Create received */
	POD_T_SPAWNED, /* hypervisor spawned */
	POD_T_CONSOLE, /* first console byte */
	POD_T_AGENT, /* Health.Check answered */
	POD_T_SANDBOX, /* CreateSandbox done */
	POD_T_CONTAINER, /* first CreateContainer done */
	POD_T_STARTED, /* first StartContainer done (front end) */
	POD_T_OUTPUT, /* first output byte of the first container (front end) */
	POD_T_EXIT, /* its exit (front end) */
	POD_T_TEARDOWN, /* teardown done */
	POD_PHASES
};

struct pod_boot_waiter {
	pod_booted_cb done;
	void *data;
	struct pod_boot_waiter *next;
};

struct pod {
	struct evloop *loop;
	const struct pod_ops *ops;
	void *ops_data;
	const struct husk_config *cfg; /* pod_boot()'s, kept by the caller */
	char *id;
	char *run_dir; /* <run root>/<ns>/<id> */
	char *shared_dir; /* <run_dir>/shared, exported as kataShared */
	bool shared_dir_mounted; /* bound on itself, MS_SHARED */
	enum pod_state state;
	struct vm *vm;
	pid_t vm_pid;
	int fs_pidfd; /* virtiofsd's, watched while the VM lives, or -1 */
	struct ev_timer *fs_timer; /* its exit, waiting for QEMU's */
	struct ev_timer *fs_start_timer; /* its accept() of QEMU, at boot */
	struct agent_client *agent;
	long long boot_started; /* now_ms() at vm_start */
	long long boot_deadline;
	int boot_fd; /* watched for the agent's channel, or -1 */
	struct ev_timer *boot_timer; /* agent deadline or retry */
	long long timeline[POD_PHASES];
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
	/* Network (pod-net.c): from the first container's spec. */
	char *netns_path; /* NULL: no NIC */
	bool host_netns; /* the spec names no network namespace at all */
	char *hostname; /* for CreateSandbox */
	struct net_pod *net; /* scanned, taps made; NULL when none */
	unsigned int net_step; /* agent updates sent so far */
	pod_booted_cb net_done;
	/* Sizing (pod-size.c): the VM's size now (at boot: what start_vm
	 * asks for), the sandbox annotations' budget, the containers' sum. */
	struct vm_size size;
	struct workload budget, sum;
	bool resizing; /* a hotplug is in flight */
};

/* ---- pod.c ------------------------------------------------------------ */

/* A pod whose files live in @run_dir (which the caller created). */
struct pod *pod_new(struct evloop *loop, const char *id, const char *run_dir,
		    const struct pod_ops *ops, void *ops_data);
/* At exit: no container is left, the VM is stopped. */
void pod_free(struct pod *pod);

/*
 * Make sure the VM is up (started with @cfg, which must outlive the pod)
 * and the agent answered CreateSandbox, then call @done(err, @data), err
 * NULL on success.  Never calls back from inside this function, and never
 * waits for the boot: only the hypervisor's spawn happens inside it, the
 * rest on the event loop.  pod_teardown() during the boot stops it and
 * fails every waiting @done.
 */
void pod_boot(struct pod *pod, const struct husk_config *cfg,
	      pod_booted_cb done, void *data);

/*
 * The owner reaps every child (SIGCHLD) and hands each here: true when
 * @pid was this pod's hypervisor (the pod then fails or finishes its
 * teardown) or one of its helper daemons (virtiofsd), false otherwise.
 */
bool pod_child_reaped(struct pod *pod, pid_t pid, int wait_status);

/* The VM or agent is unusable: kill it, every process exits. */
void pod_fail(struct pod *pod, const struct herr *why);

/* Last container gone: DestroySandbox, stop the VM, remove the shared
 * directory; @done runs when it is finished. */
void pod_teardown(struct pod *pod, void (*done)(void *data), void *data);

bool pod_usable(const struct pod *pod);

struct pod_container *pod_find(struct pod *pod, const char *id);
void pod_add_container(struct pod *pod, struct pod_container *c);
void pod_remove_container(struct pod *pod, struct pod_container *c);

/* ---- pod-timeline.c ------------------------------------------------- */

/* Record @phase now, unless it already happened. */
void pod_timeline_mark(struct pod *pod, enum pod_phase phase);
/* Record @phase at @ms (monotonic, now_ms()), unless already recorded. */
void pod_timeline_set(struct pod *pod, enum pod_phase phase, long long ms);
/*
 * "start=0,create=12,..." in @buf: each recorded phase in order, in ms
 * since the shim's start or else since Create; false when nothing useful
 * was recorded (no Create).
 */
bool pod_timeline_format(const struct pod *pod, char *buf, size_t cap);
/* Log the "start timeline" line (teardown done), then forget it. */
void pod_timeline_log(struct pod *pod);

/* ---- pod-console.c -------------------------------------------------- */

/* A pipe for the hypervisor's console: its write end in *@wfd. */
int pod_console_open(struct pod *pod, int *wfd, struct herr *err);
void pod_console_close(struct pod *pod);
/* The last few console lines ("a|b|c"), for an error message. */
const char *pod_console_tail(struct pod *pod);

/*
 * pod-diag.c: what virtiofsd's threads do ("PID, N threads: 2x S ..."),
 * and the agent client's timeout hook that adds it and the console tail
 * to a timed-out call's error, logging a warning.
 */
void pod_diag_fs_threads(struct pod *pod, char *out, size_t size);
void pod_diag_agent_timeout(const char *method, struct herr *err, void *data);

/* ---- pod-net.c -------------------------------------------------------- */

struct net_pod;
struct vm_nic;

/* The sandbox's network namespace and hostname, from its spec (kept until
 * pod_free). */
void pod_net_set_spec(struct pod *pod, const struct spec_result *spec);
/*
 * Before the VM starts: scan the pod's namespace and make its taps by the
 * configuration's internetworking_model; @nics (VM_NICS_MAX of them) gets
 * what the hypervisor needs.  No namespace, the host's own, or model
 * "none": no NIC.  On error nothing is left behind.
 */
int pod_net_setup(struct pod *pod, struct vm_nic *nics, size_t *n_nics,
		  struct herr *err);
/* After Health.Check: UpdateInterface for each interface, UpdateRoutes,
 * AddARPNeighbors; then @done(err, pod). */
void pod_net_update_agent(struct pod *pod, pod_booted_cb done);
/* Remove the taps, qdiscs and filters (the VM is gone or going). */
void pod_net_teardown(struct pod *pod);
void pod_net_free(struct pod *pod);

/* ---- pod-size.c ------------------------------------------------------- */

/*
 * Before the first container boots the VM: @c's limits (and the sandbox
 * annotations) decide the VM's size (sizing.h).  Above a cap: -1 with
 * @err naming it; nothing is started.
 */
int pod_size_boot(struct pod_container *c, const struct husk_config *cfg,
		  struct herr *err);
/*
 * A later container: grow the running VM to fit @c's limits where the
 * machine can (hotplug on q35/pc; microvm keeps its boot size and says
 * so), then @done(err, @c).  On error nothing was added to the VM.
 */
void pod_size_grow(struct pod_container *c, pod_booted_cb done);
/* Update raised @c's limits to @res: grow as above, then @done(err, data). */
void pod_size_update(struct pod_container *c, const Grpc__LinuxResources *res,
		     pod_booted_cb done, void *data);
/* @c is gone: its limits no longer count (the VM does not shrink). */
void pod_size_release(struct pod_container *c);

/* ---- pod-container.c -------------------------------------------------- */

/* The agent's rule for container ids: ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ */
int pod_container_check_id(const char *id, struct herr *err);

struct pod_container *pod_container_new(struct pod *pod, const char *id,
					const char *bundle);
void pod_container_ref(struct pod_container *c);
void pod_container_unref(struct pod_container *c);

/*
 * Boot the pod if needed (with @cfg), then CreateContainer in the guest
 * from c->spec, its init process waiting there for a start.  @done(c,
 * err, @data) runs once, never from inside this call; on success the
 * container is POD_CONTAINER_READY.  A container no longer being created
 * when the boot finishes is dropped without a call.
 */
void pod_container_create(struct pod_container *c,
			  const struct husk_config *cfg, pod_created_cb done,
			  void *data);

struct pod_process *pod_container_find_process(struct pod_container *c,
					       const char *exec_id);
/* An exec'd process joins its container. */
void pod_container_add_exec(struct pod_container *c, struct pod_process *p);
/* Undo what creating set up on the host (processes, mounts, shares). */
void pod_container_release_host(struct pod_container *c);

/* ---- pod-process.c ---------------------------------------------------- */

struct pod_process *pod_process_new(struct pod_container *c,
				    const char *exec_id, bool terminal);
void pod_process_ref(struct pod_process *p);
void pod_process_unref(struct pod_process *p);
/* Started in the guest: the front end's I/O starts, then WaitProcess
 * after EOF. */
void pod_process_started(struct pod_process *p);
/* Both output streams reached EOF: WaitProcess next. */
void pod_process_output_done(struct pod_process *p);
/* Record the exit and report it (pod_ops.process_exited). */
void pod_process_exited(struct pod_process *p, uint32_t status);
/* The VM is gone: processes that never ran are marked stopped. */
void pod_process_lost(struct pod_process *p);
/* Drop a process from its container and free it when unreferenced. */
void pod_process_remove(struct pod_process *p);

/* ---- rootfs.c --------------------------------------------------------- */

/* Mount the rootfs on <bundle>/rootfs and share it (and bind sources). */
int rootfs_setup(struct pod_container *c, struct herr *err);
void rootfs_teardown(struct pod_container *c);
/*
 * The pod's shared directory, made a shared mount of its own so that
 * later mounts under it reach virtiofsd; and its removal (teardown).
 */
int rootfs_shared_dir_prepare(struct pod *pod, struct herr *err);
void rootfs_shared_dir_release(struct pod *pod);

#endif
