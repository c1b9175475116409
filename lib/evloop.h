/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small epoll event loop with one-shot timers.  Both tiers run everything
 * (ttRPC connections, child reaping, stdio pumps) from one loop, so a long
 * call never blocks another.  Not thread-safe: one loop per thread.
 */
#ifndef HUSK_EVLOOP_H
#define HUSK_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct evloop;
struct ev_timer;

/* @events is the EPOLL* mask that fired. */
typedef void (*ev_fd_cb)(struct evloop *loop, int fd, uint32_t events,
			 void *data);
typedef void (*ev_timer_cb)(struct evloop *loop, void *data);

struct evloop *evloop_new(void);
/* Frees the loop and its pending timers; fds are not closed. */
void evloop_free(struct evloop *loop);

/* Watch @fd for @events (EPOLLIN, EPOLLOUT ...). Returns 0 or -errno. */
int evloop_add(struct evloop *loop, int fd, uint32_t events, ev_fd_cb cb,
	       void *data);
int evloop_mod(struct evloop *loop, int fd, uint32_t events);
/* Safe to call from any callback, including for the fd being dispatched. */
void evloop_del(struct evloop *loop, int fd);

/* Call @cb once after @ms milliseconds. */
struct ev_timer *evloop_timer(struct evloop *loop, long long ms, ev_timer_cb cb,
			      void *data);
/* Cancel a timer that has not fired yet (NULL is ignored). */
void evloop_timer_cancel(struct evloop *loop, struct ev_timer *t);

/*
 * Wait for and dispatch one batch of events, waiting at most @timeout_ms
 * (-1: until something happens).  Returns the number of callbacks run, or
 * -errno.
 */
int evloop_run_once(struct evloop *loop, int timeout_ms);

/*
 * now_ms() when the batch being dispatched began, 0 while the loop waits:
 * safe to read from another thread, so a watchdog can see a callback that
 * has blocked the loop (nested runs count as the outer one).
 */
long long evloop_busy_since(const struct evloop *loop);

/* Dispatch until evloop_stop() is called. Returns 0 or -errno. */
int evloop_run(struct evloop *loop);
void evloop_stop(struct evloop *loop);
bool evloop_stopped(struct evloop *loop);

#endif
