// SPDX-License-Identifier: Apache-2.0
/*
 * OOM events: each started container's memory cgroup is watched on the
 * event loop; an OOM kill queues the container id, and GetOOMEvent (a long
 * poll) takes ids from the queue in order.
 */
#include <string.h>
#include <sys/epoll.h>

#include "agent.h"
#include "cgroup.h"
#include "log.h"
#include "util.h"

#define OOM_QUEUE_MAX 256

static void reply_oom(struct ttrpc_call *call, const char *cid)
{
	Grpc__OOMEvent ev = GRPC__OOMEVENT__INIT;

	ev.container_id = (char *)cid;
	ttrpc_call_reply(call, &ev.base);
}

static void oom_push(struct agent *a, const char *cid)
{
	if (a->oom_waiters) {
		struct waiter *w = a->oom_waiters;
		struct ttrpc_call *call = w->call;

		ttrpc_call_on_cancel(call, NULL, NULL);
		waiter_drop(w);
		reply_oom(call, cid);
		return;
	}
	if (a->n_oom_queue == OOM_QUEUE_MAX)
		return; /* nobody is listening; keep memory bounded */
	a->oom_queue = realloc(a->oom_queue,
			       (a->n_oom_queue + 1) * sizeof(char *));
	if (!a->oom_queue)
		abort();
	a->oom_queue[a->n_oom_queue++] = xstrdup(cid);
}

void oom_check(struct container *c)
{
	long kills;

	if (c->oom_fd < 0)
		return;
	kills = cgroup_oom_kills(c->cg);
	if (kills > c->oom_kills) {
		c->oom_kills = kills;
		log_msg(LOG_WARN, "OOM kill", "container=%s", c->id);
		oom_push(c->a, c->id);
	}
}

static void oom_fired(struct evloop *loop, int fd, uint32_t events,
		      void *data)
{
	oom_check(data);
}

void oom_watch(struct container *c)
{
	unsigned int events = EPOLLIN;
	struct herr err;
	int fd;

	if (!c->cg || c->oom_fd >= 0)
		return;
	fd = cgroup_oom_fd(c->cg, &events, &err);
	if (fd < 0) {
		log_debug("container %s: no OOM events: %s", c->id, err.msg);
		return;
	}
	if (evloop_add(c->a->loop, fd, events, oom_fired, c) < 0) {
		close(fd);
		return;
	}
	c->oom_fd = fd;
	c->oom_kills = cgroup_oom_kills(c->cg);
}

void oom_unwatch(struct container *c)
{
	if (c->oom_fd < 0)
		return;
	evloop_del(c->a->loop, c->oom_fd);
	close(c->oom_fd);
	c->oom_fd = -1;
}

static void oom_cancelled(struct ttrpc_call *call, void *data)
{
	waiter_drop(data);
}

void oom_wait(struct agent *a, struct ttrpc_call *call)
{
	struct waiter *w;

	if (a->n_oom_queue) {
		char *cid = a->oom_queue[0];

		memmove(a->oom_queue, a->oom_queue + 1,
			--a->n_oom_queue * sizeof(char *));
		reply_oom(call, cid);
		free(cid);
		return;
	}
	w = waiter_park(&a->oom_waiters, call, a);
	ttrpc_call_on_cancel(call, oom_cancelled, w);
}

void oom_cancel_all(struct agent *a, const char *why)
{
	while (a->oom_waiters) {
		struct waiter *w = a->oom_waiters;
		struct ttrpc_call *call = w->call;

		waiter_drop(w);
		ttrpc_call_fail(call, GRPC_ABORTED, "GetOOMEvent: %s", why);
	}
	strvn_free(a->oom_queue, a->n_oom_queue);
	a->oom_queue = NULL;
	a->n_oom_queue = 0;
}
