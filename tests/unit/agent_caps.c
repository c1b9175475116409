// SPDX-License-Identifier: Apache-2.0
/*
 * Capabilities, rlimits and the user switch (agent/caps.c).  Everything that
 * changes the process's identity runs in a forked child that reports back
 * through its exit status, so the test can still clean up as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The harness adds no -Iagent. */
#include "caps.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

#define BIT(cap) (1ULL << (cap))

/* A CapXxx line of /proc/self/status, or ~0 if not found. */
static uint64_t status_caps(const char *key)
{
	char line[256];
	uint64_t v = ~0ULL;
	size_t klen = strlen(key);
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':')
			v = strtoull(line + klen + 1, NULL, 16);
	fclose(f);
	return v;
}

/* Run @fn in a child; its return value is the exit status (0 = ok). */
static int in_child(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 200 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

TEST(names)
{
	for (int cap = 0; cap <= 40; cap++) {
		const char *name = cap_name(cap);

		ASSERT_NE(NULL, name);
		EXPECT_EQ(cap, cap_from_name(name));
	}
	EXPECT_STREQ("CAP_CHOWN", cap_name(0));
	EXPECT_STREQ("CAP_NET_BIND_SERVICE", cap_name(10));
	EXPECT_STREQ("CAP_SYS_ADMIN", cap_name(21));
	EXPECT_STREQ("CAP_AUDIT_READ", cap_name(37));
	EXPECT_STREQ("CAP_CHECKPOINT_RESTORE", cap_name(40));
	EXPECT_EQ(NULL, cap_name(41));
	EXPECT_EQ(NULL, cap_name(-1));
	EXPECT_EQ(-1, cap_from_name("CAP_FOO"));
	EXPECT_EQ(-1, cap_from_name("chown"));
	/* The table agrees with the kernel headers. */
	EXPECT_EQ(CAP_BPF, cap_from_name("CAP_BPF"));
	EXPECT_EQ(CAP_CHECKPOINT_RESTORE,
		  cap_from_name("CAP_CHECKPOINT_RESTORE"));
}

TEST(parse_sets)
{
	char *bnd[] = { "CAP_CHOWN", "CAP_KILL", "CAP_CHECKPOINT_RESTORE" };
	char *eff[] = { "CAP_KILL" };
	char *inh[] = { "CAP_NET_RAW" };
	char *prm[] = { "CAP_KILL", "CAP_SETUID" };
	char *amb[] = { "CAP_SYS_ADMIN" };
	Grpc__LinuxCapabilities spec = GRPC__LINUX_CAPABILITIES__INIT;
	struct herr err = { 0 };
	struct caps c;

	spec.n_bounding = ARRAY_SIZE(bnd);
	spec.bounding = bnd;
	spec.n_effective = ARRAY_SIZE(eff);
	spec.effective = eff;
	spec.n_inheritable = ARRAY_SIZE(inh);
	spec.inheritable = inh;
	spec.n_permitted = ARRAY_SIZE(prm);
	spec.permitted = prm;
	spec.n_ambient = ARRAY_SIZE(amb);
	spec.ambient = amb;
	ASSERT_EQ(0, caps_parse(&spec, &c, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(40), c.bounding);
	EXPECT_EQ(BIT(CAP_KILL), c.effective);
	EXPECT_EQ(BIT(CAP_NET_RAW), c.inheritable);
	EXPECT_EQ(BIT(CAP_KILL) | BIT(CAP_SETUID), c.permitted);
	EXPECT_EQ(BIT(CAP_SYS_ADMIN), c.ambient);

	ASSERT_EQ(0, caps_parse(NULL, &c, &err));
	EXPECT_EQ(0ULL, c.bounding | c.effective | c.permitted);
}

TEST(parse_unknown)
{
	char *prm[] = { "CAP_KILL", "CAP_FOO" };
	Grpc__LinuxCapabilities spec = GRPC__LINUX_CAPABILITIES__INIT;
	struct herr err = { 0 };
	struct caps c;

	spec.n_permitted = ARRAY_SIZE(prm);
	spec.permitted = prm;
	ASSERT_EQ(-1, caps_parse(&spec, &c, &err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, err.code);
	EXPECT_NE(NULL, strstr(err.msg, "process.capabilities.permitted[1]"))
	TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "\"CAP_FOO\""));
}

TEST(rlimit_names)
{
	EXPECT_EQ(RLIMIT_NOFILE, rlimit_resource("RLIMIT_NOFILE"));
	EXPECT_EQ(RLIMIT_CORE, rlimit_resource("RLIMIT_CORE"));
	EXPECT_EQ(RLIMIT_RTTIME, rlimit_resource("RLIMIT_RTTIME"));
	EXPECT_EQ(-1, rlimit_resource("RLIMIT_FOO"));
	EXPECT_EQ(-1, rlimit_resource("nofile"));
}

TEST(rlimits_bad)
{
	Grpc__POSIXRlimit a = GRPC__POSIXRLIMIT__INIT;
	Grpc__POSIXRlimit b = GRPC__POSIXRLIMIT__INIT;
	Grpc__POSIXRlimit *list[] = { &a, &b };
	Grpc__Process proc = GRPC__PROCESS__INIT;
	struct herr err = { 0 };

	a.type = "RLIMIT_NOFILE";
	a.soft = 10;
	a.hard = 20;
	b.type = "RLIMIT_BOGUS";
	proc.n_rlimits = 2;
	proc.rlimits = list;
	ASSERT_EQ(-1, rlimits_check(&proc, &err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, err.code);
	EXPECT_NE(NULL, strstr(err.msg, "process.rlimits[1].type"))
	TH_LOG("%s", err.msg);

	b.type = "RLIMIT_CORE";
	b.soft = 30;
	b.hard = 5;
	ASSERT_EQ(-1, rlimits_check(&proc, &err));
	EXPECT_NE(NULL, strstr(err.msg, "process.rlimits[1]"))
	TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "soft limit 30 exceeds hard limit 5"));
	/* rlimits_apply refuses it too, before touching anything. */
	ASSERT_EQ(-1, rlimits_apply(&proc, &err));

	b.type = "RLIMIT_NOFILE";
	b.soft = 1;
	ASSERT_EQ(-1, rlimits_check(&proc, &err));
	EXPECT_NE(NULL, strstr(err.msg, "given twice")) TH_LOG("%s", err.msg);

	b.type = "RLIMIT_CORE";
	EXPECT_EQ(0, rlimits_check(&proc, &err)) TH_LOG("%s", err.msg);
}

static int rlimits_child(void *arg)
{
	Grpc__Process *proc = arg;
	struct herr err = { 0 };
	struct rlimit lim;

	if (rlimits_apply(proc, &err)) {
		fprintf(stderr, "# %s\n", err.msg);
		return 1;
	}
	if (getrlimit(RLIMIT_NOFILE, &lim) || lim.rlim_cur != 512 ||
	    lim.rlim_max != 1024)
		return 2;
	if (getrlimit(RLIMIT_CORE, &lim) || lim.rlim_cur != 0 ||
	    lim.rlim_max != RLIM_INFINITY)
		return 3;
	return 0;
}

TEST(rlimits_set)
{
	Grpc__POSIXRlimit nofile = GRPC__POSIXRLIMIT__INIT;
	Grpc__POSIXRlimit core = GRPC__POSIXRLIMIT__INIT;
	Grpc__POSIXRlimit *list[] = { &nofile, &core };
	Grpc__Process proc = GRPC__PROCESS__INIT;
	struct rlimit cur;

	/* Raising a hard limit needs CAP_SYS_RESOURCE, which hosts lack. */
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &cur));
	if (cur.rlim_max < 1024)
		SKIP(return, "RLIMIT_NOFILE hard limit %lu < 1024",
			   (unsigned long)cur.rlim_max);
	ASSERT_EQ(0, getrlimit(RLIMIT_CORE, &cur));
	if (cur.rlim_max != RLIM_INFINITY)
		SKIP(return, "RLIMIT_CORE hard limit is not unlimited");
	nofile.type = "RLIMIT_NOFILE";
	nofile.soft = 512;
	nofile.hard = 1024;
	core.type = "RLIMIT_CORE";
	core.soft = 0;
	core.hard = UINT64_MAX;
	proc.n_rlimits = 2;
	proc.rlimits = list;
	EXPECT_EQ(0, in_child(rlimits_child, &proc));
}

/* A root-owned file for the chown checks, removed in teardown. */
FIXTURE(ident)
{
	char file[64];
	Grpc__User user;
	Grpc__Process proc;
	struct caps caps;
};

FIXTURE_SETUP(ident)
{
	int fd;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	snprintf(self->file, sizeof(self->file), "/tmp/husk-caps-%d",
		 (int)getpid());
	fd = open(self->file, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	self->user = (Grpc__User)GRPC__USER__INIT;
	self->proc = (Grpc__Process)GRPC__PROCESS__INIT;
	self->user.uid = 65534;
	self->user.gid = 65534;
	self->proc.user = &self->user;
	memset(&self->caps, 0, sizeof(self->caps));
}

FIXTURE_TEARDOWN(ident)
{
	if (self->file[0])
		unlink(self->file);
}

struct ident_arg {
	FIXTURE_DATA(ident) * self;
	/* What the child then checks. */
	int mode;
};

enum {
	CHOWN_FAILS,
	CHOWN_WORKS,
	BIND_LOW_PORT,
};

static int ident_child(void *p)
{
	struct ident_arg *a = p;
	struct herr err = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(80) };
	int fd;

	/* A private network namespace keeps port 80 free. */
	if (a->mode == BIND_LOW_PORT && unshare(CLONE_NEWNET))
		return 10;
	if (identity_apply(&a->self->proc, &a->self->caps, &err)) {
		fprintf(stderr, "# identity_apply: %s\n", err.msg);
		return 11;
	}
	if (getuid() != a->self->user.uid || geteuid() != a->self->user.uid ||
	    getgid() != a->self->user.gid)
		return 12;
	switch (a->mode) {
	case CHOWN_FAILS:
		if (chown(a->self->file, 1, 1) == 0 || errno != EPERM)
			return 13;
		return 0;
	case CHOWN_WORKS:
		if (chown(a->self->file, 1, 1))
			return 14;
		return 0;
	case BIND_LOW_PORT:
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return 15;
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return errno == EACCES ? 16 : 17;
		close(fd);
		return 0;
	}
	return 99;
}

TEST_F(ident, no_caps_chown_fails)
{
	struct ident_arg a = { self, CHOWN_FAILS };
	uint32_t gids[] = { 10, 20 };

	self->user.n_additionalgids = ARRAY_SIZE(gids);
	self->user.additionalgids = gids;
	EXPECT_EQ(0, in_child(ident_child, &a));
}

TEST_F(ident, chown_kept)
{
	struct ident_arg a = { self, CHOWN_WORKS };
	struct stat st;

	self->caps.bounding = BIT(CAP_CHOWN);
	self->caps.effective = BIT(CAP_CHOWN);
	self->caps.permitted = BIT(CAP_CHOWN);
	ASSERT_EQ(0, in_child(ident_child, &a));
	ASSERT_EQ(0, stat(self->file, &st));
	EXPECT_EQ(1U, st.st_uid);
}

TEST_F(ident, bind_service_as_1000)
{
	struct ident_arg a = { self, BIND_LOW_PORT };

	self->user.uid = 1000;
	self->user.gid = 1000;
	/* Without the capability: EACCES (exit 16). */
	EXPECT_EQ(16, in_child(ident_child, &a));
	self->caps.bounding = BIT(CAP_NET_BIND_SERVICE);
	self->caps.effective = BIT(CAP_NET_BIND_SERVICE);
	self->caps.permitted = BIT(CAP_NET_BIND_SERVICE);
	EXPECT_EQ(0, in_child(ident_child, &a));
}

static int sets_child(void *p)
{
	FIXTURE_DATA(ident) *self = p;
	struct herr err = { 0 };
	gid_t groups[8];

	if (identity_apply(&self->proc, &self->caps, &err)) {
		fprintf(stderr, "# identity_apply: %s\n", err.msg);
		return 1;
	}
	if (status_caps("CapBnd") !=
	    (BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE)))
		return 2;
	if (status_caps("CapEff") != BIT(CAP_KILL))
		return 3;
	if (status_caps("CapPrm") !=
	    (BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE)))
		return 4;
	if (status_caps("CapInh") != BIT(CAP_NET_BIND_SERVICE))
		return 5;
	if (status_caps("CapAmb") != BIT(CAP_NET_BIND_SERVICE))
		return 6;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 7;
	if (getgroups(8, groups) != 1 || groups[0] != 4242)
		return 8;
	return 0;
}

TEST_F(ident, all_sets)
{
	uint32_t gids[] = { 4242 };

	self->user.uid = 1000;
	self->user.gid = 1000;
	self->user.n_additionalgids = 1;
	self->user.additionalgids = gids;
	self->proc.nonewprivileges = true;
	self->caps.bounding =
		BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE);
	self->caps.effective = BIT(CAP_KILL);
	self->caps.permitted = BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE);
	self->caps.inheritable = BIT(CAP_NET_BIND_SERVICE);
	self->caps.ambient = BIT(CAP_NET_BIND_SERVICE);
	EXPECT_EQ(0, in_child(sets_child, self));
}

static int root_child(void *p)
{
	FIXTURE_DATA(ident) *self = p;
	struct herr err = { 0 };

	if (identity_apply(&self->proc, &self->caps, &err))
		return 1;
	/* uid 0 keeps what it asked for and nothing else. */
	if (status_caps("CapEff") != BIT(CAP_SYS_ADMIN) ||
	    status_caps("CapPrm") != BIT(CAP_SYS_ADMIN) ||
	    status_caps("CapBnd") != BIT(CAP_SYS_ADMIN))
		return 2;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
		return 3;
	return 0;
}

TEST_F(ident, root_reduced)
{
	self->user.uid = 0;
	self->user.gid = 0;
	self->caps.bounding = BIT(CAP_SYS_ADMIN);
	self->caps.effective = BIT(CAP_SYS_ADMIN);
	self->caps.permitted = BIT(CAP_SYS_ADMIN);
	EXPECT_EQ(0, in_child(root_child, self));
}

static int fail_child(void *p)
{
	FIXTURE_DATA(ident) *self = p;
	struct herr err = { 0 };

	/* Ambient needs the capability inheritable too: named error. */
	if (identity_apply(&self->proc, &self->caps, &err) == 0)
		return 1;
	if (!strstr(err.msg, "ambient CAP_KILL"))
		return 2;
	return 0;
}

TEST_F(ident, ambient_needs_inheritable)
{
	self->caps.bounding = BIT(CAP_KILL);
	self->caps.permitted = BIT(CAP_KILL);
	self->caps.ambient = BIT(CAP_KILL);
	EXPECT_EQ(0, in_child(fail_child, self));
}

TEST_HARNESS_MAIN
