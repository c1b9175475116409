// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "util.h"

struct outbuf {
	uint8_t *data;
	size_t len;
	size_t off;
	struct outbuf *next;
};

struct ttrpc_conn {
	struct evloop *loop;
	int rfd, wfd;
	const struct ttrpc_conn_ops *ops;
	void *user;
	struct ttrpc_decoder dec;
	struct outbuf *out_head, *out_tail;
	size_t out_bytes;
	bool closed;
	int busy; /* >0 while inside our own callbacks: defer the free */
	bool want_free;
	/*
	 * handle_input() is delivering a frame.  A callback that runs the loop
	 * nested (a handler making a sync call) must not read the fd: the
	 * outer read buffer still holds later bytes.  EPOLLIN is masked only
	 * once such a nested wakeup happens, to keep the common path cheap.
	 */
	bool reading;
	bool in_masked;
	bool w_is_socket;
};

static void conn_io(struct evloop *loop, int fd, uint32_t events, void *data);

static uint32_t read_events(const struct ttrpc_conn *c)
{
	uint32_t ev = c->in_masked ? 0 : EPOLLIN | EPOLLRDHUP;

	if (c->rfd == c->wfd && c->out_head)
		ev |= EPOLLOUT;
	return ev;
}

static void update_watch(struct ttrpc_conn *c)
{
	if (c->closed)
		return;
	evloop_mod(c->loop, c->rfd, read_events(c));
	if (c->rfd != c->wfd)
		evloop_mod(c->loop, c->wfd, c->out_head ? EPOLLOUT : 0);
}

struct ttrpc_conn *ttrpc_conn_new(struct evloop *loop, int rfd, int wfd,
				  const struct ttrpc_conn_ops *ops, void *user)
{
	struct ttrpc_conn *c = xcalloc(1, sizeof(*c));
	struct stat st;

	c->loop = loop;
	c->rfd = rfd;
	c->wfd = wfd;
	c->ops = ops;
	c->user = user;
	ttrpc_decoder_init(&c->dec);
	c->w_is_socket = !fstat(wfd, &st) && S_ISSOCK(st.st_mode);
	fd_set_nonblock(rfd, 1);
	if (wfd != rfd)
		fd_set_nonblock(wfd, 1);
	if (evloop_add(loop, rfd, read_events(c), conn_io, c) < 0)
		goto fail;
	if (wfd != rfd && evloop_add(loop, wfd, 0, conn_io, c) < 0) {
		evloop_del(loop, rfd);
		goto fail;
	}
	return c;
fail:
	close(rfd);
	if (wfd != rfd)
		close(wfd);
	free(c);
	return NULL;
}

static void free_outq(struct ttrpc_conn *c)
{
	while (c->out_head) {
		struct outbuf *b = c->out_head;

		c->out_head = b->next;
		free(b->data);
		free(b);
	}
	c->out_tail = NULL;
	c->out_bytes = 0;
}

static void conn_free(struct ttrpc_conn *c)
{
	ttrpc_decoder_reset(&c->dec);
	free_outq(c);
	free(c);
}

void ttrpc_conn_close(struct ttrpc_conn *c, const struct herr *reason)
{
	if (c->closed)
		return;
	c->closed = true;
	evloop_del(c->loop, c->rfd);
	close(c->rfd);
	if (c->wfd != c->rfd) {
		evloop_del(c->loop, c->wfd);
		close(c->wfd);
	}
	free_outq(c);
	c->busy++;
	if (c->ops->on_close)
		c->ops->on_close(c, reason, c->user);
	c->busy--;
	if (c->busy)
		c->want_free = true;
	else
		conn_free(c);
}

static void close_errno(struct ttrpc_conn *c, int errnum, const char *what)
{
	struct herr err;

	herr_set(&err, GRPC_UNAVAILABLE, errnum, "ttrpc: %s", what);
	ttrpc_conn_close(c, &err);
}

/*
 * Write what the fd takes now.  On an error the conn is closed only when
 * @may_close: callers outside the event loop (ttrpc_conn_send) must get a
 * live conn back, so there the error is left for the loop to find.
 * Returns 0, or -1 on an error.
 */
static int flush_out(struct ttrpc_conn *c, bool may_close)
{
	while (c->out_head) {
		struct outbuf *b = c->out_head;
		ssize_t n;

		/* MSG_NOSIGNAL: a vanished peer is an error, not a SIGPIPE. */
		if (c->w_is_socket)
			n = send(c->wfd, b->data + b->off, b->len - b->off,
				 MSG_NOSIGNAL);
		else
			n = write(c->wfd, b->data + b->off, b->len - b->off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			if (may_close)
				close_errno(c, errno, "write");
			else
				update_watch(c);
			return -1;
		}
		b->off += (size_t)n;
		c->out_bytes -= (size_t)n;
		if (b->off < b->len)
			continue;
		c->out_head = b->next;
		if (!c->out_head)
			c->out_tail = NULL;
		free(b->data);
		free(b);
	}
	update_watch(c);
	return 0;
}

int ttrpc_conn_send(struct ttrpc_conn *c, uint32_t stream_id, uint8_t type,
		    uint8_t flags, const uint8_t *data, size_t len,
		    struct herr *err)
{
	struct outbuf *b;
	size_t flen;
	uint8_t *f;

	if (c->closed)
		return herr_set(err, GRPC_UNAVAILABLE, 0,
				"ttrpc: connection is closed");
	f = ttrpc_frame_build(stream_id, type, flags, data, len, &flen);
	if (!f)
		return herr_set(err, GRPC_RESOURCE_EXHAUSTED, 0,
				"ttrpc: message of %zu bytes exceeds the maximum of %u",
				len, TTRPC_MAX_DATA);
	b = xcalloc(1, sizeof(*b));
	b->data = f;
	b->len = flen;
	if (c->out_tail)
		c->out_tail->next = b;
	else
		c->out_head = b;
	c->out_tail = b;
	c->out_bytes += flen;
	/*
	 * Write at once, also from inside on_frame: a reply must not wait for
	 * the later frames of the same read to be handled.  Behind a partial
	 * write the frame just queues (EPOLLOUT, or the next frame, flushes).
	 */
	if (c->out_head == b)
		flush_out(c, false);
	else
		update_watch(c);
	return 0;
}

static void handle_input(struct ttrpc_conn *c)
{
	uint8_t buf[65536];

	/* Bounded per wakeup so one busy peer cannot starve the others. */
	for (int round = 0; round < 16 && !c->closed; round++) {
		ssize_t n = read(c->rfd, buf, sizeof(buf));
		size_t off = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			close_errno(c, errno, "read");
			return;
		}
		if (n == 0) {
			struct herr err;

			herr_set(&err, GRPC_UNAVAILABLE, 0,
				 "ttrpc: connection closed by peer");
			ttrpc_conn_close(c, &err);
			return;
		}
		while (off < (size_t)n && !c->closed) {
			struct herr err;
			size_t used;
			int r = ttrpc_decoder_feed(&c->dec, buf + off,
						   (size_t)n - off, &used,
						   &err);

			off += used;
			if (r < 0) {
				ttrpc_conn_close(c, &err);
				return;
			}
			if (r == 1) {
				struct ttrpc_hdr hdr = c->dec.hdr;
				uint8_t *data = ttrpc_decoder_take(&c->dec);

				c->reading = true;
				c->ops->on_frame(c, &hdr, data, c->user);
				c->reading = false;
				if (c->in_masked) {
					c->in_masked = false;
					update_watch(c);
				}
				/* A full socket may have drained since. */
				if (!c->closed && c->out_head)
					flush_out(c, true);
			}
		}
	}
}

static void conn_io(struct evloop *loop, int fd, uint32_t events, void *data)
{
	struct ttrpc_conn *c = data;

	c->busy++;
	if (fd == c->wfd && (events & EPOLLOUT))
		flush_out(c, true);
	/* A separate write fd (pipe, device) reports its own errors. */
	if (!c->closed && fd == c->wfd && fd != c->rfd &&
	    (events & (EPOLLERR | EPOLLHUP)))
		close_errno(c, EPIPE, "write side closed");
	if (!c->closed && fd == c->rfd && c->reading && !c->in_masked) {
		c->in_masked = true;
		update_watch(c);
	} else if (!c->closed && fd == c->rfd && !c->reading &&
		   (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))) {
		handle_input(c);
	}
	/* Output a nested wakeup or a full socket left queued. */
	if (!c->closed && c->out_head)
		flush_out(c, true);
	c->busy--;
	if (c->want_free && !c->busy)
		conn_free(c);
}

size_t ttrpc_conn_pending(const struct ttrpc_conn *c)
{
	return c->out_bytes;
}

bool ttrpc_conn_closed(const struct ttrpc_conn *c)
{
	return c->closed;
}
