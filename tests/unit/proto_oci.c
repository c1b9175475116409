// SPDX-License-Identifier: Apache-2.0
/*
 * Schema tests for protos/: the agent API (CreateContainerRequest with a
 * full OCI spec, Health) and the containerd shim v2 messages.  Each message
 * is packed with protobuf-c, unpacked again and compared field by field,
 * and the bytes are also handed to Debian's protoc, which decodes them from
 * the .proto text alone.  protoc and protobuf-c are independent readers of
 * the same schema, so a wrong field number or type in protos/ would show up
 * as a mismatch here.  A few tiny messages are checked byte for byte
 * against encodings worked out by hand from the wire rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"

/*
 * ASSERT_EQ(24, msg->field) compares an int literal with the field's own
 * (often unsigned) type; the harness prints both with their signedness, so
 * the warning adds nothing here.
 */
#pragma GCC diagnostic ignored "-Wsign-compare"

#include "agent.pb-c.h"
#include "health.pb-c.h"
#include "mem_agent.pb-c.h"
#include "containerd/task/shim.pb-c.h"
#include "containerd/events/events.pb-c.h"
#include "containerd/events/task.pb-c.h"
#include "containerd/runtimeoptions.pb-c.h"

#if defined(__SANITIZE_ADDRESS__)
#define PROTO_TEST_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PROTO_TEST_LSAN 1
#endif
#endif
#ifdef PROTO_TEST_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#define PROTOC "/usr/bin/protoc"

/*
 * Each test runs in a child that leaves through _exit(), which skips
 * LeakSanitizer's exit-time check, so tests ask for it explicitly.
 */
static int leak_check(void)
{
#ifdef PROTO_TEST_LSAN
	return __lsan_do_recoverable_leak_check();
#else
	return 0;
#endif
}

/*
 * The schemas are read from <repo>/protos.  make check runs tests from the
 * repository root; when started elsewhere, fall back to the root three
 * levels above the binary (build/<variant>/tests/<name>).
 */
static const char *protos_dir(void)
{
	static char dir[PATH_MAX + 16];
	char exe[PATH_MAX];
	ssize_t n;
	int i;

	if (dir[0])
		return dir;
	if (access("protos/agent.proto", R_OK) == 0 &&
	    getcwd(exe, sizeof(exe) - 8)) {
		snprintf(dir, sizeof(dir), "%s/protos", exe);
		return dir;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return "protos";
	exe[n] = '\0';
	for (i = 0; i < 4; i++) {
		char *slash = strrchr(exe, '/');

		if (!slash)
			return "protos";
		*slash = '\0';
	}
	snprintf(dir, sizeof(dir), "%s/protos", exe);
	return dir;
}

/*
 * Run protoc with @mode ("--decode=TYPE" or "--encode=TYPE") on @proto,
 * feeding @in on stdin.  stdin is a memfd rather than a pipe so that a large
 * input cannot deadlock against protoc's output.  Returns protoc's exit
 * status (or -1), with its stdout in *@out (NUL-terminated, caller frees).
 */
static int protoc_run(const char *mode, const char *proto, const void *in,
		      size_t in_len, char **out, size_t *out_len)
{
	char path_arg[PATH_MAX + 32];
	size_t cap = 4096, len = 0;
	char *buf = NULL;
	int pfd[2] = { -1, -1 };
	int status, in_fd;
	pid_t pid;

	*out = NULL;
	snprintf(path_arg, sizeof(path_arg), "--proto_path=%s", protos_dir());
	in_fd = memfd_create("protoc-in", MFD_CLOEXEC);
	if (in_fd < 0)
		return -1;
	if (in_len && write(in_fd, in, in_len) != (ssize_t)in_len)
		goto fail;
	if (lseek(in_fd, 0, SEEK_SET) != 0 || pipe2(pfd, O_CLOEXEC) < 0)
		goto fail;

	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		if (dup2(in_fd, 0) < 0 || dup2(pfd[1], 1) < 0)
			_exit(127);
		execl(PROTOC, PROTOC, mode, path_arg,
		      "--proto_path=/usr/include", proto, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	pfd[1] = -1;

	buf = malloc(cap);
	for (;;) {
		ssize_t r;

		if (!buf)
			break;
		if (cap - len < 1024) {
			char *nbuf = realloc(buf, cap * 2);

			if (!nbuf) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nbuf;
			cap *= 2;
		}
		r = read(pfd[0], buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += r;
	}
	close(pfd[0]);
	close(in_fd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!buf)
		return -1;
	buf[len] = '\0';
	*out = buf;
	if (out_len)
		*out_len = len;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;

fail:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	close(in_fd);
	return -1;
}

/*
 * True if @text has a line equal to @line.  The indentation is part of the
 * match: protoc indents two spaces per nesting level, so the leading spaces
 * also say in which message the field was found.
 */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') &&
		    (p[n] == '\n' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

/* Count the lines of @text equal to @line (indentation included). */
static int count_lines(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;
	int count = 0;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') &&
		    (p[n] == '\n' || p[n] == '\0'))
			count++;
		p += n;
	}
	return count;
}

#define ASSERT_LINE(text, line)                                        \
	do {                                                           \
		if (!has_line(text, line))                             \
			TH_LOG("protoc output lacks line '%s'", line); \
		ASSERT_TRUE(has_line(text, line));                     \
	} while (0)

static void check_strv(struct __test_metadata *_metadata, char *const *want,
		       size_t n_want, char *const *got, size_t n_got)
{
	size_t i;

	ASSERT_EQ(n_want, n_got);
	for (i = 0; i < n_want; i++)
		ASSERT_STREQ(want[i], got[i]);
}

/* Compare repeated string field @field of message @msg with array @want. */
#define CHECK_STRV(want, msg, field)                                \
	check_strv(_metadata, want, ARRAY_SIZE(want), (msg)->field, \
		   (msg)->n_##field)

/* Point repeated field @field of struct @msg at the whole array @arr. */
#define SET_REP(msg, field, arr)                   \
	do {                                       \
		(msg).n_##field = ARRAY_SIZE(arr); \
		(msg).field = (arr);               \
	} while (0)

/* Look a key up in a map field (protobuf-c keeps maps as entry arrays). */
#define MAP_GET(msg, field, k)                                   \
	({                                                       \
		const char *_v = NULL;                           \
		for (size_t _i = 0; _i < (msg)->n_##field; _i++) \
			if (!strcmp((msg)->field[_i]->key, (k))) \
				_v = (msg)->field[_i]->value;    \
		_v;                                              \
	})

/* Pack any generated message into a fresh buffer. */
static uint8_t *pack_msg(const ProtobufCMessage *msg, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(msg);
	buf = malloc(*len ? *len : 1);
	if (buf && protobuf_c_message_pack(msg, buf) != *len) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Expect @msg to pack to exactly the @n bytes at @want. */
static void check_bytes(struct __test_metadata *_metadata,
			const ProtobufCMessage *msg, const uint8_t *want,
			size_t n)
{
	uint8_t *got;
	size_t len, i;

	got = pack_msg(msg, &len);
	ASSERT_NE(NULL, got);
	if (len != n || memcmp(got, want, n)) {
		fprintf(stderr, "# %s: packed", msg->descriptor->name);
		for (i = 0; i < len; i++)
			fprintf(stderr, " %02x", got[i]);
		fprintf(stderr, "\n");
	}
	ASSERT_EQ(n, len);
	ASSERT_EQ(0, memcmp(got, want, n));
	free(got);
}

#define CHECK_BYTES(msg, ...)                                              \
	do {                                                               \
		static const uint8_t _want[] = { __VA_ARGS__ };            \
		check_bytes(_metadata, &(msg).base, _want, sizeof(_want)); \
	} while (0)

/* --- The CreateContainerRequest fixture ------------------------------- */

/*
 * Values chosen to exercise the encoding: negative int64s (10-byte
 * varints), UINT64_MAX, an explicit errno 0 in the seccomp oneof, empty and
 * non-empty repeated fields, two map entries per map.
 */
static char *proc_args[] = { "/bin/sh", "-c", "echo hi >/dev/null" };
static char *proc_env[] = { "PATH=/usr/local/bin:/usr/bin:/bin", "TERM=xterm",
			    "HOME=/root" };
static uint32_t proc_gids[] = { 10, 27, 65534 };
static char *cap_bounding[] = { "CAP_CHOWN", "CAP_NET_BIND_SERVICE",
				"CAP_KILL" };
static char *cap_effective[] = { "CAP_CHOWN", "CAP_KILL" };
static char *cap_inheritable[] = { "CAP_AUDIT_WRITE" };
static char *cap_permitted[] = { "CAP_CHOWN", "CAP_KILL", "CAP_SETUID" };
static char *cap_ambient[] = { "CAP_NET_RAW" };
static char *mnt_proc_opts[] = { "nosuid", "noexec", "nodev" };
static char *mnt_shm_opts[] = { "rbind", "ro", "mode=1777" };
static char *hook_args[] = { "oci-hook", "--stage", "prestart" };
static char *hook_env[] = { "HOOK_DEBUG=1" };
static char *masked[] = { "/proc/kcore", "/proc/keys", "/sys/firmware" };
static char *readonly[] = { "/proc/bus", "/proc/sys", "/proc/sysrq-trigger" };
static char *seccomp_arches[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
				  "SCMP_ARCH_X32" };
static char *seccomp_flags[] = { "SECCOMP_FILTER_FLAG_LOG" };
static char *sys_allow[] = { "read", "write", "exit_group" };
static char *sys_personality[] = { "personality" };
static char *sys_eperm[] = { "mkdirat", "unshare" };
static char *sys_errno0[] = { "ptrace" };
static char *user_groups[] = { "audio", "video" };
static char *dev_opts[] = { "0000:00:02.0=02/00" };
static char *sto_virtiofs_opts[] = { "dax" };
static char *sto_ephem_dopts[] = { "encryption_key=ephemeral" };
static char *sto_ephem_opts[] = { "fsgid=2000", "size=67108864" };

static const char *const hook_paths[6] = {
	"/usr/libexec/hooks/prestart",	 "/usr/libexec/hooks/poststart",
	"/usr/libexec/hooks/poststop",	 "/usr/libexec/hooks/create-runtime",
	"/usr/libexec/hooks/create-ctr", "/usr/libexec/hooks/start-ctr",
};

struct cc_fixture {
	Grpc__CreateContainerRequest req;
	Grpc__StringUser suser;
	Grpc__Device dev, *devs[1];
	Grpc__Storage sto[2], *stos[2];
	Grpc__FSGroup fsgroup;
	Grpc__SharedMount shm, *shms[1];

	Grpc__Spec spec;
	Grpc__Process proc;
	Grpc__Box box;
	Grpc__User user;
	Grpc__LinuxCapabilities caps;
	Grpc__POSIXRlimit rl[2], *rls[2];
	Grpc__Root root;
	Grpc__Mount mnt[2], *mnts[2];
	Grpc__Hooks hooks;
	Grpc__Hook hook[6], *hookp[6][1];
	Grpc__Spec__AnnotationsEntry ann[2], *anns[2];

	Grpc__Linux linux_;
	Grpc__LinuxIDMapping uidm, gidm, *uidms[1], *gidms[1];
	Grpc__Linux__SysctlEntry sysctl[2], *sysctls[2];
	Grpc__LinuxNamespace ns[5], *nss[5];
	Grpc__LinuxDevice ldev[2], *ldevs[2];
	Grpc__LinuxIntelRdt rdt;

	Grpc__LinuxResources res;
	Grpc__LinuxDeviceCgroup devcg[2], *devcgs[2];
	Grpc__LinuxMemory mem;
	Grpc__LinuxCPU cpu;
	Grpc__LinuxPids pids;
	Grpc__LinuxBlockIO blkio;
	Grpc__LinuxWeightDevice wdev, *wdevs[1];
	Grpc__LinuxThrottleDevice thr[4], *thrs[4][1];
	Grpc__LinuxHugepageLimit huge[2], *huges[2];
	Grpc__LinuxNetwork net;
	Grpc__LinuxInterfacePriority prio, *prios[1];

	Grpc__LinuxSeccomp seccomp;
	Grpc__LinuxSyscall sys[4], *syss[4];
	Grpc__LinuxSeccompArg sarg[2], *sargs[2];
};

static void build_process(struct cc_fixture *f)
{
	f->box = (Grpc__Box)GRPC__BOX__INIT;
	f->box.height = 24;
	f->box.width = 80;

	f->user = (Grpc__User)GRPC__USER__INIT;
	f->user.uid = 1000;
	f->user.gid = 1001;
	SET_REP(f->user, additionalgids, proc_gids);
	f->user.username = "app";

	f->caps = (Grpc__LinuxCapabilities)GRPC__LINUX_CAPABILITIES__INIT;
	SET_REP(f->caps, bounding, cap_bounding);
	SET_REP(f->caps, effective, cap_effective);
	SET_REP(f->caps, inheritable, cap_inheritable);
	SET_REP(f->caps, permitted, cap_permitted);
	SET_REP(f->caps, ambient, cap_ambient);

	for (int i = 0; i < 2; i++) {
		f->rl[i] = (Grpc__POSIXRlimit)GRPC__POSIXRLIMIT__INIT;
		f->rls[i] = &f->rl[i];
	}
	f->rl[0].type = "RLIMIT_NOFILE";
	f->rl[0].hard = 1048576;
	f->rl[0].soft = 1024;
	f->rl[1].type = "RLIMIT_CORE";
	f->rl[1].hard = UINT64_MAX;
	f->rl[1].soft = 0;

	f->proc = (Grpc__Process)GRPC__PROCESS__INIT;
	f->proc.terminal = true;
	f->proc.consolesize = &f->box;
	f->proc.user = &f->user;
	SET_REP(f->proc, args, proc_args);
	SET_REP(f->proc, env, proc_env);
	f->proc.cwd = "/srv/app";
	f->proc.capabilities = &f->caps;
	SET_REP(f->proc, rlimits, f->rls);
	f->proc.nonewprivileges = true;
	f->proc.apparmorprofile = "husk-default";
	f->proc.oomscoreadj = -999;
	f->proc.selinuxlabel = "system_u:system_r:container_t:s0:c1,c2";
}

static void build_resources(struct cc_fixture *f)
{
	static const int64_t thr_minor[4] = { 0, 16, 32, 48 };
	static const uint64_t thr_rate[4] = { 1048576, 2097152, 1000, 2000 };
	int i;

	for (i = 0; i < 2; i++) {
		f->devcg[i] = (Grpc__LinuxDeviceCgroup)
			GRPC__LINUX_DEVICE_CGROUP__INIT;
		f->devcgs[i] = &f->devcg[i];
	}
	/* Deny all (-1 wildcards), then allow /dev/fuse. */
	f->devcg[0].type = "a";
	f->devcg[0].major = -1;
	f->devcg[0].minor = -1;
	f->devcg[0].access = "rwm";
	f->devcg[1].allow = true;
	f->devcg[1].type = "c";
	f->devcg[1].major = 10;
	f->devcg[1].minor = 229;
	f->devcg[1].access = "rw";

	f->mem = (Grpc__LinuxMemory)GRPC__LINUX_MEMORY__INIT;
	f->mem.limit = 268435456;
	f->mem.reservation = 134217728;
	f->mem.swap = 536870912;
	f->mem.kernel = -1;
	f->mem.kerneltcp = 16777216;
	f->mem.swappiness = 60;
	f->mem.disableoomkiller = true;

	f->cpu = (Grpc__LinuxCPU)GRPC__LINUX_CPU__INIT;
	f->cpu.shares = 1024;
	f->cpu.quota = 50000;
	f->cpu.period = 100000;
	f->cpu.realtimeruntime = 950000;
	f->cpu.realtimeperiod = 1000000;
	f->cpu.cpus = "0-1";
	f->cpu.mems = "0";

	f->pids = (Grpc__LinuxPids)GRPC__LINUX_PIDS__INIT;
	f->pids.limit = 512;

	f->wdev = (Grpc__LinuxWeightDevice)GRPC__LINUX_WEIGHT_DEVICE__INIT;
	f->wdev.major = 8;
	f->wdev.minor = 0;
	f->wdev.weight = 600;
	f->wdev.leafweight = 200;
	f->wdevs[0] = &f->wdev;
	for (i = 0; i < 4; i++) {
		f->thr[i] = (Grpc__LinuxThrottleDevice)
			GRPC__LINUX_THROTTLE_DEVICE__INIT;
		f->thr[i].major = 8;
		f->thr[i].minor = thr_minor[i];
		f->thr[i].rate = thr_rate[i];
		f->thrs[i][0] = &f->thr[i];
	}
	f->blkio = (Grpc__LinuxBlockIO)GRPC__LINUX_BLOCK_IO__INIT;
	f->blkio.weight = 500;
	f->blkio.leafweight = 300;
	SET_REP(f->blkio, weightdevice, f->wdevs);
	SET_REP(f->blkio, throttlereadbpsdevice, f->thrs[0]);
	SET_REP(f->blkio, throttlewritebpsdevice, f->thrs[1]);
	SET_REP(f->blkio, throttlereadiopsdevice, f->thrs[2]);
	SET_REP(f->blkio, throttlewriteiopsdevice, f->thrs[3]);

	for (i = 0; i < 2; i++) {
		f->huge[i] = (Grpc__LinuxHugepageLimit)
			GRPC__LINUX_HUGEPAGE_LIMIT__INIT;
		f->huges[i] = &f->huge[i];
	}
	f->huge[0].pagesize = "2MB";
	f->huge[0].limit = 67108864;
	f->huge[1].pagesize = "1GB";
	f->huge[1].limit = 1073741824;

	f->prio = (Grpc__LinuxInterfacePriority)
		GRPC__LINUX_INTERFACE_PRIORITY__INIT;
	f->prio.name = "eth0";
	f->prio.priority = 5;
	f->prios[0] = &f->prio;
	f->net = (Grpc__LinuxNetwork)GRPC__LINUX_NETWORK__INIT;
	f->net.classid = 0x100001;
	SET_REP(f->net, priorities, f->prios);

	f->res = (Grpc__LinuxResources)GRPC__LINUX_RESOURCES__INIT;
	SET_REP(f->res, devices, f->devcgs);
	f->res.memory = &f->mem;
	f->res.cpu = &f->cpu;
	f->res.pids = &f->pids;
	f->res.blockio = &f->blkio;
	SET_REP(f->res, hugepagelimits, f->huges);
	f->res.network = &f->net;
}

static void build_seccomp(struct cc_fixture *f)
{
	int i;

	for (i = 0; i < 2; i++) {
		f->sarg[i] =
			(Grpc__LinuxSeccompArg)GRPC__LINUX_SECCOMP_ARG__INIT;
		f->sargs[i] = &f->sarg[i];
	}
	f->sarg[0].index = 0;
	f->sarg[0].value = 0;
	f->sarg[0].op = "SCMP_CMP_EQ";
	f->sarg[1].index = 1;
	f->sarg[1].value = 0xffffffffULL;
	f->sarg[1].valuetwo = 0x20008ULL;
	f->sarg[1].op = "SCMP_CMP_MASKED_EQ";

	for (i = 0; i < 4; i++) {
		f->sys[i] = (Grpc__LinuxSyscall)GRPC__LINUX_SYSCALL__INIT;
		f->syss[i] = &f->sys[i];
	}
	SET_REP(f->sys[0], names, sys_allow);
	f->sys[0].action = "SCMP_ACT_ALLOW";
	SET_REP(f->sys[1], names, sys_personality);
	f->sys[1].action = "SCMP_ACT_ALLOW";
	SET_REP(f->sys[1], args, f->sargs);
	SET_REP(f->sys[2], names, sys_eperm);
	f->sys[2].action = "SCMP_ACT_ERRNO";
	f->sys[2].errno_ret_case = GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET;
	f->sys[2].errnoret = 1;
	/* errno 0 is a real value here: the oneof keeps it on the wire. */
	SET_REP(f->sys[3], names, sys_errno0);
	f->sys[3].action = "SCMP_ACT_ERRNO";
	f->sys[3].errno_ret_case = GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET;
	f->sys[3].errnoret = 0;

	f->seccomp = (Grpc__LinuxSeccomp)GRPC__LINUX_SECCOMP__INIT;
	f->seccomp.defaultaction = "SCMP_ACT_ERRNO";
	SET_REP(f->seccomp, architectures, seccomp_arches);
	SET_REP(f->seccomp, flags, seccomp_flags);
	SET_REP(f->seccomp, syscalls, f->syss);
}

static void build_linux(struct cc_fixture *f)
{
	static const char *const ns_types[5] = { "pid", "ipc", "uts", "mount",
						 "network" };
	int i;

	f->uidm = (Grpc__LinuxIDMapping)GRPC__LINUX_IDMAPPING__INIT;
	f->uidm.hostid = 100000;
	f->uidm.containerid = 0;
	f->uidm.size = 65536;
	f->uidms[0] = &f->uidm;
	f->gidm = (Grpc__LinuxIDMapping)GRPC__LINUX_IDMAPPING__INIT;
	f->gidm.hostid = 200000;
	f->gidm.containerid = 1;
	f->gidm.size = 1000;
	f->gidms[0] = &f->gidm;

	for (i = 0; i < 2; i++) {
		f->sysctl[i] = (Grpc__Linux__SysctlEntry)
			GRPC__LINUX__SYSCTL_ENTRY__INIT;
		f->sysctls[i] = &f->sysctl[i];
	}
	f->sysctl[0].key = "net.ipv4.ip_forward";
	f->sysctl[0].value = "1";
	f->sysctl[1].key = "kernel.shm_rmid_forced";
	f->sysctl[1].value = "0";

	for (i = 0; i < 5; i++) {
		f->ns[i] = (Grpc__LinuxNamespace)GRPC__LINUX_NAMESPACE__INIT;
		f->ns[i].type = (char *)ns_types[i];
		f->nss[i] = &f->ns[i];
	}
	f->ns[4].path = "/var/run/netns/cni-1";

	for (i = 0; i < 2; i++) {
		f->ldev[i] = (Grpc__LinuxDevice)GRPC__LINUX_DEVICE__INIT;
		f->ldevs[i] = &f->ldev[i];
	}
	f->ldev[0].path = "/dev/fuse";
	f->ldev[0].type = "c";
	f->ldev[0].major = 10;
	f->ldev[0].minor = 229;
	f->ldev[0].filemode = 020666;
	f->ldev[1].path = "/dev/xvda";
	f->ldev[1].type = "b";
	f->ldev[1].major = 253;
	f->ldev[1].minor = 1;
	f->ldev[1].filemode = 060660;
	f->ldev[1].uid = 1000;
	f->ldev[1].gid = 6;

	f->rdt = (Grpc__LinuxIntelRdt)GRPC__LINUX_INTEL_RDT__INIT;
	f->rdt.l3cacheschema = "L3:0=ff;1=0f";

	build_resources(f);
	build_seccomp(f);

	f->linux_ = (Grpc__Linux)GRPC__LINUX__INIT;
	SET_REP(f->linux_, uidmappings, f->uidms);
	SET_REP(f->linux_, gidmappings, f->gidms);
	SET_REP(f->linux_, sysctl, f->sysctls);
	f->linux_.resources = &f->res;
	f->linux_.cgroupspath = "/kubepods/besteffort/pod-1/ctr-3f2a";
	SET_REP(f->linux_, namespaces, f->nss);
	SET_REP(f->linux_, devices, f->ldevs);
	f->linux_.seccomp = &f->seccomp;
	f->linux_.rootfspropagation = "rslave";
	SET_REP(f->linux_, maskedpaths, masked);
	SET_REP(f->linux_, readonlypaths, readonly);
	f->linux_.mountlabel = "system_u:object_r:container_file_t:s0";
	f->linux_.intelrdt = &f->rdt;
}

static void build_spec(struct cc_fixture *f)
{
	int i;

	build_process(f);
	build_linux(f);

	f->root = (Grpc__Root)GRPC__ROOT__INIT;
	f->root.path = "/run/kata-containers/shared/containers/ctr-3f2a/rootfs";
	f->root.readonly = true;

	for (i = 0; i < 2; i++) {
		f->mnt[i] = (Grpc__Mount)GRPC__MOUNT__INIT;
		f->mnts[i] = &f->mnt[i];
	}
	f->mnt[0].destination = "/proc";
	f->mnt[0].source = "proc";
	f->mnt[0].type = "proc";
	SET_REP(f->mnt[0], options, mnt_proc_opts);
	f->mnt[1].destination = "/dev/shm";
	f->mnt[1].source = "/run/kata-containers/sandbox/shm";
	f->mnt[1].type = "bind";
	SET_REP(f->mnt[1], options, mnt_shm_opts);

	/* One hook per stage, each with its own path and timeout. */
	for (i = 0; i < 6; i++) {
		f->hook[i] = (Grpc__Hook)GRPC__HOOK__INIT;
		f->hook[i].path = (char *)hook_paths[i];
		f->hook[i].timeout = 5 + i;
		f->hookp[i][0] = &f->hook[i];
	}
	SET_REP(f->hook[0], args, hook_args);
	SET_REP(f->hook[0], env, hook_env);
	f->hooks = (Grpc__Hooks)GRPC__HOOKS__INIT;
	SET_REP(f->hooks, prestart, f->hookp[0]);
	SET_REP(f->hooks, poststart, f->hookp[1]);
	SET_REP(f->hooks, poststop, f->hookp[2]);
	SET_REP(f->hooks, createruntime, f->hookp[3]);
	SET_REP(f->hooks, createcontainer, f->hookp[4]);
	SET_REP(f->hooks, startcontainer, f->hookp[5]);

	for (i = 0; i < 2; i++) {
		f->ann[i] = (Grpc__Spec__AnnotationsEntry)
			GRPC__SPEC__ANNOTATIONS_ENTRY__INIT;
		f->anns[i] = &f->ann[i];
	}
	f->ann[0].key = "io.kubernetes.cri.container-type";
	f->ann[0].value = "container";
	f->ann[1].key = "io.kubernetes.cri.sandbox-id";
	f->ann[1].value = "sbx-91c0";

	f->spec = (Grpc__Spec)GRPC__SPEC__INIT;
	f->spec.version = "1.0.2-dev";
	f->spec.process = &f->proc;
	f->spec.root = &f->root;
	f->spec.hostname = "pod-1";
	SET_REP(f->spec, mounts, f->mnts);
	f->spec.hooks = &f->hooks;
	SET_REP(f->spec, annotations, f->anns);
	f->spec.linux = &f->linux_;
}

static void build_request(struct cc_fixture *f)
{
	int i;

	memset(f, 0, sizeof(*f));
	build_spec(f);

	f->suser = (Grpc__StringUser)GRPC__STRING_USER__INIT;
	f->suser.uid = "app";
	f->suser.gid = "staff";
	SET_REP(f->suser, additionalgids, user_groups);

	f->dev = (Grpc__Device)GRPC__DEVICE__INIT;
	f->dev.id = "02/00";
	f->dev.type = "vfio-pci";
	f->dev.vm_path = "/dev/vfio/3";
	f->dev.container_path = "/dev/vfio/12";
	SET_REP(f->dev, options, dev_opts);
	f->devs[0] = &f->dev;

	for (i = 0; i < 2; i++) {
		f->sto[i] = (Grpc__Storage)GRPC__STORAGE__INIT;
		f->stos[i] = &f->sto[i];
	}
	f->sto[0].driver = "virtio-fs";
	f->sto[0].source = "kataShared";
	f->sto[0].fstype = "virtiofs";
	SET_REP(f->sto[0], options, sto_virtiofs_opts);
	f->sto[0].mount_point = "/run/kata-containers/shared/containers/";
	f->sto[0].shared = true;

	f->fsgroup = (Grpc__FSGroup)GRPC__FSGROUP__INIT;
	f->fsgroup.group_id = 2000;
	f->fsgroup.group_change_policy =
		TYPES__FSGROUP_CHANGE_POLICY__OnRootMismatch;
	f->sto[1].driver = "ephemeral";
	SET_REP(f->sto[1], driver_options, sto_ephem_dopts);
	f->sto[1].source = "tmpfs";
	f->sto[1].fstype = "tmpfs";
	SET_REP(f->sto[1], options, sto_ephem_opts);
	f->sto[1].mount_point = "/run/kata-containers/sandbox/ephemeral/cache";
	f->sto[1].fs_group = &f->fsgroup;

	f->shm = (Grpc__SharedMount)GRPC__SHARED_MOUNT__INIT;
	f->shm.name = "logs";
	f->shm.src_ctr = "writer";
	f->shm.src_path = "/var/log/app";
	f->shm.dst_ctr = "reader";
	f->shm.dst_path = "/logs";
	f->shms[0] = &f->shm;

	f->req = (Grpc__CreateContainerRequest)
		GRPC__CREATE_CONTAINER_REQUEST__INIT;
	f->req.container_id = "ctr-3f2a";
	f->req.exec_id = "ctr-3f2a";
	f->req.string_user = &f->suser;
	SET_REP(f->req, devices, f->devs);
	SET_REP(f->req, storages, f->stos);
	f->req.oci = &f->spec;
	f->req.sandbox_pidns = true;
	SET_REP(f->req, shared_mounts, f->shms);
	f->req.stdin_port = 1025;
	f->req.stdout_port = 1026;
	f->req.stderr_port = 1027;
}

/* --- Checks on the unpacked request ----------------------------------- */

static void check_process(struct __test_metadata *_metadata,
			  const Grpc__Process *p)
{
	const Grpc__LinuxCapabilities *c;
	size_t i;

	ASSERT_NE(NULL, p);
	ASSERT_TRUE(p->terminal);
	ASSERT_NE(NULL, p->consolesize);
	ASSERT_EQ(24, p->consolesize->height);
	ASSERT_EQ(80, p->consolesize->width);
	ASSERT_NE(NULL, p->user);
	ASSERT_EQ(1000, p->user->uid);
	ASSERT_EQ(1001, p->user->gid);
	ASSERT_EQ(ARRAY_SIZE(proc_gids), p->user->n_additionalgids);
	for (i = 0; i < ARRAY_SIZE(proc_gids); i++)
		ASSERT_EQ(proc_gids[i], p->user->additionalgids[i]);
	ASSERT_STREQ("app", p->user->username);
	CHECK_STRV(proc_args, p, args);
	CHECK_STRV(proc_env, p, env);
	ASSERT_STREQ("/srv/app", p->cwd);

	c = p->capabilities;
	ASSERT_NE(NULL, c);
	CHECK_STRV(cap_bounding, c, bounding);
	CHECK_STRV(cap_effective, c, effective);
	CHECK_STRV(cap_inheritable, c, inheritable);
	CHECK_STRV(cap_permitted, c, permitted);
	CHECK_STRV(cap_ambient, c, ambient);

	ASSERT_EQ(2, p->n_rlimits);
	ASSERT_STREQ("RLIMIT_NOFILE", p->rlimits[0]->type);
	ASSERT_EQ(1048576, p->rlimits[0]->hard);
	ASSERT_EQ(1024, p->rlimits[0]->soft);
	ASSERT_STREQ("RLIMIT_CORE", p->rlimits[1]->type);
	ASSERT_EQ(UINT64_MAX, p->rlimits[1]->hard);
	ASSERT_EQ(0, p->rlimits[1]->soft);
	ASSERT_TRUE(p->nonewprivileges);
	ASSERT_STREQ("husk-default", p->apparmorprofile);
	ASSERT_EQ(-999, p->oomscoreadj);
	ASSERT_STREQ("system_u:system_r:container_t:s0:c1,c2", p->selinuxlabel);
}

static void check_resources(struct __test_metadata *_metadata,
			    const Grpc__LinuxResources *r)
{
	const Grpc__LinuxBlockIO *b;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(2, r->n_devices);
	ASSERT_FALSE(r->devices[0]->allow);
	ASSERT_STREQ("a", r->devices[0]->type);
	ASSERT_EQ(-1, r->devices[0]->major);
	ASSERT_EQ(-1, r->devices[0]->minor);
	ASSERT_STREQ("rwm", r->devices[0]->access);
	ASSERT_TRUE(r->devices[1]->allow);
	ASSERT_STREQ("c", r->devices[1]->type);
	ASSERT_EQ(10, r->devices[1]->major);
	ASSERT_EQ(229, r->devices[1]->minor);
	ASSERT_STREQ("rw", r->devices[1]->access);

	ASSERT_NE(NULL, r->memory);
	ASSERT_EQ(268435456, r->memory->limit);
	ASSERT_EQ(134217728, r->memory->reservation);
	ASSERT_EQ(536870912, r->memory->swap);
	ASSERT_EQ(-1, r->memory->kernel);
	ASSERT_EQ(16777216, r->memory->kerneltcp);
	ASSERT_EQ(60, r->memory->swappiness);
	ASSERT_TRUE(r->memory->disableoomkiller);

	ASSERT_NE(NULL, r->cpu);
	ASSERT_EQ(1024, r->cpu->shares);
	ASSERT_EQ(50000, r->cpu->quota);
	ASSERT_EQ(100000, r->cpu->period);
	ASSERT_EQ(950000, r->cpu->realtimeruntime);
	ASSERT_EQ(1000000, r->cpu->realtimeperiod);
	ASSERT_STREQ("0-1", r->cpu->cpus);
	ASSERT_STREQ("0", r->cpu->mems);

	ASSERT_NE(NULL, r->pids);
	ASSERT_EQ(512, r->pids->limit);

	b = r->blockio;
	ASSERT_NE(NULL, b);
	ASSERT_EQ(500, b->weight);
	ASSERT_EQ(300, b->leafweight);
	ASSERT_EQ(1, b->n_weightdevice);
	ASSERT_EQ(8, b->weightdevice[0]->major);
	ASSERT_EQ(0, b->weightdevice[0]->minor);
	ASSERT_EQ(600, b->weightdevice[0]->weight);
	ASSERT_EQ(200, b->weightdevice[0]->leafweight);
	ASSERT_EQ(1, b->n_throttlereadbpsdevice);
	ASSERT_EQ(8, b->throttlereadbpsdevice[0]->major);
	ASSERT_EQ(0, b->throttlereadbpsdevice[0]->minor);
	ASSERT_EQ(1048576, b->throttlereadbpsdevice[0]->rate);
	ASSERT_EQ(1, b->n_throttlewritebpsdevice);
	ASSERT_EQ(16, b->throttlewritebpsdevice[0]->minor);
	ASSERT_EQ(2097152, b->throttlewritebpsdevice[0]->rate);
	ASSERT_EQ(1, b->n_throttlereadiopsdevice);
	ASSERT_EQ(32, b->throttlereadiopsdevice[0]->minor);
	ASSERT_EQ(1000, b->throttlereadiopsdevice[0]->rate);
	ASSERT_EQ(1, b->n_throttlewriteiopsdevice);
	ASSERT_EQ(48, b->throttlewriteiopsdevice[0]->minor);
	ASSERT_EQ(2000, b->throttlewriteiopsdevice[0]->rate);

	ASSERT_EQ(2, r->n_hugepagelimits);
	ASSERT_STREQ("2MB", r->hugepagelimits[0]->pagesize);
	ASSERT_EQ(67108864, r->hugepagelimits[0]->limit);
	ASSERT_STREQ("1GB", r->hugepagelimits[1]->pagesize);
	ASSERT_EQ(1073741824, r->hugepagelimits[1]->limit);

	ASSERT_NE(NULL, r->network);
	ASSERT_EQ(0x100001, r->network->classid);
	ASSERT_EQ(1, r->network->n_priorities);
	ASSERT_STREQ("eth0", r->network->priorities[0]->name);
	ASSERT_EQ(5, r->network->priorities[0]->priority);
}

static void check_seccomp(struct __test_metadata *_metadata,
			  const Grpc__LinuxSeccomp *s)
{
	Grpc__LinuxSyscall *const *sc;

	ASSERT_NE(NULL, s);
	ASSERT_STREQ("SCMP_ACT_ERRNO", s->defaultaction);
	CHECK_STRV(seccomp_arches, s, architectures);
	CHECK_STRV(seccomp_flags, s, flags);
	ASSERT_EQ(4, s->n_syscalls);
	sc = s->syscalls;

	CHECK_STRV(sys_allow, sc[0], names);
	ASSERT_STREQ("SCMP_ACT_ALLOW", sc[0]->action);
	ASSERT_EQ(GRPC__LINUX_SYSCALL__ERRNO_RET__NOT_SET,
		  sc[0]->errno_ret_case);
	ASSERT_EQ(0, sc[0]->n_args);

	CHECK_STRV(sys_personality, sc[1], names);
	ASSERT_EQ(GRPC__LINUX_SYSCALL__ERRNO_RET__NOT_SET,
		  sc[1]->errno_ret_case);
	ASSERT_EQ(2, sc[1]->n_args);
	ASSERT_EQ(0, sc[1]->args[0]->index);
	ASSERT_EQ(0, sc[1]->args[0]->value);
	ASSERT_EQ(0, sc[1]->args[0]->valuetwo);
	ASSERT_STREQ("SCMP_CMP_EQ", sc[1]->args[0]->op);
	ASSERT_EQ(1, sc[1]->args[1]->index);
	ASSERT_EQ(0xffffffffULL, sc[1]->args[1]->value);
	ASSERT_EQ(0x20008ULL, sc[1]->args[1]->valuetwo);
	ASSERT_STREQ("SCMP_CMP_MASKED_EQ", sc[1]->args[1]->op);

	CHECK_STRV(sys_eperm, sc[2], names);
	ASSERT_STREQ("SCMP_ACT_ERRNO", sc[2]->action);
	ASSERT_EQ(GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET,
		  sc[2]->errno_ret_case);
	ASSERT_EQ(1, sc[2]->errnoret);

	/* The explicit zero must survive as "set", not turn into "unset". */
	CHECK_STRV(sys_errno0, sc[3], names);
	ASSERT_EQ(GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET,
		  sc[3]->errno_ret_case);
	ASSERT_EQ(0, sc[3]->errnoret);
}

static void check_linux(struct __test_metadata *_metadata, const Grpc__Linux *l)
{
	static const char *const ns_types[5] = { "pid", "ipc", "uts", "mount",
						 "network" };
	size_t i;

	ASSERT_NE(NULL, l);
	ASSERT_EQ(1, l->n_uidmappings);
	ASSERT_EQ(100000, l->uidmappings[0]->hostid);
	ASSERT_EQ(0, l->uidmappings[0]->containerid);
	ASSERT_EQ(65536, l->uidmappings[0]->size);
	ASSERT_EQ(1, l->n_gidmappings);
	ASSERT_EQ(200000, l->gidmappings[0]->hostid);
	ASSERT_EQ(1, l->gidmappings[0]->containerid);
	ASSERT_EQ(1000, l->gidmappings[0]->size);

	ASSERT_EQ(2, l->n_sysctl);
	ASSERT_STREQ("1", MAP_GET(l, sysctl, "net.ipv4.ip_forward"));
	ASSERT_STREQ("0", MAP_GET(l, sysctl, "kernel.shm_rmid_forced"));

	check_resources(_metadata, l->resources);
	ASSERT_STREQ("/kubepods/besteffort/pod-1/ctr-3f2a", l->cgroupspath);

	ASSERT_EQ(5, l->n_namespaces);
	for (i = 0; i < 5; i++) {
		ASSERT_STREQ(ns_types[i], l->namespaces[i]->type);
		ASSERT_STREQ(i == 4 ? "/var/run/netns/cni-1" : "",
			     l->namespaces[i]->path);
	}

	ASSERT_EQ(2, l->n_devices);
	ASSERT_STREQ("/dev/fuse", l->devices[0]->path);
	ASSERT_STREQ("c", l->devices[0]->type);
	ASSERT_EQ(10, l->devices[0]->major);
	ASSERT_EQ(229, l->devices[0]->minor);
	ASSERT_EQ(020666, l->devices[0]->filemode);
	ASSERT_EQ(0, l->devices[0]->uid);
	ASSERT_EQ(0, l->devices[0]->gid);
	ASSERT_STREQ("/dev/xvda", l->devices[1]->path);
	ASSERT_STREQ("b", l->devices[1]->type);
	ASSERT_EQ(253, l->devices[1]->major);
	ASSERT_EQ(1, l->devices[1]->minor);
	ASSERT_EQ(060660, l->devices[1]->filemode);
	ASSERT_EQ(1000, l->devices[1]->uid);
	ASSERT_EQ(6, l->devices[1]->gid);

	check_seccomp(_metadata, l->seccomp);
	ASSERT_STREQ("rslave", l->rootfspropagation);
	CHECK_STRV(masked, l, maskedpaths);
	CHECK_STRV(readonly, l, readonlypaths);
	ASSERT_STREQ("system_u:object_r:container_file_t:s0", l->mountlabel);
	ASSERT_NE(NULL, l->intelrdt);
	ASSERT_STREQ("L3:0=ff;1=0f", l->intelrdt->l3cacheschema);
}

static void check_spec(struct __test_metadata *_metadata, const Grpc__Spec *s)
{
	Grpc__Hook **stages[6];
	size_t n_stages[6];
	int i;

	ASSERT_NE(NULL, s);
	ASSERT_STREQ("1.0.2-dev", s->version);
	check_process(_metadata, s->process);
	ASSERT_NE(NULL, s->root);
	ASSERT_STREQ("/run/kata-containers/shared/containers/ctr-3f2a/rootfs",
		     s->root->path);
	ASSERT_TRUE(s->root->readonly);
	ASSERT_STREQ("pod-1", s->hostname);

	ASSERT_EQ(2, s->n_mounts);
	ASSERT_STREQ("/proc", s->mounts[0]->destination);
	ASSERT_STREQ("proc", s->mounts[0]->source);
	ASSERT_STREQ("proc", s->mounts[0]->type);
	CHECK_STRV(mnt_proc_opts, s->mounts[0], options);
	ASSERT_STREQ("/dev/shm", s->mounts[1]->destination);
	ASSERT_STREQ("/run/kata-containers/sandbox/shm", s->mounts[1]->source);
	ASSERT_STREQ("bind", s->mounts[1]->type);
	CHECK_STRV(mnt_shm_opts, s->mounts[1], options);

	ASSERT_NE(NULL, s->hooks);
	stages[0] = s->hooks->prestart;
	n_stages[0] = s->hooks->n_prestart;
	stages[1] = s->hooks->poststart;
	n_stages[1] = s->hooks->n_poststart;
	stages[2] = s->hooks->poststop;
	n_stages[2] = s->hooks->n_poststop;
	stages[3] = s->hooks->createruntime;
	n_stages[3] = s->hooks->n_createruntime;
	stages[4] = s->hooks->createcontainer;
	n_stages[4] = s->hooks->n_createcontainer;
	stages[5] = s->hooks->startcontainer;
	n_stages[5] = s->hooks->n_startcontainer;
	for (i = 0; i < 6; i++) {
		ASSERT_EQ(1, n_stages[i]);
		ASSERT_STREQ(hook_paths[i], stages[i][0]->path);
		ASSERT_EQ(5 + i, stages[i][0]->timeout);
	}
	CHECK_STRV(hook_args, stages[0][0], args);
	CHECK_STRV(hook_env, stages[0][0], env);
	ASSERT_EQ(0, stages[1][0]->n_args);

	ASSERT_EQ(2, s->n_annotations);
	ASSERT_STREQ("container", MAP_GET(s, annotations,
					  "io.kubernetes.cri.container-type"));
	ASSERT_STREQ("sbx-91c0",
		     MAP_GET(s, annotations, "io.kubernetes.cri.sandbox-id"));

	check_linux(_metadata, s->linux);
	ASSERT_NULL(s->solaris);
	ASSERT_NULL(s->windows);
}

static void check_request(struct __test_metadata *_metadata,
			  const Grpc__CreateContainerRequest *r)
{
	const Grpc__Storage *st;

	ASSERT_STREQ("ctr-3f2a", r->container_id);
	ASSERT_STREQ("ctr-3f2a", r->exec_id);
	ASSERT_NE(NULL, r->string_user);
	ASSERT_STREQ("app", r->string_user->uid);
	ASSERT_STREQ("staff", r->string_user->gid);
	CHECK_STRV(user_groups, r->string_user, additionalgids);

	ASSERT_EQ(1, r->n_devices);
	ASSERT_STREQ("02/00", r->devices[0]->id);
	ASSERT_STREQ("vfio-pci", r->devices[0]->type);
	ASSERT_STREQ("/dev/vfio/3", r->devices[0]->vm_path);
	ASSERT_STREQ("/dev/vfio/12", r->devices[0]->container_path);
	CHECK_STRV(dev_opts, r->devices[0], options);

	ASSERT_EQ(2, r->n_storages);
	st = r->storages[0];
	ASSERT_STREQ("virtio-fs", st->driver);
	ASSERT_EQ(0, st->n_driver_options);
	ASSERT_STREQ("kataShared", st->source);
	ASSERT_STREQ("virtiofs", st->fstype);
	CHECK_STRV(sto_virtiofs_opts, st, options);
	ASSERT_STREQ("/run/kata-containers/shared/containers/",
		     st->mount_point);
	ASSERT_NULL(st->fs_group);
	ASSERT_TRUE(st->shared);
	st = r->storages[1];
	ASSERT_STREQ("ephemeral", st->driver);
	CHECK_STRV(sto_ephem_dopts, st, driver_options);
	ASSERT_STREQ("tmpfs", st->source);
	ASSERT_STREQ("tmpfs", st->fstype);
	CHECK_STRV(sto_ephem_opts, st, options);
	ASSERT_STREQ("/run/kata-containers/sandbox/ephemeral/cache",
		     st->mount_point);
	ASSERT_NE(NULL, st->fs_group);
	ASSERT_EQ(2000, st->fs_group->group_id);
	ASSERT_EQ(TYPES__FSGROUP_CHANGE_POLICY__OnRootMismatch,
		  st->fs_group->group_change_policy);
	ASSERT_FALSE(st->shared);

	check_spec(_metadata, r->oci);
	ASSERT_TRUE(r->sandbox_pidns);
	ASSERT_EQ(1, r->n_shared_mounts);
	ASSERT_STREQ("logs", r->shared_mounts[0]->name);
	ASSERT_STREQ("writer", r->shared_mounts[0]->src_ctr);
	ASSERT_STREQ("/var/log/app", r->shared_mounts[0]->src_path);
	ASSERT_STREQ("reader", r->shared_mounts[0]->dst_ctr);
	ASSERT_STREQ("/logs", r->shared_mounts[0]->dst_path);
	ASSERT_EQ(1025, r->stdin_port);
	ASSERT_EQ(1026, r->stdout_port);
	ASSERT_EQ(1027, r->stderr_port);
}

/* --- Tests ------------------------------------------------------------ */

TEST(create_container_round_trip)
{
	struct cc_fixture *f = calloc(1, sizeof(*f));
	Grpc__CreateContainerRequest *back;
	uint8_t *buf, *again;
	size_t len, len2;

	ASSERT_NE(NULL, f);
	build_request(f);
	buf = pack_msg(&f->req.base, &len);
	ASSERT_NE(NULL, buf);
	ASSERT_GT(len, 2000);

	back = grpc__create_container_request__unpack(NULL, len, buf);
	ASSERT_NE(NULL, back);
	check_request(_metadata, back);

	/* Nothing was dropped or reordered: packing again gives the same bytes.
	 */
	again = pack_msg(&back->base, &len2);
	ASSERT_NE(NULL, again);
	ASSERT_EQ(len, len2);
	ASSERT_EQ(0, memcmp(buf, again, len));

	free(again);
	grpc__create_container_request__free_unpacked(back, NULL);
	free(buf);
	free(f);
	ASSERT_EQ(0, leak_check());
}

TEST(create_container_decoded_by_protoc)
{
	struct cc_fixture *f = calloc(1, sizeof(*f));
	uint8_t *buf;
	char *text;
	size_t len;
	int rc;

	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, access(PROTOC, X_OK));
	build_request(f);
	buf = pack_msg(&f->req.base, &len);
	ASSERT_NE(NULL, buf);

	rc = protoc_run("--decode=grpc.CreateContainerRequest", "agent.proto",
			buf, len, &text, NULL);
	ASSERT_NE(NULL, text);
	if (rc != 0)
		TH_LOG("protoc exited %d; output:\n%s", rc, text);
	ASSERT_EQ(0, rc);

	/* Top level of the request. */
	ASSERT_LINE(text, "container_id: \"ctr-3f2a\"");
	ASSERT_LINE(text, "exec_id: \"ctr-3f2a\"");
	ASSERT_LINE(text, "sandbox_pidns: true");
	ASSERT_LINE(text, "stdin_port: 1025");
	ASSERT_LINE(text, "stderr_port: 1027");
	ASSERT_LINE(text, "  additionalGids: \"video\"");
	ASSERT_LINE(text, "  container_path: \"/dev/vfio/12\"");
	ASSERT_LINE(text, "  driver: \"ephemeral\"");
	ASSERT_LINE(text, "  driver_options: \"encryption_key=ephemeral\"");
	ASSERT_LINE(
		text,
		"  mount_point: \"/run/kata-containers/shared/containers/\"");
	ASSERT_LINE(text, "  shared: true");
	ASSERT_LINE(text, "    group_id: 2000");
	ASSERT_LINE(text, "    group_change_policy: OnRootMismatch");
	ASSERT_LINE(text, "  dst_path: \"/logs\"");

	/* Spec, Process (OCI > Process > ...). */
	ASSERT_LINE(text, "  Version: \"1.0.2-dev\"");
	ASSERT_LINE(text, "  Hostname: \"pod-1\"");
	ASSERT_LINE(text, "    Terminal: true");
	ASSERT_LINE(text, "      Height: 24");
	ASSERT_LINE(text, "      Width: 80");
	ASSERT_LINE(text, "      AdditionalGids: 65534");
	ASSERT_LINE(text, "    Args: \"echo hi >/dev/null\"");
	ASSERT_LINE(text, "    Env: \"TERM=xterm\"");
	ASSERT_LINE(text, "    Cwd: \"/srv/app\"");
	ASSERT_LINE(text, "      Ambient: \"CAP_NET_RAW\"");
	ASSERT_LINE(text, "      Inheritable: \"CAP_AUDIT_WRITE\"");
	ASSERT_LINE(text, "      Hard: 18446744073709551615");
	ASSERT_LINE(text, "    NoNewPrivileges: true");
	ASSERT_LINE(text, "    OOMScoreAdj: -999");
	ASSERT_LINE(text, "    Readonly: true");

	/* Mounts (lower-case names), hooks and annotations. */
	ASSERT_LINE(text, "    destination: \"/dev/shm\"");
	ASSERT_LINE(text, "    options: \"nosuid\"");
	ASSERT_LINE(text, "    options: \"mode=1777\"");
	ASSERT_LINE(text, "      Path: \"/usr/libexec/hooks/start-ctr\"");
	ASSERT_LINE(text, "      Args: \"prestart\"");
	ASSERT_LINE(text, "      Timeout: 10");
	ASSERT_LINE(text, "    key: \"io.kubernetes.cri.sandbox-id\"");
	ASSERT_LINE(text, "    value: \"sbx-91c0\"");

	/* Linux. */
	ASSERT_LINE(text, "      HostID: 200000");
	ASSERT_LINE(text, "      key: \"net.ipv4.ip_forward\"");
	ASSERT_LINE(text,
		    "    CgroupsPath: \"/kubepods/besteffort/pod-1/ctr-3f2a\"");
	ASSERT_LINE(text, "      Path: \"/var/run/netns/cni-1\"");
	ASSERT_LINE(text, "      FileMode: 8630");
	ASSERT_LINE(text, "    RootfsPropagation: \"rslave\"");
	ASSERT_LINE(text, "    MaskedPaths: \"/proc/keys\"");
	ASSERT_LINE(text, "    ReadonlyPaths: \"/proc/sysrq-trigger\"");
	ASSERT_LINE(text, "      L3CacheSchema: \"L3:0=ff;1=0f\"");

	/* Linux > Resources. */
	ASSERT_LINE(text, "        Major: -1");
	ASSERT_LINE(text, "        Access: \"rwm\"");
	ASSERT_LINE(text, "        Limit: 268435456");
	ASSERT_LINE(text, "        Kernel: -1");
	ASSERT_LINE(text, "        DisableOOMKiller: true");
	ASSERT_LINE(text, "        Quota: 50000");
	ASSERT_LINE(text, "        Cpus: \"0-1\"");
	ASSERT_LINE(text, "        Limit: 512");
	ASSERT_LINE(text, "          LeafWeight: 200");
	ASSERT_LINE(text, "        LeafWeight: 300");
	ASSERT_LINE(text, "          Rate: 2097152");
	ASSERT_LINE(text, "          Rate: 2000");
	ASSERT_LINE(text, "        Pagesize: \"1GB\"");
	ASSERT_LINE(text, "        ClassID: 1048577");

	/* Linux > Seccomp. */
	ASSERT_LINE(text, "      DefaultAction: \"SCMP_ACT_ERRNO\"");
	ASSERT_LINE(text, "      Architectures: \"SCMP_ARCH_X32\"");
	ASSERT_LINE(text, "      Flags: \"SECCOMP_FILTER_FLAG_LOG\"");
	ASSERT_LINE(text, "        Names: \"mkdirat\"");
	ASSERT_LINE(text, "        Names: \"ptrace\"");
	ASSERT_LINE(text, "        errnoret: 1");
	ASSERT_LINE(text, "          ValueTwo: 131080");
	ASSERT_LINE(text, "          Op: \"SCMP_CMP_MASKED_EQ\"");
	/* protoc prints oneof members that are present, zero included. */
	ASSERT_LINE(text, "        errnoret: 0");
	ASSERT_EQ(2, count_lines(text, "        Action: \"SCMP_ACT_ERRNO\""));

	free(text);
	free(buf);
	free(f);
	ASSERT_EQ(0, leak_check());
}

/* The other direction: bytes protoc made from text, read by protobuf-c. */
TEST(create_container_from_protoc)
{
	static const char text_in[] =
		"container_id: \"c9\"\n"
		"OCI { Version: \"1.1.0\"\n"
		"  Process { Args: \"/pause\" OOMScoreAdj: -998 }\n"
		"  Annotations { key: \"k\" value: \"v\" }\n"
		"  Linux { Seccomp { Syscalls { Names: \"ptrace\" errnoret: 0 "
		"}\n"
		"                    Syscalls { Names: \"read\" } } } }\n"
		"storages { driver: \"local\" fs_group { group_id: 7 } }\n";
	Grpc__CreateContainerRequest *r;
	Grpc__LinuxSeccomp *sc;
	char *bytes;
	size_t len;
	int rc;

	rc = protoc_run("--encode=grpc.CreateContainerRequest", "agent.proto",
			text_in, sizeof(text_in) - 1, &bytes, &len);
	ASSERT_NE(NULL, bytes);
	ASSERT_EQ(0, rc);

	r = grpc__create_container_request__unpack(NULL, len, (uint8_t *)bytes);
	ASSERT_NE(NULL, r);
	ASSERT_STREQ("c9", r->container_id);
	ASSERT_NE(NULL, r->oci);
	ASSERT_STREQ("1.1.0", r->oci->version);
	ASSERT_NE(NULL, r->oci->process);
	ASSERT_EQ(1, r->oci->process->n_args);
	ASSERT_STREQ("/pause", r->oci->process->args[0]);
	ASSERT_EQ(-998, r->oci->process->oomscoreadj);
	ASSERT_STREQ("v", MAP_GET(r->oci, annotations, "k"));
	ASSERT_NE(NULL, r->oci->linux);
	sc = r->oci->linux->seccomp;
	ASSERT_NE(NULL, sc);
	ASSERT_EQ(2, sc->n_syscalls);
	ASSERT_EQ(GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET,
		  sc->syscalls[0]->errno_ret_case);
	ASSERT_EQ(0, sc->syscalls[0]->errnoret);
	ASSERT_EQ(GRPC__LINUX_SYSCALL__ERRNO_RET__NOT_SET,
		  sc->syscalls[1]->errno_ret_case);
	ASSERT_EQ(1, r->n_storages);
	ASSERT_STREQ("local", r->storages[0]->driver);
	ASSERT_NE(NULL, r->storages[0]->fs_group);
	ASSERT_EQ(7, r->storages[0]->fs_group->group_id);

	grpc__create_container_request__free_unpacked(r, NULL);
	free(bytes);
	ASSERT_EQ(0, leak_check());
}

TEST(health_check_round_trip)
{
	Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
	Grpc__HealthCheckResponse resp = GRPC__HEALTH_CHECK_RESPONSE__INIT;
	Grpc__VersionCheckResponse ver = GRPC__VERSION_CHECK_RESPONSE__INIT;
	Grpc__HealthCheckResponse *resp2;
	Grpc__VersionCheckResponse *ver2;
	Grpc__CheckRequest *req2;
	uint8_t buf[64];
	size_t len;
	char *text;

	/* The runtime's Check carries no fields: an empty payload. */
	ASSERT_EQ(0, grpc__check_request__get_packed_size(&req));
	req2 = grpc__check_request__unpack(NULL, 0, buf);
	ASSERT_NE(NULL, req2);
	ASSERT_STREQ("", req2->service);
	grpc__check_request__free_unpacked(req2, NULL);

	req.service = "grpc.AgentService";
	len = grpc__check_request__pack(&req, buf);
	req2 = grpc__check_request__unpack(NULL, len, buf);
	ASSERT_NE(NULL, req2);
	ASSERT_STREQ("grpc.AgentService", req2->service);
	grpc__check_request__free_unpacked(req2, NULL);

	/* SERVING is 08 01, the payload a Kata agent answers with. */
	resp.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
	CHECK_BYTES(resp, 0x08, 0x01);
	len = grpc__health_check_response__pack(&resp, buf);
	resp2 = grpc__health_check_response__unpack(NULL, len, buf);
	ASSERT_NE(NULL, resp2);
	ASSERT_EQ(GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING,
		  resp2->status);
	grpc__health_check_response__free_unpacked(resp2, NULL);
	ASSERT_EQ(0, protoc_run("--decode=grpc.HealthCheckResponse",
				"health.proto", buf, len, &text, NULL));
	ASSERT_STREQ("status: SERVING\n", text);
	free(text);

	ver.grpc_version = "0.0.1";
	ver.agent_version = "husk 0.1";
	len = grpc__version_check_response__pack(&ver, buf);
	ver2 = grpc__version_check_response__unpack(NULL, len, buf);
	ASSERT_NE(NULL, ver2);
	ASSERT_STREQ("0.0.1", ver2->grpc_version);
	ASSERT_STREQ("husk 0.1", ver2->agent_version);
	grpc__version_check_response__free_unpacked(ver2, NULL);
	ASSERT_EQ(0, protoc_run("--decode=grpc.VersionCheckResponse",
				"health.proto", buf, len, &text, NULL));
	ASSERT_LINE(text, "agent_version: \"husk 0.1\"");
	free(text);
	ASSERT_EQ(0, leak_check());
}

TEST(containerd_create_task)
{
	static char *overlay_opts[] = {
		"index=off",
		"workdir=/var/lib/containerd/snapshots/12/work",
		"upperdir=/var/lib/containerd/snapshots/12/fs",
		"lowerdir=/var/lib/containerd/snapshots/3/fs",
	};
	static char *bind_opts[] = { "rbind", "ro" };
	Containerd__Task__V2__CreateTaskRequest req =
		CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
	Runtimeoptions__V1__Options opts = RUNTIMEOPTIONS__V1__OPTIONS__INIT;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	Containerd__Types__Mount m[2], *mp[2] = { &m[0], &m[1] };
	Containerd__Task__V2__CreateTaskRequest *back;
	Runtimeoptions__V1__Options *opts2;
	uint8_t *buf, *obuf;
	size_t len, olen;
	char *text;

	opts.config_path = "/etc/husk/configuration.toml";
	obuf = pack_msg(&opts.base, &olen);
	ASSERT_NE(NULL, obuf);
	any.type_url = "runtimeoptions.v1.Options";
	any.value.data = obuf;
	any.value.len = olen;

	m[0] = (Containerd__Types__Mount)CONTAINERD__TYPES__MOUNT__INIT;
	m[0].type = "overlay";
	m[0].source = "overlay";
	SET_REP(m[0], options, overlay_opts);
	m[1] = (Containerd__Types__Mount)CONTAINERD__TYPES__MOUNT__INIT;
	m[1].type = "bind";
	m[1].source = "/var/lib/husk/extra";
	m[1].target = "/extra";
	SET_REP(m[1], options, bind_opts);

	req.id = "ctr-3f2a";
	req.bundle =
		"/run/containerd/io.containerd.runtime.v2.task/k8s.io/ctr-3f2a";
	SET_REP(req, rootfs, mp);
	req.terminal = true;
	req.stdin = "/run/containerd/fifo/1/ctr-3f2a-stdin";
	req.stdout = "/run/containerd/fifo/1/ctr-3f2a-stdout";
	req.stderr = "";
	req.options = &any;
	buf = pack_msg(&req.base, &len);
	ASSERT_NE(NULL, buf);

	back = containerd__task__v2__create_task_request__unpack(NULL, len,
								 buf);
	ASSERT_NE(NULL, back);
	ASSERT_STREQ(req.id, back->id);
	ASSERT_STREQ(req.bundle, back->bundle);
	ASSERT_EQ(2, back->n_rootfs);
	ASSERT_STREQ("overlay", back->rootfs[0]->type);
	ASSERT_STREQ("overlay", back->rootfs[0]->source);
	ASSERT_STREQ("", back->rootfs[0]->target);
	CHECK_STRV(overlay_opts, back->rootfs[0], options);
	ASSERT_STREQ("bind", back->rootfs[1]->type);
	ASSERT_STREQ("/var/lib/husk/extra", back->rootfs[1]->source);
	ASSERT_STREQ("/extra", back->rootfs[1]->target);
	CHECK_STRV(bind_opts, back->rootfs[1], options);
	ASSERT_TRUE(back->terminal);
	ASSERT_STREQ(req.stdin, back->stdin);
	ASSERT_STREQ(req.stdout, back->stdout);
	ASSERT_STREQ("", back->stderr);
	ASSERT_STREQ("", back->checkpoint);
	ASSERT_STREQ("", back->parent_checkpoint);
	ASSERT_NE(NULL, back->options);
	ASSERT_STREQ("runtimeoptions.v1.Options", back->options->type_url);
	opts2 = runtimeoptions__v1__options__unpack(
		NULL, back->options->value.len, back->options->value.data);
	ASSERT_NE(NULL, opts2);
	ASSERT_STREQ("/etc/husk/configuration.toml", opts2->config_path);
	ASSERT_STREQ("", opts2->type_url);
	runtimeoptions__v1__options__free_unpacked(opts2, NULL);
	containerd__task__v2__create_task_request__free_unpacked(back, NULL);

	ASSERT_EQ(0, protoc_run("--decode=containerd.task.v2.CreateTaskRequest",
				"containerd/task/shim.proto", buf, len, &text,
				NULL));
	ASSERT_LINE(text, "id: \"ctr-3f2a\"");
	ASSERT_LINE(text, "bundle: "
			  "\"/run/containerd/io.containerd.runtime.v2.task/"
			  "k8s.io/ctr-3f2a\"");
	ASSERT_EQ(2, count_lines(text, "rootfs {"));
	ASSERT_LINE(text, "  type: \"overlay\"");
	ASSERT_LINE(
		text,
		"  options: \"lowerdir=/var/lib/containerd/snapshots/3/fs\"");
	ASSERT_LINE(text, "  target: \"/extra\"");
	ASSERT_LINE(text, "terminal: true");
	ASSERT_LINE(text, "stdout: \"/run/containerd/fifo/1/ctr-3f2a-stdout\"");
	ASSERT_LINE(text, "  type_url: \"runtimeoptions.v1.Options\"");
	ASSERT_FALSE(has_line(text, "stderr: \"\""));
	free(text);

	ASSERT_EQ(0, protoc_run("--decode=runtimeoptions.v1.Options",
				"containerd/runtimeoptions.proto", obuf, olen,
				&text, NULL));
	ASSERT_STREQ("config_path: \"/etc/husk/configuration.toml\"\n", text);
	free(text);
	free(buf);
	free(obuf);
	ASSERT_EQ(0, leak_check());
}

/* A /tasks/exit event as the shim forwards it to containerd. */
TEST(containerd_forward_task_exit)
{
	Containerd__Services__Events__Ttrpc__V1__ForwardRequest fwd =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
	Containerd__Services__Events__Ttrpc__V1__Envelope env =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
	Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	uint8_t *evbuf, *buf;
	size_t evlen, len;
	char *text;

	ts.seconds = 1700000000;
	ts.nanos = 123456789;
	ev.container_id = "ctr-3f2a";
	ev.id = "ctr-3f2a";
	ev.pid = 4242;
	ev.exit_status = 137;
	ev.exited_at = &ts;
	evbuf = pack_msg(&ev.base, &evlen);
	ASSERT_NE(NULL, evbuf);

	any.type_url = "containerd.events.TaskExit";
	any.value.data = evbuf;
	any.value.len = evlen;
	env.timestamp = &ts;
	env.namespace_ = "k8s.io";
	env.topic = "/tasks/exit";
	env.event = &any;
	fwd.envelope = &env;
	buf = pack_msg(&fwd.base, &len);
	ASSERT_NE(NULL, buf);

	ASSERT_EQ(0, protoc_run("--decode=containerd.services.events.ttrpc.v1."
				"ForwardRequest",
				"containerd/events/events.proto", buf, len,
				&text, NULL));
	ASSERT_LINE(text, "  namespace: \"k8s.io\"");
	ASSERT_LINE(text, "  topic: \"/tasks/exit\"");
	ASSERT_LINE(text, "    seconds: 1700000000");
	ASSERT_LINE(text, "    nanos: 123456789");
	ASSERT_LINE(text, "    type_url: \"containerd.events.TaskExit\"");
	free(text);

	ASSERT_EQ(0, protoc_run("--decode=containerd.events.TaskExit",
				"containerd/events/task.proto", evbuf, evlen,
				&text, NULL));
	ASSERT_STREQ("container_id: \"ctr-3f2a\"\n"
		     "id: \"ctr-3f2a\"\n"
		     "pid: 4242\n"
		     "exit_status: 137\n"
		     "exited_at {\n"
		     "  seconds: 1700000000\n"
		     "  nanos: 123456789\n"
		     "}\n",
		     text);
	free(text);
	free(buf);
	free(evbuf);
	ASSERT_EQ(0, leak_check());
}

/*
 * Exact encodings, worked out by hand from the field numbers in the
 * upstream schemas: tag byte = field << 3 | wire type.
 */
TEST(well_known_field_numbers)
{
	Grpc__ReseedRandomDevRequest seed =
		GRPC__RESEED_RANDOM_DEV_REQUEST__INIT;
	Grpc__WaitProcessResponse wait = GRPC__WAIT_PROCESS_RESPONSE__INIT;
	Grpc__StringUser su = GRPC__STRING_USER__INIT;
	Grpc__FSGroup fsg = GRPC__FSGROUP__INIT;
	Grpc__LinuxSyscall sys = GRPC__LINUX_SYSCALL__INIT;
	Grpc__User user = GRPC__USER__INIT;
	Grpc__ReadStreamRequest rd = GRPC__READ_STREAM_REQUEST__INIT;
	Grpc__OnlineCPUMemRequest cpu = GRPC__ONLINE_CPUMEM_REQUEST__INIT;
	Grpc__MemAgentMemcgConfig memcg = GRPC__MEM_AGENT_MEMCG_CONFIG__INIT;
	Types__Interface ifc = TYPES__INTERFACE__INIT;
	Containerd__Task__V2__DeleteResponse del =
		CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	Grpc__WaitProcessResponse *wait2;
	static char *gids[] = { "1" };
	static uint32_t ugids[] = { 1, 300 };
	static char *names[] = { "x" };
	uint8_t buf[16];
	size_t len;

	/* data is field 2; field 1 was never used. */
	seed.data.data = (uint8_t *)"ab";
	seed.data.len = 2;
	CHECK_BYTES(seed, 0x12, 0x02, 0x61, 0x62);

	/* int32 -1 is sign-extended to a ten-byte varint. */
	wait.status = -1;
	CHECK_BYTES(wait, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		    0xff, 0x01);
	len = grpc__wait_process_response__pack(&wait, buf);
	wait2 = grpc__wait_process_response__unpack(NULL, len, buf);
	ASSERT_NE(NULL, wait2);
	ASSERT_EQ(-1, wait2->status);
	grpc__wait_process_response__free_unpacked(wait2, NULL);
	wait.status = 137;
	CHECK_BYTES(wait, 0x08, 0x89, 0x01);

	su.uid = "0";
	su.gid = "0";
	SET_REP(su, additionalgids, gids);
	CHECK_BYTES(su, 0x0a, 0x01, '0', 0x12, 0x01, '0', 0x1a, 0x01, '1');

	/* group_id is field 2, the policy enum field 3. */
	fsg.group_id = 2;
	fsg.group_change_policy = TYPES__FSGROUP_CHANGE_POLICY__OnRootMismatch;
	CHECK_BYTES(fsg, 0x10, 0x02, 0x18, 0x01);

	/* A set oneof member is sent even when it is zero. */
	SET_REP(sys, names, names);
	sys.errno_ret_case = GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET;
	sys.errnoret = 0;
	CHECK_BYTES(sys, 0x0a, 0x01, 'x', 0x18, 0x00);

	/* proto3 repeated scalars are packed: one length-delimited field. */
	SET_REP(user, additionalgids, ugids);
	CHECK_BYTES(user, 0x1a, 0x03, 0x01, 0xac, 0x02);

	rd.container_id = "c";
	rd.len = 32768;
	CHECK_BYTES(rd, 0x0a, 0x01, 'c', 0x18, 0x80, 0x80, 0x02);

	cpu.nb_cpus = 2;
	cpu.cpu_only = true;
	CHECK_BYTES(cpu, 0x10, 0x02, 0x18, 0x01);

	/* Explicit presence (proto3 "optional" upstream): false is sent. */
	memcg.has_disabled = true;
	memcg.disabled = false;
	memcg.has_swappiness_max = true;
	memcg.swappiness_max = 50;
	CHECK_BYTES(memcg, 0x08, 0x00, 0x18, 0x32);

	ifc.devicepath = "02/03";
	ifc.raw_flags = 0x80;
	CHECK_BYTES(ifc, 0x32, 0x05, '0', '2', '/', '0', '3', 0x40, 0x80, 0x01);

	/* What "shim delete" prints: pid 0, status 137, a timestamp. */
	ts.seconds = 1;
	del.exit_status = 137;
	del.exited_at = &ts;
	CHECK_BYTES(del, 0x10, 0x89, 0x01, 0x1a, 0x02, 0x08, 0x01);

	ASSERT_EQ(0, leak_check());
}

TEST_HARNESS_MAIN
