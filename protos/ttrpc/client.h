/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttRPC client: odd stream ids from 1 upwards, any number of calls in flight
 * on one connection matched by stream id, a per-call timeout (also sent to
 * the server as timeout_nano), and a clear UNAVAILABLE error for every
 * pending call when the peer closes.
 */
#ifndef HUSK_TTRPC_CLIENT_H
#define HUSK_TTRPC_CLIENT_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "err.h"
#include "evloop.h"

struct ttrpc_client;

/*
 * Completion of a call.  On success @err is NULL and @resp the decoded reply
 * (freed after the callback returns; NULL when the call had no response
 * descriptor).  On failure @resp is NULL and @err says why: the server's
 * status, DEADLINE_EXCEEDED for a local timeout, UNAVAILABLE when the
 * connection closed, INTERNAL for a reply that does not decode.
 */
typedef void (*ttrpc_reply_fn)(void *resp, const struct herr *err, void *data);

/* Take ownership of the connected fd(s) (the same fd for sockets). */
struct ttrpc_client *ttrpc_client_new(struct evloop *loop, int rfd, int wfd);

/* Pending calls complete with UNAVAILABLE; the fds are closed. */
void ttrpc_client_free(struct ttrpc_client *cl);

/* Metadata sent with every call (e.g. containerd-namespace-ttrpc). */
void ttrpc_client_set_metadata(struct ttrpc_client *cl, const char *key,
			       const char *value);

/* Called once when the connection closes (after pending calls fail). */
void ttrpc_client_on_close(struct ttrpc_client *cl,
			   void (*cb)(struct ttrpc_client *cl, void *data),
			   void *data);

bool ttrpc_client_closed(const struct ttrpc_client *cl);

/*
 * A call's own timeout ran out (its error is "no reply within N ms"), as
 * against a DEADLINE_EXCEEDED status the server answered with.
 */
bool ttrpc_timed_out(const struct herr *err);

/*
 * Start a call.  @req NULL sends an empty payload.  @timeout_ms <= 0 means
 * no timeout.  Returns 0 (the callback will run exactly once, never from
 * inside this function) or -1 with @err set (the callback will not run).
 */
int ttrpc_client_call(struct ttrpc_client *cl, const char *service,
		      const char *method, const ProtobufCMessage *req,
		      const ProtobufCMessageDescriptor *resp_desc,
		      long long timeout_ms, ttrpc_reply_fn cb, void *data,
		      struct herr *err);

/*
 * Make a call and run the event loop until it completes.  On success
 * *@resp_out holds the decoded reply, which the caller frees with
 * protobuf_c_message_free_unpacked(). Returns 0 or -1 with @err set.
 */
int ttrpc_client_call_sync(struct ttrpc_client *cl, const char *service,
			   const char *method, const ProtobufCMessage *req,
			   const ProtobufCMessageDescriptor *resp_desc,
			   long long timeout_ms, void **resp_out,
			   struct herr *err);

/* Number of calls waiting for a reply. */
size_t ttrpc_client_pending(const struct ttrpc_client *cl);

#endif
