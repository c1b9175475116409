/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttRPC server: a table of (service, method) -> handler, served on any
 * number of connections from one event loop.
 *
 * The server decodes the request payload with the method's protobuf-c
 * descriptor before calling the handler; a payload that does not decode is
 * answered INVALID_ARGUMENT, an unknown service or method UNIMPLEMENTED, both
 * naming what was asked for.  A handler may answer at once or keep the call
 * and answer later, so a long call (WaitProcess, ReadStdout, GetOOMEvent)
 * never blocks the others on its connection.
 */
#ifndef HUSK_TTRPC_SERVER_H
#define HUSK_TTRPC_SERVER_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "err.h"
#include "evloop.h"

struct ttrpc_server;
struct ttrpc_call;

/*
 * @req is the decoded request (owned by the call; freed when it completes),
 * or a ProtobufCBinaryData with the raw payload when the method has no
 * descriptor.  The handler must eventually call ttrpc_call_reply() or
 * ttrpc_call_fail() exactly once, unless the call is cancelled first (see
 * ttrpc_call_on_cancel()).
 */
typedef void (*ttrpc_handler_fn)(struct ttrpc_call *call, const void *req,
				 void *ctx);

struct ttrpc_method {
	const char *service; /* "grpc.AgentService" */
	const char *method; /* "CreateContainer" */
	const ProtobufCMessageDescriptor *req_desc;
	ttrpc_handler_fn handler;
};

/* @methods must outlive the server. @ctx is passed to every handler. */
struct ttrpc_server *ttrpc_server_new(struct evloop *loop,
				      const struct ttrpc_method *methods,
				      size_t n_methods, void *ctx);

/*
 * Closes every connection; calls still pending are cancelled (their
 * on_cancel hooks run).  Listening fds added with listen_fd are closed.
 */
void ttrpc_server_free(struct ttrpc_server *srv);

/* Accept connections on a listening socket (made non-blocking). */
int ttrpc_server_listen_fd(struct ttrpc_server *srv, int listen_fd,
			   struct herr *err);

/* Serve one already-connected stream (socket, or rfd/wfd of a device). */
int ttrpc_server_add_conn(struct ttrpc_server *srv, int rfd, int wfd,
			  struct herr *err);

/* Number of open connections (for tests and the agent's channel logic). */
size_t ttrpc_server_conn_count(const struct ttrpc_server *srv);

/* Called (once) whenever a connection closes; e.g. to reopen a serial port. */
void ttrpc_server_on_disconnect(struct ttrpc_server *srv,
				void (*cb)(struct ttrpc_server *srv, void *data),
				void *data);

/*
 * Call @cb before each request's handler runs, with the method asked for:
 * e.g. set-up that every method but a health check needs done first.  One
 * hook per server; a NULL @cb removes it (also from inside @cb).  Requests
 * refused before dispatch (unknown method, bad payload) do not call it.
 */
void ttrpc_server_on_request(struct ttrpc_server *srv,
			     void (*cb)(struct ttrpc_server *srv,
					const struct ttrpc_method *m,
					void *data),
			     void *data);
/*
 * Answer with @resp (NULL: an empty message, as for google.protobuf.Empty)
 * and free the call.
 */
void ttrpc_call_reply(struct ttrpc_call *call, const ProtobufCMessage *resp);

/* Answer with an error status and free the call. */
void ttrpc_call_fail(struct ttrpc_call *call, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ttrpc_call_fail_err(struct ttrpc_call *call, const struct herr *err);

/*
 * Register @cb to run if the call is abandoned before the handler answers:
 * its connection closed, its deadline (timeout_nano) passed, or the server is
 * freed.  After @cb returns the call is freed, and the handler must not
 * touch it again.  Without a hook an abandoned call stays valid (replies are
 * dropped) until the handler answers it.
 */
void ttrpc_call_on_cancel(struct ttrpc_call *call,
			  void (*cb)(struct ttrpc_call *call, void *data),
			  void *data);

/* Metadata value sent with the call for @key, or NULL. */
const char *ttrpc_call_metadata(const struct ttrpc_call *call, const char *key);

/* Deadline on the monotonic clock in ms (now_ms()), or 0 for none. */
long long ttrpc_call_deadline(const struct ttrpc_call *call);

const char *ttrpc_call_method(const struct ttrpc_call *call);
uint32_t ttrpc_call_stream_id(const struct ttrpc_call *call);

/* The handler's context, as given to ttrpc_server_new(). */
void *ttrpc_call_ctx(const struct ttrpc_call *call);

/*
 * Decode-and-dispatch one request body as if it had arrived on a connection
 * whose replies go to @sink.  Used by the fuzzer and by tests; the reply
 * (frame data of a ttrpc.Response) is passed to @sink, or nothing if the
 * handler keeps the call.
 */
void ttrpc_server_dispatch_raw(struct ttrpc_server *srv, uint32_t stream_id,
			       const uint8_t *data, size_t len,
			       void (*sink)(const uint8_t *resp, size_t len,
					    void *sink_data),
			       void *sink_data);

#endif
