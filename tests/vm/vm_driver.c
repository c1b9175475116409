// SPDX-License-Identifier: Apache-2.0
/*
 * Drives the host library's VM layer (host/) for tests/vm/qemu.sh: one
 * scenario per run, results as "key=value" lines the script checks.
 *
 *   vm_driver CONFIG RUN_DIR SHARED_DIR CONSOLE SCENARIO [TIMEOUT_MS]
 *
 *   health    vm_start, vm_connect_agent, grpc.Health/Check, then
 *             DestroySandbox (the guest powers off) and a graceful vm_stop
 *   connect   vm_start, vm_connect_agent (expected to fail), vm_stop
 *   start     vm_start (expected to fail)
 *   kill      vm_start, vm_connect_agent, SIGKILL QEMU, reap it as the
 *             shim would (vm_exited), vm_running and vm_connect_agent must
 *             notice; vm_stop
 *
 * VM_TAP=NAME (environment) gives the VM one NIC: the existing tap NAME,
 * opened here as the shim's pod networking would hand it over.
 *
 * With VM_DRIVER_POLL=1 the driver takes the event loop's path the pod
 * takes: vm_spawn, then vm_agent_poll until the agent's channel is up
 * (QEMU's start included), instead of vm_start and vm_connect_agent.
 *
 * CONSOLE is a file the guest console is written to ("-": the driver's
 * run_dir default, removed by vm_stop).  Every run ends with "children=N"
 * (processes this driver still has: must be 0) and "pid=P" when QEMU was
 * started, so the script can check that it is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <net/if.h>

#include "hv.h"
#include "agent.pb-c.h"
#include "health.pb-c.h"
#include "log.h"
#include "ttrpc/client.h"
#include "util.h"

static void print_err(const char *key, const struct herr *err)
{
	printf("%s=%s\n", key, err->msg);
}

/* Children this process still has: reaped leftovers plus running ones. */
static int children_left(void)
{
	int n = 0;

	for (;;) {
		pid_t r = waitpid(-1, NULL, WNOHANG);

		if (r > 0) {
			n++; /* a child nobody reaped */
			continue;
		}
		return r < 0 ? n : n + 1;
	}
}

/* vm_agent_poll() until the channel is up, as host/pod.c drives it. */
static int connect_polling(struct vm *vm, long long timeout_ms,
			   struct herr *err)
{
	long long end = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd = { .events = POLLIN };
		int fd = vm_agent_poll(vm, err);

		if (fd != -EAGAIN)
			return fd;
		if (now_ms() >= end)
			return herr_set(err, GRPC_DEADLINE_EXCEEDED, 0,
					"agent not ready within %lld ms",
					timeout_ms);
		pfd.fd = vm_agent_wait_fd(vm);
		/* Nothing to watch (QMP not up yet, vsock): try again soon. */
		if (poll(&pfd, pfd.fd >= 0 ? 1 : 0, 20) < 0 && errno != EINTR)
			return herr_errno(err, errno, "poll");
	}
}

/* Check, then DestroySandbox so that the guest powers itself off. */
static int health_check(int fd, long long timeout_ms, struct herr *err)
{
	struct evloop *loop = evloop_new();
	struct ttrpc_client *cl = ttrpc_client_new(loop, fd, fd);
	Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
	Grpc__DestroySandboxRequest dreq = GRPC__DESTROY_SANDBOX_REQUEST__INIT;
	Grpc__HealthCheckResponse *resp = NULL;
	struct herr derr;
	void *dresp = NULL;
	int rc;

	rc = ttrpc_client_call_sync(cl, "grpc.Health", "Check", &req.base,
				    &grpc__health_check_response__descriptor,
				    timeout_ms, (void **)&resp, err);
	if (!rc) {
		printf("health=%s\n",
		       resp->status == GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
			       ? "SERVING"
			       : "NOT_SERVING");
		protobuf_c_message_free_unpacked(&resp->base, NULL);
		if (ttrpc_client_call_sync(cl, "grpc.AgentService",
					   "DestroySandbox", &dreq.base, NULL,
					   10000, &dresp, &derr) < 0)
			print_err("destroy_error", &derr);
		else
			printf("destroy=ok\n");
	}
	ttrpc_client_free(cl);
	evloop_free(loop);
	return rc;
}

/* Attach to the existing tap @name (the test made it). */
static int open_tap(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct vm_nic nic = { .fd = -1, .mac = { 0x02, 0, 0, 0x68, 0x75, 1 } };
	const char *tap = getenv("VM_TAP");
	struct husk_config cfg;
	struct vm_params p = { 0 };
	struct vm *vm = NULL;
	struct herr err;
	const char *scenario;
	long long timeout = 60000, t0;
	int console = -1, fd, rc = 0;
	bool polling;

	if (argc < 6) {
		fprintf(stderr, "usage: vm_driver CONFIG RUN_DIR SHARED_DIR "
				"CONSOLE SCENARIO [TIMEOUT_MS]\n");
		return 2;
	}
	log_init(2, getenv("VM_DEBUG") ? LOG_DEBUG : LOG_INFO);
	scenario = argv[5];
	if (argc > 6)
		timeout = atoll(argv[6]);
	if (config_load(argv[1], &cfg, &err) < 0) {
		print_err("config_error", &err);
		return 1;
	}
	if (strcmp(argv[4], "-")) {
		console = open(argv[4],
			       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (console < 0) {
			perror(argv[4]);
			return 1;
		}
	}
	p.cfg = &cfg;
	p.sandbox_id = "vmtest";
	p.run_dir = argv[2];
	p.shared_dir = argv[3];
	p.console_fd = console;
	if (tap && *tap) {
		nic.fd = open_tap(tap);
		if (nic.fd < 0) {
			perror(tap);
			return 1;
		}
		p.nics = &nic;
		p.n_nics = 1;
	}

	polling = getenv("VM_DRIVER_POLL") != NULL;
	t0 = now_ms();
	if ((polling ? vm_spawn(&p, &vm, &err) : vm_start(&p, &vm, &err)) < 0) {
		printf("start_ms=%lld\n", now_ms() - t0);
		print_err("start_error", &err);
		rc = strcmp(scenario, "start") ? 1 : 0;
		goto out;
	}
	printf("start_ms=%lld\npid=%d\nvm=%s\n", now_ms() - t0, (int)vm_pid(vm),
	       vm_describe(vm));
	fflush(stdout);
	if (!strcmp(scenario, "start")) {
		printf("start_error=(none: vm_start succeeded)\n");
		rc = 1;
		goto stop;
	}
	t0 = now_ms();
	fd = polling ? connect_polling(vm, timeout, &err)
		     : vm_connect_agent(vm, timeout, &err);
	printf("connect_ms=%lld\n", now_ms() - t0);
	if (fd < 0) {
		print_err("connect_error", &err);
		rc = strcmp(scenario, "connect") ? 1 : 0;
		goto stop;
	}
	if (!strcmp(scenario, "connect")) {
		printf("connect_error=(none: the agent answered)\n");
		close(fd);
		rc = 1;
		goto stop;
	}
	if (!strcmp(scenario, "kill")) {
		int status;

		close(fd);
		kill(vm_pid(vm), SIGKILL);
		/* The shim's SIGCHLD handler reaps, then tells the VM layer. */
		if (waitpid(vm_pid(vm), &status, 0) == vm_pid(vm))
			vm_exited(vm, status);
		printf("running=%d\n", vm_running(vm));
		fd = vm_connect_agent(vm, 5000, &err);
		if (fd >= 0) {
			printf("connect_after_kill=(connected)\n");
			close(fd);
			rc = 1;
		} else {
			print_err("connect_after_kill", &err);
		}
		goto stop;
	}
	t0 = now_ms();
	if (health_check(fd, timeout, &err) < 0) {
		print_err("health_error", &err);
		rc = 1;
	}
	printf("health_ms=%lld\n", now_ms() - t0);
stop:
	t0 = now_ms();
	if (vm_stop(vm, true, 3000, &err) < 0)
		print_err("stop_error", &err);
	printf("stop_ms=%lld\n", now_ms() - t0);
	vm_free(vm);
out:
	printf("children=%d\n", children_left());
	if (console >= 0)
		close(console);
	config_free(&cfg);
	return rc;
}
