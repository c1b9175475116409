// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "server.h"
#include "ttrpc.pb-c.h"
#include "util.h"

struct srv_conn {
	struct ttrpc_server *srv;
	struct ttrpc_conn *conn;
	struct ttrpc_call *calls; /* pending on this connection */
	uint32_t last_stream_id;
	struct srv_conn *prev, *next;
};

struct ttrpc_call {
	struct ttrpc_server *srv;
	struct srv_conn *sc; /* NULL once abandoned, or for raw dispatch */
	uint32_t stream_id;
	const struct ttrpc_method *m;
	Ttrpc__Request *rq; /* envelope: method names and metadata */
	void *req;
	ProtobufCBinaryData raw; /* req when the method has no descriptor */
	long long deadline;
	struct ev_timer *timer;
	void (*cancel_cb)(struct ttrpc_call *call, void *data);
	void *cancel_data;
	bool abandoned;
	void (*sink)(const uint8_t *resp, size_t len, void *sink_data);
	void *sink_data;
	struct ttrpc_call *prev, *next; /* on sc->calls or srv->orphans */
};

struct listener {
	int fd;
	struct listener *next;
};

struct ttrpc_server {
	struct evloop *loop;
	const struct ttrpc_method *methods;
	size_t n_methods;
	void *ctx;
	struct srv_conn *conns;
	size_t n_conns;
	struct ttrpc_call *orphans; /* abandoned calls without a cancel hook */
	struct listener *listeners;
	void (*disconnect_cb)(struct ttrpc_server *srv, void *data);
	void *disconnect_data;
	void (*request_cb)(struct ttrpc_server *srv,
			   const struct ttrpc_method *m, void *data);
	void *request_data;
};

/* Doubly linked list helpers for calls. */
static void call_link(struct ttrpc_call **head, struct ttrpc_call *call)
{
	call->prev = NULL;
	call->next = *head;
	if (*head)
		(*head)->prev = call;
	*head = call;
}

static void call_unlink(struct ttrpc_call **head, struct ttrpc_call *call)
{
	if (call->prev)
		call->prev->next = call->next;
	else if (*head == call)
		*head = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->prev = call->next = NULL;
}

static struct ttrpc_call **call_list(struct ttrpc_call *call)
{
	if (call->sc)
		return &call->sc->calls;
	if (call->abandoned)
		return &call->srv->orphans;
	return NULL;
}

static void call_free(struct ttrpc_call *call)
{
	struct ttrpc_call **list = call_list(call);

	if (list)
		call_unlink(list, call);
	if (call->timer)
		evloop_timer_cancel(call->srv->loop, call->timer);
	if (call->req)
		protobuf_c_message_free_unpacked(call->req, NULL);
	if (call->rq)
		ttrpc__request__free_unpacked(call->rq, NULL);
	free(call);
}

/* Send a Response frame on the call's stream (nothing if abandoned). */
static void send_response(struct ttrpc_server *srv, struct srv_conn *sc,
			  uint32_t stream_id, int code, const char *msg,
			  const uint8_t *payload, size_t payload_len,
			  void (*sink)(const uint8_t *, size_t, void *),
			  void *sink_data)
{
	Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
	Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
	_cleanup_free_ uint8_t *buf = NULL;
	struct herr err;
	size_t len;

	status.code = code;
	status.message = (char *)(msg ? msg : "");
	resp.status = &status;
	if (code == GRPC_OK && payload_len) {
		resp.payload.data = (uint8_t *)payload;
		resp.payload.len = payload_len;
	}
	len = ttrpc__response__get_packed_size(&resp);
	if (len > TTRPC_MAX_DATA) {
		/* Tell the caller instead of sending what it cannot take. */
		send_response(srv, sc, stream_id, GRPC_RESOURCE_EXHAUSTED,
			      "ttrpc: response exceeds the 4 MiB message limit",
			      NULL, 0, sink, sink_data);
		return;
	}
	buf = xmalloc(len);
	ttrpc__response__pack(&resp, buf);
	if (sink) {
		sink(buf, len, sink_data);
		return;
	}
	if (sc && ttrpc_conn_send(sc->conn, stream_id, TTRPC_TYPE_RESPONSE, 0,
				  buf, len, &err) < 0)
		log_warn("%s", err.msg);
}

static void finish_call(struct ttrpc_call *call, int code, const char *msg,
			const uint8_t *payload, size_t len)
{
	if (!call->abandoned)
		send_response(call->srv, call->sc, call->stream_id, code, msg,
			      payload, len, call->sink, call->sink_data);
	call_free(call);
}

void ttrpc_call_reply(struct ttrpc_call *call, const ProtobufCMessage *resp)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;

	if (resp) {
		len = protobuf_c_message_get_packed_size(resp);
		if (len > TTRPC_MAX_DATA) {
			ttrpc_call_fail(call, GRPC_RESOURCE_EXHAUSTED,
					"%s: response of %zu bytes exceeds the 4 MiB message limit",
					call->m->method, len);
			return;
		}
		buf = xmalloc(len);
		protobuf_c_message_pack(resp, buf);
	}
	finish_call(call, GRPC_OK, NULL, buf, len);
}

void ttrpc_call_fail(struct ttrpc_call *call, int code, const char *fmt, ...)
{
	char msg[HERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (code == GRPC_OK)
		code = GRPC_UNKNOWN;
	finish_call(call, code, msg, NULL, 0);
}

void ttrpc_call_fail_err(struct ttrpc_call *call, const struct herr *err)
{
	ttrpc_call_fail(call, err->code ? err->code : GRPC_UNKNOWN, "%s",
			err->msg);
}

void ttrpc_call_on_cancel(struct ttrpc_call *call,
			  void (*cb)(struct ttrpc_call *call, void *data),
			  void *data)
{
	call->cancel_cb = cb;
	call->cancel_data = data;
}

const char *ttrpc_call_metadata(const struct ttrpc_call *call, const char *key)
{
	for (size_t i = 0; call->rq && i < call->rq->n_metadata; i++) {
		const Ttrpc__KeyValue *kv = call->rq->metadata[i];

		if (kv->key && !strcmp(kv->key, key))
			return kv->value;
	}
	return NULL;
}

long long ttrpc_call_deadline(const struct ttrpc_call *call)
{
	return call->deadline;
}

const char *ttrpc_call_method(const struct ttrpc_call *call)
{
	return call->m ? call->m->method : "";
}

uint32_t ttrpc_call_stream_id(const struct ttrpc_call *call)
{
	return call->stream_id;
}

void *ttrpc_call_ctx(const struct ttrpc_call *call)
{
	return call->srv->ctx;
}

/*
 * The call will never be answered to anyone: run its cancel hook (then free
 * it), or park it until its handler answers.
 */
static void abandon_call(struct ttrpc_call *call)
{
	struct ttrpc_call **list = call_list(call);

	if (list)
		call_unlink(list, call);
	call->sc = NULL;
	call->abandoned = true;
	if (call->timer) {
		evloop_timer_cancel(call->srv->loop, call->timer);
		call->timer = NULL;
	}
	if (call->cancel_cb) {
		call->cancel_cb(call, call->cancel_data);
		call_free(call);
		return;
	}
	call_link(&call->srv->orphans, call);
}

static void call_deadline_passed(struct evloop *loop, void *data)
{
	struct ttrpc_call *call = data;

	call->timer = NULL; /* the loop frees a fired timer */
	log_debug("ttrpc: %s on stream %u: deadline exceeded",
		  ttrpc_call_method(call), call->stream_id);
	send_response(call->srv, call->sc, call->stream_id,
		      GRPC_DEADLINE_EXCEEDED, "timeout", NULL, 0, call->sink,
		      call->sink_data);
	abandon_call(call);
}

static const struct ttrpc_method *find_method(struct ttrpc_server *srv,
					      const char *service,
					      const char *method,
					      bool *service_known)
{
	*service_known = false;
	for (size_t i = 0; i < srv->n_methods; i++) {
		const struct ttrpc_method *m = &srv->methods[i];

		if (strcmp(m->service, service))
			continue;
		*service_known = true;
		if (!strcmp(m->method, method))
			return m;
	}
	return NULL;
}

static void dispatch(struct ttrpc_server *srv, struct srv_conn *sc,
		     uint32_t stream_id, const uint8_t *data, size_t len,
		     void (*sink)(const uint8_t *, size_t, void *),
		     void *sink_data)
{
	const struct ttrpc_method *m;
	struct ttrpc_call *call;
	Ttrpc__Request *rq;
	bool service_known;
	char msg[HERR_MSG_MAX];

#define REJECT(code, ...)                                                    \
	do {                                                                 \
		snprintf(msg, sizeof(msg), __VA_ARGS__);                     \
		send_response(srv, sc, stream_id, code, msg, NULL, 0, sink,  \
			      sink_data);                                    \
	} while (0)

	rq = ttrpc__request__unpack(NULL, len, data);
	if (!rq) {
		REJECT(GRPC_INVALID_ARGUMENT,
		       "ttrpc: request on stream %u does not decode",
		       stream_id);
		return;
	}
	if (!rq->service || !rq->method || !*rq->service || !*rq->method) {
		REJECT(GRPC_INVALID_ARGUMENT,
		       "ttrpc: request on stream %u names no service or method",
		       stream_id);
		goto out;
	}
	m = find_method(srv, rq->service, rq->method, &service_known);
	if (!m) {
		if (service_known)
			REJECT(GRPC_UNIMPLEMENTED,
			       "method %s.%s is not implemented", rq->service,
			       rq->method);
		else
			REJECT(GRPC_UNIMPLEMENTED,
			       "service %s is not implemented", rq->service);
		goto out;
	}
	call = xcalloc(1, sizeof(*call));
	call->srv = srv;
	call->stream_id = stream_id;
	call->m = m;
	call->sink = sink;
	call->sink_data = sink_data;
	if (m->req_desc) {
		call->req = protobuf_c_message_unpack(m->req_desc, NULL,
						      rq->payload.len,
						      rq->payload.data);
		if (!call->req) {
			REJECT(GRPC_INVALID_ARGUMENT,
			       "%s.%s: payload of %zu bytes does not decode as %s",
			       rq->service, rq->method, rq->payload.len,
			       m->req_desc->name);
			free(call);
			goto out;
		}
	}
	call->raw = rq->payload;
	call->rq = rq;
	if (sc) {
		call->sc = sc;
		call_link(&sc->calls, call);
	}
	if (rq->timeout_nano > 0) {
		/* Round up without overflowing on a peer's huge value. */
		long long ms = rq->timeout_nano / 1000000 +
			       (rq->timeout_nano % 1000000 != 0);

		call->deadline = now_ms() + ms;
		if (sc)
			call->timer = evloop_timer(srv->loop, ms,
						   call_deadline_passed, call);
	}
	if (srv->request_cb)
		srv->request_cb(srv, m, srv->request_data);
	m->handler(call, m->req_desc ? call->req : (void *)&call->raw,
		   srv->ctx);
	return;
out:
	ttrpc__request__free_unpacked(rq, NULL);
#undef REJECT
}

static void on_frame(struct ttrpc_conn *conn, const struct ttrpc_hdr *hdr,
		     uint8_t *data, void *user)
{
	struct srv_conn *sc = user;
	struct ttrpc_server *srv = sc->srv;

	if (hdr->type != TTRPC_TYPE_REQUEST) {
		struct herr err;

		/* Only unary calls exist in the agent and shim APIs. */
		herr_set(&err, GRPC_INVALID_ARGUMENT, 0,
			 "ttrpc: unexpected message type %u on stream %u from client",
			 hdr->type, hdr->stream_id);
		log_warn("%s; closing connection", err.msg);
		free(data);
		ttrpc_conn_close(conn, &err);
		return;
	}
	if (!(hdr->stream_id & 1)) {
		send_response(srv, sc, hdr->stream_id, GRPC_INVALID_ARGUMENT,
			      "ttrpc: stream id must be odd for client initiated streams",
			      NULL, 0, NULL, NULL);
	} else if (hdr->stream_id <= sc->last_stream_id) {
		send_response(srv, sc, hdr->stream_id, GRPC_INVALID_ARGUMENT,
			      "ttrpc: stream id cannot be re-used and must increment",
			      NULL, 0, NULL, NULL);
	} else {
		sc->last_stream_id = hdr->stream_id;
		dispatch(srv, sc, hdr->stream_id, data, hdr->len, NULL, NULL);
	}
	free(data);
}

static void on_close(struct ttrpc_conn *conn, const struct herr *err,
		     void *user)
{
	struct srv_conn *sc = user;
	struct ttrpc_server *srv = sc->srv;

	if (err && err->code != GRPC_UNAVAILABLE)
		log_warn("%s; connection closed", err->msg);
	else
		log_debug("ttrpc: connection closed%s%s", err ? ": " : "",
			  err ? err->msg : "");
	while (sc->calls)
		abandon_call(sc->calls);
	if (sc->prev)
		sc->prev->next = sc->next;
	else
		srv->conns = sc->next;
	if (sc->next)
		sc->next->prev = sc->prev;
	srv->n_conns--;
	free(sc);
	if (srv->disconnect_cb)
		srv->disconnect_cb(srv, srv->disconnect_data);
}

static const struct ttrpc_conn_ops server_conn_ops = {
	.on_frame = on_frame,
	.on_close = on_close,
};

struct ttrpc_server *ttrpc_server_new(struct evloop *loop,
				      const struct ttrpc_method *methods,
				      size_t n_methods, void *ctx)
{
	struct ttrpc_server *srv = xcalloc(1, sizeof(*srv));

	srv->loop = loop;
	srv->methods = methods;
	srv->n_methods = n_methods;
	srv->ctx = ctx;
	return srv;
}

int ttrpc_server_add_conn(struct ttrpc_server *srv, int rfd, int wfd,
			  struct herr *err)
{
	struct srv_conn *sc = xcalloc(1, sizeof(*sc));

	sc->srv = srv;
	sc->conn = ttrpc_conn_new(srv->loop, rfd, wfd, &server_conn_ops, sc);
	if (!sc->conn) {
		free(sc);
		return herr_set(err, GRPC_INTERNAL, 0,
				"ttrpc: cannot watch fd %d", rfd);
	}
	sc->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = sc;
	srv->conns = sc;
	srv->n_conns++;
	return 0;
}

static void on_accept(struct evloop *loop, int fd, uint32_t events, void *data)
{
	struct ttrpc_server *srv = data;

	for (;;) {
		struct herr err;
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_warn("ttrpc: accept: %s", strerror(errno));
			return;
		}
		if (ttrpc_server_add_conn(srv, cfd, cfd, &err) < 0)
			log_warn("%s", err.msg);
	}
}

int ttrpc_server_listen_fd(struct ttrpc_server *srv, int listen_fd,
			   struct herr *err)
{
	struct listener *l;
	int r;

	fd_set_nonblock(listen_fd, 1);
	r = evloop_add(srv->loop, listen_fd, EPOLLIN, on_accept, srv);
	if (r < 0)
		return herr_set(err, GRPC_INTERNAL, -r,
				"ttrpc: watch listening fd %d", listen_fd);
	l = xcalloc(1, sizeof(*l));
	l->fd = listen_fd;
	l->next = srv->listeners;
	srv->listeners = l;
	return 0;
}

size_t ttrpc_server_conn_count(const struct ttrpc_server *srv)
{
	return srv->n_conns;
}

void ttrpc_server_on_disconnect(struct ttrpc_server *srv,
				void (*cb)(struct ttrpc_server *srv, void *data),
				void *data)
{
	srv->disconnect_cb = cb;
	srv->disconnect_data = data;
}

void ttrpc_server_on_request(struct ttrpc_server *srv,
			     void (*cb)(struct ttrpc_server *srv,
					const struct ttrpc_method *m,
					void *data),
			     void *data)
{
	srv->request_cb = cb;
	srv->request_data = data;
}

void ttrpc_server_free(struct ttrpc_server *srv)
{
	if (!srv)
		return;
	srv->disconnect_cb = NULL;
	while (srv->conns)
		ttrpc_conn_close(srv->conns->conn, NULL);
	/* Handlers must not outlive the server: drop what they still hold. */
	while (srv->orphans)
		call_free(srv->orphans);
	while (srv->listeners) {
		struct listener *l = srv->listeners;

		srv->listeners = l->next;
		evloop_del(srv->loop, l->fd);
		close(l->fd);
		free(l);
	}
	free(srv);
}

void ttrpc_server_dispatch_raw(struct ttrpc_server *srv, uint32_t stream_id,
			       const uint8_t *data, size_t len,
			       void (*sink)(const uint8_t *resp, size_t len,
					    void *sink_data),
			       void *sink_data)
{
	dispatch(srv, NULL, stream_id, data, len, sink, sink_data);
}
