// SPDX-License-Identifier: Apache-2.0
/*
 * Request checks that need no state: ids, paths and the OCI spec.  The RPC
 * handlers run them before touching anything, and the fuzzer runs them on
 * every input, so each failure names the field and the reason.
 */
#include <ctype.h>
#include <string.h>

#include "agent.h"
#include "caps.h"
#include "cgroup.h"
#include "seccomp.h"
#include "util.h"

#define ID_MAX 128

int validate_id(const char *field, const char *id, struct herr *err)
{
	size_t len = id ? strlen(id) : 0;

	/* Kata's rule: ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ */
	if (len == 0)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s: must not be empty", field);
	if (len < 2 || len > ID_MAX)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s \"%.*s\": must be 2 to %d characters",
				field, ID_MAX, id, ID_MAX);
	if (!isalnum((unsigned char)id[0]))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s \"%s\": must start with a letter or digit",
				field, id);
	for (size_t i = 1; i < len; i++) {
		unsigned char ch = id[i];

		if (!isalnum(ch) && ch != '_' && ch != '.' && ch != '-')
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"%s \"%s\": character %zu is not one of [a-zA-Z0-9_.-]",
					field, id, i);
	}
	return 0;
}

int validate_exec_id(const char *id, struct herr *err)
{
	size_t len = id ? strlen(id) : 0;

	if (len > ID_MAX)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"exec_id: longer than %d characters", ID_MAX);
	for (size_t i = 0; i < len; i++)
		if (!isgraph((unsigned char)id[i]) || id[i] == '/')
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"exec_id: character %zu is not printable or is '/'",
					i);
	return 0;
}

int validate_path(const char *field, const char *path, bool absolute,
		  struct herr *err)
{
	size_t len = path ? strlen(path) : 0;

	if (len == 0)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s: must not be empty", field);
	if (len >= 4096)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s: longer than 4095 bytes", field);
	if (absolute && path[0] != '/')
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s \"%s\": must be an absolute path", field,
				path);
	return 0;
}

static bool has_newline(const char *s)
{
	return s && strpbrk(s, "\n\r");
}

int validate_process(const char *field, const Grpc__Process *p,
		     struct herr *err)
{
	struct caps caps;

	if (!p)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s: missing", field);
	if (p->n_args == 0 || !p->args[0] || !*p->args[0])
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s.args: must name a program", field);
	for (size_t i = 0; i < p->n_env; i++)
		if (!p->env[i] || !strchr(p->env[i], '=') ||
		    p->env[i][0] == '=')
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"%s.env[%zu]: not of the form KEY=value",
					field, i);
	if (p->cwd && *p->cwd && p->cwd[0] != '/')
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s.cwd \"%s\": must be an absolute path", field,
				p->cwd);
	if (p->consolesize && !p->terminal)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s.consoleSize: set without terminal", field);
	if (p->consolesize &&
	    (p->consolesize->height > 0xffff || p->consolesize->width > 0xffff))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s.consoleSize: larger than 65535", field);
	if (p->user && p->user->n_additionalgids > 65536)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s.user.additionalGids: more than 65536",
				field);
	if (p->oomscoreadj < -1000 || p->oomscoreadj > 1000)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s.oomScoreAdj %lld: outside -1000..1000",
				field, (long long)p->oomscoreadj);
	if (p->apparmorprofile && *p->apparmorprofile)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s.apparmorProfile: AppArmor is not supported",
				field);
	if (p->selinuxlabel && *p->selinuxlabel)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s.selinuxLabel: SELinux is not supported",
				field);
	if (p->capabilities && caps_parse(p->capabilities, &caps, err) < 0)
		return herr_prefix(err, "%s.capabilities", field);
	if (rlimits_check(p, err) < 0)
		return herr_prefix(err, "%s.rlimits", field);
	return 0;
}

static int validate_linux(const Grpc__Linux *l, struct herr *err)
{
	static const char *const ns_types[] = { "pid",	"network", "mount",
						"ipc",	"uts",	   "cgroup" };
	unsigned int seen = 0;

	if (l->n_uidmappings || l->n_gidmappings)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"oci.linux.uidMappings: user namespaces are not supported");
	for (size_t i = 0; i < l->n_namespaces; i++) {
		const Grpc__LinuxNamespace *ns = l->namespaces[i];
		size_t k;

		for (k = 0; k < ARRAY_SIZE(ns_types); k++)
			if (ns->type && !strcmp(ns->type, ns_types[k]))
				break;
		if (k == ARRAY_SIZE(ns_types))
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"oci.linux.namespaces[%zu].type \"%s\": %s",
					i, ns->type ? ns->type : "",
					ns->type && !strcmp(ns->type, "user") ?
						"user namespaces are not supported" :
						"unknown namespace type");
		if (seen & (1u << k))
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"oci.linux.namespaces[%zu]: %s listed twice",
					i, ns->type);
		seen |= 1u << k;
		if (ns->path && *ns->path && ns->path[0] != '/')
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"oci.linux.namespaces[%zu].path \"%s\": must be absolute",
					i, ns->path);
	}
	for (size_t i = 0; i < l->n_sysctl; i++) {
		const char *k = l->sysctl[i]->key;

		if (!k || !*k || strstr(k, "..") || k[0] == '/' ||
		    k[0] == '.' || has_newline(l->sysctl[i]->value))
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"oci.linux.sysctl[%zu] \"%s\": not a sysctl name",
					i, k ? k : "");
	}
	for (size_t i = 0; i < l->n_devices; i++) {
		const Grpc__LinuxDevice *d = l->devices[i];

		if (validate_path("oci.linux.devices[].path", d->path, true,
				  err) < 0)
			return -1;
		if (!d->type || strlen(d->type) != 1 ||
		    !strchr("cbup", d->type[0]))
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"oci.linux.devices[%zu].type \"%s\": must be c, b, u or p",
					i, d->type ? d->type : "");
		if (d->major < 0 || d->major > 0xfff || d->minor < 0 ||
		    d->minor > 0xfffff)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"oci.linux.devices[%zu]: major/minor out of range",
					i);
		if (strstr(d->path, "/../") || !strcmp(d->path, "/") ||
		    strncmp(d->path, "/dev/", 5))
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"oci.linux.devices[%zu].path \"%s\": must be under /dev",
					i, d->path);
	}
	for (size_t i = 0; i < l->n_maskedpaths; i++)
		if (validate_path("oci.linux.maskedPaths[]", l->maskedpaths[i],
				  true, err) < 0)
			return -1;
	for (size_t i = 0; i < l->n_readonlypaths; i++)
		if (validate_path("oci.linux.readonlyPaths[]",
				  l->readonlypaths[i], true, err) < 0)
			return -1;
	if (l->rootfspropagation && *l->rootfspropagation) {
		static const char *const props[] = { "shared",	  "rshared",
						     "slave",	  "rslave",
						     "private",	  "rprivate",
						     "unbindable", "runbindable" };
		size_t k;

		for (k = 0; k < ARRAY_SIZE(props); k++)
			if (!strcmp(l->rootfspropagation, props[k]))
				break;
		if (k == ARRAY_SIZE(props))
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"oci.linux.rootfsPropagation \"%s\": unknown",
					l->rootfspropagation);
	}
	if (l->mountlabel && *l->mountlabel)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"oci.linux.mountLabel: SELinux is not supported");
	if (l->intelrdt && l->intelrdt->l3cacheschema &&
	    *l->intelrdt->l3cacheschema)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"oci.linux.intelRdt: not supported");
	if (l->resources && cgroup_resources_check(l->resources, err) < 0)
		return herr_prefix(err, "oci");
	if (l->cgroupspath && *l->cgroupspath &&
	    (strstr(l->cgroupspath, "..") || has_newline(l->cgroupspath)))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"oci.linux.cgroupsPath \"%s\": must not contain \"..\"",
				l->cgroupspath);
	return 0;
}

int validate_spec(const Grpc__Spec *spec, struct herr *err)
{
	if (!spec)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0, "oci: missing");
	if (!spec->linux)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"oci.linux: missing (the spec must contain a linux section)");
	if (!spec->root)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"oci.root: missing");
	if (validate_path("oci.root.path", spec->root->path, true, err) < 0)
		return -1;
	if (validate_process("oci.process", spec->process, err) < 0)
		return -1;
	if (spec->hostname && (strlen(spec->hostname) > 64 ||
			       has_newline(spec->hostname)))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"oci.hostname: longer than 64 characters or not one line");
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (mount_validate(spec->mounts[i], i, err) < 0)
			return -1;
	if (spec->hooks) {
		const Grpc__Hooks *h = spec->hooks;
		Grpc__Hook **lists[] = { h->prestart,	    h->poststart,
					 h->poststop,	    h->createruntime,
					 h->createcontainer, h->startcontainer };
		size_t counts[] = { h->n_prestart,	 h->n_poststart,
				    h->n_poststop,	 h->n_createruntime,
				    h->n_createcontainer, h->n_startcontainer };

		for (size_t k = 0; k < ARRAY_SIZE(lists); k++)
			for (size_t i = 0; i < counts[k]; i++) {
				if (validate_path("oci.hooks[].path",
						  lists[k][i]->path, true,
						  err) < 0)
					return -1;
				if (lists[k][i]->timeout < 0)
					return herr_set(err,
							GRPC_INVALID_ARGUMENT,
							0,
							"oci.hooks: timeout of %s is negative",
							lists[k][i]->path);
			}
	}
	if (spec->linux->seccomp) {
		struct seccomp_filter *f = NULL;

		if (!IS_ENABLED_CONFIG_AGENT_SECCOMP)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"oci.linux.seccomp: this agent was built without seccomp");
		if (seccomp_filter_build(spec->linux->seccomp, &f, err) < 0)
			return herr_prefix(err, "oci");
		seccomp_filter_free(f);
	}
	return validate_linux(spec->linux, err);
}
