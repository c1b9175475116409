// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "conn.h"
#include "log.h"
#include "ttrpc.pb-c.h"
#include "util.h"

struct pending {
	struct ttrpc_client *cl;
	uint32_t stream_id;
	char *name; /* "service.method", for messages */
	const ProtobufCMessageDescriptor *resp_desc;
	ttrpc_reply_fn cb;
	void *data;
	void **keep; /* sync calls keep the reply instead of freeing it */
	long long timeout_ms;
	struct ev_timer *timer;
	struct pending *prev, *next;
};

struct ttrpc_client {
	struct evloop *loop;
	struct ttrpc_conn *conn; /* NULL once closed */
	uint32_t next_id;
	struct pending *pending;
	size_t n_pending;
	Ttrpc__KeyValue **md;
	size_t n_md;
	void (*close_cb)(struct ttrpc_client *cl, void *data);
	void *close_data;
	int busy; /* >0 while running user callbacks: defer the free */
	bool want_free;
};

static void pending_unlink(struct ttrpc_client *cl, struct pending *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		cl->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	cl->n_pending--;
	if (p->timer)
		evloop_timer_cancel(cl->loop, p->timer);
}

static void client_destroy(struct ttrpc_client *cl)
{
	for (size_t i = 0; i < cl->n_md; i++) {
		free(cl->md[i]->key);
		free(cl->md[i]->value);
		free(cl->md[i]);
	}
	free(cl->md);
	free(cl);
}

/* Run the user's callback for @p (already unlinked) and free @p. */
static void complete(struct pending *p, void *resp, const struct herr *err)
{
	struct ttrpc_client *cl = p->cl;

	cl->busy++;
	if (p->keep && !err) {
		*p->keep = resp;
		resp = NULL;
	}
	p->cb(resp, err, p->data);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	free(p->name);
	free(p);
	cl->busy--;
	if (cl->want_free && !cl->busy)
		client_destroy(cl);
}

static void fail_pending(struct pending *p, int code, const char *fmt,
			 const char *detail)
{
	struct herr err;

	herr_set(&err, code, 0, fmt, p->name, detail);
	complete(p, NULL, &err);
}

static void on_response(struct ttrpc_client *cl, struct pending *p,
			const uint8_t *data, size_t len)
{
	Ttrpc__Response *resp = ttrpc__response__unpack(NULL, len, data);
	struct herr err;
	void *msg = NULL;

	if (!resp) {
		fail_pending(p, GRPC_INTERNAL, "%s: reply does not decode%s",
			     "");
		return;
	}
	/* A missing status means OK, as in the Go client. */
	if (resp->status && resp->status->code != GRPC_OK) {
		herr_set(&err, resp->status->code, 0, "%s",
			 resp->status->message ? resp->status->message : "");
		ttrpc__response__free_unpacked(resp, NULL);
		complete(p, NULL, &err);
		return;
	}
	if (p->resp_desc) {
		msg = protobuf_c_message_unpack(p->resp_desc, NULL,
						resp->payload.len,
						resp->payload.data);
		if (!msg) {
			ttrpc__response__free_unpacked(resp, NULL);
			fail_pending(p, GRPC_INTERNAL,
				     "%s: reply payload does not decode as %s",
				     p->resp_desc->name);
			return;
		}
	}
	ttrpc__response__free_unpacked(resp, NULL);
	complete(p, msg, NULL);
}

static void on_frame(struct ttrpc_conn *conn, const struct ttrpc_hdr *hdr,
		     uint8_t *data, void *user)
{
	struct ttrpc_client *cl = user;
	struct pending *p;

	if (hdr->type != TTRPC_TYPE_RESPONSE) {
		struct herr err;

		herr_set(&err, GRPC_INTERNAL, 0,
			 "ttrpc: unexpected message type %u on stream %u from server",
			 hdr->type, hdr->stream_id);
		free(data);
		ttrpc_conn_close(conn, &err);
		return;
	}
	for (p = cl->pending; p; p = p->next)
		if (p->stream_id == hdr->stream_id)
			break;
	if (!p) {
		/* A reply after our timeout gave up on the call. */
		log_debug("ttrpc: dropping reply on unknown stream %u",
			  hdr->stream_id);
		free(data);
		return;
	}
	pending_unlink(cl, p);
	on_response(cl, p, data, hdr->len);
	free(data);
}

static void on_close(struct ttrpc_conn *conn, const struct herr *reason,
		     void *user)
{
	struct ttrpc_client *cl = user;

	cl->conn = NULL;
	cl->busy++;
	while (cl->pending) {
		struct pending *p = cl->pending;

		pending_unlink(cl, p);
		fail_pending(p, GRPC_UNAVAILABLE, "%s: %s",
			     reason ? reason->msg : "ttrpc: connection closed");
	}
	if (cl->close_cb)
		cl->close_cb(cl, cl->close_data);
	cl->busy--;
	if (cl->want_free && !cl->busy)
		client_destroy(cl);
}

static const struct ttrpc_conn_ops client_conn_ops = {
	.on_frame = on_frame,
	.on_close = on_close,
};

struct ttrpc_client *ttrpc_client_new(struct evloop *loop, int rfd, int wfd)
{
	struct ttrpc_client *cl = xcalloc(1, sizeof(*cl));

	cl->loop = loop;
	cl->next_id = 1;
	cl->conn = ttrpc_conn_new(loop, rfd, wfd, &client_conn_ops, cl);
	if (!cl->conn) {
		free(cl);
		return NULL;
	}
	return cl;
}

void ttrpc_client_free(struct ttrpc_client *cl)
{
	if (!cl)
		return;
	cl->busy++;
	if (cl->conn)
		ttrpc_conn_close(cl->conn, NULL);
	cl->busy--;
	if (cl->busy)
		cl->want_free = true;
	else
		client_destroy(cl);
}

void ttrpc_client_set_metadata(struct ttrpc_client *cl, const char *key,
			       const char *value)
{
	Ttrpc__KeyValue *kv;

	for (size_t i = 0; i < cl->n_md; i++) {
		if (!strcmp(cl->md[i]->key, key)) {
			free(cl->md[i]->value);
			cl->md[i]->value = xstrdup(value);
			return;
		}
	}
	kv = xmalloc(sizeof(*kv));
	ttrpc__key_value__init(kv);
	kv->key = xstrdup(key);
	kv->value = xstrdup(value);
	cl->md = realloc(cl->md, (cl->n_md + 1) * sizeof(*cl->md));
	if (!cl->md)
		abort();
	cl->md[cl->n_md++] = kv;
}

void ttrpc_client_on_close(struct ttrpc_client *cl,
			   void (*cb)(struct ttrpc_client *cl, void *data),
			   void *data)
{
	cl->close_cb = cb;
	cl->close_data = data;
}

bool ttrpc_client_closed(const struct ttrpc_client *cl)
{
	return !cl->conn;
}

size_t ttrpc_client_pending(const struct ttrpc_client *cl)
{
	return cl->n_pending;
}

static void call_timed_out(struct evloop *loop, void *data)
{
	struct pending *p = data;
	struct herr err;

	p->timer = NULL; /* fired timers are freed by the loop */
	pending_unlink(p->cl, p);
	herr_set(&err, GRPC_DEADLINE_EXCEEDED, 0, "%s: no reply within %lld ms",
		 p->name, p->timeout_ms);
	/* Ours, not a status the server sent (ttrpc_timed_out()). */
	err.errnum = ETIMEDOUT;
	complete(p, NULL, &err);
}

bool ttrpc_timed_out(const struct herr *err)
{
	return err && err->code == GRPC_DEADLINE_EXCEEDED &&
	       err->errnum == ETIMEDOUT;
}

static int start_call(struct ttrpc_client *cl, const char *service,
		      const char *method, const ProtobufCMessage *req,
		      const ProtobufCMessageDescriptor *resp_desc,
		      long long timeout_ms, ttrpc_reply_fn cb, void *data,
		      void **keep, struct herr *err)
{
	Ttrpc__Request rq = TTRPC__REQUEST__INIT;
	_cleanup_free_ uint8_t *payload = NULL, *body = NULL;
	struct pending *p;
	size_t len;

	if (!cl->conn)
		return herr_set(err, GRPC_UNAVAILABLE, 0,
				"%s.%s: ttrpc connection is closed", service,
				method);
	if (cl->next_id > UINT32_MAX - 2)
		return herr_set(err, GRPC_RESOURCE_EXHAUSTED, 0,
				"%s.%s: ttrpc stream ids exhausted", service,
				method);
	if (req) {
		rq.payload.len = protobuf_c_message_get_packed_size(req);
		if (rq.payload.len > TTRPC_MAX_DATA)
			return herr_set(err, GRPC_RESOURCE_EXHAUSTED, 0,
					"%s.%s: request of %zu bytes exceeds the 4 MiB message limit",
					service, method, rq.payload.len);
		payload = xmalloc(rq.payload.len);
		protobuf_c_message_pack(req, payload);
		rq.payload.data = payload;
	}
	rq.service = (char *)service;
	rq.method = (char *)method;
	if (timeout_ms <= 0)
		rq.timeout_nano = 0;
	else if (timeout_ms > INT64_MAX / 1000000)
		rq.timeout_nano = INT64_MAX;
	else
		rq.timeout_nano = timeout_ms * 1000000;
	rq.metadata = cl->md;
	rq.n_metadata = cl->n_md;
	len = ttrpc__request__get_packed_size(&rq);
	body = xmalloc(len);
	ttrpc__request__pack(&rq, body);
	if (ttrpc_conn_send(cl->conn, cl->next_id, TTRPC_TYPE_REQUEST, 0, body,
			    len, err) < 0)
		return herr_prefix(err, "%s.%s", service, method);

	p = xcalloc(1, sizeof(*p));
	p->cl = cl;
	p->stream_id = cl->next_id;
	cl->next_id += 2;
	if (asprintf(&p->name, "%s.%s", service, method) < 0)
		abort();
	p->resp_desc = resp_desc;
	p->cb = cb;
	p->data = data;
	p->keep = keep;
	p->timeout_ms = timeout_ms;
	if (timeout_ms > 0)
		p->timer = evloop_timer(cl->loop, timeout_ms, call_timed_out, p);
	p->next = cl->pending;
	if (cl->pending)
		cl->pending->prev = p;
	cl->pending = p;
	cl->n_pending++;
	return 0;
}

int ttrpc_client_call(struct ttrpc_client *cl, const char *service,
		      const char *method, const ProtobufCMessage *req,
		      const ProtobufCMessageDescriptor *resp_desc,
		      long long timeout_ms, ttrpc_reply_fn cb, void *data,
		      struct herr *err)
{
	return start_call(cl, service, method, req, resp_desc, timeout_ms, cb,
			  data, NULL, err);
}

struct sync_state {
	bool done;
	bool failed;
	struct herr err;
};

static void sync_done(void *resp, const struct herr *err, void *data)
{
	struct sync_state *st = data;

	st->done = true;
	if (err) {
		st->failed = true;
		st->err = *err;
	}
}

int ttrpc_client_call_sync(struct ttrpc_client *cl, const char *service,
			   const char *method, const ProtobufCMessage *req,
			   const ProtobufCMessageDescriptor *resp_desc,
			   long long timeout_ms, void **resp_out,
			   struct herr *err)
{
	struct sync_state st = { 0 };
	void *resp = NULL;

	if (start_call(cl, service, method, req, resp_desc, timeout_ms,
		       sync_done, &st, &resp, err) < 0)
		return -1;
	while (!st.done) {
		int r = evloop_run_once(cl->loop, -1);

		if (r < 0)
			return herr_set(err, GRPC_INTERNAL, -r,
					"%s.%s: event loop", service, method);
	}
	if (st.failed) {
		if (err)
			*err = st.err;
		return -1;
	}
	if (resp_out)
		*resp_out = resp;
	else if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return 0;
}
