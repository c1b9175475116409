// SPDX-License-Identifier: Apache-2.0
/*
 * Create: read and convert config.json, open the stdio FIFOs, mount and
 * share the rootfs, boot the pod's VM if this is its first container, then
 * CreateContainer in the guest (whose init process waits there for Start).
 * A failure at any step undoes the earlier ones, and a pod left without
 * containers loses its VM, so a failed Create leaves nothing running.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "containerd/events/task.pb-c.h"
#include "containerd/runtimeoptions.pb-c.h"
#include "events.h"
#include "log.h"
#include "pb.h"
#include "shim.h"
#include "task.h"
#include "util.h"

#define CONTAINER_ID_MAX 128

/* The agent's rule for container ids: ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ */
static int check_id(const char *id, struct herr *err)
{
	size_t n = strlen(id);

	if (n < 2 || n > CONTAINER_ID_MAX || !isalnum((unsigned char)id[0]))
		goto bad;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("_.-", id[i]))
			goto bad;
	return 0;
bad:
	return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
			"container id \"%.*s\": must match "
			"[a-zA-Z0-9][a-zA-Z0-9_.-]+ (at most %d characters)",
			CONTAINER_ID_MAX, id, CONTAINER_ID_MAX);
}

/* runtimeoptions.v1.Options{config_path} chooses the configuration file. */
static void take_options(struct shim *s, const Google__Protobuf__Any *opts)
{
	Runtimeoptions__V1__Options *o;
	const char *url;

	if (!opts || !opts->type_url)
		return;
	url = strrchr(opts->type_url, '/');
	url = url ? url + 1 : opts->type_url;
	if (strcmp(url, "runtimeoptions.v1.Options"))
		return;
	o = runtimeoptions__v1__options__unpack(NULL, opts->value.len,
						opts->value.data);
	if (!o)
		return;
	if (o->config_path && *o->config_path && !s->cfg_loaded) {
		free(s->cfg_path);
		s->cfg_path = xstrdup(o->config_path);
	}
	runtimeoptions__v1__options__free_unpacked(o, NULL);
}

static void copy_rootfs(struct pod_container *c,
			const Containerd__Task__V2__CreateTaskRequest *req)
{
	c->rootfs = xcalloc(req->n_rootfs, sizeof(*c->rootfs));
	for (size_t i = 0; i < req->n_rootfs; i++)
		c->rootfs[c->n_rootfs++] = pb_dup(&req->rootfs[i]->base);
}

static void create_failed(struct pod_container *c, const struct herr *err)
{
	struct pod *pod = c->pod;
	struct ttrpc_call *call = c->create_call;

	log_msg(LOG_ERROR, "create failed", "container=%s error=\"%s\"", c->id,
		err->msg);
	c->state = POD_CONTAINER_FAILED;
	c->create_call = NULL;
	pod_container_release_host(c);
	pod_remove_container(pod, c);
	if (call)
		ttrpc_call_fail(call, err->code ? err->code : GRPC_UNKNOWN,
				"create container %s: %s", c->id, err->msg);
	/* A VM with nothing to run is not left behind. */
	if (!pod->n_containers)
		pod_teardown(pod, NULL, NULL);
	pod_container_unref(c);
	shim_maybe_exit(pod->shim);
}

static void publish_create(struct pod_container *c)
{
	Containerd__Events__TaskCreate ev =
		CONTAINERD__EVENTS__TASK_CREATE__INIT;
	Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;
	struct pod_process *p = c->init;

	ev.container_id = c->id;
	ev.bundle = c->bundle;
	ev.rootfs = c->rootfs;
	ev.n_rootfs = c->n_rootfs;
	io.stdin = p->stdin_path;
	io.stdout = p->stdout_path;
	io.stderr = p->stderr_path;
	io.terminal = p->terminal;
	ev.io = &io;
	ev.pid = shim_task_pid(c->pod->shim);
	events_publish(c->pod->shim->events, "/tasks/create", &ev.base);
}

static void on_container_created(void *resp, const struct herr *err, void *data)
{
	Containerd__Task__V2__CreateTaskResponse r =
		CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
	struct pod_container *c = data;
	struct herr e;

	(void)resp;
	if (err) {
		e = *err;
		herr_prefix(&e, "agent");
		create_failed(c, &e);
		return;
	}
	c->state = POD_CONTAINER_READY;
	log_msg(LOG_INFO, "container created", "container=%s sandbox=%s", c->id,
		c->pod->id);
	publish_create(c);
	r.pid = shim_task_pid(c->pod->shim);
	if (c->create_call)
		ttrpc_call_reply(c->create_call, &r.base);
	c->create_call = NULL;
	pod_container_unref(c);
}

void pod_container_boot_done(struct pod_container *c, const struct herr *err)
{
	Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
	Grpc__Spec *spec = c->spec.spec;

	if (c->state != POD_CONTAINER_CREATING)
		return;
	if (err) {
		create_failed(c, err);
		return;
	}
	/* containerd's terminal flag is the one the FIFOs were set up for. */
	spec->process->terminal = c->init->terminal;
	if (!spec->process->terminal && spec->process->consolesize) {
		protobuf_c_message_free_unpacked(
			&spec->process->consolesize->base, NULL);
		spec->process->consolesize = NULL;
	}
	req.container_id = c->id;
	req.exec_id = c->id;
	req.oci = spec;
	req.sandbox_pidns = c->spec.sandbox_pidns;
	agent_create_container(c->pod->agent, &req, on_container_created, c);
}

void task_create(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Task__V2__CreateTaskRequest *req = req_;
	struct shim *s = ctx;
	struct pod *pod = s->pod;
	struct pod_container *c;
	struct herr err;

	if (check_id(req->id, &err) < 0) {
		ttrpc_call_fail_err(call, &err);
		return;
	}
	if (!req->bundle || req->bundle[0] != '/') {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
				"create container %s: bundle \"%s\" is not an "
				"absolute path",
				req->id, req->bundle ? req->bundle : "");
		return;
	}
	if (pod_find(pod, req->id)) {
		ttrpc_call_fail(call, GRPC_ALREADY_EXISTS,
				"container %s: already exists", req->id);
		return;
	}
	if (*req->checkpoint || *req->parent_checkpoint) {
		ttrpc_call_fail(call, GRPC_UNIMPLEMENTED,
				"create container %s: restoring from a "
				"checkpoint is not supported",
				req->id);
		return;
	}
	if (s->shutdown) {
		ttrpc_call_fail(
			call, GRPC_FAILED_PRECONDITION,
			"create container %s: the shim is shutting down",
			req->id);
		return;
	}
	take_options(s, req->options);

	c = pod_container_new(pod, req->id, req->bundle);
	c->create_call = call;
	if (spec_read_bundle(req->bundle, req->id, &c->spec, &err) < 0)
		goto fail;
	if (c->spec.pod_member && c->spec.sandbox_id &&
	    strcmp(c->spec.sandbox_id, pod->id)) {
		herr_set(&err, GRPC_INVALID_ARGUMENT, 0,
			 "belongs to pod %s, but this shim serves pod %s",
			 c->spec.sandbox_id, pod->id);
		goto fail;
	}
	copy_rootfs(c, req);
	c->init = pod_process_new(c, "", req->terminal, req->stdin, req->stdout,
				  req->stderr);
	pod_add_container(pod, c);
	if (shim_stdio_open(c->init, &err) < 0 || rootfs_setup(c, &err) < 0) {
		create_failed(c, &err);
		return;
	}
	log_msg(LOG_DEBUG, "creating container", "container=%s bundle=%s",
		c->id, c->bundle);
	pod_boot(pod, c);
	return;
fail:
	c->create_call = NULL;
	pod_container_unref(c);
	ttrpc_call_fail(call, err.code, "create container %s: %s", req->id,
			err.msg);
}
