// SPDX-License-Identifier: Apache-2.0
/*
 * lib/proc-task.c: /proc/P/stat and /proc/P/syscall lines parsed (a comm
 * with spaces and parentheses, "running", "-1 ...", garbage), the line
 * printed for a task, and real children read while they block: one in
 * read(2) on a pipe (the fd's target named), one in open(2) of a FIFO
 * (the path read from its memory), one in state D is not something a
 * test can make on demand, so the state letter is checked on S.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc-task.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

TEST(stat_line)
{
	char comm[16], state;
	pid_t ppid;

	ASSERT_EQ(0, proc_stat_parse("57 (sh) D 1 57 57 0 -1 4194560 ...", comm,
				     sizeof(comm), &state, &ppid));
	EXPECT_STREQ("sh", comm);
	EXPECT_EQ('D', state);
	EXPECT_EQ(1, ppid);
	/* The last ')' ends the comm, whatever the comm holds. */
	ASSERT_EQ(0, proc_stat_parse("9 (a) b (c)) S 1 2", comm, sizeof(comm),
				     &state, &ppid));
	EXPECT_STREQ("a) b (c)", comm);
	EXPECT_EQ('S', state);
	EXPECT_EQ(1, ppid);
	/* Cut to the buffer. */
	ASSERT_EQ(0,
		  proc_stat_parse("9 (abcdefgh) R 1", comm, 5, &state, &ppid));
	EXPECT_STREQ("abcd", comm);
	EXPECT_EQ('R', state);
	EXPECT_EQ(-EINVAL, proc_stat_parse("9 sh S 1", comm, sizeof(comm),
					   &state, &ppid));
	EXPECT_EQ(-EINVAL,
		  proc_stat_parse("9 (sh)", comm, sizeof(comm), &state, &ppid));
	EXPECT_EQ(-EINVAL, proc_stat_parse("9 (sh)  S", comm, sizeof(comm),
					   &state, &ppid));
	EXPECT_EQ(-EINVAL, proc_stat_parse("9 (sh) S", comm, sizeof(comm),
					   &state, &ppid));
	EXPECT_EQ(-EINVAL, proc_stat_parse("9 (sh) S x", comm, sizeof(comm),
					   &state, &ppid));
	EXPECT_EQ(-EINVAL,
		  proc_stat_parse("", comm, sizeof(comm), &state, &ppid));
}

TEST(syscall_line)
{
	unsigned long args[6];
	long nr;

	ASSERT_EQ(0, proc_syscall_parse("257 0xffffff9c 0x7ffd1234 0x80000 "
					"0x0 0x0 0x0 0x7ffd0000 0x401000\n",
					&nr, args));
	EXPECT_EQ(257, nr);
	EXPECT_EQ(0xffffff9cUL, args[0]);
	EXPECT_EQ(0x7ffd1234UL, args[1]);
	EXPECT_EQ(0x80000UL, args[2]);
	EXPECT_EQ(0UL, args[5]);
	ASSERT_EQ(0, proc_syscall_parse("running\n", &nr, args));
	EXPECT_EQ(PROC_RUNNING, nr);
	ASSERT_EQ(0, proc_syscall_parse("-1 0x7ffd0000 0x401000\n", &nr, args));
	EXPECT_EQ(PROC_NO_SYSCALL, nr);
	EXPECT_EQ(-EINVAL, proc_syscall_parse("", &nr, args));
	EXPECT_EQ(-EINVAL, proc_syscall_parse("x 1 2", &nr, args));
	EXPECT_EQ(-EINVAL, proc_syscall_parse("-7 0x1", &nr, args));
	/* Fewer than six arguments: not a syscall line. */
	EXPECT_EQ(-EINVAL, proc_syscall_parse("0 0x3 0x4", &nr, args));
}

TEST(targets_and_names)
{
	int arg = -1;

	EXPECT_STREQ("openat", proc_syscall_name(SYS_openat));
	EXPECT_STREQ("read", proc_syscall_name(SYS_read));
	EXPECT_EQ(NULL, proc_syscall_name(100000));
	EXPECT_EQ(1, proc_syscall_target(SYS_openat, &arg));
	EXPECT_EQ(1, arg);
	EXPECT_EQ(1, proc_syscall_target(SYS_chdir, &arg));
	EXPECT_EQ(0, arg);
	EXPECT_EQ(2, proc_syscall_target(SYS_read, &arg));
	EXPECT_EQ(0, arg);
	EXPECT_EQ(0, proc_syscall_target(SYS_futex, &arg));
	EXPECT_EQ(0, proc_syscall_target(100000, &arg));
}

TEST(format)
{
	struct proc_task t = { .pid = 57,
			       .comm = "sh",
			       .state = 'D',
			       .wchan = "0",
			       .nr = SYS_openat,
			       .what = "/run/c/rootfs/bin" };
	char out[128];

	EXPECT_EQ(strlen("57(sh) D openat(257) /run/c/rootfs/bin wchan=0"),
		  proc_task_format(&t, out, sizeof(out)));
	EXPECT_STREQ("57(sh) D openat(257) /run/c/rootfs/bin wchan=0", out);
	t.nr = PROC_RUNNING;
	t.what[0] = '\0';
	t.wchan[0] = '\0';
	t.state = 'R';
	proc_task_format(&t, out, sizeof(out));
	EXPECT_STREQ("57(sh) R running wchan=?", out);
	t.nr = 99999;
	proc_task_format(&t, out, sizeof(out));
	EXPECT_STREQ("57(sh) R syscall(99999) wchan=?", out);
	/* Cut, always terminated. */
	EXPECT_EQ(7U, proc_task_format(&t, out, 8));
	EXPECT_STREQ("57(sh) ", out);
}

TEST(summary_groups_threads_doing_the_same)
{
	struct proc_task t[4] = {
		{ .pid = 10,
		  .comm = "virtiofsd",
		  .state = 'S',
		  .nr = 202,
		  .wchan = "futex_wait_queue" },
		{ .pid = 11,
		  .comm = "virtiofsd",
		  .state = 'S',
		  .nr = 0,
		  .what = "socket:[9]",
		  .wchan = "unix_stream_read_generic" },
		{ .pid = 12,
		  .comm = "a b",
		  .state = 'S',
		  .nr = 202,
		  .wchan = "futex_wait_queue" },
		{ .pid = 13,
		  .comm = "virtiofsd",
		  .state = 'D',
		  .nr = 202,
		  .wchan = "futex_wait_queue" },
	};
	char out[256];

	proc_tasks_summary(t, 4, out, sizeof(out));
	EXPECT_STREQ("2x S futex(202) wchan=futex_wait_queue; "
		     "1x S read(0) socket:[9] wchan=unix_stream_read_generic; "
		     "1x D futex(202) wchan=futex_wait_queue",
		     out);
	EXPECT_EQ(0U, proc_tasks_summary(t, 0, out, sizeof(out)));
	EXPECT_STREQ("", out);
	/* Cut, always terminated. */
	EXPECT_EQ(9U, proc_tasks_summary(t, 4, out, 10));
	EXPECT_STREQ("2x S fute", out);
}

TEST(threads_of_this_process)
{
	struct proc_task *t = NULL;
	size_t n = 0;

	ASSERT_EQ(0, proc_threads_read(getpid(), &t, &n));
	ASSERT_EQ(1U, n);
	EXPECT_EQ(getpid(), t[0].pid);
	/* Reading itself: running, not in a syscall it could name. */
	EXPECT_EQ('R', t[0].state);
	free(t);
	EXPECT_EQ(-ENOENT, proc_threads_read(999999999, &t, &n));
}

/* Wait (up to 10 s) until @pid sits in syscall @nr, then read it. */
static int read_blocked(pid_t pid, long nr, bool mem, struct proc_task *t)
{
	char dir[32];

	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	for (int i = 0; i < 1000; i++) {
		if (proc_task_read(dir, pid, mem, t) < 0)
			return -1;
		if (t->nr == nr && t->state == 'S')
			return 0;
		usleep(10000);
	}
	return -1;
}

TEST(child_in_read_on_a_pipe)
{
	struct proc_task t;
	char expect[64], dir[32];
	struct stat st;
	int p[2], st_w;
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, fstat(p[0], &st));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char c;

		close(p[1]);
		_exit(read(p[0], &c, 1) == 0 ? 0 : 1);
	}
	close(p[0]);
	ASSERT_EQ(0, read_blocked(pid, SYS_read, false, &t));
	snprintf(expect, sizeof(expect), "pipe:[%lu]",
		 (unsigned long)st.st_ino);
	EXPECT_STREQ(expect, t.what);
	EXPECT_EQ('S', t.state);
	EXPECT_EQ(getpid(), t.ppid);
	EXPECT_NE(0, t.comm[0]);
	close(p[1]);
	ASSERT_EQ(pid, waitpid(pid, &st_w, 0));
	EXPECT_EQ(0, WEXITSTATUS(st_w));
	/* Gone: an error, not a made-up line. */
	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	EXPECT_EQ(-ESRCH, proc_task_read(dir, pid, false, &t));
}

TEST(child_in_open_of_a_fifo)
{
	char dir[] = "/tmp/husk-proc-task-XXXXXX", fifo[64], want[64];
	struct proc_task t;
	int st_w, fd;
	pid_t pid;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/setup\"fifo", dir);
	ASSERT_EQ(0, mkfifo(fifo, 0600));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0)
		/* Blocks until a writer opens it. */
		_exit(open(fifo, O_RDONLY) < 0 ? 1 : 0);
	ASSERT_EQ(0, read_blocked(pid, SYS_openat, true, &t));
	/* The quote a log value cannot hold comes back as '?'. */
	snprintf(want, sizeof(want), "%s/setup?fifo", dir);
	EXPECT_STREQ(want, t.what);
	/* Without the memory read, the path stays unknown. */
	ASSERT_EQ(0, read_blocked(pid, SYS_openat, false, &t));
	EXPECT_STREQ("", t.what);
	fd = open(fifo, O_WRONLY);
	ASSERT_GE(fd, 0);
	close(fd);
	ASSERT_EQ(pid, waitpid(pid, &st_w, 0));
	EXPECT_EQ(0, WEXITSTATUS(st_w));
	unlink(fifo);
	rmdir(dir);
}

TEST_HARNESS_MAIN
