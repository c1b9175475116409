// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ttrpc/client.h"
#include "containerd/events/events.pb-c.h"
#include "events.h"
#include "log.h"
#include "util.h"

#define FORWARD_TIMEOUT_MS 5000
#define MAX_ATTEMPTS 5
#define RETRY_BASE_MS 50

struct event {
	char *topic;
	char *type_url;
	uint8_t *value;
	size_t len;
	struct timespec ts;
	struct event *next;
};

struct events {
	struct evloop *loop;
	char *path; /* NULL: log only */
	char *ns;
	struct ttrpc_client *cl;
	struct event *head, *tail;
	bool sending;
	int attempts;
	struct ev_timer *retry;
};

static void send_head(struct events *ev);

struct events *events_new(struct evloop *loop, const char *address,
			  const char *ns)
{
	struct events *ev = xcalloc(1, sizeof(*ev));

	ev->loop = loop;
	ev->ns = xstrdup(ns);
	if (address && *address)
		ev->path = xstrdup(
			strncmp(address, "unix://", 7) ? address : address + 7);
	return ev;
}

static void event_free(struct event *e)
{
	free(e->topic);
	free(e->type_url);
	free(e->value);
	free(e);
}

static void pop(struct events *ev)
{
	struct event *e = ev->head;

	ev->head = e->next;
	if (!ev->head)
		ev->tail = NULL;
	event_free(e);
	ev->attempts = 0;
}

void events_free(struct events *ev)
{
	if (!ev)
		return;
	if (ev->retry)
		evloop_timer_cancel(ev->loop, ev->retry);
	while (ev->head)
		pop(ev);
	if (ev->cl)
		ttrpc_client_free(ev->cl);
	free(ev->path);
	free(ev->ns);
	free(ev);
}

bool events_idle(const struct events *ev)
{
	return !ev->head && !ev->sending;
}

static struct ttrpc_client *connect_events(struct events *ev, struct herr *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ttrpc_client *cl;
	int fd, r;

	if (strlen(ev->path) >= sizeof(sa.sun_path)) {
		herr_set(err, GRPC_INVALID_ARGUMENT, 0,
			 "TTRPC_ADDRESS %s: path too long", ev->path);
		return NULL;
	}
	strcpy(sa.sun_path, ev->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		herr_errno(err, errno, "socket");
		return NULL;
	}
	do
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		herr_errno(err, errno, "connect to %s", ev->path);
		close(fd);
		return NULL;
	}
	cl = ttrpc_client_new(ev->loop, fd, fd);
	if (!cl) {
		herr_set(err, GRPC_INTERNAL, 0, "watch %s", ev->path);
		close(fd);
		return NULL;
	}
	ttrpc_client_set_metadata(cl, "containerd-namespace-ttrpc", ev->ns);
	return cl;
}

static void retry_fired(struct evloop *loop, void *data)
{
	struct events *ev = data;

	(void)loop;
	ev->retry = NULL;
	send_head(ev);
}

static void failed(struct events *ev, const struct herr *err)
{
	ev->attempts++;
	if (ev->attempts >= MAX_ATTEMPTS) {
		log_error("event %s: giving up after %d attempts: %s",
			  ev->head->topic, ev->attempts, err->msg);
		pop(ev);
		send_head(ev);
		return;
	}
	log_warn("event %s: %s; retrying", ev->head->topic, err->msg);
	ev->retry = evloop_timer(ev->loop, RETRY_BASE_MS << ev->attempts,
				 retry_fired, ev);
}

static void on_forwarded(void *resp, const struct herr *err, void *data)
{
	struct events *ev = data;

	(void)resp;
	ev->sending = false;
	if (err) {
		/* A closed connection is redialled on the next attempt. */
		if (ev->cl && ttrpc_client_closed(ev->cl)) {
			ttrpc_client_free(ev->cl);
			ev->cl = NULL;
		}
		failed(ev, err);
		return;
	}
	log_debug("event %s forwarded", ev->head->topic);
	pop(ev);
	send_head(ev);
}

static void send_head(struct events *ev)
{
	Containerd__Services__Events__Ttrpc__V1__ForwardRequest req =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
	Containerd__Services__Events__Ttrpc__V1__Envelope env =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	struct event *e = ev->head;
	struct herr err;

	if (!e || ev->sending || ev->retry)
		return;
	if (!ev->path) {
		log_info("event %s (no TTRPC_ADDRESS: not forwarded)",
			 e->topic);
		pop(ev);
		send_head(ev);
		return;
	}
	if (!ev->cl) {
		ev->cl = connect_events(ev, &err);
		if (!ev->cl) {
			failed(ev, &err);
			return;
		}
	}
	ts.seconds = e->ts.tv_sec;
	ts.nanos = (int32_t)e->ts.tv_nsec;
	any.type_url = e->type_url;
	any.value.data = e->value;
	any.value.len = e->len;
	env.timestamp = &ts;
	env.namespace_ = ev->ns;
	env.topic = e->topic;
	env.event = &any;
	req.envelope = &env;
	if (ttrpc_client_call(ev->cl,
			      "containerd.services.events.ttrpc.v1.Events",
			      "Forward", &req.base, NULL, FORWARD_TIMEOUT_MS,
			      on_forwarded, ev, &err) < 0) {
		ttrpc_client_free(ev->cl);
		ev->cl = NULL;
		failed(ev, &err);
		return;
	}
	ev->sending = true;
}

void events_publish(struct events *ev, const char *topic,
		    const ProtobufCMessage *msg)
{
	struct event *e = xcalloc(1, sizeof(*e));

	e->topic = xstrdup(topic);
	/* containerd's typeurl: the bare message name, no type.googleapis.com
	 */
	e->type_url = xstrdup(msg->descriptor->name);
	e->len = protobuf_c_message_get_packed_size(msg);
	e->value = xmalloc(e->len);
	protobuf_c_message_pack(msg, e->value);
	clock_gettime(CLOCK_REALTIME, &e->ts);
	if (ev->tail)
		ev->tail->next = e;
	else
		ev->head = e;
	ev->tail = e;
	log_debug("event %s queued", topic);
	send_head(ev);
}
