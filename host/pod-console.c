// SPDX-License-Identifier: Apache-2.0
/*
 * The hypervisor's console: a pipe the VM writes to, read on the event
 * loop, each line logged at debug and the newest kept (printable bytes
 * only: the guest is not trusted), so that a failed boot's error can quote
 * the last lines the guest printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "log.h"
#include "pod.h"
#include "util.h"

#define PIPE_CONSOLE_SIZE (1 << 20)

static void console_keep(struct pod *pod, const char *line, size_t len)
{
	size_t cap = sizeof(pod->console_tail);

	/* Keep the newest bytes, printable only: the guest is not trusted. */
	if (len + 1 > cap)
		len = cap - 1;
	if (pod->console_len + len + 1 > cap) {
		size_t drop = pod->console_len + len + 1 - cap;

		memmove(pod->console_tail, pod->console_tail + drop,
			pod->console_len - drop);
		pod->console_len -= drop;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		pod->console_tail[pod->console_len++] =
			ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
	}
	pod->console_tail[pod->console_len++] = '|';
}

static void console_line(struct pod *pod)
{
	size_t n = pod->console_line_len;

	while (n && (pod->console_line[n - 1] == '\r' ||
		     pod->console_line[n - 1] == ' '))
		n--;
	if (n) {
		pod->console_line[n] = '\0';
		log_msg(LOG_DEBUG, pod->console_line,
			"sandbox=%s source=console", pod->id);
		console_keep(pod, pod->console_line, n);
	}
	pod->console_line_len = 0;
}

void pod_console_close(struct pod *pod)
{
	if (pod->console_fd < 0)
		return;
	evloop_del(pod->loop, pod->console_fd);
	close(pod->console_fd);
	pod->console_fd = -1;
	if (pod->console_line_len)
		console_line(pod);
}

static void on_console(struct evloop *loop, int fd, uint32_t events, void *data)
{
	struct pod *pod = data;
	char buf[4096];
	ssize_t n;

	(void)loop;
	(void)events;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		pod_console_close(pod);
		return;
	}
	/* The kernel has taken over: the timeline's "console". */
	pod_timeline_mark(pod, POD_T_CONSOLE);
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n' ||
		    pod->console_line_len == sizeof(pod->console_line) - 1)
			console_line(pod);
		if (buf[i] != '\n')
			pod->console_line[pod->console_line_len++] = buf[i];
	}
}

/* Read what the console has now (the loop may have been blocked). */
static void console_drain(struct pod *pod)
{
	int n = 0;

	for (int i = 0; i < 256 && pod->console_fd >= 0; i++) {
		if (ioctl(pod->console_fd, FIONREAD, &n) < 0 || n == 0)
			break;
		on_console(pod->loop, pod->console_fd, EPOLLIN, pod);
	}
}

const char *pod_console_tail(struct pod *pod)
{
	static char out[CONSOLE_TAIL_MAX];
	size_t n, start;
	int bars = 0;

	console_drain(pod);
	if (pod->console_line_len)
		console_line(pod);
	n = pod->console_len;
	if (!n)
		return "(no console output)";
	/* Entries end with '|': keep the last three. */
	for (start = n - 1; start > 0; start--)
		if (pod->console_tail[start - 1] == '|' && ++bars == 3)
			break;
	memcpy(out, pod->console_tail + start, n - 1 - start);
	out[n - 1 - start] = '\0';
	return out;
}

int pod_console_open(struct pod *pod, int *wfd, struct herr *err)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return herr_errno(err, errno, "console pipe");
	/* Room for a chatty boot while vm_connect_agent blocks the loop. */
	fcntl(p[0], F_SETPIPE_SZ, PIPE_CONSOLE_SIZE);
	fd_set_nonblock(p[1], 0);
	if (evloop_add(pod->loop, p[0], EPOLLIN, on_console, pod) < 0) {
		close(p[0]);
		close(p[1]);
		return herr_set(err, GRPC_INTERNAL, 0, "watch console pipe");
	}
	pod->console_fd = p[0];
	pod->console_len = pod->console_line_len = 0;
	*wfd = p[1];
	return 0;
}
