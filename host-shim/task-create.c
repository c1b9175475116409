// SPDX-License-Identifier: Apache-2.0
/*
 * Create: read and convert config.json, open the stdio FIFOs, mount and
 * share the rootfs, then pod_container_create() (host/pod-container.c)
 * boots the pod's VM if this is its first container and sends
 * CreateContainer to the guest, whose init process waits there for Start.
 * A failure at any step undoes the earlier ones, and a pod left without
 * containers loses its VM, so a failed Create leaves nothing running.
 */
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

/* The Create call in flight, until the pod answers it. */
struct create_op {
	struct shim *s;
	struct ttrpc_call *call;
};

static void create_failed(struct shim *s, struct pod_container *c,
			  struct ttrpc_call *call, const struct herr *err)
{
	struct pod *pod = c->pod;

	log_msg(LOG_ERROR, "create failed", "container=%s error=\"%s\"", c->id,
		err->msg);
	c->state = POD_CONTAINER_FAILED;
	pod_container_release_host(c);
	pod_remove_container(pod, c);
	ttrpc_call_fail(call, err->code ? err->code : GRPC_UNKNOWN,
			"create container %s: %s", c->id, err->msg);
	/* A VM with nothing to run is not left behind. */
	if (!pod->n_containers)
		pod_teardown(pod, NULL, NULL);
	pod_container_unref(c);
	shim_maybe_exit(s);
}

static void publish_create(struct shim *s, struct pod_container *c)
{
	Containerd__Events__TaskCreate ev =
		CONTAINERD__EVENTS__TASK_CREATE__INIT;
	Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;
	struct shim_process *sp = c->init->fe;

	ev.container_id = c->id;
	ev.bundle = c->bundle;
	ev.rootfs = c->rootfs;
	ev.n_rootfs = c->n_rootfs;
	io.stdin = sp->stdin_path;
	io.stdout = sp->stdout_path;
	io.stderr = sp->stderr_path;
	io.terminal = c->init->terminal;
	ev.io = &io;
	ev.pid = shim_task_pid(s);
	events_publish(s->events, "/tasks/create", &ev.base);
}

/* pod_container_create() answered: reply to containerd's Create. */
static void on_pod_created(struct pod_container *c, const struct herr *err,
			   void *data)
{
	Containerd__Task__V2__CreateTaskResponse r =
		CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
	struct create_op *op = data;
	struct shim *s = op->s;
	struct ttrpc_call *call = op->call;

	free(op);
	if (err) {
		create_failed(s, c, call, err);
		return;
	}
	publish_create(s, c);
	r.pid = shim_task_pid(s);
	ttrpc_call_reply(call, &r.base);
	pod_container_unref(c);
}

/* The Create call still waiting for @c, now the caller's to answer. */
static struct ttrpc_call *create_detach(struct pod_container *c)
{
	struct create_op *op = c->created_data;
	struct ttrpc_call *call;

	if (c->state != POD_CONTAINER_CREATING ||
	    c->created != on_pod_created || !op)
		return NULL;
	/* The pod must not answer it again (pod_container_create()). */
	c->created = NULL;
	c->created_data = NULL;
	call = op->call;
	free(op);
	return call;
}

bool task_create_abort(struct shim *s, struct pod_container *c,
		       const struct herr *why)
{
	struct ttrpc_call *call = create_detach(c);

	if (!call)
		return false;
	create_failed(s, c, call, why);
	return true;
}

bool task_create_cancel(struct pod_container *c, const struct herr *why)
{
	struct ttrpc_call *call = create_detach(c);

	if (!call)
		return false;
	log_msg(LOG_ERROR, "create failed", "container=%s error=\"%s\"", c->id,
		why->msg);
	ttrpc_call_fail(call, why->code, "create container %s: %s", c->id,
			why->msg);
	pod_container_unref(c);
	return true;
}

void task_create(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Task__V2__CreateTaskRequest *req = req_;
	struct shim *s = ctx;
	struct pod *pod = s->pod;
	struct pod_container *c;
	struct herr err;

	struct create_op *op;

	pod_timeline_mark(pod, POD_T_CREATE);
	if (pod_container_check_id(req->id, &err) < 0) {
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
	c->init = pod_process_new(c, "", req->terminal);
	shim_process_new(c->init, req->stdin, req->stdout, req->stderr);
	pod_add_container(pod, c);
	if (shim_stdio_open(c->init->fe, &err) < 0 ||
	    rootfs_setup(c, &err) < 0 || shim_load_config(s, &err) < 0) {
		create_failed(s, c, call, &err);
		return;
	}
	log_msg(LOG_DEBUG, "creating container", "container=%s bundle=%s",
		c->id, c->bundle);
	op = xcalloc(1, sizeof(*op));
	op->s = s;
	op->call = call;
	pod_container_create(c, &s->cfg, on_pod_created, op);
	return;
fail:
	pod_container_unref(c);
	ttrpc_call_fail(call, err.code, "create container %s: %s", req->id,
			err.msg);
}
