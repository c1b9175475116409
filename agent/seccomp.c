// SPDX-License-Identifier: Apache-2.0
/*
 * linux.seccomp to a libseccomp filter.  Everything is checked and the
 * filter fully built in the agent; the container child only loads it.
 */
#include <errno.h>
#include <inttypes.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "log.h"
#include "seccomp.h"
#include "util.h"

struct seccomp_filter {
	scmp_filter_ctx ctx;
};

/* The syscall argument indexes a seccomp filter can look at. */
enum { NARGS = 6 };

static const struct {
	const char *name;
	uint32_t token;
} arch_names[] = {
	{ "SCMP_ARCH_X86", SCMP_ARCH_X86 },
	{ "SCMP_ARCH_X86_64", SCMP_ARCH_X86_64 },
	{ "SCMP_ARCH_X32", SCMP_ARCH_X32 },
	{ "SCMP_ARCH_ARM", SCMP_ARCH_ARM },
	{ "SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64 },
	{ "SCMP_ARCH_MIPS", SCMP_ARCH_MIPS },
	{ "SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64 },
	{ "SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32 },
	{ "SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL },
	{ "SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64 },
	{ "SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32 },
	{ "SCMP_ARCH_PPC", SCMP_ARCH_PPC },
	{ "SCMP_ARCH_PPC64", SCMP_ARCH_PPC64 },
	{ "SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE },
	{ "SCMP_ARCH_S390", SCMP_ARCH_S390 },
	{ "SCMP_ARCH_S390X", SCMP_ARCH_S390X },
	{ "SCMP_ARCH_PARISC", SCMP_ARCH_PARISC },
	{ "SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64 },
	{ "SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64 },
#ifdef SCMP_ARCH_LOONGARCH64
	{ "SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64 },
#endif
#ifdef SCMP_ARCH_M68K
	{ "SCMP_ARCH_M68K", SCMP_ARCH_M68K },
#endif
#ifdef SCMP_ARCH_SH
	{ "SCMP_ARCH_SH", SCMP_ARCH_SH },
	{ "SCMP_ARCH_SHEB", SCMP_ARCH_SHEB },
#endif
};

static const struct {
	const char *name;
	enum scmp_filter_attr attr;
} flag_names[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC },
	{ "SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB },
};

static const struct {
	const char *name;
	enum scmp_compare op;
} op_names[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE },
	{ "SCMP_CMP_LT", SCMP_CMP_LT },
	{ "SCMP_CMP_LE", SCMP_CMP_LE },
	{ "SCMP_CMP_EQ", SCMP_CMP_EQ },
	{ "SCMP_CMP_GE", SCMP_CMP_GE },
	{ "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

/*
 * @errno_set/@errno_ret: the rule's errnoRet; ERRNO and TRACE default to
 * EPERM without one.  @field names the action for messages.
 */
static int parse_action(const char *name, bool errno_set, uint32_t errno_ret,
			const char *field, uint32_t *out, struct herr *err)
{
	uint32_t data = errno_set ? errno_ret : EPERM;

	if (!name || !*name)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s: missing action", field);
	/* The action carries 16 bits of data. */
	if (data > 0xffff)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s: errnoRet %u out of range", field, data);
	if (!strcmp(name, "SCMP_ACT_KILL") ||
	    !strcmp(name, "SCMP_ACT_KILL_THREAD"))
		*out = SCMP_ACT_KILL_THREAD;
	else if (!strcmp(name, "SCMP_ACT_KILL_PROCESS"))
		*out = SCMP_ACT_KILL_PROCESS;
	else if (!strcmp(name, "SCMP_ACT_TRAP"))
		*out = SCMP_ACT_TRAP;
	else if (!strcmp(name, "SCMP_ACT_ERRNO"))
		*out = SCMP_ACT_ERRNO(data);
	else if (!strcmp(name, "SCMP_ACT_TRACE"))
		*out = SCMP_ACT_TRACE(data);
	else if (!strcmp(name, "SCMP_ACT_ALLOW"))
		*out = SCMP_ACT_ALLOW;
	else if (!strcmp(name, "SCMP_ACT_LOG"))
		*out = SCMP_ACT_LOG;
	else if (!strcmp(name, "SCMP_ACT_NOTIFY"))
		/* It needs a listener (a seccomp agent); there is none. */
		return herr_set(err, GRPC_UNIMPLEMENTED, 0,
				"%s: \"%s\" is not supported", field, name);
	else
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s: unknown action \"%s\"", field, name);
	return 0;
}

static int parse_args(const Grpc__LinuxSyscall *sc, size_t i,
		      struct scmp_arg_cmp *conds, bool *same_index,
		      struct herr *err)
{
	unsigned int per_index[NARGS] = { 0 };

	*same_index = false;
	for (size_t k = 0; k < sc->n_args; k++) {
		const Grpc__LinuxSeccompArg *a = sc->args[k];
		size_t o;

		if (a->index >= NARGS)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"linux.seccomp.syscalls[%zu].args[%zu].index: %" PRIu64
				" out of range (0-%d)",
				i, k, a->index, NARGS - 1);
		for (o = 0; o < ARRAY_SIZE(op_names); o++)
			if (!strcmp(op_names[o].name, a->op))
				break;
		if (o == ARRAY_SIZE(op_names))
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"linux.seccomp.syscalls[%zu].args[%zu].op: unknown operator \"%s\"",
				i, k, a->op);
		/* For MASKED_EQ, value is the mask and valueTwo the datum. */
		conds[k] = (struct scmp_arg_cmp){
			.arg = (unsigned int)a->index,
			.op = op_names[o].op,
			.datum_a = a->value,
			.datum_b = a->valuetwo,
		};
		if (++per_index[a->index] > 1)
			*same_index = true;
	}
	return 0;
}

static int add_syscall(scmp_filter_ctx ctx, uint32_t def_action,
		       const Grpc__LinuxSyscall *sc, size_t i, struct herr *err)
{
	struct scmp_arg_cmp conds[NARGS];
	char field[64];
	uint32_t action;
	bool same_index;

	snprintf(field, sizeof(field), "linux.seccomp.syscalls[%zu].action", i);
	if (parse_action(sc->action,
			 sc->errno_ret_case ==
				 GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET,
			 sc->errnoret, field, &action, err))
		return -1;
	/*
	 * Conditions on distinct arguments form one rule (all must match).
	 * Several conditions on one argument cannot be ANDed by libseccomp;
	 * as in the other OCI runtimes each then becomes a rule of its own.
	 */
	if (sc->n_args > NARGS)
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"linux.seccomp.syscalls[%zu].args: %zu conditions, at most %d",
			i, sc->n_args, NARGS);
	if (parse_args(sc, i, conds, &same_index, err))
		return -1;
	if (!sc->n_names)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"linux.seccomp.syscalls[%zu].names: empty", i);

	for (size_t j = 0; j < sc->n_names; j++) {
		const char *name = sc->names[j];
		int nr = seccomp_syscall_resolve_name(name);
		int rc = 0;

		if (nr == __NR_SCMP_ERROR) {
			/* Profiles list syscalls of every arch and version. */
			log_debug(
				"seccomp: syscall \"%s\" unknown here, skipped",
				name);
			continue;
		}
		/* libseccomp refuses rules that repeat the default action. */
		if (action == def_action)
			continue;
		if (same_index) {
			for (size_t k = 0; k < sc->n_args && !rc; k++)
				rc = seccomp_rule_add_array(ctx, action, nr, 1,
							    &conds[k]);
		} else {
			rc = seccomp_rule_add_array(ctx, action, nr,
						    (unsigned int)sc->n_args,
						    conds);
		}
		if (rc < 0)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, -rc,
				"linux.seccomp.syscalls[%zu].names[%zu]: add rule for \"%s\"",
				i, j, name);
	}
	return 0;
}

static int add_arches(scmp_filter_ctx ctx, const Grpc__LinuxSeccomp *spec,
		      struct herr *err)
{
	for (size_t i = 0; i < spec->n_architectures; i++) {
		const char *name = spec->architectures[i];
		size_t a;
		int rc;

		for (a = 0; a < ARRAY_SIZE(arch_names); a++)
			if (!strcmp(arch_names[a].name, name))
				break;
		if (a == ARRAY_SIZE(arch_names))
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"linux.seccomp.architectures[%zu]: unknown architecture \"%s\"",
				i, name);
		rc = seccomp_arch_add(ctx, arch_names[a].token);
		/* The native arch is in every new filter already. */
		if (rc < 0 && rc != -EEXIST)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, -rc,
				"linux.seccomp.architectures[%zu]: add \"%s\"",
				i, name);
	}
	return 0;
}

static int set_flags(scmp_filter_ctx ctx, const Grpc__LinuxSeccomp *spec,
		     struct herr *err)
{
	for (size_t i = 0; i < spec->n_flags; i++) {
		const char *name = spec->flags[i];
		size_t f;
		int rc;

		for (f = 0; f < ARRAY_SIZE(flag_names); f++)
			if (!strcmp(flag_names[f].name, name))
				break;
		if (f == ARRAY_SIZE(flag_names))
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"linux.seccomp.flags[%zu]: unknown flag \"%s\"",
				i, name);
		rc = seccomp_attr_set(ctx, flag_names[f].attr, 1);
		if (rc < 0)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, -rc,
				"linux.seccomp.flags[%zu]: \"%s\" not supported",
				i, name);
	}
	return 0;
}

int seccomp_filter_build(const Grpc__LinuxSeccomp *spec,
			 struct seccomp_filter **out, struct herr *err)
{
	struct seccomp_filter *f;
	uint32_t def_action;
	int rc;

	*out = NULL;
	if (parse_action(spec->defaultaction, false, 0,
			 "linux.seccomp.defaultAction", &def_action, err))
		return -1;
	f = xcalloc(1, sizeof(*f));
	f->ctx = seccomp_init(def_action);
	if (!f->ctx) {
		free(f);
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"linux.seccomp.defaultAction: \"%s\" not supported by libseccomp or the kernel",
			spec->defaultaction);
	}
	/*
	 * no_new_privs is the spec's decision (process.noNewPrivileges), not
	 * libseccomp's; the raw kernel errors let the loader tell EACCES.
	 */
	rc = seccomp_attr_set(f->ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (!rc)
		rc = seccomp_attr_set(f->ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
	if (rc < 0) {
		herr_set(err, GRPC_INTERNAL, -rc,
			 "seccomp: set filter attributes");
		goto fail;
	}
	if (add_arches(f->ctx, spec, err) || set_flags(f->ctx, spec, err))
		goto fail;
	for (size_t i = 0; i < spec->n_syscalls; i++)
		if (add_syscall(f->ctx, def_action, spec->syscalls[i], i, err))
			goto fail;
	*out = f;
	return 0;
fail:
	seccomp_filter_free(f);
	return -1;
}

int seccomp_filter_load(struct seccomp_filter *f, struct herr *err)
{
	int rc = seccomp_load(f->ctx);

	/*
	 * The kernel takes a filter from a task without CAP_SYS_ADMIN only
	 * with no_new_privs set.  When the caller has already dropped its
	 * privileges, set it rather than fail the container.
	 */
	if (rc == -EACCES && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			return herr_errno(err, errno,
					  "seccomp: set no_new_privs");
		rc = seccomp_load(f->ctx);
	}
	if (rc < 0)
		return herr_errno(err, -rc, "seccomp: load filter");
	return 0;
}

void seccomp_filter_free(struct seccomp_filter *f)
{
	if (!f)
		return;
	seccomp_release(f->ctx);
	free(f);
}
