// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the ttRPC server's request path with a small service ("fuzz.S").
 *
 * Each input is used three ways: as a request body for
 * ttrpc_server_dispatch_raw(); as the body of a well-formed Request frame
 * on a socketpair connection; and, on another connection, as raw bytes
 * that the server must parse as frames.  Whatever the input, every reply
 * must be a well-formed ttrpc.Response within the size limit, and every
 * kept call must be cancelled when its connection goes away.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "ttrpc/frame.h"
#include "ttrpc/server.h"
#include "ttrpc.pb-c.h"
#include "util.h"

#define MAX_KEPT 64

static struct ttrpc_call *kept[MAX_KEPT];
static size_t n_kept;
static size_t replies;

static void check_response(const uint8_t *data, size_t len)
{
	Ttrpc__Response *r;

	if (len > TTRPC_MAX_DATA)
		abort();
	r = ttrpc__response__unpack(NULL, len, data);
	if (!r)
		abort();
	ttrpc__response__free_unpacked(r, NULL);
	replies++;
}

static void h_echo(struct ttrpc_call *call, const void *req, void *ctx)
{
	ttrpc_call_reply(call, req);
}

static void h_raw(struct ttrpc_call *call, const void *req, void *ctx)
{
	const ProtobufCBinaryData *b = req;
	Ttrpc__Request out = TTRPC__REQUEST__INIT;

	out.payload = *b;
	out.timeout_nano = ttrpc_call_deadline(call);
	ttrpc_call_reply(call, &out.base);
}

/* Any code (OK, negative, huge) and a message with format characters. */
static void h_fail(struct ttrpc_call *call, const void *req, void *ctx)
{
	const Ttrpc__KeyValue *kv = req;
	int code = 0;

	memcpy(&code, kv->key, strnlen(kv->key, sizeof(code)));
	ttrpc_call_fail(call, code, "%s", kv->value);
}

static void h_meta(struct ttrpc_call *call, const void *req, void *ctx)
{
	const Ttrpc__KeyValue *kv = req;
	Ttrpc__KeyValue out = TTRPC__KEY_VALUE__INIT;
	const char *v = ttrpc_call_metadata(call, kv->key);

	out.key = (char *)ttrpc_call_method(call);
	out.value = (char *)(v ? v : "");
	ttrpc_call_reply(call, &out.base);
}

static void dropped(struct ttrpc_call *call, void *data)
{
	for (size_t i = 0; i < n_kept; i++) {
		if (kept[i] == call) {
			kept[i] = kept[--n_kept];
			return;
		}
	}
	abort(); /* a hook for a call we never kept */
}

/* Keep the call, as WaitProcess does, until cancelled or answered. */
static void h_keep(struct ttrpc_call *call, const void *req, void *ctx)
{
	if (n_kept == MAX_KEPT) {
		ttrpc_call_fail(call, 8, "busy");
		return;
	}
	kept[n_kept++] = call;
	ttrpc_call_on_cancel(call, dropped, NULL);
}

static void h_empty(struct ttrpc_call *call, const void *req, void *ctx)
{
	ttrpc_call_reply(call, NULL);
}

static const struct ttrpc_method methods[] = {
	{ "fuzz.S", "Echo", &ttrpc__request__descriptor, h_echo },
	{ "fuzz.S", "Raw", NULL, h_raw },
	{ "fuzz.S", "Fail", &ttrpc__key_value__descriptor, h_fail },
	{ "fuzz.S", "Meta", &ttrpc__key_value__descriptor, h_meta },
	{ "fuzz.S", "Keep", NULL, h_keep },
	{ "grpc.Health", "Check", NULL, h_empty },
};

static void sink(const uint8_t *resp, size_t len, void *data)
{
	check_response(resp, len);
}

static void answer_kept(void)
{
	while (n_kept) {
		struct ttrpc_call *call = kept[--n_kept];

		ttrpc_call_reply(call, NULL);
	}
}

/* Read what the server sent; every frame must be a sane Response. */
static void drain(int fd, struct ttrpc_decoder *dec, bool *bad)
{
	uint8_t buf[65536];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		size_t off = 0;

		if (n <= 0)
			return;
		while (off < (size_t)n && !*bad) {
			struct herr err;
			size_t used = 0;
			int r = ttrpc_decoder_feed(
				dec, buf + off, (size_t)n - off, &used, &err);

			off += used;
			if (r < 0) {
				*bad = true;
				return;
			}
			if (r == 1) {
				if (dec->hdr.type != TTRPC_TYPE_RESPONSE ||
				    dec->hdr.flags != 0)
					abort();
				check_response(dec->data, dec->hdr.len);
			}
		}
	}
}

/*
 * Send @data to a server connection and run until the server has closed it:
 * @framed, as the body of one Request frame on stream 1 (deadlines, kept
 * calls, EOF); otherwise as raw bytes the server must parse as frames.
 */
static void serve_stream(const uint8_t *data, size_t size, bool framed)
{
	struct evloop *loop = evloop_new();
	struct ttrpc_server *srv;
	struct ttrpc_decoder dec;
	struct herr err;
	const uint8_t *stream = data;
	uint8_t *frame = NULL;
	size_t len = size, off = 0;
	bool bad = false, shut = false;
	int sv[2];

	if (!loop || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	srv = ttrpc_server_new(loop, methods,
			       sizeof(methods) / sizeof(methods[0]), NULL);
	if (ttrpc_server_add_conn(srv, sv[0], sv[0], &err) < 0)
		abort();
	fd_set_nonblock(sv[1], 1);
	ttrpc_decoder_init(&dec);
	if (framed) {
		frame = ttrpc_frame_build(1, TTRPC_TYPE_REQUEST, 0, data, size,
					  &len);
		if (!frame)
			abort();
		stream = frame;
	}

	for (int round = 0; round < 2000; round++) {
		if (off < len) {
			ssize_t n = write(sv[1], stream + off, len - off);

			if (n > 0)
				off += (size_t)n;
		} else if (!shut) {
			/* Give short deadlines of kept calls a chance to pass.
			 */
			if (n_kept)
				evloop_run_once(loop, 2);
			/* End of input: the server sees EOF and closes. */
			shutdown(sv[1], SHUT_WR);
			shut = true;
		}
		evloop_run_once(loop, 0);
		drain(sv[1], &dec, &bad);
		if (bad)
			abort(); /* the server sent an unparseable frame */
		if (shut && ttrpc_server_conn_count(srv) == 0)
			break;
	}
	ttrpc_server_free(srv);
	/* Every call kept on that connection was cancelled with it. */
	if (n_kept)
		abort();
	ttrpc_decoder_reset(&dec);
	close(sv[1]);
	evloop_free(loop);
	free(frame);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bad frames are logged as warnings; at fuzzing speed that is only noise. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evloop *loop = evloop_new();
	struct ttrpc_server *srv;

	if (!loop)
		abort();
	srv = ttrpc_server_new(loop, methods,
			       sizeof(methods) / sizeof(methods[0]), NULL);
	replies = 0;
	ttrpc_server_dispatch_raw(srv, 1, data, size, sink, NULL);
	/* Exactly one reply, unless the call was kept. */
	if (replies + n_kept != 1)
		abort();
	answer_kept();
	ttrpc_server_free(srv);
	evloop_free(loop);

	if (size <= TTRPC_MAX_DATA)
		serve_stream(data, size, true);
	serve_stream(data, size, false);
	return 0;
}
