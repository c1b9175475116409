// SPDX-License-Identifier: Apache-2.0
/* A container of the pod: its bundle, converted spec, rootfs and processes. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "shim.h"
#include "util.h"

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

void pod_container_release_host(struct pod_container *c)
{
	while (c->execs)
		pod_process_remove(c->execs);
	if (c->init)
		pod_process_remove(c->init);
	rootfs_teardown(c);
}
