// SPDX-License-Identifier: Apache-2.0
/*
 * The start timeline: when each phase of a pod's start happened, logged as
 * one line once its teardown is done, so that a benchmark (make
 * bench-start) or a person can see where a start's time goes:
 *
 *   msg="start timeline" sandbox=ID phases="start=0,create=4,...,teardown=1234"
 *
 * Times are monotonic milliseconds since the shim's "start" command (its
 * front end records it), or since Create when that is unknown; a phase
 * that did not happen is left out.  The names and their order are fixed:
 * scripts parse the line.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pod.h"
#include "util.h"

static const char *const phase_names[POD_PHASES] = {
	[POD_T_START] = "start",	 [POD_T_CREATE] = "create",
	[POD_T_SPAWNED] = "spawned",	 [POD_T_CONSOLE] = "console",
	[POD_T_AGENT] = "agent",	 [POD_T_SANDBOX] = "sandbox",
	[POD_T_CONTAINER] = "container", [POD_T_STARTED] = "started",
	[POD_T_OUTPUT] = "output",	 [POD_T_EXIT] = "exit",
	[POD_T_TEARDOWN] = "teardown",
};

void pod_timeline_set(struct pod *pod, enum pod_phase phase, long long ms)
{
	if (phase < POD_PHASES && !pod->timeline[phase] && ms > 0)
		pod->timeline[phase] = ms;
}

void pod_timeline_mark(struct pod *pod, enum pod_phase phase)
{
	pod_timeline_set(pod, phase, now_ms());
}

bool pod_timeline_format(const struct pod *pod, char *buf, size_t cap)
{
	long long base = pod->timeline[POD_T_START];
	size_t o = 0;

	if (!cap)
		return false;
	buf[0] = '\0';
	if (!pod->timeline[POD_T_CREATE])
		return false;
	/* A start recorded after Create is another shim's clock: not ours. */
	if (!base || base > pod->timeline[POD_T_CREATE])
		base = pod->timeline[POD_T_CREATE];
	for (int i = 0; i < POD_PHASES; i++) {
		long long t = pod->timeline[i];
		int n;

		if (!t || (i == POD_T_START && t != base))
			continue;
		n = snprintf(buf + o, cap - o, "%s%s=%lld", o ? "," : "",
			     phase_names[i], t - base);
		if (n < 0 || (size_t)n >= cap - o)
			break;
		o += (size_t)n;
	}
	return true;
}

void pod_timeline_log(struct pod *pod)
{
	char phases[256];

	if (pod_timeline_format(pod, phases, sizeof(phases)))
		log_msg(LOG_INFO, "start timeline", "sandbox=%s phases=\"%s\"",
			pod->id, phases);
	memset(pod->timeline, 0, sizeof(pod->timeline));
}
