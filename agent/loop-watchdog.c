// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's event loop stuck in one callback (a syscall that does not
 * return: a file on a stalled shared filesystem, a prestart hook, which
 * the agent waits for itself) answers no RPC and fires no timer, so the
 * setup warning (setup-diag.c) cannot come.  A thread of its own looks
 * every few seconds at how long the current callback has run and, past
 * LOOP_STALL_MS, logs once per stall what the main thread, the agent's
 * children and every task in state D are doing.  It only reads the
 * loop's start time: nothing of the loop is shared.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "agent.h"
#include "log.h"
#include "util.h"

#define WATCHDOG_PERIOD_MS 2500

static void *watchdog(void *arg)
{
	struct evloop *loop = arg;
	struct timespec period = { .tv_sec = WATCHDOG_PERIOD_MS / 1000,
				   .tv_nsec = WATCHDOG_PERIOD_MS % 1000 *
					      1000000L };
	long long reported = 0;

	for (;;) {
		long long since;

		nanosleep(&period, NULL);
		since = evloop_busy_since(loop);
		if (since && since != reported &&
		    now_ms() - since >= LOOP_STALL_MS) {
			reported = since;
			loop_stall_report(now_ms() - since);
		}
	}
	return NULL;
}

int loop_watchdog_start(struct evloop *loop)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	int r;

	/* Signals stay with the main thread (its signalfd). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, watchdog, loop);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}
