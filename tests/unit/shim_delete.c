// SPDX-License-Identifier: Apache-2.0
/*
 * The delete action (host-shim/delete.c): DeleteResponse bytes checked by
 * hand, recursive removal that stays on one filesystem, and a whole run
 * against a fake dead shim: the leftover "hypervisor" is killed, the run
 * directory removed, and only the protobuf reaches stdout.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "containerd/task/shim.pb-c.h"
#include "delete.h"
#include "start.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

#pragma GCC diagnostic ignored "-Wsign-compare"

TEST(delete_response_bytes)
{
	/* exit_status=137 (field 2), exited_at={1, 2} (field 3); pid 0 left
	 * out as proto3 does. */
	static const uint8_t want[] = { 0x10, 0x89, 0x01, 0x1a, 0x04,
					0x08, 0x01, 0x10, 0x02 };
	struct timespec at = { .tv_sec = 1, .tv_nsec = 2 };
	Containerd__Task__V2__DeleteResponse *r;
	uint8_t *buf;
	size_t len;

	ASSERT_EQ(0, delete_response_encode(0, 137, &at, &buf, &len));
	ASSERT_EQ(sizeof(want), len);
	EXPECT_EQ(0, memcmp(want, buf, len));
	free(buf);

	at.tv_sec = 1700000000;
	at.tv_nsec = 999999999;
	ASSERT_EQ(0, delete_response_encode(4242, 255, &at, &buf, &len));
	r = containerd__task__v2__delete_response__unpack(NULL, len, buf);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(4242, r->pid);
	EXPECT_EQ(255, r->exit_status);
	EXPECT_EQ(1700000000, r->exited_at->seconds);
	EXPECT_EQ(999999999, r->exited_at->nanos);
	containerd__task__v2__delete_response__free_unpacked(r, NULL);
	free(buf);
}

static void touch(const char *dir, const char *name)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%.400s/%.100s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

TEST(remove_tree_does_not_follow_symlinks)
{
	char outside[] = "/tmp/shim-del-out-XXXXXX";
	char dir[] = "/tmp/shim-del-XXXXXX", p[512];

	ASSERT_NE(NULL, mkdtemp(outside));
	ASSERT_NE(NULL, mkdtemp(dir));
	touch(outside, "keep");
	snprintf(p, sizeof(p), "%s/a", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/a/b", dir);
	mkdir(p, 0755);
	touch(p, "f");
	snprintf(p, sizeof(p), "%s/link", dir);
	ASSERT_EQ(0, symlink(outside, p));
	EXPECT_EQ(0, remove_tree(dir));
	EXPECT_NE(0, access(dir, F_OK));
	snprintf(p, sizeof(p), "%s/keep", outside);
	EXPECT_EQ(0, access(p, F_OK));
	EXPECT_EQ(0, remove_tree("/tmp/shim-del-does-not-exist"));
	unlink(p);
	rmdir(outside);
}

TEST(delete_action_cleans_up_after_a_dead_shim)
{
	char root[] = "/tmp/shim-del-root-XXXXXX",
	     bundle[] = "/tmp/shim-del-bundle-XXXXXX";
	char run[256], pid[32], out[] = "/tmp/shim-del-out-XXXXXX";
	struct shim_flags f = { .namespace_ = "testns",
				.id = "dead1",
				.address = "/tmp/no.sock",
				.publish_binary = "containerd" };
	Containerd__Task__V2__DeleteResponse *r;
	uint8_t buf[256];
	struct herr err;
	int saved, ofd, st;
	ssize_t n;
	pid_t vm;

	ASSERT_NE(NULL, mkdtemp(root));
	ASSERT_NE(NULL, mkdtemp(bundle));
	f.bundle = bundle;
	setenv("HUSK_RUN_ROOT", root, 1);
	snprintf(run, sizeof(run), "%s/testns", root);
	mkdir(run, 0700);
	snprintf(run, sizeof(run), "%s/testns/dead1", root);
	ASSERT_EQ(0, mkdir(run, 0700));
	snprintf(pid, sizeof(pid), "%d", 999999);
	ASSERT_EQ(0, write_file_atomic(run, "shim.pid", pid, &err));
	/* A "hypervisor" whose command line names the run directory. */
	vm = fork();
	ASSERT_GE(vm, 0);
	if (vm == 0) {
		/* argv[0] carries the run directory, as QEMU's args do. */
		execl("/bin/sleep", run, "30", (char *)NULL);
		_exit(127);
	}
	usleep(100000);
	snprintf(pid, sizeof(pid), "%d", (int)vm);
	ASSERT_EQ(0, write_file_atomic(run, "hypervisor.pid", pid, &err));
	touch(run, "qmp.sock");

	ofd = mkstemp(out);
	ASSERT_GE(ofd, 0);
	fflush(stdout);
	saved = dup(1);
	dup2(ofd, 1);
	EXPECT_EQ(0, shim_delete(&f));
	dup2(saved, 1);
	close(saved);

	ASSERT_EQ(vm, waitpid(vm, &st, 0));
	EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	EXPECT_NE(0, access(run, F_OK));
	n = pread(ofd, buf, sizeof(buf), 0);
	ASSERT_GT(n, 0);
	r = containerd__task__v2__delete_response__unpack(NULL, (size_t)n, buf);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(137, r->exit_status);
	EXPECT_NE(NULL, r->exited_at);
	containerd__task__v2__delete_response__free_unpacked(r, NULL);
	close(ofd);
	unlink(out);
	snprintf(run, sizeof(run), "%s/testns", root);
	rmdir(run);
	rmdir(root);
	rmdir(bundle);
	unsetenv("HUSK_RUN_ROOT");
}

TEST(delete_action_leaves_a_live_shim_alone)
{
	char root[] = "/tmp/shim-del-root-XXXXXX", run[256], pid[32];
	struct shim_flags f = { .namespace_ = "ns",
				.id = "live1",
				.address = "",
				.bundle = "/nonexistent" };
	struct herr err;
	int saved, null;

	pid_t shim;

	ASSERT_NE(NULL, mkdtemp(root));
	setenv("HUSK_RUN_ROOT", root, 1);
	snprintf(run, sizeof(run), "%s/ns", root);
	mkdir(run, 0700);
	snprintf(run, sizeof(run), "%s/ns/live1", root);
	ASSERT_EQ(0, mkdir(run, 0700));
	/*
	 * This test process plays the live shim: its command line must hold
	 * "containerd-shim-husk-v2" and the id, so use a child that has both.
	 */
	shim = fork();
	ASSERT_GE(shim, 0);
	if (shim == 0) {
		execl("/bin/sleep", "containerd-shim-husk-v2-live1", "30",
		      (char *)NULL);
		_exit(127);
	}
	usleep(100000);
	snprintf(pid, sizeof(pid), "%d", (int)shim);
	ASSERT_EQ(0, write_file_atomic(run, "shim.pid", pid, &err));
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	fflush(stdout);
	saved = dup(1);
	dup2(null, 1);
	EXPECT_EQ(0, shim_delete(&f));
	dup2(saved, 1);
	close(saved);
	close(null);
	/* Untouched: the live shim cleans up after itself. */
	EXPECT_EQ(0, access(run, F_OK));
	kill(shim, SIGKILL);
	waitpid(shim, NULL, 0);
	remove_tree(root);
	unsetenv("HUSK_RUN_ROOT");
}

TEST_HARNESS_MAIN
