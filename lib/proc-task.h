/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a task is doing, as /proc shows it: its state, the syscall it sits
 * in (with the file that syscall names, when asked and the arguments say
 * which) and its wchan.  For the diagnostics of something that takes too
 * long (a container's setup in the agent, an agent call in the shim): it
 * only runs on that slow path.
 */
#ifndef HUSK_PROC_TASK_H
#define HUSK_PROC_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* proc_syscall_parse(): not in a syscall, or running (no number). */
#define PROC_NO_SYSCALL (-1L)
#define PROC_RUNNING (-2L)

struct proc_task {
	pid_t pid, ppid;
	char comm[16];
	char state; /* 'R', 'S', 'D', 'Z', ... '?' when unreadable */
	char wchan[48]; /* "" when unreadable; "0" without kallsyms */
	long nr; /* syscall number, PROC_NO_SYSCALL or PROC_RUNNING */
	unsigned long args[6];
	char what[96]; /* the path or fd target the syscall names, or "" */
};

/*
 * One line of /proc/P/stat: "PID (COMM) S PPID ...", where COMM may hold
 * spaces and parentheses (the last ')' ends it).  Returns 0 or -EINVAL.
 */
int proc_stat_parse(const char *buf, char *comm, size_t comm_size, char *state,
		    pid_t *ppid);

/*
 * /proc/P/syscall: "NR A1 .. A6 SP PC", "-1 SP PC" (blocked outside a
 * syscall) or "running".  Returns 0 or -EINVAL.
 */
int proc_syscall_parse(const char *buf, long *nr, unsigned long args[6]);

/* The name of the syscalls a hang is likely in, else NULL. */
const char *proc_syscall_name(long nr);

/*
 * Which argument of @nr names a file: 1 with *arg set when it is a path
 * pointer, 2 when it is an fd, 0 when none.
 */
int proc_syscall_target(long nr, int *arg);

/*
 * Read the task at @dir ("/proc/P" or "/proc/P/task/T").  With @read_mem
 * a path argument is read from the task's memory (/proc/P/mem), which
 * can block while the task holds its mm's lock: callers do that in a
 * child of their own.  Returns 0, or -errno when the task is gone.
 */
int proc_task_read(const char *dir, pid_t pid, bool read_mem,
		   struct proc_task *t);

/*
 * "PID(COMM) STATE SYSCALL[ WHAT] wchan=W", e.g.
 * "57(sh) D openat(257) /bin/sh wchan=0", into @out (always terminated).
 * Returns the length written.
 */
size_t proc_task_format(const struct proc_task *t, char *out, size_t size);

/*
 * Every thread of @pid (/proc/P/task/T), without reading their memory:
 * *@out (malloc'd, free() it) holds *@n.  Returns 0 or -errno.
 */
int proc_threads_read(pid_t pid, struct proc_task **out, size_t *n);

/*
 * Threads in the same state, syscall, target and wchan counted once:
 * "2x S futex(202) wchan=futex_wait_queue; 1x S read(0) socket:[9]
 * wchan=unix_stream_read_generic", in their first appearance's order,
 * into @out (always terminated).  Returns the length written.
 */
size_t proc_tasks_summary(const struct proc_task *t, size_t n, char *out,
			  size_t size);

#endif
