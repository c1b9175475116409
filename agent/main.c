// SPDX-License-Identifier: Apache-2.0
/*
 * husk-agent: serves grpc.AgentService and grpc.Health over ttRPC and runs
 * OCI containers.
 *
 * Host mode:  husk-agent --listen unix:/path/to.sock [--state-dir DIR]
 * Guest mode: PID 1 with no --listen: init/ does its duties first (mounts,
 * kernel cmdline), finds the agent channel, and the same loop serves it;
 * when the loop stops (DestroySandbox) or anything fails, init/ powers
 * the guest off.  PID 1 never returns from main().
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "init.h"
#include "log.h"
#include "storage.h"
#include "unix-sock.h"
#include "util.h"

/* Why the loop stopped, for the power-off message (init mode). */
static const char *stop_reason;

static const char usage[] =
	"usage: husk-agent [--listen unix:PATH] [--state-dir DIR] [--log-level "
	"LEVEL]\n"
	"                  [--cgroup-parent PATH]\n"
	"  --listen unix:PATH   serve the agent API on a unix socket (host "
	"mode)\n"
	"  --state-dir DIR      per-container state (default /run/husk-agent,\n"
	"                       /run/kata-containers as PID 1)\n"
	"  --cgroup-parent PATH cgroup parent of containers without\n"
	"                       cgroupsPath: PATH/<id> (default /husk)\n"
	"  --log-level LEVEL    error, warn, info or debug\n"
	"  --virtio-fs TAG=DIR  host mode: virtio-fs storage TAG is a bind\n"
	"                       mount of DIR (tests without a VM)\n";

static void on_signal(struct evloop *loop, int fd, uint32_t events, void *data)
{
	struct agent *a = data;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			continue; /* reaped below, all at once */
		if (!a->init_mode) {
			log_info("signal %u: stopping", si.ssi_signo);
			evloop_stop(loop);
		}
	}
	agent_reap(a);
}

static void stop_loop(struct evloop *loop, void *data)
{
	evloop_stop(loop);
}

/* Init mode: DestroySandbox answered; power off once the reply is out. */
static void sandbox_destroyed(struct agent *a)
{
	stop_reason = "sandbox destroyed (DestroySandbox)";
	evloop_timer(a->loop, 20, stop_loop, NULL);
}

/*
 * Init mode: the first request that is not a health check finishes the
 * boot first (init_late: lo and the rest), so the host's Check is
 * answered as soon as the channel is open.  DestroySandbox needs none of
 * it either: the guest powers off next.
 */
static void finish_boot(struct ttrpc_server *srv, const struct ttrpc_method *m,
			void *data)
{
	static bool first = true;

	if (first)
		init_step("first-request"); /* decoded, about to be handled */
	first = false;
	if (!strcmp(m->service, "grpc.Health") ||
	    !strcmp(m->method, "DestroySandbox"))
		return;
	ttrpc_server_on_request(srv, NULL, NULL);
	init_late();
}

/* Keep 0-2 open so no fd we create later lands there. */
static void fix_std_fds(void)
{
	for (int i = 0; i < 3; i++)
		if (fcntl(i, F_GETFD) < 0)
			open("/dev/null", O_RDWR);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "cgroup-parent", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "virtio-fs", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *listen_addr = NULL, *state_dir = NULL, *cg_parent = NULL;
	char *vfs_tag = NULL, *eq;
	struct init_config icfg;
	struct agent agent;
	struct evloop *loop;
	struct herr err;
	sigset_t mask;
	int c, lfd = -1, r = 1;
	bool init_mode;

	log_init(2, CONFIG_DEFAULT_LOG_LEVEL);
	while ((c = getopt_long(argc, argv, "l:s:c:L:F:hV", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'l':
			listen_addr = optarg;
			break;
		case 's':
			state_dir = optarg;
			break;
		case 'c':
			/* Agents side by side on a host: each its own. */
			if (optarg[0] != '/') {
				fprintf(stderr,
					"husk-agent: --cgroup-parent %s: not "
					"an absolute path\n",
					optarg);
				return 2;
			}
			cg_parent = optarg;
			break;
		case 'L':
			if (log_level_parse(optarg) < 0) {
				fprintf(stderr,
					"husk-agent: unknown log level %s\n",
					optarg);
				return 2;
			}
			log_set_level(log_level_parse(optarg));
			break;
		case 'F':
			eq = strchr(optarg, '=');
			if (!eq || eq[1] != '/') {
				fprintf(stderr,
					"husk-agent: --virtio-fs %s: want "
					"TAG=/DIR\n",
					optarg);
				return 2;
			}
			vfs_tag = optarg;
			break;
		case 'V':
			printf("husk-agent %s\n", HUSK_VERSION);
			return 0;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			/* PID 1 gets kernel parameters it cannot refuse. */
			if (getpid() == 1)
				break;
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc && getpid() != 1) {
		fputs(usage, stderr);
		return 2;
	}
	fix_std_fds();
	init_mode = getpid() == 1 && !listen_addr;
	if (vfs_tag && !listen_addr) {
		fputs("husk-agent: --virtio-fs is for host mode (--listen)\n",
		      stderr);
		return 2;
	}
	if (vfs_tag) {
		eq = strchr(vfs_tag, '=');
		*eq = '\0';
		storage_set_virtiofs_dir(vfs_tag, eq + 1);
	}
	/* /run and the rest must exist before the state directory. */
	if (init_mode)
		init_early(&icfg);
	loop = evloop_new();
	if (init_mode)
		init_step("evloop");
	if (!loop) {
		if (init_mode)
			init_fatal("epoll: %s", strerror(errno));
		log_error("epoll: %s", strerror(errno));
		return 1;
	}
	if (!state_dir)
		state_dir =
			init_mode ? "/run/kata-containers" : "/run/husk-agent";
	if (agent_init(&agent, loop, state_dir, &err) < 0) {
		if (init_mode)
			init_fatal("%s", err.msg);
		log_error("%s", err.msg);
		goto out_loop;
	}
	agent.init_mode = init_mode;
	if (init_mode)
		init_step("agent");
	if (cg_parent)
		agent.cgroup_parent = cg_parent;
	if (init_mode) {
		ttrpc_server_on_request(agent.srv, finish_boot, NULL);
		agent.on_destroyed = sandbox_destroyed;
		agent.pipe_size = icfg.container_pipe_size;
	}

	/* Orphans of containers come to us, and every exit is reaped here. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	agent.sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (agent.sig_fd < 0 ||
	    evloop_add(loop, agent.sig_fd, EPOLLIN, on_signal, &agent) < 0) {
		log_error("signalfd: %s", strerror(errno));
		goto out;
	}

	if (listen_addr) {
		if (strncmp(listen_addr, "unix:", 5) ||
		    !IS_ENABLED_CONFIG_AGENT_UNIX) {
			log_error("--listen %s: only unix:PATH is supported",
				  listen_addr);
			goto out;
		}
		listen_addr += 5;
		if (!strncmp(listen_addr, "//", 2))
			listen_addr += 2;
		lfd = unix_listen(listen_addr, SOCK_STREAM | SOCK_NONBLOCK, 64,
				  UNIX_LISTEN_REPLACE | UNIX_LISTEN_PRIVATE,
				  &err);
		if (lfd < 0)
			herr_prefix(&err, "--listen unix:%s", listen_addr);
		if (lfd < 0 ||
		    ttrpc_server_listen_fd(agent.srv, lfd, &err) < 0) {
			log_error("%s", err.msg);
			goto out;
		}
	} else if (init_mode) {
		init_step("signals");
		if (init_channel_serve(&icfg, loop, agent.srv, &err) < 0)
			init_fatal("%s", err.msg);
		init_timeline_print();
		init_debug_console(&icfg, loop);
	} else {
		log_error("no --listen address given");
		fputs(usage, stderr);
		goto out;
	}
	r = loop_watchdog_start(loop);
	if (r < 0)
		log_warn("loop watchdog: %s", strerror(-r));
	/* As PID 1 the console marker said so already. */
	log_msg(init_mode ? LOG_DEBUG : LOG_INFO, "agent started",
		"version=%s pid=%d state_dir=%s", HUSK_VERSION, (int)getpid(),
		state_dir);
	r = evloop_run(loop) < 0;
	if (init_mode)
		init_shutdown(stop_reason ? stop_reason
					  : "the agent's event loop stopped");
out:
	if (init_mode)
		init_fatal("the agent could not start");
	if (agent.sig_fd >= 0) {
		evloop_del(loop, agent.sig_fd);
		close(agent.sig_fd);
	}
	agent_fini(&agent);
	if (listen_addr && lfd >= 0)
		unlink(listen_addr);
out_loop:
	evloop_free(loop);
	return r;
}
