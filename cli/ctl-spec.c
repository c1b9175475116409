// SPDX-License-Identifier: Apache-2.0
/*
 * The OCI spec "husk ctl create" sends: the defaults of "runc spec" (proc,
 * tmpfs /dev, devpts, shm, mqueue, read-only sysfs and cgroup, masked and
 * read-only /proc paths, Docker's default capabilities), changed by the
 * command-line options.  A short-lived tool: nothing here is freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "util.h"

static char *s(const char *v)
{
	return xstrdup(v ? v : "");
}

static char **strv(const char *const *v, size_t n)
{
	char **out = xcalloc(n + 1, sizeof(char *));

	for (size_t i = 0; i < n; i++)
		out[i] = s(v[i]);
	return out;
}

static const char *const default_caps[] = {
	"CAP_CHOWN",	    "CAP_DAC_OVERRIDE", "CAP_FSETID",
	"CAP_FOWNER",	    "CAP_MKNOD",	"CAP_NET_RAW",
	"CAP_SETGID",	    "CAP_SETUID",	"CAP_SETFCAP",
	"CAP_SETPCAP",	    "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
	"CAP_KILL",	    "CAP_AUDIT_WRITE",
};

static const char *const masked_default[] = {
	"/proc/acpi",	     "/proc/asound",	 "/proc/kcore",
	"/proc/keys",	     "/proc/latency_stats", "/proc/timer_list",
	"/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
	"/proc/scsi",
};

static const char *const readonly_default[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static Grpc__Mount *mnt(const char *dst, const char *type, const char *src,
			const char *opts)
{
	Grpc__Mount *m = xmalloc(sizeof(*m));
	char *copy = xstrdup(opts), *tok, *save = NULL;
	size_t n = 0;

	grpc__mount__init(m);
	m->destination = s(dst);
	m->type = s(type);
	m->source = s(src);
	m->options = xcalloc(32, sizeof(char *));
	for (tok = strtok_r(copy, ",", &save); tok && n < 31;
	     tok = strtok_r(NULL, ",", &save))
		m->options[n++] = s(tok);
	m->n_options = n;
	return m;
}

static Grpc__LinuxCapabilities *build_caps(const struct ctl_opts *o)
{
	Grpc__LinuxCapabilities *c = xmalloc(sizeof(*c));
	const char *list[64];
	size_t n = 0;

	grpc__linux_capabilities__init(c);
	if (o->caps) {
		char *copy = xstrdup(o->caps), *save = NULL;

		for (char *t = strtok_r(copy, ",", &save); t && n < 64;
		     t = strtok_r(NULL, ",", &save))
			list[n++] = t;
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(default_caps); i++)
			list[n++] = default_caps[i];
	}
	/* --cap-drop removes from every set */
	for (size_t d = 0; d < o->cap_drop.n; d++)
		for (size_t i = 0; i < n; i++)
			if (!strcmp(list[i], o->cap_drop.v[d])) {
				list[i] = list[--n];
				break;
			}
	c->bounding = strv(list, n);
	c->n_bounding = n;
	c->effective = strv(list, n);
	c->n_effective = n;
	c->permitted = strv(list, n);
	c->n_permitted = n;
	return c;
}

Grpc__Process *ctl_build_process(const struct ctl_opts *o)
{
	Grpc__Process *p = xmalloc(sizeof(*p));
	Grpc__User *u = xmalloc(sizeof(*u));
	const char *env[CTL_LIST_MAX + 2];
	size_t ne = 0;
	bool has_path = false;

	grpc__process__init(p);
	grpc__user__init(u);
	p->user = u;
	if (o->user && sscanf(o->user, "%u:%u", &u->uid, &u->gid) < 1) {
		fprintf(stderr, "husk ctl: --user %s: expected UID[:GID]\n",
			o->user);
		exit(2);
	}
	if (o->groups) {
		char *copy = xstrdup(o->groups), *save = NULL;

		u->additionalgids = xcalloc(64, sizeof(uint32_t));
		for (char *t = strtok_r(copy, ",", &save);
		     t && u->n_additionalgids < 64;
		     t = strtok_r(NULL, ",", &save))
			u->additionalgids[u->n_additionalgids++] =
				strtoul(t, NULL, 10);
	}
	p->terminal = o->tty;
	if (o->tty) {
		p->consolesize = xmalloc(sizeof(*p->consolesize));
		grpc__box__init(p->consolesize);
		p->consolesize->height = o->rows ? o->rows : 24;
		p->consolesize->width = o->cols ? o->cols : 80;
	}
	p->args = strv((const char *const *)o->args, o->n_args);
	p->n_args = o->n_args;
	for (size_t i = 0; i < o->env.n; i++) {
		env[ne++] = o->env.v[i];
		if (!strncmp(o->env.v[i], "PATH=", 5))
			has_path = true;
	}
	if (!has_path)
		env[ne++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	if (o->tty)
		env[ne++] = "TERM=xterm";
	p->env = strv(env, ne);
	p->n_env = ne;
	p->cwd = s(o->cwd ? o->cwd : "/");
	if (!o->no_caps_default || o->caps || o->cap_drop.n)
		p->capabilities = build_caps(o);
	p->nonewprivileges = o->no_new_privs;
	p->oomscoreadj = o->oom_score_adj;
	p->rlimits = xcalloc(o->rlimits.n + 1, sizeof(void *));
	for (size_t i = 0; i < o->rlimits.n; i++) {
		Grpc__POSIXRlimit *r = xmalloc(sizeof(*r));
		char type[64];
		unsigned long long soft, hard;

		grpc__posixrlimit__init(r);
		if (sscanf(o->rlimits.v[i], "%63[^=]=%llu:%llu", type, &soft,
			   &hard) != 3) {
			fprintf(stderr,
				"husk ctl: --rlimit %s: expected TYPE=SOFT:HARD\n",
				o->rlimits.v[i]);
			exit(2);
		}
		r->type = s(type);
		r->soft = soft;
		r->hard = hard;
		p->rlimits[p->n_rlimits++] = r;
	}
	return p;
}

Grpc__LinuxResources *ctl_build_resources(const struct ctl_opts *o)
{
	Grpc__LinuxResources *r = xmalloc(sizeof(*r));

	grpc__linux_resources__init(r);
	if (o->memory) {
		r->memory = xmalloc(sizeof(*r->memory));
		grpc__linux_memory__init(r->memory);
		r->memory->limit = o->memory;
	}
	if (o->cpu_quota || o->cpu_period || o->cpu_shares || o->cpuset) {
		r->cpu = xmalloc(sizeof(*r->cpu));
		grpc__linux_cpu__init(r->cpu);
		r->cpu->quota = o->cpu_quota;
		r->cpu->period = o->cpu_period;
		r->cpu->shares = o->cpu_shares;
		r->cpu->cpus = s(o->cpuset);
	}
	if (o->pids_limit) {
		r->pids = xmalloc(sizeof(*r->pids));
		grpc__linux_pids__init(r->pids);
		r->pids->limit = o->pids_limit;
	}
	return r;
}

static Grpc__Hook **hooks(const struct strlist *l, long long timeout)
{
	Grpc__Hook **h = xcalloc(l->n + 1, sizeof(void *));

	for (size_t i = 0; i < l->n; i++) {
		h[i] = xmalloc(sizeof(**h));
		grpc__hook__init(h[i]);
		h[i]->path = s(l->v[i]);
		h[i]->timeout = timeout > 0 ? timeout : 10;
	}
	return h;
}

Grpc__Spec *ctl_build_spec(const struct ctl_opts *o, int *err_out)
{
	Grpc__Spec *sp = xmalloc(sizeof(*sp));
	Grpc__Linux *l = xmalloc(sizeof(*l));
	Grpc__Root *root = xmalloc(sizeof(*root));
	const char *ns[] = { "pid", "ipc", "uts", "mount", "network", "cgroup" };
	size_t nm = 0;

	grpc__spec__init(sp);
	grpc__linux__init(l);
	grpc__root__init(root);
	sp->version = s("1.0.2");
	sp->process = ctl_build_process(o);
	sp->root = root;
	root->path = s(o->rootfs);
	root->readonly = o->readonly;
	sp->hostname = s(o->hostname);
	sp->linux = l;

	sp->mounts = xcalloc(8 + o->mounts.n, sizeof(void *));
	sp->mounts[nm++] = mnt("/proc", "proc", "proc", "nosuid,noexec,nodev");
	sp->mounts[nm++] = mnt("/dev", "tmpfs", "tmpfs",
			       "nosuid,strictatime,mode=755,size=65536k");
	sp->mounts[nm++] = mnt("/dev/pts", "devpts", "devpts",
			       "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620");
	sp->mounts[nm++] = mnt("/dev/shm", "tmpfs", "shm",
			       "nosuid,noexec,nodev,mode=1777,size=65536k");
	sp->mounts[nm++] = mnt("/dev/mqueue", "mqueue", "mqueue",
			       "nosuid,noexec,nodev");
	sp->mounts[nm++] = mnt("/sys", "sysfs", "sysfs",
			       "nosuid,noexec,nodev,ro");
	sp->mounts[nm++] = mnt("/sys/fs/cgroup", "cgroup", "cgroup",
			       "nosuid,noexec,nodev,relatime,ro");
	for (size_t i = 0; i < o->mounts.n; i++) {
		/* TYPE:SOURCE:DEST[:opt,opt] */
		char *copy = xstrdup(o->mounts.v[i]);
		char *type = strtok(copy, ":"), *src = strtok(NULL, ":");
		char *dst = strtok(NULL, ":"), *opts = strtok(NULL, "");

		if (!type || !src || !dst) {
			fprintf(stderr,
				"husk ctl: --mount %s: expected TYPE:SOURCE:DEST[:OPTIONS]\n",
				o->mounts.v[i]);
			*err_out = 2;
			return NULL;
		}
		sp->mounts[nm++] = mnt(dst, type, src, opts ? opts : "");
	}
	sp->n_mounts = nm;

	l->namespaces = xcalloc(ARRAY_SIZE(ns), sizeof(void *));
	for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
		Grpc__LinuxNamespace *n;

		if ((!strcmp(ns[i], "pid") && o->no_pidns) ||
		    (!strcmp(ns[i], "network") && !o->net) ||
		    (!strcmp(ns[i], "cgroup") && !o->cgroupns))
			continue;
		n = xmalloc(sizeof(*n));
		grpc__linux_namespace__init(n);
		n->type = s(ns[i]);
		l->namespaces[l->n_namespaces++] = n;
	}
	if (o->masked.n) {
		l->maskedpaths = strv((const char *const *)o->masked.v,
				      o->masked.n);
		l->n_maskedpaths = o->masked.n;
	} else {
		l->maskedpaths = strv(masked_default,
				      ARRAY_SIZE(masked_default));
		l->n_maskedpaths = ARRAY_SIZE(masked_default);
	}
	if (o->ro_paths.n) {
		l->readonlypaths = strv((const char *const *)o->ro_paths.v,
					o->ro_paths.n);
		l->n_readonlypaths = o->ro_paths.n;
	} else {
		l->readonlypaths = strv(readonly_default,
					ARRAY_SIZE(readonly_default));
		l->n_readonlypaths = ARRAY_SIZE(readonly_default);
	}
	l->resources = ctl_build_resources(o);
	if (o->seccomp_deny.n) {
		Grpc__LinuxSeccomp *sc = xmalloc(sizeof(*sc));
		Grpc__LinuxSyscall *sys = xmalloc(sizeof(*sys));

		grpc__linux_seccomp__init(sc);
		grpc__linux_syscall__init(sys);
		sc->defaultaction = s("SCMP_ACT_ALLOW");
		sys->names = strv((const char *const *)o->seccomp_deny.v,
				  o->seccomp_deny.n);
		sys->n_names = o->seccomp_deny.n;
		sys->action = s("SCMP_ACT_ERRNO");
		sys->errno_ret_case = GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET;
		sys->errnoret = o->seccomp_errno ? o->seccomp_errno : 1;
		sc->syscalls = xcalloc(1, sizeof(void *));
		sc->syscalls[0] = sys;
		sc->n_syscalls = 1;
		l->seccomp = sc;
	}
	l->sysctl = xcalloc(o->sysctls.n + 1, sizeof(void *));
	for (size_t i = 0; i < o->sysctls.n; i++) {
		Grpc__Linux__SysctlEntry *e = xmalloc(sizeof(*e));
		char *copy = xstrdup(o->sysctls.v[i]), *eq = strchr(copy, '=');

		grpc__linux__sysctl_entry__init(e);
		if (!eq) {
			fprintf(stderr, "husk ctl: --sysctl %s: expected K=V\n",
				copy);
			*err_out = 2;
			return NULL;
		}
		*eq = '\0';
		e->key = copy;
		e->value = eq + 1;
		l->sysctl[l->n_sysctl++] = e;
	}
	if (o->hooks_prestart.n || o->hooks_poststop.n ||
	    o->hooks_start_container.n || o->hooks_create_container.n) {
		Grpc__Hooks *h = xmalloc(sizeof(*h));

		grpc__hooks__init(h);
		h->prestart = hooks(&o->hooks_prestart, o->hook_timeout);
		h->n_prestart = o->hooks_prestart.n;
		h->poststop = hooks(&o->hooks_poststop, o->hook_timeout);
		h->n_poststop = o->hooks_poststop.n;
		h->startcontainer = hooks(&o->hooks_start_container, o->hook_timeout);
		h->n_startcontainer = o->hooks_start_container.n;
		h->createcontainer = hooks(&o->hooks_create_container, o->hook_timeout);
		h->n_createcontainer = o->hooks_create_container.n;
		sp->hooks = h;
	}
	return sp;
}
