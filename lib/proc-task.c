// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proc-task.h"
#include "util.h"

enum { TARGET_NONE, TARGET_PATH, TARGET_FD };

/* The syscalls a stuck setup or daemon is likely in, and what they name. */
static const struct {
	long nr;
	const char *name;
	int kind, arg;
} syscalls[] = {
	{ SYS_read, "read", TARGET_FD, 0 },
	{ SYS_write, "write", TARGET_FD, 0 },
	{ SYS_close, "close", TARGET_FD, 0 },
	{ SYS_fstat, "fstat", TARGET_FD, 0 },
	{ SYS_fsync, "fsync", TARGET_FD, 0 },
	{ SYS_getdents64, "getdents64", TARGET_FD, 0 },
	{ SYS_ioctl, "ioctl", TARGET_FD, 0 },
	{ SYS_pread64, "pread64", TARGET_FD, 0 },
	{ SYS_pwrite64, "pwrite64", TARGET_FD, 0 },
	{ SYS_readv, "readv", TARGET_FD, 0 },
	{ SYS_writev, "writev", TARGET_FD, 0 },
	{ SYS_recvmsg, "recvmsg", TARGET_FD, 0 },
	{ SYS_recvfrom, "recvfrom", TARGET_FD, 0 },
	{ SYS_sendmsg, "sendmsg", TARGET_FD, 0 },
	{ SYS_epoll_pwait, "epoll_pwait", TARGET_FD, 0 },
	{ SYS_openat, "openat", TARGET_PATH, 1 },
	{ SYS_newfstatat, "newfstatat", TARGET_PATH, 1 },
	{ SYS_statx, "statx", TARGET_PATH, 1 },
	{ SYS_faccessat, "faccessat", TARGET_PATH, 1 },
	{ SYS_readlinkat, "readlinkat", TARGET_PATH, 1 },
	{ SYS_mkdirat, "mkdirat", TARGET_PATH, 1 },
	{ SYS_unlinkat, "unlinkat", TARGET_PATH, 1 },
	{ SYS_execve, "execve", TARGET_PATH, 0 },
	{ SYS_chdir, "chdir", TARGET_PATH, 0 },
	{ SYS_mount, "mount", TARGET_PATH, 1 },
	{ SYS_umount2, "umount2", TARGET_PATH, 0 },
	{ SYS_pivot_root, "pivot_root", TARGET_PATH, 0 },
	{ SYS_wait4, "wait4", TARGET_NONE, 0 },
	{ SYS_futex, "futex", TARGET_NONE, 0 },
	{ SYS_ppoll, "ppoll", TARGET_NONE, 0 },
	{ SYS_nanosleep, "nanosleep", TARGET_NONE, 0 },
	{ SYS_clone, "clone", TARGET_NONE, 0 },
	{ SYS_setns, "setns", TARGET_FD, 0 },
	{ SYS_unshare, "unshare", TARGET_NONE, 0 },
	{ SYS_sync, "sync", TARGET_NONE, 0 },
#ifdef SYS_open
	{ SYS_open, "open", TARGET_PATH, 0 },
	{ SYS_stat, "stat", TARGET_PATH, 0 },
	{ SYS_lstat, "lstat", TARGET_PATH, 0 },
	{ SYS_access, "access", TARGET_PATH, 0 },
	{ SYS_mkdir, "mkdir", TARGET_PATH, 0 },
	{ SYS_readlink, "readlink", TARGET_PATH, 0 },
	{ SYS_poll, "poll", TARGET_NONE, 0 },
	{ SYS_epoll_wait, "epoll_wait", TARGET_FD, 0 },
	{ SYS_fork, "fork", TARGET_NONE, 0 },
#endif
#ifdef SYS_faccessat2
	{ SYS_faccessat2, "faccessat2", TARGET_PATH, 1 },
#endif
#ifdef SYS_close_range
	{ SYS_close_range, "close_range", TARGET_NONE, 0 },
#endif
};

int proc_stat_parse(const char *buf, char *comm, size_t comm_size, char *state,
		    pid_t *ppid)
{
	const char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	char *end = NULL;
	long pp;
	size_t n;

	if (!open || !close || close < open || close[1] != ' ' || !close[2] ||
	    close[2] == ' ' || close[2] == '\n')
		return -EINVAL;
	n = (size_t)(close - open - 1);
	if (comm_size) {
		if (n > comm_size - 1)
			n = comm_size - 1;
		memcpy(comm, open + 1, n);
		comm[n] = '\0';
	}
	*state = close[2];
	pp = close[3] == ' ' ? strtol(close + 4, &end, 10) : -1;
	if (pp < 0 || end == close + 4)
		return -EINVAL;
	*ppid = (pid_t)pp;
	return 0;
}

int proc_syscall_parse(const char *buf, long *nr, unsigned long args[6])
{
	char *end;

	memset(args, 0, 6 * sizeof(*args));
	if (!strncmp(buf, "running", 7)) {
		*nr = PROC_RUNNING;
		return 0;
	}
	errno = 0;
	*nr = strtol(buf, &end, 10);
	if (end == buf || errno || *nr < -1)
		return -EINVAL;
	if (*nr == -1)
		return 0;
	for (int i = 0; i < 6; i++) {
		const char *p = end;

		args[i] = strtoul(p, &end, 16);
		if (end == p)
			return -EINVAL;
	}
	return 0;
}

const char *proc_syscall_name(long nr)
{
	for (size_t i = 0; i < ARRAY_SIZE(syscalls); i++)
		if (syscalls[i].nr == nr)
			return syscalls[i].name;
	return NULL;
}

int proc_syscall_target(long nr, int *arg)
{
	for (size_t i = 0; i < ARRAY_SIZE(syscalls); i++)
		if (syscalls[i].nr == nr) {
			*arg = syscalls[i].arg;
			return syscalls[i].kind;
		}
	return TARGET_NONE;
}

/* The first line of @dir/@name, without its newline; "" when unreadable. */
static void read_line(const char *dir, const char *name, char *out, size_t size)
{
	char path[96];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	read_file_str(path, out, size);
	out[strcspn(out, "\n")] = '\0';
}

/*
 * Printable bytes only, and none that ends a quoted log value: a path in
 * a container is anybody's string.
 */
static void sanitise(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f ||
		    *s == '"' || *s == '\\')
			*s = '?';
}

static void read_target(const char *dir, bool read_mem, struct proc_task *t)
{
	char path[96];
	int arg, kind = proc_syscall_target(t->nr, &arg);
	ssize_t n = -1;

	if (kind == TARGET_FD) {
		snprintf(path, sizeof(path), "%s/fd/%d", dir,
			 (int)t->args[arg]);
		n = readlink(path, t->what, sizeof(t->what) - 1);
	} else if (kind == TARGET_PATH && read_mem) {
		int fd;

		snprintf(path, sizeof(path), "%s/mem", dir);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = pread(fd, t->what, sizeof(t->what) - 1,
				  (off_t)t->args[arg]);
			close(fd);
		}
	}
	t->what[n > 0 ? n : 0] = '\0';
	sanitise(t->what);
}

int proc_task_read(const char *dir, pid_t pid, bool read_mem,
		   struct proc_task *t)
{
	char buf[512];

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->state = '?';
	t->nr = PROC_RUNNING;
	read_line(dir, "stat", buf, sizeof(buf));
	if (!buf[0])
		return -ESRCH;
	if (proc_stat_parse(buf, t->comm, sizeof(t->comm), &t->state,
			    &t->ppid) < 0)
		return -EINVAL;
	sanitise(t->comm);
	read_line(dir, "syscall", buf, sizeof(buf));
	if (!buf[0] || proc_syscall_parse(buf, &t->nr, t->args) < 0)
		t->nr = PROC_RUNNING;
	read_line(dir, "wchan", t->wchan, sizeof(t->wchan));
	sanitise(t->wchan);
	if (t->nr >= 0)
		read_target(dir, read_mem, t);
	return 0;
}

/* "STATE SYSCALL[ WHAT] wchan=W": what the task does, not who it is. */
static void format_doing(const struct proc_task *t, char *out, size_t size)
{
	const char *name = proc_syscall_name(t->nr);
	char call[48];

	if (t->nr == PROC_RUNNING)
		snprintf(call, sizeof(call), "running");
	else if (t->nr == PROC_NO_SYSCALL)
		snprintf(call, sizeof(call), "no-syscall");
	else
		snprintf(call, sizeof(call), "%s(%ld)", name ? name : "syscall",
			 t->nr);
	snprintf(out, size, "%c %s%s%s wchan=%s", t->state, call,
		 t->what[0] ? " " : "", t->what, t->wchan[0] ? t->wchan : "?");
}

size_t proc_task_format(const struct proc_task *t, char *out, size_t size)
{
	char doing[256];
	int n;

	format_doing(t, doing, sizeof(doing));
	n = snprintf(out, size, "%d(%s) %s", (int)t->pid, t->comm, doing);
	if (n < 0)
		n = 0;
	return (size_t)n < size ? (size_t)n : size ? size - 1 : 0;
}

int proc_threads_read(pid_t pid, struct proc_task **out, size_t *n)
{
	struct proc_task *v = NULL;
	size_t cap = 0, len = 0;
	char tdir[48];
	struct dirent *de;
	DIR *d;

	snprintf(tdir, sizeof(tdir), "/proc/%d/task", (int)pid);
	d = opendir(tdir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		char dir[96];

		if (tid <= 0)
			continue;
		if (len == cap) {
			struct proc_task *nv;

			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		snprintf(dir, sizeof(dir), "%s/%d", tdir, (int)tid);
		if (proc_task_read(dir, tid, false, &v[len]) == 0)
			len++;
	}
	closedir(d);
	*out = v;
	*n = len;
	return 0;
}

static bool same_doing(const struct proc_task *a, const struct proc_task *b)
{
	return a->state == b->state && a->nr == b->nr &&
	       !strcmp(a->what, b->what) && !strcmp(a->wchan, b->wchan);
}

size_t proc_tasks_summary(const struct proc_task *t, size_t n, char *out,
			  size_t size)
{
	size_t len = 0;

	if (size)
		out[0] = '\0';
	for (size_t i = 0; i < n && len + 1 < size; i++) {
		char doing[256];
		size_t count = 0;
		bool seen = false;
		int w;

		for (size_t j = 0; j < i && !seen; j++)
			seen = same_doing(&t[j], &t[i]);
		if (seen)
			continue;
		for (size_t j = i; j < n; j++)
			count += same_doing(&t[j], &t[i]);
		format_doing(&t[i], doing, sizeof(doing));
		w = snprintf(out + len, size - len, "%s%zux %s",
			     len ? "; " : "", count, doing);
		if (w < 0)
			break;
		len += (size_t)w < size - len ? (size_t)w : size - len - 1;
	}
	return len;
}
