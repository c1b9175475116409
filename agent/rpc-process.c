// SPDX-License-Identifier: Apache-2.0
/* Process stdio RPCs: ReadStdout/ReadStderr, WriteStdin, CloseStdin, resize. */
#include "rpc.h"

static void read_stream(struct agent *a, const Grpc__ReadStreamRequest *req,
			bool is_stderr, struct ttrpc_call *call)
{
	struct process *p;

	if (req->len == 0) {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
				"len: must be greater than 0");
		return;
	}
	p = rpc_process(a, req->container_id, req->exec_id, call);
	if (p)
		stdio_read(p, is_stderr, req->len, call);
}

void rpc_read_stdout(struct ttrpc_call *call, const void *msg, void *ctx)
{
	read_stream(ctx, msg, false, call);
}

void rpc_read_stderr(struct ttrpc_call *call, const void *msg, void *ctx)
{
	read_stream(ctx, msg, true, call);
}

void rpc_write_stdin(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__WriteStreamRequest *req = msg;
	struct process *p =
		rpc_process(ctx, req->container_id, req->exec_id, call);

	if (p)
		stdio_write(p, &req->data, call);
}

void rpc_close_stdin(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__CloseStdinRequest *req = msg;
	struct process *p =
		rpc_process(ctx, req->container_id, req->exec_id, call);
	struct herr err;

	if (!p)
		return;
	if (stdio_close_stdin(p, &err) < 0)
		ttrpc_call_fail_err(call, &err);
	else
		ttrpc_call_reply(call, NULL);
}

void rpc_tty_win_resize(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__TtyWinResizeRequest *req = msg;
	struct process *p;
	struct herr err;

	if (req->row > 0xffff || req->column > 0xffff) {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
				"row/column: larger than 65535");
		return;
	}
	p = rpc_process(ctx, req->container_id, req->exec_id, call);
	if (!p)
		return;
	if (stdio_resize(p, req->row, req->column, &err) < 0)
		ttrpc_call_fail_err(call, &err);
	else
		ttrpc_call_reply(call, NULL);
}
