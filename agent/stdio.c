// SPDX-License-Identifier: Apache-2.0
/*
 * Container stdio: pipes, or a pty when the process has a terminal.
 *
 * Output is not copied anywhere: it waits in the pipe (or pty) until a
 * ReadStdout/ReadStderr call takes it, so the container sees back-pressure
 * and nothing written before exit is lost (the agent keeps its read end
 * until EOF).  A read with nothing available parks the call; the fd is
 * watched only while someone waits.  After the process exits, a stream that
 * stays empty for 500 ms (a grandchild holding the pipe) reports EOF.
 * Empty data in a reply means EOF.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "agent.h"
#include "log.h"
#include "util.h"

#define READ_MAX (1u << 20)
#define PIPE_SIZE (1 << 20)

static void stream_init(struct stream *s, struct process *p, int fd)
{
	s->a = p->a;
	s->p = p;
	s->fd = fd;
	s->eof = fd < 0;
}

int stdio_setup(struct process *p, bool tty, const Grpc__Box *size,
		struct herr *err)
{
	struct stdio *io = &p->io;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };

	io->tty = tty;
	if (tty) {
		/* The child opens the pty in its own devpts: see spawn.c. */
		stream_init(&io->out, p, -1);
		stream_init(&io->err, p, -1);
		io->out.eof = false;
		return 0;
	}
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0) {
		int e = errno;

		for (int i = 0; i < 2; i++) {
			closep(&in[i]);
			closep(&out[i]);
			closep(&errp[i]);
		}
		return herr_errno(err, e, "create stdio pipes");
	}
	/*
	 * agent.container_pipe_size sets every stdio pipe's size; without it
	 * stdout still gets a larger pipe, for fewer wake-ups on bulk output.
	 * Best effort: the kernel caps what an unprivileged size may be.
	 */
	if (p->a->pipe_size) {
		fcntl(in[1], F_SETPIPE_SZ, (int)p->a->pipe_size);
		fcntl(out[0], F_SETPIPE_SZ, (int)p->a->pipe_size);
		fcntl(errp[0], F_SETPIPE_SZ, (int)p->a->pipe_size);
	} else {
		fcntl(out[0], F_SETPIPE_SZ, PIPE_SIZE);
	}
	fd_set_nonblock(in[1], 1);
	fd_set_nonblock(out[0], 1);
	fd_set_nonblock(errp[0], 1);
	io->child[0] = in[0];
	io->child[1] = out[1];
	io->child[2] = errp[1];
	io->in_fd = in[1];
	stream_init(&io->out, p, out[0]);
	stream_init(&io->err, p, errp[0]);
	return 0;
}

void stdio_attach_pty(struct process *p, int master)
{
	struct stdio *io = &p->io;

	fd_set_nonblock(master, 1);
	io->out.fd = master;
	io->out.eof = false;
	io->in_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
}

void stdio_close_child_ends(struct stdio *io)
{
	for (int i = 0; i < 3; i++)
		closep(&io->child[i]);
	for (int i = 0; i < 3; i++)
		io->child[i] = -1;
	closep(&io->pty_slave);
	io->pty_slave = -1;
}

static void read_cancelled(struct ttrpc_call *call, void *data);
static void write_cancelled(struct ttrpc_call *call, void *data);

static void reply_data(struct ttrpc_call *call, const uint8_t *buf, size_t n)
{
	Grpc__ReadStreamResponse resp = GRPC__READ_STREAM_RESPONSE__INIT;

	resp.data.data = (uint8_t *)buf;
	resp.data.len = n;
	ttrpc_call_reply(call, &resp.base);
}

static void stream_unwatch(struct stream *s)
{
	if (s->watched) {
		evloop_del(s->a->loop, s->fd);
		s->watched = false;
	}
}

static void stream_set_eof(struct stream *s)
{
	stream_unwatch(s);
	closep(&s->fd);
	s->fd = -1;
	s->eof = true;
	while (s->readers) {
		struct waiter *w = s->readers;
		struct ttrpc_call *call = w->call;

		ttrpc_call_on_cancel(call, NULL, NULL);
		waiter_drop(w);
		reply_data(call, NULL, 0);
	}
}

/*
 * Read what is there: > 0 bytes, 0 at end of stream (EOF, a pty whose
 * other side is gone, or nothing more 500 ms after exit), -1 for "not yet".
 */
static ssize_t stream_fill(struct stream *s, uint8_t *buf, size_t len)
{
	ssize_t n;

	if (s->eof || s->fd < 0)
		return 0;
	do {
		n = read(s->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n > 0)
		return n;
	if (n < 0 && errno == EAGAIN && !(s->p && s->p->drain_over))
		return -1;
	if (n < 0 && errno != EAGAIN && errno != EIO)
		log_warn("container %s: read output: %s",
			 s->p ? s->p->c->id : "?", strerror(errno));
	return 0;
}

/* Answer @call if there is data or EOF; 0 if it has to wait. */
static int stream_try_read(struct stream *s, struct ttrpc_call *call,
			   size_t len)
{
	_cleanup_free_ uint8_t *buf = NULL;
	ssize_t n;

	if (len > READ_MAX)
		len = READ_MAX;
	buf = xmalloc(len);
	n = stream_fill(s, buf, len);
	if (n < 0)
		return 0;
	reply_data(call, buf, n);
	if (n == 0)
		stream_set_eof(s);
	return 1;
}

static void stream_readable(struct evloop *loop, int fd, uint32_t events,
			    void *data)
{
	struct stream *s = data;

	while (s->readers) {
		struct waiter *w = s->readers;
		size_t len = w->len > READ_MAX ? READ_MAX : w->len;
		_cleanup_free_ uint8_t *buf = xmalloc(len);
		struct ttrpc_call *call = w->call;
		ssize_t n = stream_fill(s, buf, len);

		if (n < 0)
			break;
		ttrpc_call_on_cancel(call, NULL, NULL);
		waiter_drop(w);
		reply_data(call, buf, n);
		if (n == 0) {
			stream_set_eof(s); /* answers the rest */
			return;
		}
	}
	if (!s->readers)
		stream_unwatch(s);
}

static void read_cancelled(struct ttrpc_call *call, void *data)
{
	struct waiter *w = data;
	struct stream *s = w->owner;

	waiter_drop(w);
	if (!s->readers)
		stream_unwatch(s);
}

void stdio_read(struct process *p, bool is_stderr, uint32_t len,
		struct ttrpc_call *call)
{
	struct stream *s = is_stderr ? &p->io.err : &p->io.out;
	struct waiter *w;

	/* Someone is already waiting: keep the order. */
	if (!s->readers && stream_try_read(s, call, len))
		return;
	w = waiter_park(&s->readers, call, s);
	w->len = len;
	ttrpc_call_on_cancel(call, read_cancelled, w);
	if (!s->watched) {
		int r = evloop_add(s->a->loop, s->fd, EPOLLIN, stream_readable,
				   s);

		if (r < 0) {
			log_warn("container %s: watch output: %s", p->c->id,
				 strerror(-r));
			stream_set_eof(s);
			return;
		}
		s->watched = true;
	}
}

void stdio_drain_over(struct process *p)
{
	struct stream *ss[] = { &p->io.out, &p->io.err };

	for (size_t i = 0; i < ARRAY_SIZE(ss); i++)
		if (ss[i]->readers)
			stream_readable(p->a->loop, ss[i]->fd, 0, ss[i]);
}

/* stdin */

static void reply_written(struct ttrpc_call *call, size_t n)
{
	Grpc__WriteStreamResponse resp = GRPC__WRITE_STREAM_RESPONSE__INIT;

	resp.len = n;
	ttrpc_call_reply(call, &resp.base);
}

static void stdin_unwatch(struct stdio *io, struct agent *a)
{
	if (io->in_watched) {
		evloop_del(a->loop, io->in_fd);
		io->in_watched = false;
	}
}

static void stdin_do_close(struct stdio *io, struct agent *a)
{
	stdin_unwatch(io, a);
	if (io->in_fd < 0)
		return;
	if (io->tty) {
		/* The master is also the output: send end-of-file instead. */
		struct termios t;
		char eof = 4;

		if (tcgetattr(io->in_fd, &t) == 0)
			eof = t.c_cc[VEOF];
		if (write(io->in_fd, &eof, 1) < 0)
			log_debug("pty: write EOF: %s", strerror(errno));
	}
	closep(&io->in_fd);
	io->in_fd = -1;
}

static void fail_writers(struct stdio *io, int code, const char *why)
{
	while (io->writers) {
		struct waiter *w = io->writers;
		struct ttrpc_call *call = w->call;

		ttrpc_call_on_cancel(call, NULL, NULL);
		waiter_drop(w);
		ttrpc_call_fail(call, code, "%s", why);
	}
}

static void stdin_writable(struct evloop *loop, int fd, uint32_t events,
			   void *data)
{
	struct process *p = data;
	struct stdio *io = &p->io;

	while (io->writers) {
		struct waiter *w = io->writers;
		ssize_t n = write(io->in_fd, w->data + w->off, w->total - w->off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			char why[128];

			snprintf(why, sizeof(why),
				 "container %s: write stdin: %s", p->c->id,
				 strerror(errno));
			stdin_unwatch(io, p->a);
			fail_writers(io, grpc_code_from_errno(errno), why);
			return;
		}
		w->off += n;
		if (w->off == w->total) {
			struct ttrpc_call *call = w->call;
			size_t total = w->total;

			ttrpc_call_on_cancel(call, NULL, NULL);
			waiter_drop(w);
			reply_written(call, total);
		}
	}
	stdin_unwatch(io, p->a);
	if (io->in_close_pending)
		stdin_do_close(io, p->a);
}

static void write_cancelled(struct ttrpc_call *call, void *data)
{
	struct waiter *w = data;
	struct process *p = w->owner;

	/* Part of it may be in the pipe already; the rest is dropped. */
	waiter_drop(w);
	if (!p->io.writers)
		stdin_unwatch(&p->io, p->a);
}

void stdio_write(struct process *p, const ProtobufCBinaryData *data,
		 struct ttrpc_call *call)
{
	struct stdio *io = &p->io;
	struct waiter *w;
	struct herr err;

	if (data->len == 0) {
		/* Empty data closes stdin (Kata). */
		if (stdio_close_stdin(p, &err) < 0) {
			ttrpc_call_fail_err(call, &err);
			return;
		}
		reply_written(call, 0);
		return;
	}
	if (io->in_fd < 0 || io->in_close_pending) {
		ttrpc_call_fail(call, GRPC_FAILED_PRECONDITION,
				"container %s: process %s: stdin is closed",
				p->c->id, p->exec_id);
		return;
	}
	w = waiter_park(&io->writers, call, p);
	w->data = data->data;
	w->total = data->len;
	ttrpc_call_on_cancel(call, write_cancelled, w);
	if (!io->in_watched) {
		int r = evloop_add(p->a->loop, io->in_fd, EPOLLOUT,
				   stdin_writable, p);

		if (r < 0) {
			fail_writers(io, GRPC_INTERNAL, "watch stdin failed");
			return;
		}
		io->in_watched = true;
	}
	/* Usually the pipe has room: answer at once. */
	stdin_writable(p->a->loop, io->in_fd, EPOLLOUT, p);
}

int stdio_close_stdin(struct process *p, struct herr *err)
{
	struct stdio *io = &p->io;

	if (io->writers) {
		io->in_close_pending = true;
		return 0;
	}
	stdin_do_close(io, p->a);
	return 0;
}

int stdio_resize(struct process *p, uint32_t rows, uint32_t cols,
		 struct herr *err)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };

	if (!p->io.tty || p->io.out.fd < 0)
		return herr_set(err, GRPC_UNAVAILABLE, 0,
				"container %s: process %s: no tty", p->c->id,
				p->exec_id);
	if (rows > 0xffff || cols > 0xffff)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"row/column: larger than 65535");
	if (ioctl(p->io.out.fd, TIOCSWINSZ, &ws) < 0)
		return herr_errno(err, errno, "container %s: resize tty",
				  p->c->id);
	return 0;
}

void stdio_close(struct stdio *io)
{
	struct agent *a = io->out.a;

	stdio_close_child_ends(io);
	if (a) {
		fail_writers(io, GRPC_NOT_FOUND, "process is gone");
		stdin_unwatch(io, a);
	}
	closep(&io->in_fd);
	io->in_fd = -1;
	if (a) {
		stream_set_eof(&io->out);
		if (io->err.a)
			stream_set_eof(&io->err);
	}
}
