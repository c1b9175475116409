// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "evloop.h"
#include "util.h"

struct ev_watch {
	int fd;
	ev_fd_cb cb;
	void *data;
	bool dead; /* deleted while a batch was being dispatched */
	struct ev_watch *next;
};

struct ev_timer {
	long long deadline;
	ev_timer_cb cb;
	void *data;
	struct ev_timer *next;
};

struct evloop {
	int epfd;
	bool stop;
	struct ev_watch *watches;
	struct ev_timer *timers; /* sorted by deadline */
	int dispatching;
	int depth; /* evloop_run_once() nesting */
	long long busy_since; /* __atomic: read by watchdog threads */
};

struct evloop *evloop_new(void)
{
	struct evloop *loop = xcalloc(1, sizeof(*loop));

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	return loop;
}

static void reap_dead_watches(struct evloop *loop)
{
	struct ev_watch **pp = &loop->watches;

	while (*pp) {
		struct ev_watch *w = *pp;

		if (w->dead) {
			*pp = w->next;
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

void evloop_free(struct evloop *loop)
{
	if (!loop)
		return;
	while (loop->watches) {
		struct ev_watch *w = loop->watches;

		loop->watches = w->next;
		free(w);
	}
	while (loop->timers) {
		struct ev_timer *t = loop->timers;

		loop->timers = t->next;
		free(t);
	}
	close(loop->epfd);
	free(loop);
}

static struct ev_watch *find_watch(struct evloop *loop, int fd)
{
	for (struct ev_watch *w = loop->watches; w; w = w->next)
		if (w->fd == fd && !w->dead)
			return w;
	return NULL;
}

int evloop_add(struct evloop *loop, int fd, uint32_t events, ev_fd_cb cb,
	       void *data)
{
	struct epoll_event ev = { .events = events };
	struct ev_watch *w;

	if (find_watch(loop, fd))
		return -EEXIST;
	w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->cb = cb;
	w->data = data;
	ev.data.ptr = w;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;

		free(w);
		return -e;
	}
	w->next = loop->watches;
	loop->watches = w;
	return 0;
}

int evloop_mod(struct evloop *loop, int fd, uint32_t events)
{
	struct ev_watch *w = find_watch(loop, fd);
	struct epoll_event ev = { .events = events };

	if (!w)
		return -ENOENT;
	ev.data.ptr = w;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

void evloop_del(struct evloop *loop, int fd)
{
	struct ev_watch *w = find_watch(loop, fd);

	if (!w)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	/* Freed after the batch: its epoll_event may still be pending. */
	w->dead = true;
	if (!loop->dispatching)
		reap_dead_watches(loop);
}

struct ev_timer *evloop_timer(struct evloop *loop, long long ms, ev_timer_cb cb,
			      void *data)
{
	struct ev_timer *t = xcalloc(1, sizeof(*t)), **pp;

	t->deadline = now_ms() + (ms < 0 ? 0 : ms);
	t->cb = cb;
	t->data = data;
	for (pp = &loop->timers; *pp && (*pp)->deadline <= t->deadline;
	     pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	return t;
}

void evloop_timer_cancel(struct evloop *loop, struct ev_timer *t)
{
	for (struct ev_timer **pp = &loop->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			free(t);
			return;
		}
	}
}

static int run_timers(struct evloop *loop)
{
	long long now = now_ms();
	int n = 0;

	while (loop->timers && loop->timers->deadline <= now) {
		struct ev_timer *t = loop->timers;

		loop->timers = t->next;
		t->cb(loop, t->data);
		free(t);
		n++;
	}
	return n;
}

int evloop_run_once(struct evloop *loop, int timeout_ms)
{
	struct epoll_event evs[32];
	int n, ran;

	if (loop->timers) {
		long long wait = loop->timers->deadline - now_ms();

		if (wait < 0)
			wait = 0;
		if (timeout_ms < 0 || wait < timeout_ms)
			timeout_ms = wait > 1000000 ? 1000000 : (int)wait;
	}
	n = epoll_wait(loop->epfd, evs, ARRAY_SIZE(evs), timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (loop->depth++ == 0)
		__atomic_store_n(&loop->busy_since, now_ms(), __ATOMIC_RELAXED);
	loop->dispatching++;
	for (int i = 0; i < n; i++) {
		struct ev_watch *w = evs[i].data.ptr;

		if (!w->dead)
			w->cb(loop, w->fd, evs[i].events, w->data);
	}
	loop->dispatching--;
	if (!loop->dispatching)
		reap_dead_watches(loop);
	ran = n + run_timers(loop);
	if (--loop->depth == 0)
		__atomic_store_n(&loop->busy_since, 0, __ATOMIC_RELAXED);
	return ran;
}

long long evloop_busy_since(const struct evloop *loop)
{
	return __atomic_load_n(&loop->busy_since, __ATOMIC_RELAXED);
}

int evloop_run(struct evloop *loop)
{
	loop->stop = false;
	while (!loop->stop) {
		int r = evloop_run_once(loop, -1);

		if (r < 0)
			return r;
	}
	return 0;
}

void evloop_stop(struct evloop *loop)
{
	loop->stop = true;
}

bool evloop_stopped(struct evloop *loop)
{
	return loop->stop;
}
