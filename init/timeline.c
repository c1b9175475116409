// SPDX-License-Identifier: Apache-2.0
/*
 * The steps of PID 1's start on the guest's clock (CLOCK_BOOTTIME, so
 * the first one also says how long the kernel took to run init).  Each
 * step only stores a time: a console line costs milliseconds on the
 * emulated serial port under TCG, so the list is printed as one line
 * after the boot marker (and the late steps as another after them), only
 * under agent.log=debug.
 */
#include <stdio.h>
#include <time.h>

#include "init.h"
#include "log.h"

#define MAX_STEPS 48

static struct {
	const char *name;
	long long us;
} steps[MAX_STEPS];
static unsigned int n_steps, n_printed;

void init_step(const char *name)
{
	struct timespec ts;

	if (n_steps == MAX_STEPS)
		return;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	steps[n_steps].name = name;
	steps[n_steps].us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	n_steps++;
}

void init_timeline_print(void)
{
	char line[2048];
	size_t len = 0;

	if (log_get_level() < LOG_DEBUG || n_printed == n_steps)
		return;
	for (unsigned int i = n_printed; i < n_steps && len < sizeof(line);
	     i++) {
		long long us = steps[i].us;
		long long d = i ? us - steps[i - 1].us : 0;

		/* name=uptime ms (+ms since the step before) */
		len += (size_t)snprintf(line + len, sizeof(line) - len,
					"%s%s=%lld.%01lld(+%lld.%01lld)",
					i > n_printed ? " " : "", steps[i].name,
					us / 1000, us % 1000 / 100, d / 1000,
					d % 1000 / 100);
	}
	n_printed = n_steps;
	log_debug("init: start timeline (uptime ms): %s", line);
}
