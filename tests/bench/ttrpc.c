// SPDX-License-Identifier: Apache-2.0
/*
 * ttRPC throughput over a unix socketpair: the server in its own thread
 * with its own event loop, the client in the main thread with another, as
 * the shim and the agent are.  Prints one aligned table.
 *
 *   unary round trips, one call in flight (CreateContainer-like control
 *   calls) and 32 in flight; ReadStdout-like streaming, each call returning
 *   32 KiB and 1 MiB; WriteStdin-like 1 MiB requests.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "ttrpc/client.h"
#include "ttrpc/server.h"
#include "ttrpc.pb-c.h"
#include "util.h"

#define RUN_MS 1500 /* per measurement */

static uint8_t *read_buf; /* what Read answers with (up to 1 MiB) */

/* KeyValue{key} -> KeyValue{key}: a small control call. */
static void h_echo(struct ttrpc_call *call, const void *req, void *ctx)
{
	ttrpc_call_reply(call, req);
}

/* KeyValue{value=size} -> Request{payload=size bytes}: ReadStdout. */
static void h_read(struct ttrpc_call *call, const void *req, void *ctx)
{
	const Ttrpc__KeyValue *kv = req;
	Ttrpc__Request out = TTRPC__REQUEST__INIT;

	out.payload.data = read_buf;
	out.payload.len = strtoul(kv->value, NULL, 10);
	if (out.payload.len > (1u << 20))
		out.payload.len = 1u << 20;
	ttrpc_call_reply(call, &out.base);
}

/* Request{payload} -> Empty: WriteStdin. */
static void h_write(struct ttrpc_call *call, const void *req, void *ctx)
{
	ttrpc_call_reply(call, NULL);
}

static const struct ttrpc_method methods[] = {
	{ "bench.B", "Echo", &ttrpc__key_value__descriptor, h_echo },
	{ "bench.B", "Read", &ttrpc__key_value__descriptor, h_read },
	{ "bench.B", "Write", &ttrpc__request__descriptor, h_write },
};

struct server_thread {
	int fd; /* the server's end of the socketpair */
	int stop_fd; /* eventfd: written by main to stop the loop */
	int ready_fd; /* eventfd: written by the thread once serving */
};

static void on_stop(struct evloop *loop, int fd, uint32_t events, void *data)
{
	evloop_stop(loop);
}

static void *serve(void *arg)
{
	struct server_thread *st = arg;
	struct evloop *loop = evloop_new();
	struct ttrpc_server *srv;
	uint64_t one = 1;
	struct herr err;

	if (!loop)
		abort();
	srv = ttrpc_server_new(loop, methods, ARRAY_SIZE(methods), NULL);
	if (ttrpc_server_add_conn(srv, st->fd, st->fd, &err) < 0) {
		fprintf(stderr, "bench: %s\n", err.msg);
		abort();
	}
	evloop_add(loop, st->stop_fd, EPOLLIN, on_stop, NULL);
	if (write(st->ready_fd, &one, sizeof(one)) != sizeof(one))
		abort();
	evloop_run(loop);
	evloop_del(loop, st->stop_fd);
	ttrpc_server_free(srv);
	evloop_free(loop);
	return NULL;
}

struct bench {
	struct evloop *loop;
	struct ttrpc_client *cl;
};

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void row(const char *metric, double value, const char *unit)
{
	printf("%-40s %12.1f  %s\n", metric, value, unit);
}

static void die_call(const char *what, const struct herr *err)
{
	fprintf(stderr, "bench: %s: %s\n", what, err->msg);
	exit(1);
}

/* Sequential calls for RUN_MS: calls/s and latency percentiles. */
static void bench_unary_sync(struct bench *b)
{
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	size_t cap = 1 << 20, n = 0;
	long long *lat = xmalloc(cap * sizeof(*lat));
	long long start = now_ns(), end = start + RUN_MS * 1000000LL, t;

	kv.key = "containerd-namespace-ttrpc";
	kv.value = "k8s.io";
	while ((t = now_ns()) < end && n < cap) {
		void *resp = NULL;
		struct herr err;

		if (ttrpc_client_call_sync(b->cl, "bench.B", "Echo", &kv.base,
					   &ttrpc__key_value__descriptor, 5000,
					   &resp, &err) < 0)
			die_call("Echo", &err);
		protobuf_c_message_free_unpacked(resp, NULL);
		lat[n++] = now_ns() - t;
	}
	t = now_ns() - start;
	qsort(lat, n, sizeof(*lat), cmp_ll);
	row("unary round trip, 1 in flight", n / (t / 1e9), "calls/s");
	row("  latency p50", lat[n / 2] / 1e3, "us");
	row("  latency p99", lat[n * 99 / 100] / 1e3, "us");
	free(lat);
}

struct pipeline {
	struct bench *b;
	const char *method;
	const ProtobufCMessage *req;
	const ProtobufCMessageDescriptor *resp_desc;
	long long end;
	size_t done, inflight, bytes;
	bool failed;
};

static void start_one(struct pipeline *p);

static void pipeline_done(void *resp, const struct herr *err, void *data)
{
	struct pipeline *p = data;

	p->inflight--;
	if (err) {
		fprintf(stderr, "bench: %s: %s\n", p->method, err->msg);
		p->failed = true;
		return;
	}
	if (resp && p->resp_desc == &ttrpc__request__descriptor)
		p->bytes += ((Ttrpc__Request *)resp)->payload.len;
	p->done++;
	if (now_ns() < p->end)
		start_one(p);
}

static void start_one(struct pipeline *p)
{
	struct herr err;

	if (ttrpc_client_call(p->b->cl, "bench.B", p->method, p->req,
			      p->resp_desc, 10000, pipeline_done, p, &err) < 0)
		die_call(p->method, &err);
	p->inflight++;
}

/*
 * Keep @depth calls in flight for RUN_MS, each reply starting the next
 * call from its callback.  Returns the elapsed seconds.
 */
static double run_pipeline(struct pipeline *p, int depth)
{
	long long start = now_ns();

	p->end = start + RUN_MS * 1000000LL;
	for (int i = 0; i < depth; i++)
		start_one(p);
	while (p->inflight && !p->failed)
		evloop_run_once(p->b->loop, 1000);
	if (p->failed)
		exit(1);
	return (now_ns() - start) / 1e9;
}

static void bench_unary_pipelined(struct bench *b)
{
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	struct pipeline p = { .b = b,
			      .method = "Echo",
			      .req = &kv.base,
			      .resp_desc = &ttrpc__key_value__descriptor };
	double s;

	kv.key = "k";
	kv.value = "v";
	s = run_pipeline(&p, 32);
	row("unary round trip, 32 in flight", p.done / s, "calls/s");
}

static void bench_read(struct bench *b, size_t size, int depth,
		       const char *label)
{
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	struct pipeline p = { .b = b,
			      .method = "Read",
			      .req = &kv.base,
			      .resp_desc = &ttrpc__request__descriptor };
	char value[32], name[64];
	double s;

	snprintf(value, sizeof(value), "%zu", size);
	kv.key = "";
	kv.value = value;
	s = run_pipeline(&p, depth);
	if (p.bytes != p.done * size) {
		fprintf(stderr,
			"bench: Read returned %zu bytes for %zu calls\n",
			p.bytes, p.done);
		exit(1);
	}
	snprintf(name, sizeof(name), "%s, %d in flight", label, depth);
	row(name, p.bytes / s / 1e6, "MB/s");
}

static void bench_write(struct bench *b, size_t size, const char *label)
{
	Ttrpc__Request req = TTRPC__REQUEST__INIT;
	struct pipeline p = { .b = b, .method = "Write", .req = &req.base };
	double s;

	req.payload.data = read_buf;
	req.payload.len = size;
	s = run_pipeline(&p, 1);
	row(label, p.done * (double)size / s / 1e6, "MB/s");
}

int main(void)
{
	struct server_thread st;
	struct bench b;
	pthread_t tid;
	uint64_t v = 1;
	int sv[2];

	log_set_level(LOG_ERROR);
	read_buf = xmalloc(1u << 20);
	for (size_t i = 0; i < (1u << 20); i++)
		read_buf[i] = (uint8_t)(i * 131);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("bench: socketpair");
		return 1;
	}
	st.fd = sv[0];
	st.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	st.ready_fd = eventfd(0, EFD_CLOEXEC);
	if (st.stop_fd < 0 || st.ready_fd < 0) {
		perror("bench: eventfd");
		return 1;
	}
	if (pthread_create(&tid, NULL, serve, &st)) {
		fprintf(stderr, "bench: pthread_create failed\n");
		return 1;
	}
	if (read(st.ready_fd, &v, sizeof(v)) != sizeof(v))
		return 1;

	b.loop = evloop_new();
	b.cl = ttrpc_client_new(b.loop, sv[1], sv[1]);
	if (!b.loop || !b.cl) {
		fprintf(stderr, "bench: cannot set up the client\n");
		return 1;
	}

	printf("%-40s %12s  %s\n", "metric", "value", "unit");
	bench_unary_sync(&b);
	bench_unary_pipelined(&b);
	bench_read(&b, 32u << 10, 1, "ReadStdout 32 KiB replies");
	bench_read(&b, 32u << 10, 4, "ReadStdout 32 KiB replies");
	bench_read(&b, 1u << 20, 1, "1 MiB replies");
	bench_write(&b, 1u << 20, "WriteStdin 1 MiB requests, 1 in flight");

	ttrpc_client_free(b.cl);
	evloop_free(b.loop);
	v = 1;
	if (write(st.stop_fd, &v, sizeof(v)) != sizeof(v))
		return 1;
	pthread_join(tid, NULL);
	close(st.stop_fd);
	close(st.ready_fd);
	free(read_buf);
	return 0;
}
