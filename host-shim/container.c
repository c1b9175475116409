// SPDX-License-Identifier: Apache-2.0
/* A container of the pod: its bundle, converted spec, rootfs and processes. */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "shim.h"
#include "util.h"

struct container *container_new(struct sandbox *sb, const char *id,
				const char *bundle)
{
	struct container *c = xcalloc(1, sizeof(*c));

	c->sb = sb;
	c->id = xstrdup(id);
	c->bundle = xstrdup(bundle);
	c->state = CT_CREATING;
	c->refs = 1;
	return c;
}

void container_ref(struct container *c)
{
	c->refs++;
}

static void container_free(struct container *c)
{
	spec_result_free(&c->spec);
	for (size_t i = 0; i < c->n_rootfs; i++)
		protobuf_c_message_free_unpacked(&c->rootfs[i]->base, NULL);
	free(c->rootfs);
	free(c->id);
	free(c->bundle);
	free(c);
}

void container_unref(struct container *c)
{
	if (--c->refs == 0)
		container_free(c);
}

struct process *container_find_process(struct container *c, const char *exec_id)
{
	if (!exec_id || !*exec_id)
		return c->init;
	for (struct process *p = c->execs; p; p = p->next)
		if (!strcmp(p->exec_id, exec_id))
			return p;
	return NULL;
}

void container_release_host(struct container *c)
{
	while (c->execs)
		process_remove(c->execs);
	if (c->init)
		process_remove(c->init);
	rootfs_teardown(c);
}
