// SPDX-License-Identifier: Apache-2.0
/*
 * Capabilities, rlimits and the user switch of a container process.  The
 * capset(2) syscall is used directly (no libcap): the guest agent is a
 * static binary and needs nothing more than two 32-bit words per set.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"
#include "util.h"

/* Indexed by capability number (linux/capability.h). */
static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_STACK", RLIMIT_STACK },
	{ "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },
	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
};

const char *cap_name(int cap)
{
	if (cap < 0 || (size_t)cap >= ARRAY_SIZE(cap_names))
		return NULL;
	return cap_names[cap];
}

int cap_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (!strcmp(cap_names[i], name))
			return (int)i;
	return -1;
}

static int parse_set(char **names, size_t n, const char *set, uint64_t *out,
		     struct herr *err)
{
	*out = 0;
	for (size_t i = 0; i < n; i++) {
		int cap = cap_from_name(names[i]);

		if (cap < 0)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"process.capabilities.%s[%zu]: unknown capability \"%s\"",
				set, i, names[i]);
		*out |= 1ULL << cap;
	}
	return 0;
}

int caps_parse(const Grpc__LinuxCapabilities *spec, struct caps *out,
	       struct herr *err)
{
	memset(out, 0, sizeof(*out));
	if (!spec)
		return 0;
	if (parse_set(spec->bounding, spec->n_bounding, "bounding",
		      &out->bounding, err) ||
	    parse_set(spec->effective, spec->n_effective, "effective",
		      &out->effective, err) ||
	    parse_set(spec->inheritable, spec->n_inheritable, "inheritable",
		      &out->inheritable, err) ||
	    parse_set(spec->permitted, spec->n_permitted, "permitted",
		      &out->permitted, err) ||
	    parse_set(spec->ambient, spec->n_ambient, "ambient", &out->ambient,
		      err))
		return -1;
	return 0;
}

int rlimit_resource(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
		if (!strcmp(rlimit_names[i].name, name))
			return rlimit_names[i].resource;
	return -1;
}

int rlimits_check(const Grpc__Process *proc, struct herr *err)
{
	uint32_t seen = 0;

	if (!proc)
		return 0;
	for (size_t i = 0; i < proc->n_rlimits; i++) {
		const Grpc__POSIXRlimit *rl = proc->rlimits[i];
		int res = rlimit_resource(rl->type);

		if (res < 0)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"process.rlimits[%zu].type: unknown rlimit \"%s\"",
				i, rl->type);
		if (rl->soft > rl->hard)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"process.rlimits[%zu] (%s): soft limit %" PRIu64
				" exceeds hard limit %" PRIu64,
				i, rl->type, rl->soft, rl->hard);
		/* A second entry would silently override the first. */
		if (seen & (1U << res))
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"process.rlimits[%zu]: %s given twice",
					i, rl->type);
		seen |= 1U << res;
	}
	return 0;
}

int rlimits_apply(const Grpc__Process *proc, struct herr *err)
{
	if (rlimits_check(proc, err))
		return -1;
	if (!proc)
		return 0;
	for (size_t i = 0; i < proc->n_rlimits; i++) {
		const Grpc__POSIXRlimit *rl = proc->rlimits[i];
		/* u64 max is RLIM_INFINITY on every 64-bit ABI. */
		struct rlimit lim = {
			.rlim_cur = (rlim_t)rl->soft,
			.rlim_max = (rlim_t)rl->hard,
		};

		if (setrlimit(rlimit_resource(rl->type), &lim))
			return herr_errno(
				err, errno,
				"process.rlimits[%zu]: set %s soft %" PRIu64
				" hard %" PRIu64,
				i, rl->type, rl->soft, rl->hard);
	}
	return 0;
}

/*
 * The highest capability this kernel knows: PR_CAPBSET_READ fails with
 * EINVAL above it.  Asking the kernel avoids needing /proc in the child.
 */
static int last_cap(void)
{
	int cap = (int)ARRAY_SIZE(cap_names) - 1;

	while (cap > 0 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
		cap--;
	return cap;
}

static int drop_bounding(uint64_t keep, int last, struct herr *err)
{
	for (int cap = 0; cap <= last; cap++) {
		if (keep & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			return herr_errno(
				err, errno,
				"capabilities: drop %s from the bounding set",
				cap_names[cap]);
	}
	return 0;
}

static int set_groups(const Grpc__User *user, struct herr *err)
{
	size_t n = user ? user->n_additionalgids : 0;
	gid_t *gids = n ? (gid_t *)user->additionalgids : NULL;
	char buf[16];

	_Static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t is 32 bits");
	if (!setgroups(n, gids))
		return 0;
	if (errno == EPERM && n == 0) {
		/*
		 * A user namespace with setgroups "deny" has no supplementary
		 * groups to clear; only asking for some is an error there.
		 */
		read_file_str("/proc/self/setgroups", buf, sizeof(buf));
		if (!strncmp(buf, "deny", 4))
			return 0;
		errno = EPERM;
	}
	return herr_errno(err, errno, "process user: setgroups (%zu groups)",
			  n);
}

static int set_caps(const struct caps *c, struct herr *err)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[2];

	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(c->effective >> (32 * i));
		data[i].permitted = (uint32_t)(c->permitted >> (32 * i));
		data[i].inheritable = (uint32_t)(c->inheritable >> (32 * i));
	}
	if (syscall(SYS_capset, &hdr, data))
		return herr_errno(err, errno,
				  "capabilities: capset (permitted %#" PRIx64
				  ", effective %#" PRIx64
				  ", inheritable %#" PRIx64 ")",
				  c->permitted, c->effective, c->inheritable);
	return 0;
}

static int set_ambient(uint64_t ambient, int last, struct herr *err)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) {
		/* Kernels before 4.3 have no ambient set at all. */
		if (errno == EINVAL && !ambient)
			return 0;
		return herr_errno(err, errno,
				  "capabilities: clear ambient set");
	}
	for (int cap = 0; cap <= last; cap++) {
		if (!(ambient & (1ULL << cap)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0))
			return herr_errno(
				err, errno,
				"capabilities: raise ambient %s (needs it permitted and inheritable)",
				cap_names[cap]);
	}
	return 0;
}

int identity_apply(const Grpc__Process *proc, const struct caps *caps,
		   struct herr *err)
{
	const Grpc__User *user = proc ? proc->user : NULL;
	uid_t uid = user ? user->uid : 0;
	gid_t gid = user ? user->gid : 0;
	struct caps c = { 0 };
	uint64_t known;
	int last = 0;

	if (caps) {
		last = last_cap();
		/* Capabilities this kernel does not know cannot be held. */
		known = last >= 63 ? ~0ULL : (1ULL << (last + 1)) - 1;
		c.bounding = caps->bounding & known;
		c.effective = caps->effective & known;
		c.permitted = caps->permitted & known;
		c.inheritable = caps->inheritable & known;
		c.ambient = caps->ambient & known;
		/* Needs CAP_SETPCAP, so before anything else is dropped. */
		if (drop_bounding(c.bounding, last, err))
			return -1;
	}
	if (set_groups(user, err))
		return -1;
	/*
	 * Without KEEPCAPS a switch from uid 0 to another uid empties the
	 * permitted set, and "uid 1000 with CAP_NET_BIND_SERVICE" could not
	 * be built.  With no capabilities in the spec, the kernel's usual
	 * rules apply (root keeps all, others lose all).
	 */
	if (caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		return herr_errno(err, errno, "capabilities: PR_SET_KEEPCAPS");
	if (setresgid(gid, gid, gid))
		return herr_errno(err, errno, "process user: setresgid(%u)",
				  (unsigned int)gid);
	if (setresuid(uid, uid, uid))
		return herr_errno(err, errno, "process user: setresuid(%u)",
				  (unsigned int)uid);
	if (caps) {
		if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0))
			return herr_errno(
				err, errno,
				"capabilities: clear PR_SET_KEEPCAPS");
		if (set_caps(&c, err) || set_ambient(c.ambient, last, err))
			return -1;
	}
	if (proc && proc->nonewprivileges &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return herr_errno(err, errno, "process: PR_SET_NO_NEW_PRIVS");
	return 0;
}
