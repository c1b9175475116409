// SPDX-License-Identifier: Apache-2.0
/*
 * A container's setup that takes too long says what it is stuck on: one
 * warning (shown on the console even under quiet) with the state, syscall
 * and wchan of the namespace helper, the container child, the child's own
 * children (its hooks) and every task of the guest in state D.  Without
 * this a hung CreateContainer only shows as the shim's timeout.
 *
 * The /proc reads run in a forked child that closes the agent's fds: the
 * path a blocked syscall names is read from the task's memory, which
 * waits for that task's mm lock, and the agent's event loop must not.
 * loop_stall_report() says the same of the agent's own main thread; it
 * runs on the watchdog thread (loop-watchdog.c), which may block.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "proc-task.h"

/* How many D-state tasks and children the line names before "+N more". */
#define DIAG_MAX_LISTED 8

struct diag_list {
	char buf[1024];
	size_t len;
	int listed, more;
};

static void list_add(struct diag_list *l, const struct proc_task *t)
{
	char one[256];
	int n;

	if (l->listed == DIAG_MAX_LISTED) {
		l->more++;
		return;
	}
	proc_task_format(t, one, sizeof(one));
	n = snprintf(l->buf + l->len, sizeof(l->buf) - l->len, "%s%s",
		     l->len ? "; " : "", one);
	if (n > 0 && (size_t)n < sizeof(l->buf) - l->len) {
		l->len += (size_t)n;
		l->listed++;
	} else {
		l->buf[l->len] = '\0';
		l->more++;
	}
}

static const char *list_str(struct diag_list *l)
{
	if (l->more && l->len + 16 < sizeof(l->buf))
		l->len += (size_t)snprintf(
			l->buf + l->len, sizeof(l->buf) - l->len, "%s+%d more",
			l->len ? "; " : "", l->more);
	return l->len ? l->buf : "none";
}

/* Every thread of the guest: the ones in D, and @child's children. */
static void scan(pid_t child, struct diag_list *d, struct diag_list *kids)
{
	DIR *procd = opendir("/proc");
	struct dirent *de;

	if (!procd)
		return;
	while ((de = readdir(procd))) {
		pid_t pid = (pid_t)atoi(de->d_name);
		char tdir[64];
		struct dirent *te;
		DIR *taskd;

		if (pid <= 0)
			continue;
		snprintf(tdir, sizeof(tdir), "/proc/%d/task", (int)pid);
		taskd = opendir(tdir);
		if (!taskd)
			continue;
		while ((te = readdir(taskd))) {
			pid_t tid = (pid_t)atoi(te->d_name);
			struct proc_task t;
			char dir[96];

			if (tid <= 0)
				continue;
			snprintf(dir, sizeof(dir), "%s/%d", tdir, (int)tid);
			if (proc_task_read(dir, tid, true, &t) < 0)
				continue;
			if (t.state == 'D')
				list_add(d, &t);
			else if (child > 0 && t.ppid == child && tid == pid)
				list_add(kids, &t);
		}
		closedir(taskd);
	}
	closedir(procd);
}

static void describe(pid_t pid, char *out, size_t size)
{
	struct proc_task t;
	char dir[32];

	if (pid <= 0) {
		snprintf(out, size, "none yet");
		return;
	}
	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	if (proc_task_read(dir, pid, true, &t) < 0)
		snprintf(out, size, "%d exited", (int)pid);
	else
		proc_task_format(&t, out, size);
}

static __attribute__((noreturn)) void report(const char *cid, const char *eid,
					     pid_t helper, pid_t child,
					     long long pending_ms)
{
	static struct diag_list d, kids;
	char h[256], c[256];

	/* Hold nothing of the agent's (stdio pipes, the channel) but fd 2. */
	syscall(SYS_close_range, 3, ~0U, 0);
	describe(helper, h, sizeof(h));
	describe(child, c, sizeof(c));
	scan(child, &d, &kids);
	log_msg(LOG_WARN, "container setup is slow",
		"container=%s exec_id=%s pending_ms=%lld helper=\"%s\" "
		"child=\"%s\" "
		"child_children=\"%s\" d_tasks=\"%s\"",
		cid, eid, pending_ms, h, c, list_str(&kids), list_str(&d));
	_exit(0);
}

void setup_diag_report(const char *cid, const char *eid, pid_t helper,
		       pid_t child, long long pending_ms)
{
	pid_t pid = fork();

	if (pid == 0)
		report(cid, eid, helper, child, pending_ms);
	/* Reaped as an unknown child by agent_reap(). */
	if (pid < 0)
		log_msg(LOG_WARN, "container setup is slow",
			"container=%s exec_id=%s pending_ms=%lld "
			"diag=\"fork: %s\"",
			cid, eid, pending_ms, strerror(errno));
}

void loop_stall_report(long long busy_ms)
{
	static struct diag_list d, kids;
	pid_t self = getpid();
	char m[256];

	memset(&d, 0, sizeof(d));
	memset(&kids, 0, sizeof(kids));
	describe(self, m, sizeof(m));
	scan(self, &d, &kids);
	log_msg(LOG_WARN, "agent event loop is blocked",
		"busy_ms=%lld main=\"%s\" children=\"%s\" d_tasks=\"%s\"",
		busy_ms, m, list_str(&kids), list_str(&d));
}
