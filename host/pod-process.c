// SPDX-License-Identifier: Apache-2.0
/*
 * A process's life after its start: the front end moves its output until
 * both streams reach EOF, then WaitProcess (the agent forgets the process
 * once it answers, so output must be read first), then the exit is
 * recorded only once the front end has delivered the last output
 * (pod_ops.process_waited, then pod_process_exited()).  A VM that dies
 * makes every agent call fail, which runs the same path with
 * EXIT_STATUS_LOST.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pod.h"
#include "util.h"

static const struct pod_ops *ops_of(struct pod_process *p)
{
	return p->c->pod->ops;
}

static void *ops_data_of(struct pod_process *p)
{
	return p->c->pod->ops_data;
}

struct pod_process *pod_process_new(struct pod_container *c,
				    const char *exec_id, bool terminal)
{
	struct pod_process *p = xcalloc(1, sizeof(*p));

	p->c = c;
	pod_container_ref(c);
	p->exec_id = xstrdup(exec_id ? exec_id : "");
	/* The agent names the init process after its container. */
	p->agent_exec_id = xstrdup(*p->exec_id ? p->exec_id : c->id);
	p->status = POD_PROCESS_CREATED;
	p->terminal = terminal;
	p->refs = 1;
	return p;
}

void pod_process_ref(struct pod_process *p)
{
	p->refs++;
}

static void pod_process_free(struct pod_process *p)
{
	ops_of(p)->process_free(p, ops_data_of(p));
	if (p->exec_spec)
		protobuf_c_message_free_unpacked(&p->exec_spec->base, NULL);
	free(p->exec_id);
	free(p->agent_exec_id);
	pod_container_unref(p->c);
	free(p);
}

void pod_process_unref(struct pod_process *p)
{
	if (--p->refs == 0)
		pod_process_free(p);
}

static void record_exit(struct pod_process *p, uint32_t status, bool ran)
{
	p->status = POD_PROCESS_STOPPED;
	p->exit_status = status;
	clock_gettime(CLOCK_REALTIME, &p->exited_at);
	log_msg(LOG_INFO, "process exited", "container=%s exec=%s status=%u",
		p->c->id, p->exec_id, status);
	ops_of(p)->process_exited(p, ran, ops_data_of(p));
}

void pod_process_exited(struct pod_process *p, uint32_t status)
{
	if (p->status == POD_PROCESS_STOPPED)
		return;
	record_exit(p, status, true);
}

void pod_process_lost(struct pod_process *p)
{
	if (p->status == POD_PROCESS_STOPPED)
		return;
	if (p->status == POD_PROCESS_CREATED) {
		/* Never ran: nothing to wait for, no exit to publish. */
		record_exit(p, EXIT_STATUS_LOST, false);
		return;
	}
	/* Running: stop waiting for output that will never come. */
	ops_of(p)->process_lost(p, ops_data_of(p));
}

static void on_wait(void *resp, const struct herr *err, void *data)
{
	struct pod_process *p = data;
	const Grpc__WaitProcessResponse *r = resp;
	uint32_t status = EXIT_STATUS_LOST;

	if (err) {
		/* A dead sandbox already said why; this is its echo. */
		if (!p->removed && p->c->pod->state != POD_DEAD)
			log_warn("container %s: wait for %s: %s", p->c->id,
				 p->agent_exec_id, err->msg);
	} else if (r->status < 0 || r->status > 255) {
		/* Exit statuses are 0..255; anything else is the guest's
		 * invention. */
		log_warn("container %s: agent reported exit status %d for %s; "
			 "using %d",
			 p->c->id, r->status, p->agent_exec_id,
			 EXIT_STATUS_LOST);
	} else {
		status = (uint32_t)r->status;
	}
	if (p->removed || p->status == POD_PROCESS_STOPPED) {
		pod_process_unref(p);
		return;
	}
	p->wait_status = status;
	ops_of(p)->process_waited(p, ops_data_of(p));
	pod_process_unref(p);
}

void pod_process_output_done(struct pod_process *p)
{
	if (p->waiting || p->status == POD_PROCESS_STOPPED)
		return;
	p->waiting = true;
	pod_process_ref(p);
	agent_wait_process(p->c->pod->agent, p->c->id, p->agent_exec_id,
			   on_wait, p);
}

static void on_resized(void *resp, const struct herr *err, void *data)
{
	struct pod_process *p = data;

	(void)resp;
	if (err && !p->removed)
		log_warn("container %s: resize %s: %s", p->c->id,
			 p->agent_exec_id, err->msg);
	pod_process_unref(p);
}

void pod_process_started(struct pod_process *p)
{
	p->status = POD_PROCESS_RUNNING;
	if (p->terminal && p->pending_rows && p->pending_cols) {
		pod_process_ref(p);
		agent_tty_resize(p->c->pod->agent, p->c->id, p->agent_exec_id,
				 p->pending_rows, p->pending_cols, on_resized,
				 p);
	}
	ops_of(p)->process_started(p, ops_data_of(p));
}

void pod_process_remove(struct pod_process *p)
{
	struct pod_container *c = p->c;

	if (p->removed)
		return;
	p->removed = true;
	if (c->init == p) {
		c->init = NULL;
	} else {
		for (struct pod_process **pp = &c->execs; *pp;
		     pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				break;
			}
	}
	ops_of(p)->process_removed(p, ops_data_of(p));
	pod_process_unref(p);
}
