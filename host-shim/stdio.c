// SPDX-License-Identifier: Apache-2.0
/*
 * A process's stdio FIFOs pumped through the agent (shim-stdio.h says
 * how).  Every agent call in flight holds a reference on the pod process,
 * so the shim_process hanging off it stays valid until the answer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "shim.h"
#include "util.h"

#define STDIN_CHUNK 32768
/* How long containerd gets to read the last output before the exit. */
#define DRAIN_MAX_MS 2000
#define DRAIN_POLL_MS 5

static struct shim_process *shim_of(struct pod_process *p)
{
	return p->fe;
}

static struct shim_stdio *io_of(struct pod_process *p)
{
	return &shim_of(p)->io;
}

static struct evloop *loop_of(struct pod_process *p)
{
	return p->c->pod->loop;
}

static struct agent_client *agent_of(struct pod_process *p)
{
	return p->c->pod->agent;
}

static struct shim_out_stream *out_of(struct pod_process *p, bool is_stderr)
{
	return is_stderr ? &io_of(p)->err : &io_of(p)->out;
}

/*
 * "" (not connected), a FIFO path ("fifo://" optional), or "file://PATH"
 * (append to a file, as containerd's shim library allows).
 */
static int open_stream(const char *uri, bool input, int *fd, struct herr *err)
{
	const char *path = uri;
	int flags;

	*fd = -1;
	if (!uri || !*uri)
		return 0;
	if (!strncmp(uri, "fifo://", 7)) {
		path = uri + 7;
	} else if (!strncmp(uri, "file://", 7)) {
		if (input)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"stdin %s: file:// is for output only",
					uri);
		*fd = open(uri + 7,
			   O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
				   O_NONBLOCK,
			   0640);
		if (*fd < 0)
			return herr_errno(err, errno, "open %s", uri);
		return 0;
	} else if (strstr(uri, "://")) {
		return herr_set(
			err, GRPC_UNIMPLEMENTED, 0,
			"stdio %s: only FIFOs and file:// are supported", uri);
	}
	/*
	 * Output: read-write, which never blocks and never raises EPIPE
	 * when containerd's reader goes away.  Input: read-only, non-blocking.
	 */
	flags = (input ? O_RDONLY : O_RDWR) | O_NONBLOCK | O_CLOEXEC;
	*fd = open(path, flags);
	if (*fd < 0)
		return herr_errno(err, errno, "open %s", path);
	return 0;
}

int shim_stdio_open(struct shim_process *sp, struct herr *err)
{
	struct pod_process *p = sp->p;
	struct shim_stdio *io = io_of(p);

	io->terminal = p->terminal;
	io->in_fd = io->out.fd = io->err.fd = -1;
	io->err.is_stderr = true;
	if (open_stream(sp->stdin_path, true, &io->in_fd, err) < 0 ||
	    open_stream(sp->stdout_path, false, &io->out.fd, err) < 0 ||
	    (!p->terminal &&
	     open_stream(sp->stderr_path, false, &io->err.fd, err) < 0)) {
		shim_stdio_close(sp);
		return -1;
	}
	return 0;
}

/* ---- output ----------------------------------------------------------- */

static void read_more(struct pod_process *p, struct shim_out_stream *s);

static void check_output_done(struct pod_process *p)
{
	struct shim_stdio *io = io_of(p);

	if (io->output_done || !io->out.eof || !io->err.eof)
		return;
	io->output_done = true;
	pod_process_output_done(p);
}

static void stream_eof(struct pod_process *p, struct shim_out_stream *s)
{
	s->eof = true;
	free(s->buf);
	s->buf = NULL;
	s->len = s->off = 0;
	if (s->want_out && s->fd >= 0)
		evloop_del(loop_of(p), s->fd);
	s->want_out = false;
	check_output_done(p);
}

static void on_writable(struct evloop *loop, int fd, uint32_t events,
			void *data);

/* Write what is buffered; 1 when all of it went out. */
static int flush(struct pod_process *p, struct shim_out_stream *s)
{
	while (s->off < s->len) {
		ssize_t n;

		if (s->fd < 0) {
			s->off = s->len;
			break;
		}
		n = write(s->fd, s->buf + s->off, s->len - s->off);
		if (n > 0) {
			s->off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!s->want_out &&
			    evloop_add(loop_of(p), s->fd, EPOLLOUT, on_writable,
				       p) == 0)
				s->want_out = true;
			if (s->want_out)
				return 0;
		}
		/* The reader is unusable: keep draining the guest anyway. */
		log_warn(
			"container %s: write %s: %s; discarding further output",
			p->c->id, s->is_stderr ? "stderr" : "stdout",
			n < 0 ? strerror(errno) : "short write");
		close(s->fd);
		s->fd = -1;
		s->off = s->len;
	}
	if (s->want_out) {
		evloop_del(loop_of(p), s->fd);
		s->want_out = false;
	}
	free(s->buf);
	s->buf = NULL;
	s->len = s->off = 0;
	return 1;
}

static void on_writable(struct evloop *loop, int fd, uint32_t events,
			void *data)
{
	struct pod_process *p = data;
	struct shim_out_stream *s =
		io_of(p)->out.fd == fd ? &io_of(p)->out : &io_of(p)->err;

	(void)loop;
	(void)events;
	if (flush(p, s))
		read_more(p, s);
}

struct read_op {
	struct pod_process *p;
	bool is_stderr;
};

static void on_read(void *resp, const struct herr *err, void *data)
{
	struct read_op *op = data;
	struct pod_process *p = op->p;
	struct shim_out_stream *s = out_of(p, op->is_stderr);
	const Grpc__ReadStreamResponse *r = resp;

	free(op);
	s->reading = false;
	if (p->removed || s->eof) {
		pod_process_unref(p);
		return;
	}
	if (err || r->data.len == 0) {
		if (err && err->code != GRPC_NOT_FOUND &&
		    err->code != GRPC_UNAVAILABLE)
			log_warn("container %s: read %s: %s", p->c->id,
				 s->is_stderr ? "stderr" : "stdout", err->msg);
		stream_eof(p, s);
		pod_process_unref(p);
		return;
	}
	/* The start timeline's "output": the first container's first byte. */
	if (!*p->exec_id)
		pod_timeline_mark(p->c->pod, POD_T_OUTPUT);
	s->buf = xmalloc(r->data.len);
	memcpy(s->buf, r->data.data, r->data.len);
	s->len = r->data.len;
	s->off = 0;
	if (flush(p, s))
		read_more(p, s);
	pod_process_unref(p);
}

static void read_more(struct pod_process *p, struct shim_out_stream *s)
{
	struct read_op *op;

	if (s->eof || s->reading || s->len || p->removed)
		return;
	op = xmalloc(sizeof(*op));
	op->p = p;
	op->is_stderr = s->is_stderr;
	s->reading = true;
	pod_process_ref(p);
	agent_read_stream(agent_of(p), s->is_stderr, p->c->id, p->agent_exec_id,
			  on_read, op);
}

/* ---- input ------------------------------------------------------------ */

static void stdin_pump(struct pod_process *p, bool from_event);

static void on_stdin_readable(struct evloop *loop, int fd, uint32_t events,
			      void *data)
{
	(void)loop;
	(void)fd;
	(void)events;
	stdin_pump(data, true);
}

static void stdin_watch(struct pod_process *p, bool on)
{
	struct shim_stdio *io = io_of(p);

	if (io->in_fd < 0 || io->in_watch == on)
		return;
	if (on) {
		if (evloop_add(loop_of(p), io->in_fd, EPOLLIN,
			       on_stdin_readable, p) == 0)
			io->in_watch = true;
	} else {
		evloop_del(loop_of(p), io->in_fd);
		io->in_watch = false;
	}
}

static void on_close_stdin(void *resp, const struct herr *err, void *data)
{
	struct pod_process *p = data;

	(void)resp;
	if (err && err->code != GRPC_NOT_FOUND && !p->removed)
		log_warn("container %s: close stdin of %s: %s", p->c->id,
			 p->agent_exec_id, err->msg);
	pod_process_unref(p);
}

static void send_close_stdin(struct pod_process *p)
{
	struct shim_stdio *io = io_of(p);

	if (io->in_closed)
		return;
	io->in_closed = true;
	stdin_watch(p, false);
	closep(&io->in_fd);
	io->in_fd = -1;
	pod_process_ref(p);
	agent_close_stdin(agent_of(p), p->c->id, p->agent_exec_id,
			  on_close_stdin, p);
}

static void write_stdin_chunk(struct pod_process *p);

static void on_write_stdin(void *resp, const struct herr *err, void *data)
{
	struct pod_process *p = data;
	struct shim_stdio *io = io_of(p);
	const Grpc__WriteStreamResponse *r = resp;

	io->in_busy = false;
	if (p->removed || io->in_closed) {
		pod_process_unref(p);
		return;
	}
	if (err) {
		log_warn("container %s: write stdin: %s", p->c->id, err->msg);
		io->in_off = io->in_len;
		/* The process is gone or stdin broke: stop forwarding. */
		io->in_closed = true;
		stdin_watch(p, false);
		closep(&io->in_fd);
		io->in_fd = -1;
	} else {
		/* The agent writes everything, but a short answer is legal. */
		io->in_off += r->len ? r->len : io->in_len - io->in_off;
	}
	if (io->in_off < io->in_len)
		write_stdin_chunk(p);
	else if (!io->in_closed)
		stdin_pump(p, false);
	pod_process_unref(p);
}

static void write_stdin_chunk(struct pod_process *p)
{
	struct shim_stdio *io = io_of(p);

	io->in_busy = true;
	pod_process_ref(p);
	agent_write_stdin(agent_of(p), p->c->id, p->agent_exec_id,
			  io->in_buf + io->in_off, io->in_len - io->in_off,
			  on_write_stdin, p);
}

/*
 * Read what the FIFO has and forward it.  A read of 0 is EOF only after
 * epoll reported the FIFO (before containerd opens its end, a read also
 * returns 0), or when CloseIO asked for the close anyway.
 */
static void stdin_pump(struct pod_process *p, bool from_event)
{
	struct shim_stdio *io = io_of(p);
	ssize_t n;

	if (io->in_busy || io->in_closed || !io->started)
		return;
	if (!io->in_buf)
		io->in_buf = xmalloc(STDIN_CHUNK);
	do
		n = read(io->in_fd, io->in_buf, STDIN_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		io->in_len = (size_t)n;
		io->in_off = 0;
		stdin_watch(p, false);
		write_stdin_chunk(p);
		return;
	}
	if (n == 0 && (from_event || io->close_wanted)) {
		send_close_stdin(p);
		return;
	}
	if (n < 0 && errno != EAGAIN) {
		log_warn("container %s: read stdin FIFO: %s", p->c->id,
			 strerror(errno));
		send_close_stdin(p);
		return;
	}
	if (io->close_wanted)
		send_close_stdin(p);
	else
		stdin_watch(p, true);
}

void shim_stdio_close_stdin(struct shim_process *sp)
{
	struct pod_process *p = sp->p;
	struct shim_stdio *io = io_of(p);

	if (io->in_closed)
		return;
	io->close_wanted = true;
	stdin_pump(p, false);
}

/* ---- lifecycle -------------------------------------------------------- */

void shim_stdio_start(struct shim_process *sp)
{
	struct pod_process *p = sp->p;
	struct shim_stdio *io = io_of(p);

	io->started = true;
	if (io->terminal)
		io->err.eof = true; /* the pty carries both */
	read_more(p, &io->out);
	read_more(p, &io->err);
	/* Without a stdin FIFO the process reads EOF, as from /dev/null. */
	if (io->in_fd >= 0)
		stdin_pump(p, false);
	else
		send_close_stdin(p);
	check_output_done(p);
}

void shim_stdio_abort(struct shim_process *sp)
{
	struct pod_process *p = sp->p;
	struct shim_stdio *io = io_of(p);

	if (!io->out.eof)
		stream_eof(p, &io->out);
	if (!io->err.eof)
		stream_eof(p, &io->err);
}

static int unread_bytes(int fd)
{
	int n = 0;

	if (fd < 0 || ioctl(fd, FIONREAD, &n) < 0)
		return 0;
	return n;
}

static void drain_poll(struct evloop *loop, void *data)
{
	struct pod_process *p = data;
	struct shim_stdio *io = io_of(p);
	void (*done)(struct shim_process * sp) = io->drained;

	io->drain_timer = NULL;
	if ((unread_bytes(io->out.fd) || unread_bytes(io->err.fd)) &&
	    now_ms() < io->drain_deadline) {
		io->drain_timer =
			evloop_timer(loop, DRAIN_POLL_MS, drain_poll, p);
		return;
	}
	io->drained = NULL;
	done(shim_of(p));
	pod_process_unref(p);
}

void shim_stdio_wait_drained(struct shim_process *sp,
			     void (*done)(struct shim_process *sp))
{
	struct pod_process *p = sp->p;
	struct shim_stdio *io = io_of(p);

	io->drained = done;
	io->drain_deadline = now_ms() + DRAIN_MAX_MS;
	pod_process_ref(p);
	drain_poll(loop_of(p), p);
}

static void close_out(struct pod_process *p, struct shim_out_stream *s)
{
	if (s->want_out && s->fd >= 0)
		evloop_del(loop_of(p), s->fd);
	s->want_out = false;
	closep(&s->fd);
	s->fd = -1;
	free(s->buf);
	s->buf = NULL;
	s->len = s->off = 0;
}

void shim_stdio_close(struct shim_process *sp)
{
	struct pod_process *p = sp->p;
	struct shim_stdio *io = io_of(p);

	stdin_watch(p, false);
	closep(&io->in_fd);
	io->in_fd = -1;
	io->in_closed = true;
	free(io->in_buf);
	io->in_buf = NULL;
	close_out(p, &io->out);
	close_out(p, &io->err);
	if (io->drain_timer) {
		evloop_timer_cancel(loop_of(p), io->drain_timer);
		io->drain_timer = NULL;
	}
}
