// SPDX-License-Identifier: Apache-2.0
/* The agent object: state directory and the ttRPC server on a loop. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "agent.h"
#include "log.h"
#include "storage.h"
#include "util.h"

int agent_init(struct agent *a, struct evloop *loop, const char *state_dir,
	       struct herr *err)
{
	const struct ttrpc_method *m;
	size_t n;

	memset(a, 0, sizeof(*a));
	a->dry_run = !state_dir; /* the fuzzer: change nothing */
	if (!state_dir)
		state_dir = "/nonexistent/husk-agent";
	a->loop = loop;
	a->sig_fd = -1;
	a->sb.ipc_fd = a->sb.uts_fd = a->sb.pid_fd = -1;
	a->state_dir = xstrdup(state_dir);
	a->cgroup_parent = "/husk";
	if (!a->dry_run && mkdir_p(state_dir, 0755) < 0 && errno != EEXIST) {
		int e = errno;

		free(a->state_dir);
		return herr_errno(err, e, "create state directory %s",
				  state_dir);
	}
	m = agent_methods(&n);
	a->srv = ttrpc_server_new(loop, m, n, a);
	return 0;
}

void agent_fini(struct agent *a)
{
	/* Kill what is left and wait for it: nothing outlives the agent. */
	for (struct container *c = a->containers; c; c = c->next)
		for (struct process *p = c->procs; p; p = p->next)
			if (p->pid > 0 && !p->exited) {
				int st;

				kill(p->pid, SIGKILL);
				while (waitpid(p->pid, &st, __WALL) < 0 &&
				       errno == EINTR)
					;
				p->exited = true;
			}
	while (a->containers)
		container_free(a->containers);
	ttrpc_server_free(a->srv);
	a->srv = NULL;
	oom_cancel_all(a, "agent stopping");
	closep(&a->sb.ipc_fd);
	closep(&a->sb.uts_fd);
	closep(&a->sb.pid_fd);
	if (a->sb.created && !a->dry_run)
		storage_put_all();
	strvn_free(a->sb.storages, a->sb.n_storages);
	free(a->sb.id);
	free(a->sb.hostname);
	free(a->state_dir);
}
