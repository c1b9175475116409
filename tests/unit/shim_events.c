// SPDX-License-Identifier: Apache-2.0
/*
 * Event forwarding (host-shim/events.c) against an in-process stand-in for
 * containerd's Events service: the envelope carries the namespace, the
 * topic and an Any with the bare type name; events arrive in publish order;
 * a refused Forward and a socket that appears late are retried.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "containerd/events/events.pb-c.h"
#include "containerd/events/task.pb-c.h"
#include "events.h"
#include "ttrpc/server.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

#pragma GCC diagnostic ignored "-Wsign-compare"

struct sink {
	char topics[8][32];
	char types[8][64];
	char ns[8][32];
	char md[8][32];
	uint32_t exit_status;
	int n;
	int refuse; /* fail this many calls first */
};

static void forward(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Services__Events__Ttrpc__V1__ForwardRequest *req =
		req_;
	const Containerd__Services__Events__Ttrpc__V1__Envelope *e =
		req->envelope;
	const char *md =
		ttrpc_call_metadata(call, "containerd-namespace-ttrpc");
	struct sink *s = ctx;

	if (s->refuse) {
		s->refuse--;
		ttrpc_call_fail(call, GRPC_UNAVAILABLE, "not now");
		return;
	}
	if (s->n < 8 && e && e->event) {
		snprintf(s->topics[s->n], 32, "%s", e->topic);
		snprintf(s->types[s->n], 64, "%s", e->event->type_url);
		snprintf(s->ns[s->n], 32, "%s", e->namespace_);
		snprintf(s->md[s->n], 32, "%s", md ? md : "");
		if (!strcmp(e->topic, "/tasks/exit")) {
			Containerd__Events__TaskExit *x =
				containerd__events__task_exit__unpack(
					NULL, e->event->value.len,
					e->event->value.data);

			if (x) {
				s->exit_status = x->exit_status;
				containerd__events__task_exit__free_unpacked(
					x, NULL);
			}
		}
		s->n++;
	}
	ttrpc_call_reply(call, NULL);
}

static const struct ttrpc_method methods[] = {
	{ "containerd.services.events.ttrpc.v1.Events", "Forward",
	  &containerd__services__events__ttrpc__v1__forward_request__descriptor,
	  forward },
};

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 8) < 0)
		return -1;
	return fd;
}

static void run_until(struct evloop *loop, struct sink *s, int n,
		      struct events *ev, long long ms)
{
	long long end = now_ms() + ms;

	while ((s->n < n || !events_idle(ev)) && now_ms() < end)
		evloop_run_once(loop, 20);
}

static void publish_three(struct events *ev)
{
	Containerd__Events__TaskCreate c =
		CONTAINERD__EVENTS__TASK_CREATE__INIT;
	Containerd__Events__TaskStart st = CONTAINERD__EVENTS__TASK_START__INIT;
	Containerd__Events__TaskExit x = CONTAINERD__EVENTS__TASK_EXIT__INIT;

	c.container_id = "t1";
	st.container_id = "t1";
	x.container_id = "t1";
	x.id = "t1";
	x.exit_status = 7;
	events_publish(ev, "/tasks/create", &c.base);
	events_publish(ev, "/tasks/start", &st.base);
	events_publish(ev, "/tasks/exit", &x.base);
}

TEST(forwarded_in_order_with_namespace_and_bare_type)
{
	char dir[] = "/tmp/shim-ev-XXXXXX", path[128];
	struct evloop *loop = evloop_new();
	struct sink s = { 0 };
	struct ttrpc_server *srv;
	struct events *ev;
	struct herr err;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ttrpc.sock", dir);
	srv = ttrpc_server_new(loop, methods, 1, &s);
	ASSERT_EQ(0, ttrpc_server_listen_fd(srv, listen_unix(path), &err));
	s.refuse = 1;
	ev = events_new(loop, path, "default");
	publish_three(ev);
	run_until(loop, &s, 3, ev, 3000);
	ASSERT_EQ(3, s.n);
	EXPECT_STREQ("/tasks/create", s.topics[0]);
	EXPECT_STREQ("/tasks/start", s.topics[1]);
	EXPECT_STREQ("/tasks/exit", s.topics[2]);
	EXPECT_STREQ("containerd.events.TaskCreate", s.types[0]);
	EXPECT_STREQ("containerd.events.TaskExit", s.types[2]);
	EXPECT_STREQ("default", s.ns[1]);
	EXPECT_STREQ("default", s.md[2]);
	EXPECT_EQ(7, s.exit_status);
	EXPECT_TRUE(events_idle(ev));
	events_free(ev);
	ttrpc_server_free(srv);
	evloop_free(loop);
	unlink(path);
	rmdir(dir);
}

TEST(late_socket_is_retried)
{
	char dir[] = "/tmp/shim-ev-XXXXXX", path[128];
	struct evloop *loop = evloop_new();
	struct sink s = { 0 };
	struct ttrpc_server *srv;
	struct events *ev;
	struct herr err;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "unix://%s/late.sock", dir);
	ev = events_new(loop, path, "k8s.io");
	publish_three(ev);
	/* Nobody listens yet: the first attempt fails. */
	evloop_run_once(loop, 10);
	EXPECT_FALSE(events_idle(ev));
	srv = ttrpc_server_new(loop, methods, 1, &s);
	ASSERT_EQ(0, ttrpc_server_listen_fd(srv, listen_unix(path + 7), &err));
	run_until(loop, &s, 3, ev, 5000);
	EXPECT_EQ(3, s.n);
	EXPECT_STREQ("k8s.io", s.md[0]);
	EXPECT_STREQ("/tasks/create", s.topics[0]);
	events_free(ev);
	ttrpc_server_free(srv);
	evloop_free(loop);
	unlink(path + 7);
	rmdir(dir);
}

TEST(no_address_only_logs)
{
	struct evloop *loop = evloop_new();
	struct events *ev = events_new(loop, "", "default");

	publish_three(ev);
	EXPECT_TRUE(events_idle(ev));
	events_free(ev);
	evloop_free(loop);
}

TEST_HARNESS_MAIN
