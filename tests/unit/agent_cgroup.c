// SPDX-License-Identifier: Apache-2.0
/*
 * Container cgroups (agent/cgroup*.c) on the real hierarchies of this host:
 * the v1 controllers under /sys/fs/cgroup, and, where a cgroup2 is mounted
 * at /sys/fs/cgroup/unified, the v2 code paths its controllers allow.
 * Each test works below /husk-test-<pid>; teardown thaws, kills the
 * children and removes the directories even after a failed assertion.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The harness adds no -Iagent. */
#include "cgroup.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

static const char *const v1_ctrls[] = { "memory", "cpu",   "cpuacct", "cpuset",
					"pids",	  "blkio", "freezer" };
static const char unified[] = "/sys/fs/cgroup/unified";

#define MAX_KIDS 4

FIXTURE(cg)
{
	char top[64]; /* "/husk-test-<pid>" */
	char path[96]; /* top + "/c1" */
	struct cgroup *cg;
	const char *root; /* hierarchy root the test uses */
	pid_t kids[MAX_KIDS];
	int nkids;
	volatile uint64_t *counter; /* shared with the spinning child */
};

static bool is_fs(const char *dir, long magic)
{
	struct statfs sfs;

	return statfs(dir, &sfs) == 0 && (long)sfs.f_type == magic;
}

/* Read <root>/<ctrl><path>/<file> (ctrl may be ""); NULL if unreadable. */
static char *cg_file(FIXTURE_DATA(cg) * self, const char *ctrl,
		     const char *file, char *buf, size_t size)
{
	char p[256];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s%s%s%s/%s", self->root, *ctrl ? "/" : "",
		 ctrl, self->path, file);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* cg_file() for comparisons: never NULL, so a failed check is no crash. */
static const char *cg_str(FIXTURE_DATA(cg) * self, const char *ctrl,
			  const char *file, char *buf, size_t size)
{
	const char *v = cg_file(self, ctrl, file, buf, size);

	return v ? v : "<unreadable>";
}

static int put(const char *dir, const char *file, const char *text)
{
	char p[256];
	int fd;
	ssize_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static const char *get(const char *dir, const char *file, char *buf,
		       size_t size)
{
	char p[256];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "<missing>";
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static bool dir_exists(const char *root, const char *ctrl, const char *path)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s%s%s%s", root, *ctrl ? "/" : "", ctrl, path);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void rmdir_all(const char *root, const char *path)
{
	char p[256];

	if (!strcmp(root, unified)) {
		snprintf(p, sizeof(p), "%s%s", root, path);
		rmdir(p);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++) {
		snprintf(p, sizeof(p), "%s/%s%s", root, v1_ctrls[i], path);
		rmdir(p);
	}
}

static void fixture_init(struct __test_metadata *_metadata,
			 FIXTURE_DATA(cg) * self, const char *root)
{
	struct herr err = { 0 };

	if (geteuid() != 0)
		SKIP(return, "needs root");
	self->root = root;
	cgroup_set_root(root);
	snprintf(self->top, sizeof(self->top), "/husk-test-%d", (int)getpid());
	snprintf(self->path, sizeof(self->path), "%s/c1", self->top);
	self->counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->counter);
	ASSERT_EQ(0, cgroup_create(self->path, &self->cg, &err))
	TH_LOG("%s", err.msg);
}

FIXTURE_SETUP(cg)
{
	if (is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC))
		SKIP(return,
			   "/sys/fs/cgroup is cgroup2: the v1 tests do not apply");
	fixture_init(_metadata, self, "/sys/fs/cgroup");
}

static void fixture_cleanup(FIXTURE_DATA(cg) * self)
{
	struct herr err = { 0 };

	if (self->cg)
		cgroup_freeze(self->cg, false, &err);
	for (int i = 0; i < self->nkids; i++) {
		kill(self->kids[i], SIGKILL);
		waitpid(self->kids[i], NULL, 0);
	}
	if (self->cg && cgroup_destroy(self->cg, &err)) {
		fprintf(stderr, "# teardown: %s\n", err.msg);
		cgroup_free(self->cg);
	}
	self->cg = NULL;
	/* In case the test failed before destroy could do it. */
	if (self->root) {
		rmdir_all(self->root, self->path);
		rmdir_all(self->root, self->top);
	}
	if (self->counter && self->counter != MAP_FAILED)
		munmap((void *)self->counter, 4096);
}

FIXTURE_TEARDOWN(cg)
{
	fixture_cleanup(self);
}

/* ---- children ---- */

enum kid_job { KID_SLEEP, KID_SPIN, KID_BURN, KID_HOG };

static void kid_burn(int done)
{
	struct timespec ts;

	/* 200 ms of its own CPU time, then report and wait. */
	do
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	while (ts.tv_sec == 0 && ts.tv_nsec < 200000000L);
	if (write(done, "b", 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

/* Touch 256 MiB page by page: far above the test's memory limit. */
static void kid_hog(void)
{
	size_t len = 256UL << 20;
	volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(4);
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	_exit(0);
}

/*
 * Fork a child that waits until it is in the cgroup, then does @job.
 * @done (KID_BURN) is the write end the child reports on.
 */
static pid_t spawn(struct __test_metadata *_metadata, FIXTURE_DATA(cg) * self,
		   enum kid_job job, int done)
{
	struct herr err = { 0 };
	int go[2];
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		switch (job) {
		case KID_SLEEP:
			for (;;)
				pause();
		case KID_SPIN:
			for (;;)
				(*self->counter)++;
		case KID_BURN:
			kid_burn(done);
			break;
		case KID_HOG:
			kid_hog();
			break;
		}
		_exit(0);
	}
	close(go[0]);
	self->kids[self->nkids++] = pid;
	EXPECT_EQ(0, cgroup_add_pid(self->cg, pid, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(1, write(go[1], "g", 1));
	close(go[1]);
	return pid;
}

static bool has_pid(pid_t *pids, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---- v1 ---- */

TEST_F(cg, layout)
{
	char buf[256];

	EXPECT_FALSE(cgroup_is_v2(self->cg));
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++) {
		if (!dir_exists(self->root, v1_ctrls[i], ""))
			continue;
		EXPECT_TRUE(dir_exists(self->root, v1_ctrls[i], self->path))
		TH_LOG("%s", v1_ctrls[i]);
	}
	/* A new cpuset starts empty; the parent's values were copied. */
	ASSERT_NE(NULL,
		  cg_file(self, "cpuset", "cpuset.cpus", buf, sizeof(buf)));
	EXPECT_NE(0UL, strlen(buf));
	ASSERT_NE(NULL,
		  cg_file(self, "cpuset", "cpuset.mems", buf, sizeof(buf)));
	EXPECT_NE(0UL, strlen(buf));
}

TEST_F(cg, limits)
{
	Grpc__LinuxResources res = GRPC__LINUX_RESOURCES__INIT;
	Grpc__LinuxMemory mem = GRPC__LINUX_MEMORY__INIT;
	Grpc__LinuxCPU cpu = GRPC__LINUX_CPU__INIT;
	Grpc__LinuxPids pids = GRPC__LINUX_PIDS__INIT;
	struct herr err = { 0 };
	char buf[256];

	mem.limit = 64 << 20;
	mem.reservation = 32 << 20;
	mem.swap = 96 << 20;
	mem.swappiness = 10;
	cpu.shares = 512;
	cpu.quota = 50000;
	cpu.period = 100000;
	cpu.cpus = "0";
	cpu.mems = "0";
	pids.limit = 64;
	res.memory = &mem;
	res.cpu = &cpu;
	res.pids = &pids;
	ASSERT_EQ(0, cgroup_apply(self->cg, &res, &err)) TH_LOG("%s", err.msg);

	EXPECT_STREQ("67108864", cg_str(self, "memory", "memory.limit_in_bytes",
					buf, sizeof(buf)));
	EXPECT_STREQ("33554432",
		     cg_str(self, "memory", "memory.soft_limit_in_bytes", buf,
			    sizeof(buf)));
	if (cg_file(self, "memory", "memory.memsw.limit_in_bytes", buf,
		    sizeof(buf)))
		EXPECT_STREQ("100663296", buf);
	EXPECT_STREQ("10", cg_str(self, "memory", "memory.swappiness", buf,
				  sizeof(buf)));
	EXPECT_STREQ("512",
		     cg_str(self, "cpu", "cpu.shares", buf, sizeof(buf)));
	EXPECT_STREQ("50000",
		     cg_str(self, "cpu", "cpu.cfs_quota_us", buf, sizeof(buf)));
	EXPECT_STREQ("100000", cg_str(self, "cpu", "cpu.cfs_period_us", buf,
				      sizeof(buf)));
	EXPECT_STREQ("0",
		     cg_str(self, "cpuset", "cpuset.cpus", buf, sizeof(buf)));
	EXPECT_STREQ("64", cg_str(self, "pids", "pids.max", buf, sizeof(buf)));

	/* Shrinking below memsw, then growing above it: order matters. */
	mem.limit = 16 << 20;
	mem.swap = 16 << 20;
	mem.reservation = 0;
	mem.swappiness = 0;
	ASSERT_EQ(0, cgroup_apply(self->cg, &res, &err)) TH_LOG("%s", err.msg);
	EXPECT_STREQ("16777216", cg_str(self, "memory", "memory.limit_in_bytes",
					buf, sizeof(buf)));
	mem.limit = 128 << 20;
	mem.swap = 256 << 20;
	ASSERT_EQ(0, cgroup_apply(self->cg, &res, &err)) TH_LOG("%s", err.msg);
	EXPECT_STREQ("134217728",
		     cg_str(self, "memory", "memory.limit_in_bytes", buf,
			    sizeof(buf)));

	/* -1 lifts limits; unset fields stay as they are. */
	pids.limit = -1;
	cpu.quota = -1;
	cpu.shares = 0;
	cpu.period = 0;
	cpu.cpus = "";
	cpu.mems = "";
	res.memory = NULL;
	ASSERT_EQ(0, cgroup_apply(self->cg, &res, &err)) TH_LOG("%s", err.msg);
	EXPECT_STREQ("max", cg_str(self, "pids", "pids.max", buf, sizeof(buf)));
	EXPECT_STREQ("-1",
		     cg_str(self, "cpu", "cpu.cfs_quota_us", buf, sizeof(buf)));
	EXPECT_STREQ("512",
		     cg_str(self, "cpu", "cpu.shares", buf, sizeof(buf)));
	EXPECT_STREQ("134217728",
		     cg_str(self, "memory", "memory.limit_in_bytes", buf,
			    sizeof(buf)));
}

/* Apply must fail with INVALID_ARGUMENT naming @field, writing nothing. */
static void expect_bad(struct __test_metadata *_metadata,
		       FIXTURE_DATA(cg) * self, const Grpc__LinuxResources *res,
		       const char *field)
{
	struct herr err = { 0 };
	char buf[64];

	EXPECT_EQ(-1, cgroup_apply(self->cg, res, &err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, err.code) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, field))
	TH_LOG("want \"%s\" in \"%s\"", field, err.msg);
	EXPECT_STREQ("max", cg_str(self, "pids", "pids.max", buf, sizeof(buf)));
}

TEST_F(cg, bad_input)
{
	static const char *const lists[] = { "0-",  "3-1", "a",	 "0,,1",
					     "0 1", "-1",  "1,", "99999999" };
	Grpc__LinuxResources res = GRPC__LINUX_RESOURCES__INIT;
	Grpc__LinuxMemory mem = GRPC__LINUX_MEMORY__INIT;
	Grpc__LinuxCPU cpu = GRPC__LINUX_CPU__INIT;
	Grpc__LinuxPids pids = GRPC__LINUX_PIDS__INIT;
	Grpc__LinuxBlockIO blk = GRPC__LINUX_BLOCK_IO__INIT;
	struct herr err = { 0 };

	res.pids = &pids;
	res.cpu = &cpu;
	pids.limit = -5;
	cpu.shares = 100;
	expect_bad(_metadata, self, &res, "linux.resources.pids.limit");
	EXPECT_EQ(-1, cgroup_resources_check(&res, &err));

	pids.limit = 10;
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		cpu.cpus = (char *)lists[i];
		expect_bad(_metadata, self, &res, "linux.resources.cpu.cpus");
	}
	cpu.cpus = "0-1,3";
	cpu.mems = "0-";
	expect_bad(_metadata, self, &res, "linux.resources.cpu.mems");
	cpu.mems = "";
	cpu.quota = -2;
	expect_bad(_metadata, self, &res, "linux.resources.cpu.quota");
	cpu.quota = 0;
	EXPECT_EQ(0, cgroup_resources_check(&res, &err)) TH_LOG("%s", err.msg);

	res.memory = &mem;
	mem.limit = 64 << 20;
	mem.swap = 32 << 20;
	expect_bad(_metadata, self, &res, "linux.resources.memory.swap");
	mem.swap = 0;
	mem.swappiness = 101;
	expect_bad(_metadata, self, &res, "linux.resources.memory.swappiness");
	mem.swappiness = 0;
	mem.limit = -7;
	expect_bad(_metadata, self, &res, "linux.resources.memory.limit");
	mem.limit = 0;

	res.blockio = &blk;
	blk.weight = 5;
	expect_bad(_metadata, self, &res, "linux.resources.blockIO.weight");
}

TEST_F(cg, pids_and_freeze)
{
	struct herr err = { 0 };
	uint64_t before, after;
	pid_t *pids = NULL;
	char buf[64];
	size_t n = 0;
	pid_t kid;

	kid = spawn(_metadata, self, KID_SPIN, -1);
	ASSERT_EQ(0, cgroup_pids(self->cg, &pids, &n, &err))
	TH_LOG("%s", err.msg);
	EXPECT_TRUE(has_pid(pids, n, kid));
	free(pids);

	/* Let it start spinning first. */
	for (int i = 0; i < 200 && *self->counter == 0; i++)
		sleep_ms(5);
	ASSERT_NE(0ULL, *self->counter);

	ASSERT_EQ(0, cgroup_freeze(self->cg, true, &err)) TH_LOG("%s", err.msg);
	EXPECT_STREQ("FROZEN", cg_str(self, "freezer", "freezer.state", buf,
				      sizeof(buf)));
	before = *self->counter;
	sleep_ms(100);
	after = *self->counter;
	EXPECT_EQ(before, after);

	ASSERT_EQ(0, cgroup_freeze(self->cg, false, &err))
	TH_LOG("%s", err.msg);
	EXPECT_STREQ("THAWED", cg_str(self, "freezer", "freezer.state", buf,
				      sizeof(buf)));
	for (int i = 0; i < 200 && *self->counter == after; i++)
		sleep_ms(5);
	EXPECT_NE(after, *self->counter);
}

TEST_F(cg, stats)
{
	Grpc__LinuxResources res = GRPC__LINUX_RESOURCES__INIT;
	Grpc__LinuxPids lim = GRPC__LINUX_PIDS__INIT;
	Grpc__CgroupStats st = GRPC__CGROUP_STATS__INIT;
	struct herr err = { 0 };
	struct pollfd pfd;
	uint64_t usage0;
	int done[2];
	char c;

	lim.limit = 50;
	res.pids = &lim;
	ASSERT_EQ(0, cgroup_apply(self->cg, &res, &err)) TH_LOG("%s", err.msg);
	spawn(_metadata, self, KID_SLEEP, -1);

	ASSERT_EQ(0, cgroup_stats(self->cg, &st, &err)) TH_LOG("%s", err.msg);
	ASSERT_NE(NULL, st.pids_stats);
	EXPECT_LE(1ULL, st.pids_stats->current);
	EXPECT_EQ(50ULL, st.pids_stats->limit);
	ASSERT_NE(NULL, st.cpu_stats);
	ASSERT_NE(NULL, st.cpu_stats->cpu_usage);
	usage0 = st.cpu_stats->cpu_usage->total_usage;
	EXPECT_LE(1UL, st.cpu_stats->cpu_usage->n_percpu_usage);
	ASSERT_NE(NULL, st.memory_stats);
	ASSERT_NE(NULL, st.memory_stats->usage);
	EXPECT_NE(0ULL, st.memory_stats->usage->limit);
	EXPECT_LE(5UL, st.memory_stats->n_stats);
	EXPECT_NE(NULL, st.blkio_stats);
	cgroup_stats_free(&st);
	EXPECT_EQ(NULL, st.cpu_stats);

	/* A child that burns 200 ms of CPU shows up in the usage. */
	ASSERT_EQ(0, pipe2(done, O_CLOEXEC));
	spawn(_metadata, self, KID_BURN, done[1]);
	close(done[1]);
	pfd = (struct pollfd){ .fd = done[0], .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, 20000));
	ASSERT_EQ(1, read(done[0], &c, 1));
	close(done[0]);
	ASSERT_EQ(0, cgroup_stats(self->cg, &st, &err)) TH_LOG("%s", err.msg);
	ASSERT_NE(NULL, st.cpu_stats);
	EXPECT_LE(usage0 + 150000000ULL, st.cpu_stats->cpu_usage->total_usage)
	TH_LOG("usage %" PRIu64 " -> %" PRIu64 " ns", usage0,
	       st.cpu_stats->cpu_usage->total_usage);
	EXPECT_LE(2ULL, st.pids_stats->current);
	cgroup_stats_free(&st);
}

TEST_F(cg, oom)
{
	Grpc__LinuxResources res = GRPC__LINUX_RESOURCES__INIT;
	Grpc__LinuxMemory mem = GRPC__LINUX_MEMORY__INIT;
	struct herr err = { 0 };
	unsigned int events = 0;
	struct pollfd pfd;
	int fd, fd2, status, r;
	pid_t kid;

	mem.limit = 32 << 20;
	/* No swapping out of trouble either. */
	mem.swap = 32 << 20;
	res.memory = &mem;
	ASSERT_EQ(0, cgroup_apply(self->cg, &res, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(0, cgroup_oom_kills(self->cg));
	fd = cgroup_oom_fd(self->cg, &events, &err);
	if (fd < 0)
		SKIP(return, "no OOM notification here: %s", err.msg);
	/* Every call hands out a descriptor of its own. */
	fd2 = cgroup_oom_fd(self->cg, &events, &err);
	EXPECT_LE(0, fd2);
	EXPECT_NE(fd, fd2);
	close(fd2);

	kid = spawn(_metadata, self, KID_HOG, -1);
	ASSERT_EQ(kid, waitpid(kid, &status, 0));
	self->nkids--;
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		SKIP(return,
			   "a child touching 256 MiB under a 32 MiB limit was not OOM-killed (status %#x): the kernel's memory controller does not enforce it here",
			   status);
	pfd = (struct pollfd){ .fd = fd, .events = (short)events };
	r = poll(&pfd, 1, 10000);
	ASSERT_EQ(1, r);
	EXPECT_LE(1, cgroup_oom_kills(self->cg));
	/* Reading re-arms the watch: quiet until the next OOM. */
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	close(fd);
}

TEST_F(cg, destroy)
{
	struct herr err = { 0 };
	struct cgroup *other = NULL;
	char other_path[128];

	/* A sibling keeps the shared parent alive. */
	snprintf(other_path, sizeof(other_path), "%s/c2", self->top);
	ASSERT_EQ(0, cgroup_create(other_path, &other, &err))
	TH_LOG("%s", err.msg);
	ASSERT_EQ(0, cgroup_destroy(self->cg, &err)) TH_LOG("%s", err.msg);
	self->cg = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++) {
		if (!dir_exists(self->root, v1_ctrls[i], ""))
			continue;
		EXPECT_FALSE(dir_exists(self->root, v1_ctrls[i], self->path));
		EXPECT_TRUE(dir_exists(self->root, v1_ctrls[i], self->top));
	}
	/* The sibling made nothing, so it removes only itself. */
	ASSERT_EQ(0, cgroup_destroy(other, &err)) TH_LOG("%s", err.msg);
	EXPECT_TRUE(dir_exists(self->root, "memory", self->top));
	rmdir_all(self->root, self->top);
}

TEST_F(cg, destroy_right_after_kill)
{
	struct herr err = { 0 };
	pid_t kid;

	/* Destroy while the killed child may still be on its way out. */
	kid = spawn(_metadata, self, KID_SLEEP, -1);
	kill(kid, SIGKILL);
	ASSERT_EQ(0, cgroup_destroy(self->cg, &err)) TH_LOG("%s", err.msg);
	self->cg = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++) {
		EXPECT_FALSE(dir_exists(self->root, v1_ctrls[i], self->top))
		TH_LOG("%s", v1_ctrls[i]);
	}
}

TEST_F(cg, destroy_busy)
{
	struct herr err = { 0 };
	char want[160];
	pid_t kid;

	/* A live task keeps it busy: a bounded wait, then a named error. */
	kid = spawn(_metadata, self, KID_SLEEP, -1);
	ASSERT_EQ(-1, cgroup_destroy(self->cg, &err));
	EXPECT_EQ(EBUSY, err.errnum);
	snprintf(want, sizeof(want), "cgroup %s: rmdir %s/", self->path,
		 self->root);
	EXPECT_NE(NULL, strstr(err.msg, want)) TH_LOG("%s", err.msg);
	/* Still usable: once the task is gone, destroy works. */
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	self->nkids = 0;
	ASSERT_EQ(0, cgroup_destroy(self->cg, &err)) TH_LOG("%s", err.msg);
	self->cg = NULL;
	EXPECT_FALSE(dir_exists(self->root, "memory", self->top));
}

/* The container may make cgroups below its own (cgroup namespace). */
TEST_F(cg, nested)
{
	struct herr err = { 0 };
	pid_t *pids = NULL;
	char p[256], val[24];
	size_t n = 0;
	pid_t kid;

	kid = spawn(_metadata, self, KID_SLEEP, -1);
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++) {
		if (!dir_exists(self->root, v1_ctrls[i], ""))
			continue;
		snprintf(p, sizeof(p), "%s/%s%s/sub", self->root, v1_ctrls[i],
			 self->path);
		ASSERT_EQ(0, mkdir(p, 0755)) TH_LOG("%s", p);
		if (!strcmp(v1_ctrls[i], "cpuset")) {
			char cpus[64];

			ASSERT_EQ(0, put(p, "cpuset.cpus",
					 cg_str(self, "cpuset", "cpuset.cpus",
						cpus, sizeof(cpus))));
			ASSERT_EQ(0, put(p, "cpuset.mems", "0"));
		}
		snprintf(val, sizeof(val), "%d", (int)kid);
		ASSERT_EQ(0, put(p, "cgroup.procs", val)) TH_LOG("%s", p);
	}
	ASSERT_EQ(0, cgroup_pids(self->cg, &pids, &n, &err))
	TH_LOG("%s", err.msg);
	EXPECT_TRUE(has_pid(pids, n, kid));
	free(pids);

	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	self->nkids = 0;
	ASSERT_EQ(0, cgroup_destroy(self->cg, &err)) TH_LOG("%s", err.msg);
	self->cg = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++)
		EXPECT_FALSE(dir_exists(self->root, v1_ctrls[i], self->top));
}

TEST(bad_paths)
{
	static const char *const paths[] = { "",	"/",  "//",
					     "/a/../b", "..", "/./" };
	struct herr err = { 0 };
	struct cgroup *cg = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		EXPECT_EQ(-1, cgroup_create(paths[i], &cg, &err))
		TH_LOG("\"%s\"", paths[i]);
		EXPECT_EQ(GRPC_INVALID_ARGUMENT, err.code)
		TH_LOG("%s", err.msg);
		EXPECT_EQ(NULL, cg);
	}
}

/* ---- v2, as far as the hybrid cgroup2 here allows ---- */

FIXTURE(cg2)
{
	FIXTURE_DATA(cg) c;
};

FIXTURE_SETUP(cg2)
{
	if (!is_fs(unified, CGROUP2_SUPER_MAGIC))
		SKIP(return, "no cgroup2 at %s", unified);
	fixture_init(_metadata, &self->c, unified);
}

FIXTURE_TEARDOWN(cg2)
{
	fixture_cleanup(&self->c);
}

TEST_F(cg2, freeze_pids_stats)
{
	FIXTURE_DATA(cg) *c = &self->c;
	Grpc__CgroupStats st = GRPC__CGROUP_STATS__INIT;
	struct herr err = { 0 };
	uint64_t before, after;
	pid_t *pids = NULL;
	char buf[256], dir[256];
	size_t n = 0;
	pid_t kid;

	EXPECT_TRUE(cgroup_is_v2(c->cg));
	kid = spawn(_metadata, c, KID_SPIN, -1);
	ASSERT_EQ(0, cgroup_pids(c->cg, &pids, &n, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(1UL, n);
	EXPECT_TRUE(has_pid(pids, n, kid));
	free(pids);
	for (int i = 0; i < 200 && *c->counter == 0; i++)
		sleep_ms(5);

	ASSERT_EQ(0, cgroup_freeze(c->cg, true, &err)) TH_LOG("%s", err.msg);
	snprintf(dir, sizeof(dir), "%s%s", unified, c->path);
	EXPECT_NE(NULL, strstr(get(dir, "cgroup.events", buf, sizeof(buf)),
			       "frozen 1"))
	TH_LOG("%s", buf);
	EXPECT_STREQ("1\n", get(dir, "cgroup.freeze", buf, sizeof(buf)));
	before = *c->counter;
	sleep_ms(100);
	after = *c->counter;
	EXPECT_EQ(before, after);
	ASSERT_EQ(0, cgroup_freeze(c->cg, false, &err)) TH_LOG("%s", err.msg);
	for (int i = 0; i < 200 && *c->counter == after; i++)
		sleep_ms(5);
	EXPECT_NE(after, *c->counter);

	/* cpu.stat is there without the cpu controller. */
	ASSERT_EQ(0, cgroup_stats(c->cg, &st, &err)) TH_LOG("%s", err.msg);
	ASSERT_NE(NULL, st.cpu_stats);
	EXPECT_LT(0ULL, st.cpu_stats->cpu_usage->total_usage);
	cgroup_stats_free(&st);
}

TEST_F(cg2, missing_controller)
{
	FIXTURE_DATA(cg) *c = &self->c;
	Grpc__LinuxResources res = GRPC__LINUX_RESOURCES__INIT;
	Grpc__LinuxPids pids = GRPC__LINUX_PIDS__INIT;
	struct herr err = { 0 };
	char want[256];

	if (cg_file(c, "", "pids.max", want, sizeof(want)))
		SKIP(return, "the pids controller is enabled in %s", unified);
	pids.limit = 10;
	res.pids = &pids;
	ASSERT_EQ(-1, cgroup_apply(c->cg, &res, &err));
	/* The message names the cgroup and the file. */
	snprintf(want, sizeof(want), "cgroup %s: open %s%s/pids.max", c->path,
		 unified, c->path);
	EXPECT_NE(NULL, strstr(err.msg, want)) TH_LOG("%s", err.msg);
	EXPECT_EQ(ENOENT, err.errnum);
}

/*
 * ---- v2 writes and reads against a plain directory tree ----
 *
 * The host has no v2 memory/cpu/pids/io controllers, so the files of a
 * guest's cgroup2 are faked: a tree whose root lists cgroup.controllers
 * is taken for cgroup2.  Writes land in regular files, each holding the
 * last value written.
 */
static const char *const fake_files[] = {
	"memory.max",	   "memory.swap.max", "memory.low",
	"cpu.weight",	   "cpu.max",	      "cpuset.cpus",
	"cpuset.mems",	   "pids.max",	      "io.weight",
	"io.max",	   "cgroup.procs",    "cgroup.freeze",
	"cgroup.events",   "memory.stat",     "memory.current",
	"memory.peak",	   "memory.events",   "memory.swap.current",
	"pids.current",	   "io.stat",	      "cpu.stat",
	"hugetlb.2MB.max",
};

FIXTURE(fake)
{
	char root[64];
	char leaf[128];
	struct cgroup *cg;
};

FIXTURE_SETUP(fake)
{
	static const char ctrls[] = "cpuset cpu io memory hugetlb pids\n";
	struct herr err = { 0 };
	char top[96];

	snprintf(self->root, sizeof(self->root), "/tmp/husk-cgfake-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->root));
	snprintf(top, sizeof(top), "%s/top", self->root);
	snprintf(self->leaf, sizeof(self->leaf), "%s/c1", top);
	ASSERT_EQ(0, mkdir(top, 0755));
	ASSERT_EQ(0, mkdir(self->leaf, 0755));
	ASSERT_EQ(0, put(self->root, "cgroup.controllers", ctrls));
	ASSERT_EQ(0, put(self->root, "cgroup.subtree_control", "memory\n"));
	ASSERT_EQ(0, put(top, "cgroup.controllers", ctrls));
	ASSERT_EQ(0, put(top, "cgroup.subtree_control", ""));
	for (size_t i = 0; i < ARRAY_SIZE(fake_files); i++)
		ASSERT_EQ(0, put(self->leaf, fake_files[i], ""));
	cgroup_set_root(self->root);
	ASSERT_EQ(0, cgroup_create("/top/c1", &self->cg, &err))
	TH_LOG("%s", err.msg);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	return remove(path);
}

FIXTURE_TEARDOWN(fake)
{
	/* Directories with files in them: free, and remove them here. */
	cgroup_free(self->cg);
	if (self->root[0] == '/')
		nftw(self->root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TEST_F(fake, limits)
{
	Grpc__LinuxResources res = GRPC__LINUX_RESOURCES__INIT;
	Grpc__LinuxMemory mem = GRPC__LINUX_MEMORY__INIT;
	Grpc__LinuxCPU cpu = GRPC__LINUX_CPU__INIT;
	Grpc__LinuxPids pids = GRPC__LINUX_PIDS__INIT;
	Grpc__LinuxBlockIO blk = GRPC__LINUX_BLOCK_IO__INIT;
	Grpc__LinuxThrottleDevice rbps = GRPC__LINUX_THROTTLE_DEVICE__INIT;
	Grpc__LinuxThrottleDevice *rlist[] = { &rbps };
	Grpc__LinuxHugepageLimit huge = GRPC__LINUX_HUGEPAGE_LIMIT__INIT;
	Grpc__LinuxHugepageLimit *hlist[] = { &huge };
	struct herr err = { 0 };
	char buf[256], top[96];

	EXPECT_TRUE(cgroup_is_v2(self->cg));
	/*
	 * Controllers were handed down on the way, one write each, in
	 * v2_ctrls order; the root had memory already.
	 */
	EXPECT_STREQ("+pids", get(self->root, "cgroup.subtree_control", buf,
				  sizeof(buf)));
	snprintf(top, sizeof(top), "%s/top", self->root);
	EXPECT_STREQ("+pids",
		     get(top, "cgroup.subtree_control", buf, sizeof(buf)));

	ASSERT_EQ(0, put(self->leaf, "cpu.max", "max 250000\n"));
	mem.limit = 64 << 20;
	mem.swap = 96 << 20;
	mem.reservation = 32 << 20;
	cpu.shares = 1024;
	cpu.quota = 50000;
	cpu.cpus = "0-1";
	pids.limit = 100;
	blk.weight = 500;
	rbps.major = 8;
	rbps.minor = 0;
	rbps.rate = 1048576;
	blk.n_throttlereadbpsdevice = 1;
	blk.throttlereadbpsdevice = rlist;
	huge.pagesize = "2MB";
	huge.limit = 4 << 20;
	res.memory = &mem;
	res.cpu = &cpu;
	res.pids = &pids;
	res.blockio = &blk;
	res.n_hugepagelimits = 1;
	res.hugepagelimits = hlist;
	ASSERT_EQ(0, cgroup_apply(self->cg, &res, &err)) TH_LOG("%s", err.msg);

	EXPECT_STREQ("67108864",
		     get(self->leaf, "memory.max", buf, sizeof(buf)));
	/* v2 swap excludes memory: 96 MiB - 64 MiB. */
	EXPECT_STREQ("33554432",
		     get(self->leaf, "memory.swap.max", buf, sizeof(buf)));
	EXPECT_STREQ("33554432",
		     get(self->leaf, "memory.low", buf, sizeof(buf)));
	/* The default 1024 shares are weight 39 (1 + 1022 * 9999 / 262142). */
	EXPECT_STREQ("39", get(self->leaf, "cpu.weight", buf, sizeof(buf)));
	/* Quota alone keeps the period already set. */
	EXPECT_STREQ("50000 250000",
		     get(self->leaf, "cpu.max", buf, sizeof(buf)));
	EXPECT_STREQ("0-1", get(self->leaf, "cpuset.cpus", buf, sizeof(buf)));
	EXPECT_STREQ("100", get(self->leaf, "pids.max", buf, sizeof(buf)));
	/* blkio 500 of 10..1000 is io.weight 4950 of 1..10000. */
	EXPECT_STREQ("default 4950",
		     get(self->leaf, "io.weight", buf, sizeof(buf)));
	EXPECT_STREQ("8:0 rbps=1048576",
		     get(self->leaf, "io.max", buf, sizeof(buf)));
	EXPECT_STREQ("4194304",
		     get(self->leaf, "hugetlb.2MB.max", buf, sizeof(buf)));

	/* -1 is "max" on v2. */
	for (size_t i = 0; i < ARRAY_SIZE(fake_files); i++)
		ASSERT_EQ(0, put(self->leaf, fake_files[i], ""));
	ASSERT_EQ(0, put(self->leaf, "cpu.max", "20000 100000\n"));
	res.blockio = NULL;
	res.n_hugepagelimits = 0;
	mem.limit = -1;
	mem.swap = -1;
	mem.reservation = 0;
	cpu.shares = 0;
	cpu.quota = -1;
	cpu.cpus = "";
	pids.limit = -1;
	ASSERT_EQ(0, cgroup_apply(self->cg, &res, &err)) TH_LOG("%s", err.msg);
	EXPECT_STREQ("max", get(self->leaf, "memory.max", buf, sizeof(buf)));
	EXPECT_STREQ("max",
		     get(self->leaf, "memory.swap.max", buf, sizeof(buf)));
	EXPECT_STREQ("max 100000",
		     get(self->leaf, "cpu.max", buf, sizeof(buf)));
	EXPECT_STREQ("max", get(self->leaf, "pids.max", buf, sizeof(buf)));
	EXPECT_STREQ("", get(self->leaf, "cpu.weight", buf, sizeof(buf)));

	/* Swap needs a memory limit to be expressed on v2. */
	mem.limit = 0;
	mem.swap = 1 << 20;
	EXPECT_EQ(-1, cgroup_apply(self->cg, &res, &err));
	EXPECT_NE(NULL, strstr(err.msg, "linux.resources.memory.swap"))
	TH_LOG("%s", err.msg);
	/* Real-time CPU limits do not exist on v2. */
	mem.swap = 0;
	cpu.realtimeruntime = 1000;
	EXPECT_EQ(-1, cgroup_apply(self->cg, &res, &err));
	EXPECT_NE(NULL, strstr(err.msg, "realtimeRuntime"))
	TH_LOG("%s", err.msg);
}

TEST_F(fake, stats_and_oom)
{
	Grpc__CgroupStats st = GRPC__CGROUP_STATS__INIT;
	Grpc__BlkioStats *bs;
	struct herr err = { 0 };
	unsigned int events = 0;
	pid_t *pids = NULL;
	size_t n = 0;
	int fd;

	ASSERT_EQ(0, put(self->leaf, "cpu.stat",
			 "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"
			 "nr_periods 10\nnr_throttled 2\nthrottled_usec 7\n"));
	ASSERT_EQ(0, put(self->leaf, "memory.stat",
			 "anon 4096\nfile 8192\nkernel 100\n"));
	ASSERT_EQ(0, put(self->leaf, "memory.current", "12288\n"));
	ASSERT_EQ(0, put(self->leaf, "memory.peak", "20000\n"));
	ASSERT_EQ(0, put(self->leaf, "memory.max", "max\n"));
	ASSERT_EQ(0, put(self->leaf, "memory.events",
			 "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n"));
	ASSERT_EQ(0, put(self->leaf, "memory.swap.current", "0\n"));
	ASSERT_EQ(0, put(self->leaf, "memory.swap.max", "max\n"));
	ASSERT_EQ(0, put(self->leaf, "pids.current", "7\n"));
	ASSERT_EQ(0, put(self->leaf, "pids.max", "max\n"));
	ASSERT_EQ(
		0,
		put(self->leaf, "io.stat",
		    "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"
		    "253:1 rbytes=5 wbytes=6 rios=7 wios=8 dbytes=9 dios=10\n"));
	ASSERT_EQ(0, put(self->leaf, "cgroup.procs", "12\n345\n"));

	ASSERT_EQ(0, cgroup_stats(self->cg, &st, &err)) TH_LOG("%s", err.msg);
	ASSERT_NE(NULL, st.cpu_stats);
	EXPECT_EQ(1500000ULL, st.cpu_stats->cpu_usage->total_usage);
	EXPECT_EQ(1000000ULL, st.cpu_stats->cpu_usage->usage_in_usermode);
	EXPECT_EQ(500000ULL, st.cpu_stats->cpu_usage->usage_in_kernelmode);
	EXPECT_EQ(2ULL, st.cpu_stats->throttling_data->throttled_periods);
	EXPECT_EQ(7000ULL, st.cpu_stats->throttling_data->throttled_time);
	ASSERT_NE(NULL, st.memory_stats);
	EXPECT_EQ(8192ULL, st.memory_stats->cache);
	EXPECT_EQ(3UL, st.memory_stats->n_stats);
	EXPECT_STREQ("kernel", st.memory_stats->stats[2]->key);
	ASSERT_NE(NULL, st.memory_stats->usage);
	EXPECT_EQ(12288ULL, st.memory_stats->usage->usage);
	EXPECT_EQ(20000ULL, st.memory_stats->usage->max_usage);
	EXPECT_EQ(UINT64_MAX, st.memory_stats->usage->limit);
	EXPECT_EQ(3ULL, st.memory_stats->usage->failcnt);
	EXPECT_NE(NULL, st.memory_stats->swap_usage);
	ASSERT_NE(NULL, st.pids_stats);
	EXPECT_EQ(7ULL, st.pids_stats->current);
	EXPECT_EQ(0ULL, st.pids_stats->limit);
	bs = st.blkio_stats;
	ASSERT_NE(NULL, bs);
	ASSERT_EQ(6UL, bs->n_io_service_bytes_recursive);
	ASSERT_EQ(6UL, bs->n_io_serviced_recursive);
	EXPECT_STREQ("Read", bs->io_service_bytes_recursive[0]->op);
	EXPECT_EQ(100ULL, bs->io_service_bytes_recursive[0]->value);
	EXPECT_STREQ("Write", bs->io_service_bytes_recursive[1]->op);
	EXPECT_EQ(253ULL, bs->io_serviced_recursive[5]->major);
	EXPECT_EQ(1ULL, bs->io_serviced_recursive[5]->minor);
	EXPECT_STREQ("Discard", bs->io_serviced_recursive[5]->op);
	EXPECT_EQ(10ULL, bs->io_serviced_recursive[5]->value);
	cgroup_stats_free(&st);

	ASSERT_EQ(0, cgroup_pids(self->cg, &pids, &n, &err));
	ASSERT_EQ(2UL, n);
	EXPECT_EQ(12, pids[0]);
	EXPECT_EQ(345, pids[1]);
	free(pids);

	fd = cgroup_oom_fd(self->cg, &events, &err);
	EXPECT_LE(0, fd) TH_LOG("%s", err.msg);
	EXPECT_EQ((unsigned int)EPOLLPRI, events);
	EXPECT_EQ(2, cgroup_oom_kills(self->cg));
	/* The caller's copy is its own to close. */
	close(fd);
	EXPECT_EQ(2, cgroup_oom_kills(self->cg));
}

TEST_F(fake, freeze_timeout)
{
	struct herr err = { 0 };
	char buf[16];

	/* Nothing ever reports "frozen 1": bounded, thawed again, named. */
	ASSERT_EQ(0,
		  put(self->leaf, "cgroup.events", "populated 1\nfrozen 0\n"));
	EXPECT_EQ(-1, cgroup_freeze(self->cg, true, &err));
	EXPECT_EQ(GRPC_DEADLINE_EXCEEDED, err.code);
	EXPECT_NE(NULL, strstr(err.msg, "cgroup.events")) TH_LOG("%s", err.msg);
	EXPECT_STREQ("0", get(self->leaf, "cgroup.freeze", buf, sizeof(buf)));

	ASSERT_EQ(0,
		  put(self->leaf, "cgroup.events", "populated 1\nfrozen 1\n"));
	EXPECT_EQ(0, cgroup_freeze(self->cg, true, &err)) TH_LOG("%s", err.msg);
	EXPECT_STREQ("1", get(self->leaf, "cgroup.freeze", buf, sizeof(buf)));
}

TEST_HARNESS_MAIN
