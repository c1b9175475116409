// SPDX-License-Identifier: Apache-2.0
/*
 * An agent call that timed out explains itself: its error names what the
 * pod's virtiofsd threads are doing on the host (state, syscall, wchan,
 * grouped; the warning adds the hypervisor's) and the last lines the guest
 * printed (the agent warns there when a container's setup is stuck,
 * saying on what); a warning line carries the same with the whole
 * console tail.  From the shim alone a
 * stalled virtio-fs queue, a stuck setup and a lost reply look alike.
 *
 * The console tail holds printable bytes only (pod-console.c): the guest
 * is not trusted.  Its double quotes become single ones here, so that
 * the log's quoted value cannot be ended early.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"
#include "log.h"
#include "pod.h"
#include "proc-task.h"

/* "PID, N threads: 2x S futex(202) wchan=..." */
static void threads_summary(pid_t pid, char *out, size_t size)
{
	struct proc_task *t = NULL;
	size_t n = 0, len;
	int r;

	if (pid <= 0) {
		snprintf(out, size, "none");
		return;
	}
	r = proc_threads_read(pid, &t, &n);
	if (r < 0) {
		snprintf(out, size, "%d: %s", (int)pid, strerror(-r));
		return;
	}
	len = (size_t)snprintf(out, size, "%d, %zu threads: ", (int)pid, n);
	if (len < size)
		proc_tasks_summary(t, n, out + len, size - len);
	free(t);
}

void pod_diag_fs_threads(struct pod *pod, char *out, size_t size)
{
	threads_summary(pod->vm ? vm_fs_pid(pod->vm) : 0, out, size);
}

static void quotes_out(char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\')
			*s = '\'';
}

void pod_diag_agent_timeout(const char *method, struct herr *err, void *data)
{
	struct pod *pod = data;
	char fs[512], vmm[320], tail[CONSOLE_TAIL_MAX], all[CONSOLE_TAIL_MAX];
	char msg[HERR_MSG_MAX];
	int errnum = err->errnum;

	pod_diag_fs_threads(pod, fs, sizeof(fs));
	quotes_out(fs);
	/* Its vCPU thread running or idle: a guest spinning or waiting. */
	threads_summary(pod->vm_pid, vmm, sizeof(vmm));
	quotes_out(vmm);
	/* Drains the console first: the guest's last words are in it. */
	snprintf(tail, sizeof(tail), "%s", pod_console_tail(pod));
	snprintf(all, sizeof(all), "%.*s", (int)pod->console_len,
		 pod->console_tail);
	quotes_out(all);
	log_msg(LOG_WARN, "agent call timed out",
		"sandbox=%s method=%s virtiofsd=\"%s\" hypervisor=\"%s\" "
		"console=\"%s\"",
		pod->id, method, fs, vmm, all);
	snprintf(msg, sizeof(msg), "%s", err->msg);
	/* errnum 0: the message already says it timed out. */
	herr_set(err, err->code, 0, "%s; virtiofsd %s; console: %s", msg, fs,
		 tail);
	err->errnum = errnum;
}
