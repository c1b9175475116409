// SPDX-License-Identifier: Apache-2.0
/*
 * OCI hooks.  Each hook is a program run with the container state (JSON)
 * on stdin; a hook that fails or outlives its timeout fails the step it
 * belongs to (prestart, createRuntime, createContainer, startContainer) or
 * is only logged (poststart, poststop).  They run in whatever namespaces
 * the caller is in: the agent's for runtime hooks, the container's for
 * createContainer and startContainer (called from the container child).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "agent.h"
#include "util.h"

#define HOOK_DEFAULT_TIMEOUT_S 30

static const char *const hook_names[] = {
	"prestart", "createRuntime", "createContainer",
	"startContainer", "poststart", "poststop",
};

static Grpc__Hook **hook_list(const Grpc__Hooks *h, enum hook_kind k,
			      size_t *n)
{
	switch (k) {
	case HOOK_PRESTART:
		*n = h->n_prestart;
		return h->prestart;
	case HOOK_CREATE_RUNTIME:
		*n = h->n_createruntime;
		return h->createruntime;
	case HOOK_CREATE_CONTAINER:
		*n = h->n_createcontainer;
		return h->createcontainer;
	case HOOK_START_CONTAINER:
		*n = h->n_startcontainer;
		return h->startcontainer;
	case HOOK_POSTSTART:
		*n = h->n_poststart;
		return h->poststart;
	case HOOK_POSTSTOP:
		*n = h->n_poststop;
		return h->poststop;
	}
	*n = 0;
	return NULL;
}

static int run_one(const Grpc__Hook *hook, const char *state, int idx,
		   const char *kind, struct herr *err)
{
	long long timeout_ms = 1000LL * (hook->timeout > 0 ?
						 hook->timeout :
						 HOOK_DEFAULT_TIMEOUT_S);
	long long start = now_ms();
	int in[2], st;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0)
		return herr_errno(err, errno, "hook %s[%d]: pipe", kind, idx);
	pid = fork();
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		return herr_errno(err, errno, "hook %s[%d]: fork", kind, idx);
	}
	if (pid == 0) {
		char **argv = xcalloc(hook->n_args + 2, sizeof(char *));
		char **envp = xcalloc(hook->n_env + 1, sizeof(char *));
		sigset_t none;

		/* protobuf-c arrays are counted, not NULL-terminated */
		if (hook->n_args)
			memcpy(argv, hook->args, hook->n_args * sizeof(char *));
		else
			argv[0] = hook->path;
		if (hook->n_env)
			memcpy(envp, hook->env, hook->n_env * sizeof(char *));
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in[0], 0) < 0)
			_exit(127);
		execve(hook->path, argv, envp);
		_exit(127);
	}
	close(in[0]);
	/* Small: fits in the pipe, so this never blocks on the hook. */
	/* A hook that does not read stdin gets EPIPE: not an error. */
	(void)!write_all(in[1], state, strlen(state));
	close(in[1]);
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG | __WALL);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return herr_errno(err, errno, "hook %s[%d] %s: wait",
					  kind, idx, hook->path);
		if (now_ms() - start > timeout_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, __WALL);
			return herr_set(err, GRPC_DEADLINE_EXCEEDED, 0,
					"hook %s[%d] %s: timed out after %lld s",
					kind, idx, hook->path,
					timeout_ms / 1000);
		}
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return herr_set(err, GRPC_FAILED_PRECONDITION, 0,
				"hook %s[%d] %s: failed with status %d", kind,
				idx, hook->path,
				WIFEXITED(st) ? WEXITSTATUS(st) :
						128 + WTERMSIG(st));
	return 0;
}

int hooks_run(const Grpc__Spec *spec, const char *cid, const char *bundle,
	      enum hook_kind kind, pid_t pid, const char *status,
	      struct herr *err)
{
	char state[1024];
	const char *version;
	Grpc__Hook **list;
	size_t n;

	if (!spec || !spec->hooks)
		return 0;
	list = hook_list(spec->hooks, kind, &n);
	if (!n)
		return 0;
	/* Ids are validated; the version is the only free text. */
	version = spec->version && *spec->version &&
				  !strpbrk(spec->version, "\"\\") ?
			  spec->version :
			  "1.0.2";
	snprintf(state, sizeof(state),
		 "{\"ociVersion\":\"%s\",\"id\":\"%s\",\"status\":\"%s\","
		 "\"pid\":%d,\"bundle\":\"%s\"}",
		 version, cid, status,
		 (int)pid, bundle ? bundle : "");
	for (size_t i = 0; i < n; i++)
		if (run_one(list[i], state, (int)i, hook_names[kind], err) < 0)
			return -1;
	return 0;
}
