// SPDX-License-Identifier: Apache-2.0
/*
 * Creating a container process, in a clone and a fork:
 *
 *   agent --clone--> helper: runs on the agent's memory while the agent
 *                   waits (CLONE_VM | CLONE_VFORK: no copy of the agent's
 *                   page tables, which costs tens of ms under TCG), born
 *                   in the container's cgroup on cgroup v2
 *                   (clone3 CLONE_INTO_CGROUP); joins existing namespaces
 *                   (setns), creates new ones (unshare), forks the real
 *                   child, reports its pid, exits.  The child lands in the
 *                   new pid namespace and is re-parented to the agent (a
 *                   child subreaper).
 *   child: waits for SETUP (it is in its cgroup by then: born there, or
 *          moved in by the agent), mounts, pivot_root ...; reports READY
 *          and waits for START (runc-style create/start split); then sets
 *          up stdio, rlimits, identity, capabilities, seccomp and execs.
 *
 * The child comes from musl's fork(), never from a raw clone: musl keeps
 * the thread id in the thread descriptor, and fork() is what renews it.
 * A raw clone's child would keep the agent's, and an abort() there would
 * signal PID 1 (whose crash handler powers the guest off).  The helper
 * shares the agent's descriptor, so it calls nothing that signals itself
 * (raise, abort) or allocates.
 *
 * Everything travels over one SOCK_SEQPACKET pair: the child's end is
 * close-on-exec, so EOF after START means the exec worked and an ERR
 * message (a struct herr) says exactly what failed.  The agent side is a
 * small state machine on the event loop: a slow child blocks no other call.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "agent.h"
#include "caps.h"
#include "cgroup.h"
#include "log.h"
#include "seccomp.h"
#include "util.h"

enum sync_type {
	SYNC_PID = 1,
	SYNC_SETUP,
	SYNC_READY,
	SYNC_START,
	SYNC_ERR,
	SYNC_PTY, /* carries the pty master (SCM_RIGHTS) */
};

struct sync_msg {
	int type;
	int pid;
	int code, errnum;
	char msg[HERR_MSG_MAX];
};

enum spawn_state {
	SP_WAIT_PID,
	SP_WAIT_READY,
	SP_CREATED,
	SP_WAIT_EXEC,
};

struct spawn {
	struct process *p;
	int fd;
	bool watched;
	enum spawn_state state;
	bool init;
	bool in_cgroup; /* born there: no cgroup_add_pid() */
	pid_t helper;
	long long started_ms;
	struct ev_timer *slow_timer; /* SETUP_SLOW_MS after the clone */
	struct ttrpc_call *call;
	void (*done)(struct process *p, struct ttrpc_call *call,
		     const struct herr *err);
};

/* What the child needs; it reads this copy of the agent's memory. */
struct child_ctx {
	int sync_fd;
	bool init;
	const char *cid;
	const Grpc__Spec *spec;
	const Grpc__Process *proc;
	const struct caps *caps;
	struct seccomp_filter *filter;
	int ns_fds[6];
	int n_ns;
	int unshare_flags;
	bool new_cgroupns, new_uts;
	dev_t agent_cgns_dev; /* the agent's cgroup namespace (0: none) */
	ino_t agent_cgns_ino;
	int stdio[3];
	bool tty;
	const Grpc__Box *console;
	int pty_slave;
	/* Set by the helper in the memory it shares with the agent. */
	bool in_cgroup; /* born in the container's cgroup */
	int fork_errno; /* its fork failed there with EAGAIN: retry outside */
};

/* clone3(2)'s argument up to CLONE_ARGS_SIZE_VER2 (Linux 5.7: cgroup). */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static const uint64_t clone_into_cgroup = 0x200000000ULL;

/* The helper's stack (the child runs on its copy until exec), guard below. */
static const size_t helper_stack_size = 1 << 20;

static const char *const ns_names[] = { "ipc", "uts", "net",
					"pid", "cgroup", "mnt" };

static int send_msg(int fd, const struct sync_msg *m)
{
	ssize_t n;

	do {
		n = send(fd, m, sizeof(*m), MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*m) ? 0 : -1;
}

/* Blocking receive in the child; 0 on EOF. */
static ssize_t recv_msg(int fd, struct sync_msg *m)
{
	ssize_t n;

	do {
		n = recv(fd, m, sizeof(*m), 0);
	} while (n < 0 && errno == EINTR);
	return n;
}

/* Child side */

/*
 * The pty comes from the container's own devpts (so ttyname() works in
 * there); the master goes to the agent over the sync socket.
 */
static int child_make_pty(struct child_ctx *cx, struct herr *err)
{
	struct sync_msg m = { .type = SYNC_PTY };
	char name[64], cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (master < 0)
		return herr_errno(err, errno, "open /dev/ptmx");
	if (grantpt(master) < 0 || unlockpt(master) < 0 ||
	    ptsname_r(master, name, sizeof(name)) != 0)
		return herr_errno(err, errno, "unlock pty");
	cx->pty_slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (cx->pty_slave < 0)
		return herr_errno(err, errno, "open %s", name);
	if (cx->console && cx->console->height && cx->console->width) {
		struct winsize ws = { .ws_row = cx->console->height,
				      .ws_col = cx->console->width };

		ioctl(master, TIOCSWINSZ, &ws);
	}
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &master, sizeof(int));
	if (sendmsg(cx->sync_fd, &mh, MSG_NOSIGNAL) < 0)
		return herr_errno(err, errno, "send pty to the agent");
	close(master);
	return 0;
}

static __attribute__((noreturn)) void child_fail(int fd, const struct herr *e)
{
	struct sync_msg m = { .type = SYNC_ERR, .code = e->code,
			      .errnum = e->errnum };

	snprintf(m.msg, sizeof(m.msg), "%s", e->msg);
	send_msg(fd, &m);
	_exit(127);
}

static int cmp_int(const void *a, const void *b)
{
	return (*(const int *)a > *(const int *)b) -
	       (*(const int *)a < *(const int *)b);
}

/*
 * close_range(2) over the gaps between the fds to keep: a few syscalls
 * instead of reading /proc/self/fd, which costs tens of ms under TCG.
 * False when the kernel lacks it (before 5.9) or @keep is longer than
 * this sorts: the caller then walks /proc/self/fd.
 */
static bool close_ranges_except(const int *keep, size_t n)
{
	int sorted[16];
	unsigned int lo = 3;
	size_t m = 0;

	if (n > ARRAY_SIZE(sorted))
		return false;
	for (size_t i = 0; i < n; i++)
		if (keep[i] >= 3)
			sorted[m++] = keep[i];
	qsort(sorted, m, sizeof(int), cmp_int);
	for (size_t i = 0; i <= m; i++) {
		unsigned int hi = i < m ? (unsigned int)sorted[i] : ~0U;

		if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0) < 0)
			return false;
		if (i < m && (unsigned int)sorted[i] + 1 > lo)
			lo = (unsigned int)sorted[i] + 1;
	}
	return true;
}

/* Close everything the agent had open except @keep (fork copied it all). */
static void close_fds_except(const int *keep, size_t n)
{
	struct dirent *de;
	DIR *d;
	int dfd;

	if (close_ranges_except(keep, n))
		return;
	d = opendir("/proc/self/fd");

	if (!d)
		return;
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		bool kept = fd < 3 || fd == dfd || de->d_name[0] == '.';

		for (size_t i = 0; i < n && !kept; i++)
			kept = keep[i] == fd;
		if (!kept)
			close(fd);
	}
	closedir(d);
}

static const char *env_get(const Grpc__Process *proc, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = 0; i < proc->n_env; i++)
		if (!strncmp(proc->env[i], key, kl) && proc->env[i][kl] == '=')
			return proc->env[i] + kl + 1;
	return NULL;
}

/* Resolve args[0] in the container's PATH, as execvp would. */
static int find_exe(const Grpc__Process *proc, char *out, size_t size,
		    struct herr *err)
{
	const char *name = proc->args[0];
	const char *path = env_get(proc, "PATH");
	struct stat st;

	if (strchr(name, '/')) {
		if (stat(name, &st) < 0)
			return herr_errno(err, errno, "exec %s", name);
		snprintf(out, size, "%s", name);
		return 0;
	}
	if (!path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		const char *end = strchrnul(path, ':');
		int len = end - path;

		snprintf(out, size, "%.*s%s%s", len, path, len ? "/" : "",
			 name);
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0)
			return 0;
		path = *end ? end + 1 : end;
	}
	return herr_set(err, GRPC_NOT_FOUND, ENOENT,
			"exec %s: executable file not found in $PATH", name);
}

static int apply_sysctls(const Grpc__Linux *l, struct herr *err)
{
	for (size_t i = 0; i < l->n_sysctl; i++) {
		char path[PATH_MAX];
		int n = snprintf(path, sizeof(path), "/proc/sys/%s",
				 l->sysctl[i]->key);

		for (char *c = path + 10; c < path + n; c++)
			if (*c == '.')
				*c = '/';
		if (write_file(path, l->sysctl[i]->value) < 0)
			return herr_errno(err, errno, "sysctl %s",
					  l->sysctl[i]->key);
	}
	return 0;
}

static int child_stdio(struct child_ctx *cx, struct herr *err)
{
	if (setsid() < 0)
		return herr_errno(err, errno, "setsid");
	if (cx->pty_slave >= 0) {
		if (ioctl(cx->pty_slave, TIOCSCTTY, 0) < 0)
			return herr_errno(err, errno, "set controlling tty");
		for (int i = 0; i < 3; i++)
			if (dup2(cx->pty_slave, i) < 0)
				return herr_errno(err, errno, "dup2 tty");
		return 0;
	}
	for (int i = 0; i < 3; i++) {
		if (cx->stdio[i] < 0)
			continue;
		/* dup2 onto itself would keep O_CLOEXEC: use dup3 semantics. */
		if (cx->stdio[i] == i) {
			int fl = fcntl(i, F_GETFD);

			fcntl(i, F_SETFD, fl & ~FD_CLOEXEC);
		} else if (dup2(cx->stdio[i], i) < 0) {
			return herr_errno(err, errno, "dup2 stdio %d", i);
		}
	}
	return 0;
}

/*
 * Here, not in the agent: the rootfs is on the shared filesystem, and a
 * stat(2) that hangs there (a stalled virtio-fs queue) must block this
 * child, which the agent reports on (setup-diag.c), not the agent's loop.
 */
static int check_root(const Grpc__Spec *spec, struct herr *err)
{
	struct stat st;

	if (stat(spec->root->path, &st) < 0)
		return herr_set(err, GRPC_NOT_FOUND, errno, "oci.root.path %s",
				spec->root->path);
	if (!S_ISDIR(st.st_mode))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"oci.root.path %s: not a directory",
				spec->root->path);
	return 0;
}

/* Is the child in a cgroup namespace other than the agent's? */
static bool own_cgroupns(const struct child_ctx *cx)
{
	struct stat st;

	if (stat("/proc/self/ns/cgroup", &st) < 0)
		return false; /* no cgroup namespaces: the agent's is the one */
	return st.st_dev != cx->agent_cgns_dev ||
	       st.st_ino != cx->agent_cgns_ino;
}

static __attribute__((noreturn)) void child_main(struct child_ctx *cx)
{
	const Grpc__Process *proc = cx->proc;
	char exe[PATH_MAX], **argv, **envp;
	struct sync_msg m;
	struct herr err;
	sigset_t all;

	herr_clear(&err);
	/* The agent blocks SIGCHLD and ignores SIGPIPE: undo both. */
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);

	if (recv_msg(cx->sync_fd, &m) <= 0 || m.type != SYNC_SETUP)
		_exit(126);
	if (cx->init) {
		if (check_root(cx->spec, &err) < 0)
			goto fail;
		if (cx->new_cgroupns && unshare(CLONE_NEWCGROUP) < 0) {
			herr_errno(&err, errno, "unshare cgroup namespace");
			goto fail;
		}
		if (mounts_setup_rootfs(cx->spec, cx->cid, own_cgroupns(cx),
					&err) < 0)
			goto fail;
		if (hooks_run(cx->spec, cx->cid, NULL,
			      HOOK_CREATE_CONTAINER, getpid(), "created", &err) < 0)
			goto fail;
		/* Before readonly paths make /proc/sys read-only. */
		if (apply_sysctls(cx->spec->linux, &err) < 0)
			goto fail;
		if (mounts_finish(cx->spec, &err) < 0)
			goto fail;
		if (cx->new_uts && cx->spec->hostname && *cx->spec->hostname &&
		    sethostname(cx->spec->hostname,
				strlen(cx->spec->hostname)) < 0) {
			herr_errno(&err, errno, "sethostname");
			goto fail;
		}
	}
	if (proc->cwd && *proc->cwd && chdir(proc->cwd) < 0) {
		herr_errno(&err, errno, "chdir to cwd %s", proc->cwd);
		goto fail;
	}
	if (find_exe(proc, exe, sizeof(exe), &err) < 0)
		goto fail;
	if (cx->tty && child_make_pty(cx, &err) < 0)
		goto fail;
	if (cx->init) {
		m.type = SYNC_READY;
		if (send_msg(cx->sync_fd, &m) < 0)
			_exit(126);
		if (recv_msg(cx->sync_fd, &m) <= 0 || m.type != SYNC_START)
			_exit(126);
		if (hooks_run(cx->spec, cx->cid, NULL,
			      HOOK_START_CONTAINER, getpid(), "running", &err) < 0)
			goto fail;
	}
	if (child_stdio(cx, &err) < 0)
		goto fail;
	umask(022);
	if (rlimits_apply(proc, &err) < 0)
		goto fail;
	/*
	 * Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it
	 * before dropping privileges, or the loader would have to turn
	 * no_new_privs on and setuid binaries in the container would break.
	 * With no_new_privs, load it as late as possible, so the profile
	 * need not allow the identity syscalls.
	 */
	if (cx->filter && !proc->nonewprivileges &&
	    seccomp_filter_load(cx->filter, &err) < 0)
		goto fail;
	if (identity_apply(proc, cx->caps, &err) < 0)
		goto fail;
	if (cx->filter && proc->nonewprivileges &&
	    seccomp_filter_load(cx->filter, &err) < 0)
		goto fail;
	/* protobuf-c arrays carry a count, not a NULL terminator */
	argv = xcalloc(proc->n_args + 1, sizeof(char *));
	envp = xcalloc(proc->n_env + 1, sizeof(char *));
	memcpy(argv, proc->args, proc->n_args * sizeof(char *));
	if (proc->n_env)
		memcpy(envp, proc->env, proc->n_env * sizeof(char *));
	execve(exe, argv, envp);
	herr_errno(&err, errno, "exec %s", exe);
fail:
	child_fail(cx->sync_fd, &err);
}

/*
 * The helper: enter and create namespaces, fork the child, report it.
 * Runs on the agent's memory (see the top of the file).
 */
static int helper_main(void *arg)
{
	struct child_ctx *cx = arg;
	struct sync_msg m = { .type = SYNC_PID };
	int keep[16], nk = 0;
	struct herr err;
	pid_t pid;

	keep[nk++] = cx->sync_fd;
	for (int i = 0; i < cx->n_ns; i++)
		keep[nk++] = cx->ns_fds[i];
	for (int i = 0; i < 3; i++)
		keep[nk++] = cx->stdio[i];
	keep[nk++] = cx->pty_slave;
	close_fds_except(keep, nk);

	for (int i = 0; i < cx->n_ns; i++)
		if (cx->ns_fds[i] >= 0 && setns(cx->ns_fds[i], 0) < 0) {
			herr_errno(&err, errno, "join namespace %d", i);
			child_fail(cx->sync_fd, &err);
		}
	if (cx->unshare_flags && unshare(cx->unshare_flags) < 0) {
		herr_errno(&err, errno, "unshare namespaces 0x%x",
			   cx->unshare_flags);
		child_fail(cx->sync_fd, &err);
	}
	pid = fork();
	if (pid < 0 && errno == EAGAIN && cx->in_cgroup) {
		/* pids.max counts the helper there: the agent retries. */
		cx->fork_errno = EAGAIN;
		return 1;
	}
	if (pid < 0) {
		herr_errno(&err, errno, "fork container process");
		child_fail(cx->sync_fd, &err);
	}
	if (pid == 0) {
		for (int i = 0; i < cx->n_ns; i++)
			closep(&cx->ns_fds[i]);
		child_main(cx);
	}
	m.pid = pid;
	send_msg(cx->sync_fd, &m);
	return 0;
}

#ifdef __x86_64__
/*
 * clone3(2) whose child runs @fn(@arg) on the stack in @ca and exits with
 * its return value (musl's clone() has no cgroup argument).  The child
 * must not return into this function: with CLONE_VM its frame is the
 * agent's.
 */
static long clone3_run(struct clone3_args *ca, int (*fn)(void *), void *arg)
{
	register long rax __asm__("rax") = SYS_clone3;
	register struct clone3_args *rdi __asm__("rdi") = ca;
	register size_t rsi __asm__("rsi") = sizeof(*ca);
	register int (*r12)(void *) __asm__("r12") = fn;
	register void *r13 __asm__("r13") = arg;

	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "mov %%r13, %%rdi\n\t"
			 "call *%%r12\n\t"
			 "mov %%eax, %%edi\n\t"
			 "mov %[nr_exit], %%eax\n\t"
			 "syscall\n\t"
			 "ud2\n"
			 "1:\n"
			 : "+r"(rax)
			 : "r"(rdi), "r"(rsi), "r"(r12),
			   "r"(r13), [nr_exit] "i"(SYS_exit)
			 : "rcx", "r11", "cc", "memory");
	return rax;
}
#else
static long clone3_run(struct clone3_args *ca, int (*fn)(void *), void *arg)
{
	return -ENOSYS;
}
#endif

/* Mapped once: each helper is gone before the next starts. */
static char *helper_stack_top(struct herr *err)
{
	static char *top;
	long page = sysconf(_SC_PAGESIZE);
	char *base;

	if (top)
		return top;
	base = mmap(NULL, helper_stack_size + page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (base == MAP_FAILED) {
		herr_errno(err, errno, "map the helper's stack");
		return NULL;
	}
	if (mprotect(base, page, PROT_NONE) < 0) {
		herr_errno(err, errno, "guard the helper's stack");
		munmap(base, helper_stack_size + page);
		return NULL;
	}
	top = base + page + helper_stack_size;
	return top;
}

/*
 * Run the helper and wait for it to be done (CLONE_VFORK): in the cgroup
 * of @cg_fd when it is >= 0 and the kernel can (clone3, cgroup v2), else
 * in the agent's, and cx->in_cgroup says which.  Returns its pid.
 */
static pid_t run_helper(struct child_ctx *cx, int cg_fd, struct herr *err)
{
	char *top = helper_stack_top(err);
	struct clone3_args ca = { .flags = CLONE_VM | CLONE_VFORK,
				  .exit_signal = SIGCHLD,
				  .stack = (uintptr_t)(top - helper_stack_size),
				  .stack_size = helper_stack_size };
	long r;

	if (!top)
		return -1;
	if (cg_fd >= 0) {
		ca.flags |= clone_into_cgroup;
		ca.cgroup = (uint64_t)cg_fd;
		cx->in_cgroup = true;
		cx->fork_errno = 0;
		r = clone3_run(&ca, helper_main, cx);
		/*
		 * Not there (no clone3, not a cgroup2 directory, pids.max
		 * reached by the helper): outside, the agent moves the child.
		 */
		if (r > 0 && cx->fork_errno != EAGAIN)
			return r;
		ca.flags &= ~clone_into_cgroup;
		ca.cgroup = 0;
	}
	cx->in_cgroup = false;
	r = clone3_run(&ca, helper_main, cx);
	if (r == -ENOSYS) {
		pid_t pid = clone(helper_main, top,
				  CLONE_VM | CLONE_VFORK | SIGCHLD, cx);

		r = pid < 0 ? -errno : pid;
	}
	if (r < 0)
		return herr_errno(err, (int)-r, "clone the namespace helper");
	return r;
}

/* Agent side */

static void slow_timer_cancel(struct spawn *sp)
{
	if (sp->slow_timer) {
		evloop_timer_cancel(sp->p->a->loop, sp->slow_timer);
		sp->slow_timer = NULL;
	}
}

/* Still no READY (or exec) after SETUP_SLOW_MS: say what it waits for. */
static void setup_slow(struct evloop *loop, void *data)
{
	struct spawn *sp = data;

	(void)loop;
	sp->slow_timer = NULL;
	setup_diag_report(sp->p->c->id, sp->p->exec_id, sp->helper, sp->p->pid,
			  now_ms() - sp->started_ms);
}

static void spawn_finish(struct spawn *sp, const struct herr *err)
{
	struct process *p = sp->p;
	struct ttrpc_call *call = sp->call;
	void (*done)(struct process *, struct ttrpc_call *,
		     const struct herr *) = sp->done;

	slow_timer_cancel(sp);
	sp->call = NULL;
	sp->done = NULL;
	if (err || sp->state == SP_WAIT_EXEC)
		spawn_abort(p); /* finished or failed: the channel is done */
	else if (sp->watched) {
		evloop_del(p->a->loop, sp->fd);
		sp->watched = false;
	}
	if (done)
		done(p, call, err);
}

static void on_pid(struct spawn *sp, pid_t pid)
{
	struct process *p = sp->p;
	struct container *c = p->c;
	const Grpc__Process *ps = p->spec ? p->spec : c->spec->process;
	struct sync_msg m = { .type = SYNC_SETUP };
	struct herr err;
	int wstatus;

	p->pid = pid;
	if (c->cg && !sp->in_cgroup && cgroup_add_pid(c->cg, pid, &err) < 0)
		goto fail;
	if (ps && ps->oomscoreadj) {
		char path[64], val[32];

		snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", pid);
		snprintf(val, sizeof(val), "%lld",
			 (long long)ps->oomscoreadj);
		if (write_file(path, val) < 0) {
			herr_errno(&err, errno,
				   "process.oomScoreAdj %s: write %s", val,
				   path);
			goto fail;
		}
	}
	if (process_take_early_exit(pid, &wstatus)) {
		herr_set(&err, GRPC_INTERNAL, 0, "container process %d died",
			 pid);
		p->exited = true;
		goto fail;
	}
	sp->state = sp->init ? SP_WAIT_READY : SP_WAIT_EXEC;
	if (send_msg(sp->fd, &m) < 0) {
		herr_errno(&err, errno, "send setup to the container process");
		goto fail;
	}
	return;
fail:
	herr_prefix(&err, "container %s", c->id);
	spawn_finish(sp, &err);
}

static void on_sync(struct evloop *loop, int fd, uint32_t events, void *data)
{
	struct spawn *sp = data;
	struct sync_msg m;
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	struct herr err;
	int passed = -1;
	ssize_t n;

	do {
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	for (cm = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; cm;
	     cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)) && passed < 0)
			memcpy(&passed, CMSG_DATA(cm), sizeof(int));
	if (passed >= 0 && (n != sizeof(m) || m.type != SYNC_PTY)) {
		close(passed);
		passed = -1;
	}
	if (n < 0 && errno == EAGAIN)
		return;
	if (n == 0 || n < 0) {
		if (sp->state == SP_WAIT_EXEC) {
			spawn_finish(sp, NULL);
			return;
		}
		herr_set(&err, GRPC_INTERNAL, 0,
			 "container %s: process exited during setup",
			 sp->p->c->id);
		spawn_finish(sp, &err);
		return;
	}
	if (n != sizeof(m)) {
		herr_set(&err, GRPC_INTERNAL, 0,
			 "container %s: short message from the child",
			 sp->p->c->id);
		spawn_finish(sp, &err);
		return;
	}
	m.msg[sizeof(m.msg) - 1] = '\0';
	switch (m.type) {
	case SYNC_PTY:
		if (passed >= 0 && sp->p->io.tty && sp->p->io.out.fd < 0) {
			stdio_attach_pty(sp->p, passed);
			return;
		}
		if (passed >= 0)
			close(passed);
		break;
	case SYNC_PID:
		if (sp->state == SP_WAIT_PID) {
			on_pid(sp, m.pid);
			return;
		}
		break;
	case SYNC_READY:
		if (sp->state == SP_WAIT_READY) {
			sp->state = SP_CREATED;
			spawn_finish(sp, NULL);
			return;
		}
		break;
	case SYNC_ERR:
		herr_set(&err, m.code ? m.code : GRPC_INTERNAL, 0,
			 "container %s: %s", sp->p->c->id, m.msg);
		err.errnum = m.errnum;
		spawn_finish(sp, &err);
		return;
	default:
		break;
	}
	herr_set(&err, GRPC_INTERNAL, 0,
		 "container %s: unexpected message %d from the child",
		 sp->p->c->id, m.type);
	spawn_finish(sp, &err);
}

/* Open namespaces to join and pick the ones to create. */
static int plan_namespaces(struct spawn_req *sr, struct child_ctx *cx,
			   struct herr *err)
{
	struct container *c = sr->c;
	struct agent *a = c->a;
	const Grpc__Linux *l = c->spec->linux;
	bool want_new_uts = false;

	for (int i = 0; i < 6; i++)
		cx->ns_fds[i] = -1;
	cx->n_ns = 6;
	if (!sr->init) {
		/* exec: everything the init process is in */
		for (int i = 0; i < 6; i++) {
			char path[64];

			snprintf(path, sizeof(path), "/proc/%d/ns/%s",
				 c->init->pid, ns_names[i]);
			cx->ns_fds[i] = open(path, O_RDONLY | O_CLOEXEC);
			if (cx->ns_fds[i] < 0)
				return herr_errno(err, errno,
						  "container %s: open %s",
						  c->id, path);
		}
		return 0;
	}
	cx->unshare_flags = CLONE_NEWNS; /* always: pivot_root needs it */
	for (size_t i = 0; i < l->n_namespaces; i++) {
		const char *t = l->namespaces[i]->type;
		const char *path = l->namespaces[i]->path;
		static const struct {
			const char *oci;
			int slot, flag;
		} map[] = {
			{ "ipc", 0, CLONE_NEWIPC },   { "uts", 1, CLONE_NEWUTS },
			{ "network", 2, CLONE_NEWNET }, { "pid", 3, CLONE_NEWPID },
			{ "cgroup", 4, CLONE_NEWCGROUP }, { "mount", 5, 0 },
		};
		size_t k;
		int shared = -1;

		for (k = 0; k < ARRAY_SIZE(map); k++)
			if (!strcmp(t, map[k].oci))
				break;
		if (k == ARRAY_SIZE(map))
			continue; /* validated earlier */
		if (path && *path) {
			int slot = map[k].slot;

			if (slot == 5)
				return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
						"oci.linux.namespaces[%zu]: joining a mount namespace is not supported",
						i);
			cx->ns_fds[slot] = open(path, O_RDONLY | O_CLOEXEC);
			if (cx->ns_fds[slot] < 0)
				return herr_errno(err, errno,
						  "oci.linux.namespaces[%zu].path %s",
						  i, path);
			continue;
		}
		/* The pod's containers share IPC and UTS (and maybe PID). */
		if (k == 0)
			shared = a->sb.ipc_fd;
		else if (k == 1)
			shared = a->sb.uts_fd;
		else if (k == 3 && c->sandbox_pidns)
			shared = a->sb.pid_fd;
		if (shared >= 0) {
			cx->ns_fds[map[k].slot] =
				fcntl(shared, F_DUPFD_CLOEXEC, 3);
			continue;
		}
		if (k == 1)
			want_new_uts = true;
		if (k == 4)
			cx->new_cgroupns = true;
		else
			cx->unshare_flags |= map[k].flag;
	}
	cx->new_uts = want_new_uts;
	return 0;
}

int spawn_process(struct spawn_req *sr, struct herr *err)
{
	struct process *p = sr->p;
	struct child_ctx cx = { 0 };
	int sv[2];
	struct spawn *sp;
	struct stat st;
	int cg_fd, r;

	cx.init = sr->init;
	cx.cid = sr->c->id;
	cx.spec = sr->c->spec;
	cx.proc = sr->proc;
	cx.caps = sr->caps;
	cx.filter = sr->c->filter;
	cx.pty_slave = -1;
	cx.tty = p->io.tty;
	cx.console = sr->proc->consolesize;
	for (int i = 0; i < 3; i++)
		cx.stdio[i] = p->io.child[i];
	if (plan_namespaces(sr, &cx, err) < 0)
		goto out_ns;
	if (cx.init && stat("/proc/self/ns/cgroup", &st) == 0) {
		cx.agent_cgns_dev = st.st_dev;
		cx.agent_cgns_ino = st.st_ino;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		herr_errno(err, errno, "container %s: socketpair", sr->c->id);
		goto out_ns;
	}
	cx.sync_fd = sv[1];
	/*
	 * Only a container's first process is born in its cgroup: an exec
	 * may meet a cgroup frozen by a pause or by the container itself,
	 * where the helper would stop with the agent waiting for it.
	 */
	cg_fd = sr->init && sr->c->cg ? cgroup_open_dir(sr->c->cg) : -1;
	r = run_helper(&cx, cg_fd, err);
	closep(&cg_fd);
	if (r < 0) {
		herr_prefix(err, "container %s", sr->c->id);
		close(sv[0]);
		close(sv[1]);
		goto out_ns;
	}
	close(sv[1]);
	for (int i = 0; i < cx.n_ns; i++)
		closep(&cx.ns_fds[i]);
	stdio_close_child_ends(&p->io);

	sp = xcalloc(1, sizeof(*sp));
	sp->p = p;
	sp->fd = sv[0];
	sp->init = sr->init;
	sp->in_cgroup = cx.in_cgroup;
	sp->call = sr->call;
	sp->done = sr->done;
	sp->state = SP_WAIT_PID;
	sp->helper = r; /* run_helper() gave its pid */
	sp->started_ms = now_ms();
	p->spawn = sp;
	r = evloop_add(p->a->loop, sp->fd, EPOLLIN, on_sync, sp);
	if (r < 0) {
		p->spawn = NULL;
		close(sp->fd);
		free(sp);
		return herr_set(err, GRPC_INTERNAL, -r,
				"container %s: watch sync socket", sr->c->id);
	}
	sp->watched = true;
	sp->slow_timer =
		evloop_timer(p->a->loop, SETUP_SLOW_MS, setup_slow, sp);
	return 0;
out_ns:
	for (int i = 0; i < cx.n_ns; i++)
		closep(&cx.ns_fds[i]);
	return -1;
}

int spawn_release(struct process *p, struct ttrpc_call *call,
		  void (*done)(struct process *p, struct ttrpc_call *call,
			       const struct herr *err),
		  struct herr *err)
{
	struct spawn *sp = p->spawn;
	struct sync_msg m = { .type = SYNC_START };
	int r;

	if (!sp || sp->state != SP_CREATED)
		return herr_set(err, GRPC_FAILED_PRECONDITION, 0,
				"container %s: not in the created state",
				p->c->id);
	if (send_msg(sp->fd, &m) < 0)
		return herr_errno(err, errno, "container %s: start", p->c->id);
	sp->state = SP_WAIT_EXEC;
	sp->call = call;
	sp->done = done;
	r = evloop_add(p->a->loop, sp->fd, EPOLLIN, on_sync, sp);
	if (r < 0)
		return herr_set(err, GRPC_INTERNAL, -r,
				"container %s: watch sync socket", p->c->id);
	sp->watched = true;
	return 0;
}

void spawn_abort(struct process *p)
{
	struct spawn *sp = p->spawn;

	if (!sp)
		return;
	p->spawn = NULL;
	slow_timer_cancel(sp);
	if (sp->watched)
		evloop_del(p->a->loop, sp->fd);
	close(sp->fd);
	/* Not through done(): the caller is tearing @p down itself. */
	if (sp->done && sp->call)
		ttrpc_call_fail(sp->call, GRPC_ABORTED,
				"container %s: removed while the process was being set up",
				p->c->id);
	free(sp);
}
