// SPDX-License-Identifier: Apache-2.0
/*
 * Seccomp profiles (agent/seccomp.c): filters are built in the test process
 * and loaded in forked children, which report through their exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The harness adds no -Iagent. */
#include "seccomp.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

/* A profile under construction: up to 8 rules of up to 6 conditions. */
struct profile {
	Grpc__LinuxSeccomp spec;
	Grpc__LinuxSyscall sc[8];
	Grpc__LinuxSyscall *scp[8];
	Grpc__LinuxSeccompArg args[8][6];
	Grpc__LinuxSeccompArg *argp[8][6];
};

static void profile_init(struct profile *p, const char *def)
{
	memset(p, 0, sizeof(*p));
	p->spec = (Grpc__LinuxSeccomp)GRPC__LINUX_SECCOMP__INIT;
	p->spec.defaultaction = (char *)def;
	p->spec.syscalls = p->scp;
}

/* Add a rule for the NULL-terminated @names; returns its index. */
static size_t rule(struct profile *p, const char *action, char **names)
{
	size_t i = p->spec.n_syscalls++;
	Grpc__LinuxSyscall *sc = &p->sc[i];

	*sc = (Grpc__LinuxSyscall)GRPC__LINUX_SYSCALL__INIT;
	sc->action = (char *)action;
	sc->names = names;
	while (names[sc->n_names])
		sc->n_names++;
	sc->args = p->argp[i];
	p->scp[i] = sc;
	return i;
}

static void rule_errno(struct profile *p, size_t i, uint32_t e)
{
	p->sc[i].errno_ret_case = GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET;
	p->sc[i].errnoret = e;
}

static void cond(struct profile *p, size_t i, uint64_t index, const char *op,
		 uint64_t value, uint64_t value2)
{
	size_t k = p->sc[i].n_args++;
	Grpc__LinuxSeccompArg *a = &p->args[i][k];

	*a = (Grpc__LinuxSeccompArg)GRPC__LINUX_SECCOMP_ARG__INIT;
	a->index = index;
	a->op = (char *)op;
	a->value = value;
	a->valuetwo = value2;
	p->argp[i][k] = a;
}

/*
 * Load @f in a child and run @fn there.  Returns @fn's result (0 = ok),
 * 100 if loading failed, or 200 + signal if the child was killed.
 */
static int in_child(struct seccomp_filter *f, int (*fn)(void), bool drop_root)
{
	struct herr err = { 0 };
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct rlimit nocore = { 0, 0 };

		/* SIGSYS would dump core. */
		setrlimit(RLIMIT_CORE, &nocore);
		if (drop_root && setresuid(65534, 65534, 65534))
			_exit(101);
		if (seccomp_filter_load(f, &err)) {
			fprintf(stderr, "# %s\n", err.msg);
			_exit(100);
		}
		_exit(fn());
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 200 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int check_mkdir_denied(void)
{
	char dir[64];
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/husk-seccomp-%d", (int)getpid());
	if (mkdir(dir, 0700) == 0) {
		rmdir(dir);
		return 1;
	}
	if (errno != EPERM)
		return 2;
	if (syscall(SYS_mkdirat, AT_FDCWD, dir, 0700) == 0 || errno != EPERM)
		return 3;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 4;
	close(fd);
	return 0;
}

static int check_mkdir_denied_root(void)
{
	/* no_new_privs stays the spec's business when root loads it. */
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 0)
		return 5;
	return check_mkdir_denied();
}

TEST(mkdir_errno)
{
	char *names[] = { "mkdir", "mkdirat", NULL };
	struct seccomp_filter *f = NULL;
	struct herr err = { 0 };
	struct profile p;

	profile_init(&p, "SCMP_ACT_ALLOW");
	rule(&p, "SCMP_ACT_ERRNO", names);
	ASSERT_EQ(0, seccomp_filter_build(&p.spec, &f, &err))
	TH_LOG("%s", err.msg);
	EXPECT_EQ(0, in_child(f, check_mkdir_denied_root, false));
	seccomp_filter_free(f);
}

static int check_nnp_set(void)
{
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 1;
	return check_mkdir_denied() ? 2 : 0;
}

/* Without CAP_SYS_ADMIN the kernel wants no_new_privs: the loader sets it. */
TEST(load_unprivileged)
{
	char *names[] = { "mkdir", "mkdirat", NULL };
	struct seccomp_filter *f = NULL;
	struct herr err = { 0 };
	struct profile p;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch to uid 65534");
	profile_init(&p, "SCMP_ACT_ALLOW");
	rule(&p, "SCMP_ACT_ERRNO", names);
	ASSERT_EQ(0, seccomp_filter_build(&p.spec, &f, &err));
	EXPECT_EQ(0, in_child(f, check_nnp_set, true));
	seccomp_filter_free(f);
}

static int check_personality(void)
{
	/* 0xffffffff only queries the persona; the rule makes it fail. */
	errno = 0;
	if (personality(0xffffffff) != -1 || errno != ENOMSG)
		return 1;
	if (personality(PER_LINUX) == -1)
		return 2;
	return 0;
}

TEST(arg_condition)
{
	char *names[] = { "personality", NULL };
	struct seccomp_filter *f = NULL;
	struct herr err = { 0 };
	struct profile p;
	size_t r;

	profile_init(&p, "SCMP_ACT_ALLOW");
	r = rule(&p, "SCMP_ACT_ERRNO", names);
	rule_errno(&p, r, ENOMSG);
	cond(&p, r, 0, "SCMP_CMP_EQ", 0xffffffff, 0);
	ASSERT_EQ(0, seccomp_filter_build(&p.spec, &f, &err))
	TH_LOG("%s", err.msg);
	EXPECT_EQ(0, in_child(f, check_personality, false));
	seccomp_filter_free(f);
}

static long prio(int which, long who)
{
	errno = 0;
	return syscall(SYS_getpriority, (long)which, who);
}

static int check_conditions(void)
{
	long me = getpid();

	/* Rule 0: which == PRIO_PROCESS && who == 0x12345 (both). */
	if (prio(PRIO_PROCESS, 0x12345) != -1 || errno != ENOMSG)
		return 1;
	if (prio(PRIO_PGRP, 0x12345) == -1 && errno == ENOMSG)
		return 2;
	if (prio(PRIO_PROCESS, me) == -1)
		return 3;
	/* Rule 1: who & 0xffff0000 == 0x70000 (MASKED_EQ). */
	if (prio(PRIO_USER, 0x7abcd) != -1 || errno != EBADMSG)
		return 4;
	if (prio(PRIO_USER, 0x8abcd) == -1 && errno == EBADMSG)
		return 5;
	/* Rule 2: which == 5 || which == 6 (two conditions on one arg). */
	if (prio(5, 0) != -1 || errno != ENOLINK)
		return 6;
	if (prio(6, 0) != -1 || errno != ENOLINK)
		return 7;
	if (prio(7, 0) != -1 || errno != EINVAL)
		return 8;
	return 0;
}

TEST(conditions)
{
	char *names[] = { "getpriority", NULL };
	struct seccomp_filter *f = NULL;
	struct herr err = { 0 };
	struct profile p;
	size_t r;

	profile_init(&p, "SCMP_ACT_ALLOW");
	r = rule(&p, "SCMP_ACT_ERRNO", names);
	rule_errno(&p, r, ENOMSG);
	cond(&p, r, 0, "SCMP_CMP_EQ", PRIO_PROCESS, 0);
	cond(&p, r, 1, "SCMP_CMP_EQ", 0x12345, 0);
	r = rule(&p, "SCMP_ACT_ERRNO", names);
	rule_errno(&p, r, EBADMSG);
	cond(&p, r, 1, "SCMP_CMP_MASKED_EQ", 0xffff0000, 0x70000);
	r = rule(&p, "SCMP_ACT_ERRNO", names);
	rule_errno(&p, r, ENOLINK);
	cond(&p, r, 0, "SCMP_CMP_EQ", 5, 0);
	cond(&p, r, 0, "SCMP_CMP_EQ", 6, 0);
	ASSERT_EQ(0, seccomp_filter_build(&p.spec, &f, &err))
	TH_LOG("%s", err.msg);
	EXPECT_EQ(0, in_child(f, check_conditions, false));
	seccomp_filter_free(f);
}

static int call_getppid(void)
{
	syscall(SYS_getppid);
	return 0;
}

TEST(kill_and_trap)
{
	char *names[] = { "getppid", NULL };
	static const char *const actions[] = { "SCMP_ACT_KILL_PROCESS",
					       "SCMP_ACT_KILL",
					       "SCMP_ACT_TRAP" };

	for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
		struct seccomp_filter *f = NULL;
		struct herr err = { 0 };
		struct profile p;

		profile_init(&p, "SCMP_ACT_ALLOW");
		rule(&p, actions[i], names);
		ASSERT_EQ(0, seccomp_filter_build(&p.spec, &f, &err))
		TH_LOG("%s: %s", actions[i], err.msg);
		EXPECT_EQ(200 + SIGSYS, in_child(f, call_getppid, false))
		TH_LOG("%s", actions[i]);
		seccomp_filter_free(f);
	}
}

/* Names from other arches and releases are skipped, as runc does. */
TEST(multi_arch_profile)
{
	char *names[] = { "mkdir",
			  "no_such_syscall",
			  "arm_fadvise64_64",
			  "socketcall",
			  "s390_pci_mmio_read",
			  "_llseek",
			  "mkdirat",
			  NULL };
	char *allow[] = { "getpid", "time", NULL };
	char *arches[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
			   "SCMP_ARCH_AARCH64" };
	char *flags[] = { "SECCOMP_FILTER_FLAG_LOG",
			  "SECCOMP_FILTER_FLAG_SPEC_ALLOW" };
	struct seccomp_filter *f = NULL;
	struct herr err = { 0 };
	struct profile p;
	size_t r;

	profile_init(&p, "SCMP_ACT_ALLOW");
	p.spec.n_architectures = ARRAY_SIZE(arches);
	p.spec.architectures = arches;
	p.spec.n_flags = ARRAY_SIZE(flags);
	p.spec.flags = flags;
	r = rule(&p, "SCMP_ACT_ERRNO", names);
	rule_errno(&p, r, EPERM);
	/* Same as the default action: dropped, not an error. */
	rule(&p, "SCMP_ACT_ALLOW", allow);
	ASSERT_EQ(0, seccomp_filter_build(&p.spec, &f, &err))
	TH_LOG("%s", err.msg);
	EXPECT_EQ(0, in_child(f, check_mkdir_denied, false));
	seccomp_filter_free(f);
}

/* Build must fail with @code and a message containing @want. */
static void expect_error(struct __test_metadata *_metadata, struct profile *p,
			 int code, const char *want)
{
	struct seccomp_filter *f = (struct seccomp_filter *)1;
	struct herr err = { 0 };

	EXPECT_EQ(-1, seccomp_filter_build(&p->spec, &f, &err));
	EXPECT_EQ(NULL, f);
	EXPECT_EQ(code, err.code) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, want))
	TH_LOG("want \"%s\" in \"%s\"", want, err.msg);
}

TEST(bad_profiles)
{
	char *names[] = { "mkdir", NULL };
	char *bad_arch[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_VAX" };
	char *bad_flag[] = { "SECCOMP_FILTER_FLAG_NOPE" };
	struct profile p;
	size_t r;

	profile_init(&p, "SCMP_ACT_BOGUS");
	expect_error(
		_metadata, &p, GRPC_INVALID_ARGUMENT,
		"linux.seccomp.defaultAction: unknown action \"SCMP_ACT_BOGUS\"");

	profile_init(&p, "");
	expect_error(_metadata, &p, GRPC_INVALID_ARGUMENT,
		     "linux.seccomp.defaultAction: missing action");

	profile_init(&p, "SCMP_ACT_ALLOW");
	rule(&p, "SCMP_ACT_ERRNO", names);
	rule(&p, "SCMP_ACT_FOO", names);
	expect_error(
		_metadata, &p, GRPC_INVALID_ARGUMENT,
		"linux.seccomp.syscalls[1].action: unknown action \"SCMP_ACT_FOO\"");

	profile_init(&p, "SCMP_ACT_ALLOW");
	rule(&p, "SCMP_ACT_NOTIFY", names);
	expect_error(
		_metadata, &p, GRPC_UNIMPLEMENTED,
		"linux.seccomp.syscalls[0].action: \"SCMP_ACT_NOTIFY\" is not supported");

	profile_init(&p, "SCMP_ACT_ALLOW");
	r = rule(&p, "SCMP_ACT_ERRNO", names);
	cond(&p, r, 0, "SCMP_CMP_EQ", 1, 0);
	cond(&p, r, 1, "SCMP_CMP_ALMOST", 1, 0);
	expect_error(
		_metadata, &p, GRPC_INVALID_ARGUMENT,
		"linux.seccomp.syscalls[0].args[1].op: unknown operator \"SCMP_CMP_ALMOST\"");

	profile_init(&p, "SCMP_ACT_ALLOW");
	r = rule(&p, "SCMP_ACT_ERRNO", names);
	cond(&p, r, 6, "SCMP_CMP_EQ", 1, 0);
	expect_error(_metadata, &p, GRPC_INVALID_ARGUMENT,
		     "linux.seccomp.syscalls[0].args[0].index: 6 out of range");

	profile_init(&p, "SCMP_ACT_ALLOW");
	r = rule(&p, "SCMP_ACT_ERRNO", names);
	rule_errno(&p, r, 70000);
	expect_error(
		_metadata, &p, GRPC_INVALID_ARGUMENT,
		"linux.seccomp.syscalls[0].action: errnoRet 70000 out of range");

	profile_init(&p, "SCMP_ACT_ALLOW");
	p.spec.n_architectures = ARRAY_SIZE(bad_arch);
	p.spec.architectures = bad_arch;
	expect_error(
		_metadata, &p, GRPC_INVALID_ARGUMENT,
		"linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\"");

	profile_init(&p, "SCMP_ACT_ALLOW");
	p.spec.n_flags = ARRAY_SIZE(bad_flag);
	p.spec.flags = bad_flag;
	expect_error(
		_metadata, &p, GRPC_INVALID_ARGUMENT,
		"linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_NOPE\"");

	profile_init(&p, "SCMP_ACT_ALLOW");
	rule(&p, "SCMP_ACT_ERRNO", (char *[]){ NULL });
	expect_error(_metadata, &p, GRPC_INVALID_ARGUMENT,
		     "linux.seccomp.syscalls[0].names: empty");
}

TEST_HARNESS_MAIN
