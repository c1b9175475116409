// SPDX-License-Identifier: Apache-2.0
/*
 * config.json -> oci.Spec.  Every value is type-checked as it is copied, so
 * a bad bundle fails Create with a message naming the field instead of
 * reaching the guest half-understood.  The result is built from malloc'd
 * pieces only, so protobuf_c_message_free_unpacked() frees it, including
 * after an error half-way through.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"
#include "spec.h"
#include "util.h"

#define JSON_DEPTH 32
#define PATH_CTX 256

typedef struct json_object jobj;

/* Annotation keys that place a container in a pod (Kata's list). */
static const char *const ctype_keys[] = {
	"io.kubernetes.cri.container-type",
	"io.kubernetes.cri-o.ContainerType",
	"io.kubernetes.docker.type",
};
static const char *const sandbox_keys[] = {
	"io.kubernetes.cri.sandbox-id",
	"io.kubernetes.cri-o.SandboxID",
	"io.kubernetes.sandbox.id",
};

static int bad(struct herr *err, const char *ctx, const char *key,
	       const char *what)
{
	return herr_set(err, GRPC_INVALID_ARGUMENT, 0, "%s%s%s: %s", ctx,
			*ctx && key ? "." : "", key ? key : "", what);
}

/* The member @key of object @o, or NULL when absent or null. */
static jobj *member(jobj *o, const char *key)
{
	jobj *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static int want(jobj *v, enum json_type t, const char *ctx, const char *key,
		struct herr *err)
{
	static const char *const names[] = {
		[json_type_null] = "null",
		[json_type_boolean] = "a boolean",
		[json_type_double] = "a number",
		[json_type_int] = "an integer",
		[json_type_object] = "an object",
		[json_type_array] = "an array",
		[json_type_string] = "a string",
	};
	char msg[64];

	if (json_object_is_type(v, t))
		return 0;
	snprintf(msg, sizeof(msg), "expected %s", names[t]);
	return bad(err, ctx, key, msg);
}

static int get_obj(jobj *o, const char *key, const char *ctx, jobj **out,
		   struct herr *err)
{
	jobj *v = member(o, key);

	*out = NULL;
	if (!v)
		return 0;
	if (want(v, json_type_object, ctx, key, err) < 0)
		return -1;
	*out = v;
	return 0;
}

static int get_arr(jobj *o, const char *key, const char *ctx, jobj **out,
		   size_t *n, struct herr *err)
{
	jobj *v = member(o, key);

	*out = NULL;
	*n = 0;
	if (!v)
		return 0;
	if (want(v, json_type_array, ctx, key, err) < 0)
		return -1;
	*out = v;
	*n = json_object_array_length(v);
	return 0;
}

/* A string field; absent leaves the protobuf default (""). */
static int get_str(jobj *o, const char *key, const char *ctx, char **out,
		   struct herr *err)
{
	jobj *v = member(o, key);

	if (!v)
		return 0;
	if (want(v, json_type_string, ctx, key, err) < 0)
		return -1;
	*out = xstrdup(json_object_get_string(v));
	return 0;
}

static int get_bool(jobj *o, const char *key, const char *ctx,
		    protobuf_c_boolean *out, struct herr *err)
{
	jobj *v = member(o, key);

	if (!v)
		return 0;
	if (want(v, json_type_boolean, ctx, key, err) < 0)
		return -1;
	*out = json_object_get_boolean(v);
	return 0;
}

static int get_i64(jobj *o, const char *key, const char *ctx, int64_t *out,
		   struct herr *err)
{
	jobj *v = member(o, key);
	int64_t x;

	if (!v)
		return 0;
	if (want(v, json_type_int, ctx, key, err) < 0)
		return -1;
	x = json_object_get_int64(v);
	if (x == INT64_MAX && json_object_get_uint64(v) > INT64_MAX)
		return bad(err, ctx, key, "out of range");
	*out = x;
	return 0;
}

static int get_u64(jobj *o, const char *key, const char *ctx, uint64_t *out,
		   struct herr *err)
{
	jobj *v = member(o, key);

	if (!v)
		return 0;
	if (want(v, json_type_int, ctx, key, err) < 0)
		return -1;
	if (json_object_get_int64(v) < 0)
		return bad(err, ctx, key, "must not be negative");
	*out = json_object_get_uint64(v);
	return 0;
}

static int get_u32(jobj *o, const char *key, const char *ctx, uint32_t *out,
		   struct herr *err)
{
	uint64_t x = 0;

	if (get_u64(o, key, ctx, &x, err) < 0)
		return -1;
	if (x > UINT32_MAX)
		return bad(err, ctx, key, "out of range");
	if (member(o, key))
		*out = (uint32_t)x;
	return 0;
}

/* An array of strings into a malloc'd char ** (counted in *n). */
static int get_strv(jobj *o, const char *key, const char *ctx, char ***out,
		    size_t *n, struct herr *err)
{
	jobj *a;
	size_t len;

	if (get_arr(o, key, ctx, &a, &len, err) < 0)
		return -1;
	if (!a)
		return 0;
	*out = xcalloc(len, sizeof(char *));
	for (size_t i = 0; i < len; i++) {
		jobj *e = json_object_array_get_idx(a, i);
		char where[PATH_CTX];

		if (!json_object_is_type(e, json_type_string)) {
			snprintf(where, sizeof(where), "%.200s[%zu]", key, i);
			return bad(err, ctx, where, "expected a string");
		}
		(*out)[(*n)++] = xstrdup(json_object_get_string(e));
	}
	return 0;
}

static int get_u32v(jobj *o, const char *key, const char *ctx, uint32_t **out,
		    size_t *n, struct herr *err)
{
	jobj *a;
	size_t len;

	if (get_arr(o, key, ctx, &a, &len, err) < 0)
		return -1;
	if (!a)
		return 0;
	*out = xcalloc(len, sizeof(uint32_t));
	for (size_t i = 0; i < len; i++) {
		jobj *e = json_object_array_get_idx(a, i);
		char where[PATH_CTX];

		snprintf(where, sizeof(where), "%.200s[%zu]", key, i);
		if (!json_object_is_type(e, json_type_int) ||
		    json_object_get_int64(e) < 0 ||
		    json_object_get_int64(e) > UINT32_MAX)
			return bad(err, ctx, where,
				   "expected an integer 0..4294967295");
		(*out)[(*n)++] = (uint32_t)json_object_get_int64(e);
	}
	return 0;
}

/* Replace a string field, freeing the old value unless it is the default. */
static void set_str(char **field, const char *v)
{
	if (*field && *field != protobuf_c_empty_string)
		free(*field);
	*field = xstrdup(v);
}

static void sub(char *buf, const char *ctx, const char *key)
{
	/* Bounded pieces: a path deeper than this is cut, never overflowed. */
	snprintf(buf, PATH_CTX, "%.180s%s%.60s", ctx, *ctx ? "." : "", key);
}

static void subi(char *buf, const char *ctx, const char *key, size_t i)
{
	snprintf(buf, PATH_CTX, "%.160s%s%.60s[%zu]", ctx, *ctx ? "." : "", key,
		 i);
}

/* ---- process ---------------------------------------------------------- */

static int conv_caps(jobj *o, const char *ctx, Grpc__LinuxCapabilities **out,
		     struct herr *err)
{
	Grpc__LinuxCapabilities *c = xmalloc(sizeof(*c));

	grpc__linux_capabilities__init(c);
	*out = c;
	if (get_strv(o, "bounding", ctx, &c->bounding, &c->n_bounding, err) ||
	    get_strv(o, "effective", ctx, &c->effective, &c->n_effective,
		     err) ||
	    get_strv(o, "inheritable", ctx, &c->inheritable, &c->n_inheritable,
		     err) ||
	    get_strv(o, "permitted", ctx, &c->permitted, &c->n_permitted,
		     err) ||
	    get_strv(o, "ambient", ctx, &c->ambient, &c->n_ambient, err))
		return -1;
	return 0;
}

static int conv_process(jobj *o, const char *ctx, Grpc__Process **out,
			struct herr *err)
{
	Grpc__Process *p = xmalloc(sizeof(*p));
	char where[PATH_CTX];
	jobj *v, *a;
	size_t n;

	grpc__process__init(p);
	*out = p;
	if (get_bool(o, "terminal", ctx, &p->terminal, err) < 0)
		return -1;
	sub(where, ctx, "consoleSize");
	if (get_obj(o, "consoleSize", ctx, &v, err) < 0)
		return -1;
	if (v) {
		p->consolesize = xmalloc(sizeof(*p->consolesize));
		grpc__box__init(p->consolesize);
		if (get_u32(v, "height", where, &p->consolesize->height, err) ||
		    get_u32(v, "width", where, &p->consolesize->width, err))
			return -1;
	}
	sub(where, ctx, "user");
	if (get_obj(o, "user", ctx, &v, err) < 0)
		return -1;
	p->user = xmalloc(sizeof(*p->user));
	grpc__user__init(p->user);
	if (v && (get_u32(v, "uid", where, &p->user->uid, err) ||
		  get_u32(v, "gid", where, &p->user->gid, err) ||
		  get_u32v(v, "additionalGids", where, &p->user->additionalgids,
			   &p->user->n_additionalgids, err) ||
		  get_str(v, "username", where, &p->user->username, err)))
		return -1;
	if (get_strv(o, "args", ctx, &p->args, &p->n_args, err) < 0)
		return -1;
	if (p->n_args == 0 || !*p->args[0])
		return bad(err, ctx, "args", "must name a program");
	if (get_strv(o, "env", ctx, &p->env, &p->n_env, err) < 0 ||
	    get_str(o, "cwd", ctx, &p->cwd, err) < 0)
		return -1;
	if (!*p->cwd)
		set_str(&p->cwd, "/");
	if (p->cwd[0] != '/')
		return bad(err, ctx, "cwd", "must be an absolute path");
	sub(where, ctx, "capabilities");
	if (get_obj(o, "capabilities", ctx, &v, err) < 0 ||
	    (v && conv_caps(v, where, &p->capabilities, err) < 0))
		return -1;
	if (get_arr(o, "rlimits", ctx, &a, &n, err) < 0)
		return -1;
	if (n)
		p->rlimits = xcalloc(n, sizeof(*p->rlimits));
	for (size_t i = 0; i < n; i++) {
		jobj *e = json_object_array_get_idx(a, i);
		Grpc__POSIXRlimit *r = xmalloc(sizeof(*r));

		grpc__posixrlimit__init(r);
		p->rlimits[p->n_rlimits++] = r;
		subi(where, ctx, "rlimits", i);
		if (want(e, json_type_object, where, NULL, err) < 0 ||
		    get_str(e, "type", where, &r->type, err) ||
		    get_u64(e, "hard", where, &r->hard, err) ||
		    get_u64(e, "soft", where, &r->soft, err))
			return -1;
	}
	/* The agent refuses a console size without a terminal. */
	if (!p->terminal && p->consolesize) {
		protobuf_c_message_free_unpacked(&p->consolesize->base, NULL);
		p->consolesize = NULL;
	}
	if (get_bool(o, "noNewPrivileges", ctx, &p->nonewprivileges, err) < 0 ||
	    get_i64(o, "oomScoreAdj", ctx, &p->oomscoreadj, err) < 0)
		return -1;
	/* apparmorProfile and selinuxLabel name host policies: the guest has
	 * neither, so they are type-checked and dropped (as Kata does). */
	if ((v = member(o, "apparmorProfile")) &&
	    want(v, json_type_string, ctx, "apparmorProfile", err) < 0)
		return -1;
	if ((v = member(o, "selinuxLabel")) &&
	    want(v, json_type_string, ctx, "selinuxLabel", err) < 0)
		return -1;
	return 0;
}

/* ---- resources -------------------------------------------------------- */

/*
 * Only what the guest can enforce for this container is kept: memory,
 * CPU time (not the host's cpuset), pids.  Device rules, block I/O and
 * network classes name host objects and are dropped, as in Kata.
 */
static int conv_resources(jobj *o, const char *ctx, Grpc__LinuxResources **out,
			  struct herr *err)
{
	Grpc__LinuxResources *r = xmalloc(sizeof(*r));
	char where[PATH_CTX];
	jobj *v;

	grpc__linux_resources__init(r);
	*out = r;
	sub(where, ctx, "memory");
	if (get_obj(o, "memory", ctx, &v, err) < 0)
		return -1;
	if (v) {
		Grpc__LinuxMemory *m = xmalloc(sizeof(*m));

		grpc__linux_memory__init(m);
		r->memory = m;
		if (get_i64(v, "limit", where, &m->limit, err) ||
		    get_i64(v, "reservation", where, &m->reservation, err) ||
		    get_i64(v, "swap", where, &m->swap, err) ||
		    get_i64(v, "kernel", where, &m->kernel, err) ||
		    get_i64(v, "kernelTCP", where, &m->kerneltcp, err) ||
		    get_u64(v, "swappiness", where, &m->swappiness, err) ||
		    get_bool(v, "disableOOMKiller", where, &m->disableoomkiller,
			     err))
			return -1;
	}
	sub(where, ctx, "cpu");
	if (get_obj(o, "cpu", ctx, &v, err) < 0)
		return -1;
	if (v) {
		Grpc__LinuxCPU *c = xmalloc(sizeof(*c));
		char *ignored = NULL;

		grpc__linux_cpu__init(c);
		r->cpu = c;
		if (get_u64(v, "shares", where, &c->shares, err) ||
		    get_i64(v, "quota", where, &c->quota, err) ||
		    get_u64(v, "period", where, &c->period, err) ||
		    get_i64(v, "realtimeRuntime", where, &c->realtimeruntime,
			    err) ||
		    get_u64(v, "realtimePeriod", where, &c->realtimeperiod,
			    err))
			return -1;
		/* Host CPU and NUMA node numbers mean nothing in the guest. */
		if (get_str(v, "cpus", where, &ignored, err) < 0)
			return -1;
		free(ignored);
		ignored = NULL;
		if (get_str(v, "mems", where, &ignored, err) < 0)
			return -1;
		free(ignored);
	}
	sub(where, ctx, "pids");
	if (get_obj(o, "pids", ctx, &v, err) < 0)
		return -1;
	if (v) {
		r->pids = xmalloc(sizeof(*r->pids));
		grpc__linux_pids__init(r->pids);
		if (get_i64(v, "limit", where, &r->pids->limit, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- linux ------------------------------------------------------------ */

static int conv_map(jobj *o, const char *key, const char *ctx,
		    Grpc__Linux__SysctlEntry ***out, size_t *n,
		    struct herr *err)
{
	jobj *m;
	size_t i = 0;

	if (get_obj(o, key, ctx, &m, err) < 0)
		return -1;
	if (!m)
		return 0;
	*out = xcalloc(json_object_object_length(m), sizeof(**out));
	json_object_object_foreach(m, k, v)
	{
		Grpc__Linux__SysctlEntry *e;
		char where[PATH_CTX];

		subi(where, ctx, key, i++);
		if (!json_object_is_type(v, json_type_string))
			return bad(err, where, k, "expected a string");
		e = xmalloc(sizeof(*e));
		grpc__linux__sysctl_entry__init(e);
		e->key = xstrdup(k);
		e->value = xstrdup(json_object_get_string(v));
		(*out)[(*n)++] = e;
	}
	return 0;
}

static int conv_namespaces(jobj *o, const char *ctx, Grpc__Linux *l,
			   struct spec_result *r, struct herr *err)
{
	char where[PATH_CTX];
	jobj *a;
	size_t n;

	if (get_arr(o, "namespaces", ctx, &a, &n, err) < 0)
		return -1;
	if (n)
		l->namespaces = xcalloc(n, sizeof(*l->namespaces));
	for (size_t i = 0; i < n; i++) {
		jobj *e = json_object_array_get_idx(a, i);
		_cleanup_free_ char *type = NULL, *path = NULL;
		Grpc__LinuxNamespace *ns;

		subi(where, ctx, "namespaces", i);
		if (want(e, json_type_object, where, NULL, err) < 0 ||
		    get_str(e, "type", where, &type, err) < 0 ||
		    get_str(e, "path", where, &path, err) < 0)
			return -1;
		if (!type)
			return bad(err, where, "type", "missing");
		if (!strcmp(type, "user"))
			return bad(err, where, "type",
				   "user namespaces are not supported in the "
				   "guest");
		/* The VM is the network and cgroup boundary; the guest has no
		 * time namespace to join.  The network namespace's path is
		 * where the shim finds the pod's interfaces. */
		if (!strcmp(type, "network"))
			r->host_netns = false;
		if (!strcmp(type, "network") && path && *path) {
			free(r->netns_path);
			r->netns_path = steal_pointer(&path);
			continue;
		}
		if (!strcmp(type, "network") || !strcmp(type, "cgroup") ||
		    !strcmp(type, "time"))
			continue;
		/* A pid namespace path means "the pod's": the agent keeps one
		 * per sandbox. */
		if (!strcmp(type, "pid") && path && *path) {
			r->sandbox_pidns = true;
			continue;
		}
		if (strcmp(type, "pid") && strcmp(type, "mount") &&
		    strcmp(type, "ipc") && strcmp(type, "uts"))
			return bad(err, where, "type",
				   "unknown namespace type");
		ns = xmalloc(sizeof(*ns));
		grpc__linux_namespace__init(ns);
		ns->type = steal_pointer(&type);
		/* Host namespace paths mean nothing in the guest. */
		l->namespaces[l->n_namespaces++] = ns;
	}
	return 0;
}

static int conv_seccomp(jobj *o, const char *ctx, Grpc__LinuxSeccomp **out,
			struct herr *err)
{
	Grpc__LinuxSeccomp *s = xmalloc(sizeof(*s));
	char where[PATH_CTX];
	jobj *a;
	size_t n;

	grpc__linux_seccomp__init(s);
	*out = s;
	if (get_str(o, "defaultAction", ctx, &s->defaultaction, err) ||
	    get_strv(o, "architectures", ctx, &s->architectures,
		     &s->n_architectures, err) ||
	    get_strv(o, "flags", ctx, &s->flags, &s->n_flags, err) ||
	    get_arr(o, "syscalls", ctx, &a, &n, err))
		return -1;
	if (n)
		s->syscalls = xcalloc(n, sizeof(*s->syscalls));
	for (size_t i = 0; i < n; i++) {
		jobj *e = json_object_array_get_idx(a, i), *args;
		Grpc__LinuxSyscall *sc = xmalloc(sizeof(*sc));
		size_t na;

		grpc__linux_syscall__init(sc);
		s->syscalls[s->n_syscalls++] = sc;
		subi(where, ctx, "syscalls", i);
		if (want(e, json_type_object, where, NULL, err) < 0 ||
		    get_strv(e, "names", where, &sc->names, &sc->n_names,
			     err) ||
		    get_str(e, "action", where, &sc->action, err))
			return -1;
		if (member(e, "errnoRet")) {
			if (get_u32(e, "errnoRet", where, &sc->errnoret, err))
				return -1;
			sc->errno_ret_case =
				GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET;
		}
		if (get_arr(e, "args", where, &args, &na, err) < 0)
			return -1;
		if (na)
			sc->args = xcalloc(na, sizeof(*sc->args));
		for (size_t k = 0; k < na; k++) {
			jobj *ae = json_object_array_get_idx(args, k);
			Grpc__LinuxSeccompArg *arg = xmalloc(sizeof(*arg));
			char aw[PATH_CTX];

			grpc__linux_seccomp_arg__init(arg);
			sc->args[sc->n_args++] = arg;
			subi(aw, where, "args", k);
			if (want(ae, json_type_object, aw, NULL, err) < 0 ||
			    get_u64(ae, "index", aw, &arg->index, err) ||
			    get_u64(ae, "value", aw, &arg->value, err) ||
			    get_u64(ae, "valueTwo", aw, &arg->valuetwo, err) ||
			    get_str(ae, "op", aw, &arg->op, err))
				return -1;
		}
	}
	return 0;
}

static int conv_linux(jobj *o, Grpc__Linux **out, struct spec_result *r,
		      struct herr *err)
{
	Grpc__Linux *l = xmalloc(sizeof(*l));
	const char *ctx = "linux";
	jobj *v;

	grpc__linux__init(l);
	*out = l;
	if (conv_map(o, "sysctl", ctx, &l->sysctl, &l->n_sysctl, err) < 0)
		return -1;
	if (get_obj(o, "resources", ctx, &v, err) < 0 ||
	    (v && conv_resources(v, "linux.resources", &l->resources, err) < 0))
		return -1;
	if (get_str(o, "cgroupsPath", ctx, &l->cgroupspath, err) < 0 ||
	    conv_namespaces(o, ctx, l, r, err) < 0)
		return -1;
	if (get_obj(o, "seccomp", ctx, &v, err) < 0 ||
	    (v && conv_seccomp(v, "linux.seccomp", &l->seccomp, err) < 0))
		return -1;
	if (get_str(o, "rootfsPropagation", ctx, &l->rootfspropagation, err) ||
	    get_strv(o, "maskedPaths", ctx, &l->maskedpaths, &l->n_maskedpaths,
		     err) ||
	    get_strv(o, "readonlyPaths", ctx, &l->readonlypaths,
		     &l->n_readonlypaths, err))
		return -1;
	/*
	 * Dropped: uid/gid mappings (no user namespaces), devices (host device
	 * nodes are not in the guest; passing them needs hotplug), mountLabel
	 * and intelRdt (host features).
	 */
	return 0;
}

/* ---- mounts ----------------------------------------------------------- */

static bool has_opt(const Grpc__Mount *m, const char *opt)
{
	for (size_t i = 0; i < m->n_options; i++)
		if (!strcmp(m->options[i], opt))
			return true;
	return false;
}

static bool is_bind_mount(const Grpc__Mount *m)
{
	return !strcmp(m->type, "bind") || has_opt(m, "bind") ||
	       has_opt(m, "rbind");
}

static const char *base_name(const char *path)
{
	const char *s = path_base(path);

	return *s ? s : "root";
}

static void add_share(struct spec_result *r, const char *cid, Grpc__Mount *m,
		      size_t idx)
{
	struct spec_share *sh;
	char *name, *guest;

	r->shares = realloc(r->shares, (r->n_shares + 1) * sizeof(*r->shares));
	if (!r->shares)
		abort();
	sh = &r->shares[r->n_shares++];
	if (asprintf(&name, "%s-m%zu-%s", cid, idx, base_name(m->destination)) <
		    0 ||
	    asprintf(&guest, GUEST_SHARED_DIR "/%s", name) < 0)
		abort();
	sh->host_path = m->source;
	sh->name = name;
	sh->readonly = has_opt(m, "ro");
	m->source = guest;
}

/* /dev/shm in the guest is the guest's own tmpfs, not a host directory. */
static void make_shm_tmpfs(Grpc__Mount *m)
{
	static const char *const opts[] = { "nosuid", "noexec", "nodev",
					    "mode=1777", "size=65536k" };

	for (size_t i = 0; i < m->n_options; i++)
		free(m->options[i]);
	free(m->options);
	set_str(&m->source, "shm");
	set_str(&m->type, "tmpfs");
	m->options = xcalloc(ARRAY_SIZE(opts), sizeof(char *));
	for (m->n_options = 0; m->n_options < ARRAY_SIZE(opts); m->n_options++)
		m->options[m->n_options] = xstrdup(opts[m->n_options]);
}

static int conv_mounts(jobj *o, const char *cid, struct spec_result *r,
		       struct herr *err)
{
	Grpc__Spec *sp = r->spec;
	char where[PATH_CTX];
	jobj *a;
	size_t n;

	if (get_arr(o, "mounts", "", &a, &n, err) < 0)
		return -1;
	if (n)
		sp->mounts = xcalloc(n, sizeof(*sp->mounts));
	for (size_t i = 0; i < n; i++) {
		jobj *e = json_object_array_get_idx(a, i);
		Grpc__Mount *m = xmalloc(sizeof(*m));

		grpc__mount__init(m);
		sp->mounts[sp->n_mounts++] = m;
		subi(where, "", "mounts", i);
		if (want(e, json_type_object, where, NULL, err) < 0 ||
		    get_str(e, "destination", where, &m->destination, err) ||
		    get_str(e, "type", where, &m->type, err) ||
		    get_str(e, "source", where, &m->source, err) ||
		    get_strv(e, "options", where, &m->options, &m->n_options,
			     err))
			return -1;
		if (m->destination[0] != '/')
			return bad(err, where, "destination",
				   "must be an absolute path");
		if (!is_bind_mount(m))
			continue;
		if (m->source[0] != '/')
			return bad(err, where, "source",
				   "a bind mount needs an absolute host path");
		if (!strcmp(m->destination, "/dev/shm"))
			make_shm_tmpfs(m);
		else
			add_share(r, cid, m, i);
	}
	return 0;
}

/* ---- spec ------------------------------------------------------------- */

static int conv_annotations(jobj *o, struct spec_result *r, struct herr *err)
{
	Grpc__Spec *sp = r->spec;
	const char *ctype = NULL;
	jobj *m;

	if (get_obj(o, "annotations", "", &m, err) < 0)
		return -1;
	if (!m)
		return 0;
	sp->annotations =
		xcalloc(json_object_object_length(m), sizeof(*sp->annotations));
	json_object_object_foreach(m, k, v)
	{
		Grpc__Spec__AnnotationsEntry *e;

		if (!json_object_is_type(v, json_type_string))
			return bad(err, "annotations", k, "expected a string");
		e = xmalloc(sizeof(*e));
		grpc__spec__annotations_entry__init(e);
		e->key = xstrdup(k);
		e->value = xstrdup(json_object_get_string(v));
		sp->annotations[sp->n_annotations++] = e;
		for (size_t i = 0; i < ARRAY_SIZE(ctype_keys); i++)
			if (!strcmp(k, ctype_keys[i]))
				ctype = e->value;
		for (size_t i = 0; i < ARRAY_SIZE(sandbox_keys); i++)
			if (!strcmp(k, sandbox_keys[i]) && *e->value &&
			    !r->sandbox_id)
				r->sandbox_id = xstrdup(e->value);
	}
	r->pod_member = ctype && !strcmp(ctype, "container");
	return 0;
}

static int parse_json(const char *text, size_t len, jobj **out,
		      struct herr *err)
{
	struct json_tokener *tok;
	jobj *root;
	size_t used;

	*out = NULL;
	if (len > SPEC_JSON_MAX)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"larger than %u bytes", SPEC_JSON_MAX);
	if (len > INT_MAX || memchr(text, '\0', len))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"not JSON text (contains a NUL byte)");
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok)
		return herr_set(err, GRPC_INTERNAL, ENOMEM, "json tokener");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (!root) {
		enum json_tokener_error je = json_tokener_get_error(tok);

		herr_set(err, GRPC_INVALID_ARGUMENT, 0,
			 "not valid JSON at byte %zu: %s",
			 (size_t)json_tokener_get_parse_end(tok),
			 je == json_tokener_continue
				 ? "unexpected end of input"
				 : json_tokener_error_desc(je));
		json_tokener_free(tok);
		return -1;
	}
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (; used < len; used++)
		if (!strchr(" \t\r\n", text[used])) {
			json_object_put(root);
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"not valid JSON: trailing data at byte %zu",
				used);
		}
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"not a JSON object");
	}
	*out = root;
	return 0;
}

void spec_result_free(struct spec_result *r)
{
	if (r->spec)
		protobuf_c_message_free_unpacked(&r->spec->base, NULL);
	for (size_t i = 0; i < r->n_shares; i++) {
		free(r->shares[i].host_path);
		free(r->shares[i].name);
	}
	free(r->shares);
	free(r->root_path);
	free(r->sandbox_id);
	free(r->netns_path);
	memset(r, 0, sizeof(*r));
}

static int convert(jobj *o, const char *cid, struct spec_result *r,
		   struct herr *err)
{
	Grpc__Spec *sp = xmalloc(sizeof(*sp));
	jobj *v, *hooks;

	grpc__spec__init(sp);
	r->spec = sp;
	if (get_str(o, "ociVersion", "", &sp->version, err) < 0 ||
	    get_obj(o, "process", "", &v, err) < 0)
		return -1;
	if (!v)
		return bad(err, "", "process",
			   "missing (a container needs a process)");
	if (conv_process(v, "process", &sp->process, err) < 0)
		return -1;
	if (get_obj(o, "root", "", &v, err) < 0)
		return -1;
	sp->root = xmalloc(sizeof(*sp->root));
	grpc__root__init(sp->root);
	if (v &&
	    (get_str(v, "path", "root", &r->root_path, err) < 0 ||
	     get_bool(v, "readonly", "root", &sp->root->readonly, err) < 0))
		return -1;
	if (asprintf(&sp->root->path, GUEST_SHARED_DIR "/%s/rootfs", cid) < 0)
		abort();
	if (get_str(o, "hostname", "", &sp->hostname, err) < 0 ||
	    conv_mounts(o, cid, r, err) < 0)
		return -1;
	/* Hooks would run in the guest, where their binaries are not. */
	if (get_obj(o, "hooks", "", &hooks, err) < 0 ||
	    conv_annotations(o, r, err) < 0)
		return -1;
	if (get_obj(o, "linux", "", &v, err) < 0)
		return -1;
	if (!v)
		return bad(err, "", "linux",
			   "missing (only Linux containers are supported)");
	/* No network namespace at all: the host's (hostNetwork). */
	r->host_netns = true;
	return conv_linux(v, &sp->linux, r, err);
}

int spec_from_json(const char *text, size_t len, const char *cid,
		   struct spec_result *out, struct herr *err)
{
	jobj *root;
	int r;

	memset(out, 0, sizeof(*out));
	if (parse_json(text, len, &root, err) < 0)
		return -1;
	r = convert(root, cid, out, err);
	json_object_put(root);
	if (r < 0)
		spec_result_free(out);
	return r;
}

int spec_read_file(const char *path, size_t max, char **text, size_t *len,
		   struct herr *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	size_t n = 0;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return herr_errno(err, errno, "%s", path);
	if (!S_ISREG(st.st_mode))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s: not a regular file", path);
	if ((size_t)st.st_size > max)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s: larger than %zu bytes", path, max);
	buf = xmalloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return herr_errno(err, errno, "read %s", path);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	*text = steal_pointer(&buf);
	return 0;
}

int spec_read_bundle(const char *bundle, const char *cid,
		     struct spec_result *out, struct herr *err)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (asprintf(&path, "%s/config.json", bundle) < 0)
		abort();
	if (spec_read_file(path, SPEC_JSON_MAX, &text, &len, err) < 0)
		return -1;
	if (spec_from_json(text, len, cid, out, err) < 0)
		return herr_prefix(err, "%s", path);
	return 0;
}

int spec_pod_info(const char *text, size_t len, char **sandbox_id,
		  bool *pod_member, struct herr *err)
{
	struct spec_result r = { 0 };
	jobj *root;
	int ret;

	*sandbox_id = NULL;
	*pod_member = false;
	if (parse_json(text, len, &root, err) < 0)
		return -1;
	r.spec = xmalloc(sizeof(*r.spec));
	grpc__spec__init(r.spec);
	ret = conv_annotations(root, &r, err);
	json_object_put(root);
	if (ret == 0) {
		*sandbox_id = steal_pointer(&r.sandbox_id);
		*pod_member = r.pod_member;
	}
	spec_result_free(&r);
	return ret;
}

int spec_process_from_json(const char *text, size_t len, Grpc__Process **out,
			   struct herr *err)
{
	Grpc__Process *p = NULL;
	jobj *root;
	int r;

	*out = NULL;
	if (parse_json(text, len, &root, err) < 0)
		return -1;
	r = conv_process(root, "process", &p, err);
	json_object_put(root);
	if (r < 0) {
		protobuf_c_message_free_unpacked(&p->base, NULL);
		return -1;
	}
	*out = p;
	return 0;
}

int spec_resources_from_json(const char *text, size_t len,
			     Grpc__LinuxResources **out, struct herr *err)
{
	Grpc__LinuxResources *res = NULL;
	jobj *root;
	int r;

	*out = NULL;
	if (parse_json(text, len, &root, err) < 0)
		return -1;
	r = conv_resources(root, "resources", &res, err);
	json_object_put(root);
	if (r < 0) {
		protobuf_c_message_free_unpacked(&res->base, NULL);
		return -1;
	}
	*out = res;
	return 0;
}
