// SPDX-License-Identifier: Apache-2.0
/*
 * A container of the pod: its bundle, converted spec, rootfs and
 * processes, and its creation in the guest: pod_container_create() boots
 * the pod if this is its first container, then sends CreateContainer,
 * whose init process waits in the guest for StartContainer.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pod.h"
#include "util.h"

#define CONTAINER_ID_MAX 128

int pod_container_check_id(const char *id, struct herr *err)
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

struct pod_container *pod_container_new(struct pod *pod, const char *id,
					const char *bundle)
{
	struct pod_container *c = xcalloc(1, sizeof(*c));

	c->pod = pod;
	c->id = xstrdup(id);
	c->bundle = xstrdup(bundle);
	c->state = POD_CONTAINER_CREATING;
	c->refs = 1;
	return c;
}

void pod_container_ref(struct pod_container *c)
{
	c->refs++;
}

static void pod_container_free(struct pod_container *c)
{
	spec_result_free(&c->spec);
	for (size_t i = 0; i < c->n_rootfs; i++)
		protobuf_c_message_free_unpacked(&c->rootfs[i]->base, NULL);
	free(c->rootfs);
	free(c->id);
	free(c->bundle);
	free(c);
}

void pod_container_unref(struct pod_container *c)
{
	if (--c->refs == 0)
		pod_container_free(c);
}

struct pod_process *pod_container_find_process(struct pod_container *c,
					       const char *exec_id)
{
	if (!exec_id || !*exec_id)
		return c->init;
	for (struct pod_process *p = c->execs; p; p = p->next)
		if (!strcmp(p->exec_id, exec_id))
			return p;
	return NULL;
}

void pod_container_add_exec(struct pod_container *c, struct pod_process *p)
{
	p->next = c->execs;
	c->execs = p;
}

void pod_container_release_host(struct pod_container *c)
{
	while (c->execs)
		pod_process_remove(c->execs);
	if (c->init)
		pod_process_remove(c->init);
	rootfs_teardown(c);
}

static void on_container_created(void *resp, const struct herr *err, void *data)
{
	struct pod_container *c = data;
	struct herr e;

	(void)resp;
	/* The front end gave up on this Create (pod_container_create()). */
	if (!c->created)
		goto out;
	if (err) {
		e = *err;
		herr_prefix(&e, "agent");
		c->created(c, &e, c->created_data);
		goto out;
	}
	c->state = POD_CONTAINER_READY;
	pod_timeline_mark(c->pod, POD_T_CONTAINER);
	log_msg(LOG_INFO, "container created", "container=%s sandbox=%s", c->id,
		c->pod->id);
	c->created(c, NULL, c->created_data);
out:
	pod_container_unref(c);
}

/* The VM fits the container (pod-size.c): create it in the guest. */
static void sized(const struct herr *err, void *data)
{
	struct pod_container *c = data;
	Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
	Grpc__Spec *spec = c->spec.spec;

	if (c->state != POD_CONTAINER_CREATING || !c->created)
		goto out;
	if (err) {
		c->created(c, err, c->created_data);
		goto out;
	}
	/* The terminal flag is the one the init's I/O was set up for. */
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
	/* Held by the call: its front end may let go of @c meanwhile. */
	pod_container_ref(c);
	agent_create_container(c->pod->agent, &req, on_container_created, c);
out:
	pod_container_unref(c);
}

static void booted(const struct herr *err, void *data)
{
	struct pod_container *c = data;

	if (c->state == POD_CONTAINER_CREATING && !err) {
		/* Keeps its reference until sized() runs. */
		pod_size_grow(c, sized);
		return;
	}
	sized(err, c);
}

struct create_failed {
	struct pod_container *c;
	struct herr err;
};

static void create_failed_fire(struct evloop *loop, void *data)
{
	struct create_failed *f = data;

	(void)loop;
	sized(&f->err, f->c);
	free(f);
}

void pod_container_create(struct pod_container *c,
			  const struct husk_config *cfg, pod_created_cb done,
			  void *data)
{
	struct workload own, budget;
	struct herr err;
	int rc;

	c->created = done;
	c->created_data = data;
	pod_timeline_mark(c->pod, POD_T_CREATE);
	/* Held until the boot answers. */
	pod_container_ref(c);
	/*
	 * Limits that cannot be met fail the Create before anything starts;
	 * the first container sizes the VM it boots.
	 */
	rc = sizing_workload(c->spec.spec, &own, &budget, &err);
	if (rc < 0)
		herr_prefix(&err, "container %s", c->id);
	else if (c->pod->state == POD_NEW)
		rc = pod_size_boot(c, cfg, &err);
	if (rc < 0) {
		struct create_failed *f = xcalloc(1, sizeof(*f));

		f->c = c;
		f->err = err;
		evloop_timer(c->pod->loop, 0, create_failed_fire, f);
		return;
	}
	/* The first container is the sandbox: its namespace, its hostname. */
	if (c->pod->state == POD_NEW)
		pod_net_set_spec(c->pod, &c->spec);
	pod_boot(c->pod, cfg, booted, c);
}
