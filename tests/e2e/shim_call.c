// SPDX-License-Identifier: Apache-2.0
/*
 * shim_call SOCKET VERB [ID [ARG]]: one containerd.task.v2.Task call
 * straight to a shim, for the end-to-end tests that need to reach a task
 * containerd does not know yet (its Create still in flight, the VM
 * booting): containerd lists a task only once Create returned.
 *
 *   state ID          prints "status=created|running|stopped|... exit=N"
 *   kill ID SIGNAL    SIGKILL = 9
 *   delete ID         prints "exit=N"
 *   wait ID           prints "exit=N"
 *   shutdown
 *
 * Prints "ms=N" (the call's round trip) last; a failed call prints
 * "shim_call: Method: CODE: message" on stderr and exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "containerd/task/shim.pb-c.h"
#include "ttrpc/client.h"
#include "util.h"

#define TASK_SVC "containerd.task.v2.Task"
#define CALL_TIMEOUT_MS 60000

static int connect_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (!strncmp(path, "unix://", 7))
		path += 7;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "shim_call: %s: path too long\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "shim_call: connect %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static const char *status_name(Containerd__V1__Types__Status st)
{
	switch (st) {
	case CONTAINERD__V1__TYPES__STATUS__CREATED:
		return "created";
	case CONTAINERD__V1__TYPES__STATUS__RUNNING:
		return "running";
	case CONTAINERD__V1__TYPES__STATUS__STOPPED:
		return "stopped";
	case CONTAINERD__V1__TYPES__STATUS__PAUSED:
		return "paused";
	case CONTAINERD__V1__TYPES__STATUS__PAUSING:
		return "pausing";
	default:
		return "unknown";
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: shim_call SOCKET state|kill|delete|wait|"
			"shutdown [ID [SIGNAL]]\n");
	return 2;
}

int main(int argc, char **argv)
{
	Containerd__Task__V2__StateRequest st =
		CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
	Containerd__Task__V2__KillRequest kill =
		CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
	Containerd__Task__V2__DeleteRequest del =
		CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
	Containerd__Task__V2__WaitRequest wait =
		CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
	Containerd__Task__V2__ShutdownRequest sd =
		CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
	const ProtobufCMessageDescriptor *resp_desc = NULL;
	const ProtobufCMessage *req;
	const char *verb, *method, *id;
	struct ttrpc_client *cl;
	struct evloop *loop;
	void *resp = NULL;
	struct herr err;
	long long t0;
	int fd, rc;

	if (argc < 3)
		return usage();
	verb = argv[2];
	id = argc > 3 ? argv[3] : "";
	if (!strcmp(verb, "state") && argc == 4) {
		method = "State";
		st.id = (char *)id;
		req = &st.base;
		resp_desc = &containerd__task__v2__state_response__descriptor;
	} else if (!strcmp(verb, "kill") && argc == 5) {
		method = "Kill";
		kill.id = (char *)id;
		kill.signal = (uint32_t)strtoul(argv[4], NULL, 10);
		req = &kill.base;
	} else if (!strcmp(verb, "delete") && argc == 4) {
		method = "Delete";
		del.id = (char *)id;
		req = &del.base;
		resp_desc = &containerd__task__v2__delete_response__descriptor;
	} else if (!strcmp(verb, "wait") && argc == 4) {
		method = "Wait";
		wait.id = (char *)id;
		req = &wait.base;
		resp_desc = &containerd__task__v2__wait_response__descriptor;
	} else if (!strcmp(verb, "shutdown") && argc == 3) {
		method = "Shutdown";
		req = &sd.base;
	} else {
		return usage();
	}
	fd = connect_socket(argv[1]);
	if (fd < 0)
		return 1;
	loop = evloop_new();
	cl = ttrpc_client_new(loop, fd, fd);
	t0 = now_ms();
	rc = ttrpc_client_call_sync(cl, TASK_SVC, method, req, resp_desc,
				    CALL_TIMEOUT_MS, &resp, &err);
	if (rc < 0) {
		fprintf(stderr, "shim_call: %s: %s: %s\n", method,
			grpc_code_name(err.code), err.msg);
	} else if (!strcmp(verb, "state")) {
		Containerd__Task__V2__StateResponse *r = resp;

		printf("status=%s exit=%u\n", status_name(r->status),
		       r->exit_status);
	} else if (!strcmp(verb, "delete")) {
		Containerd__Task__V2__DeleteResponse *r = resp;

		printf("exit=%u\n", r->exit_status);
	} else if (!strcmp(verb, "wait")) {
		Containerd__Task__V2__WaitResponse *r = resp;

		printf("exit=%u\n", r->exit_status);
	}
	printf("ms=%lld\n", now_ms() - t0);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	ttrpc_client_free(cl);
	evloop_free(loop);
	return rc < 0 ? 1 : 0;
}
