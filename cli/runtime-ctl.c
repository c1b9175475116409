// SPDX-License-Identifier: Apache-2.0
/*
 * The monitor's control socket, <root>/<id>/ctl.sock (SOCK_SEQPACKET: one
 * request, one answer, fds alongside), reached through /proc/self/fd so
 * that a long --root (Docker's exec root plus a 64-character id) never
 * hits sun_path's 108 bytes; and the console socket protocol: a pty
 * master sent with SCM_RIGHTS, as runc does for conmon and containerd.
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "runtime.h"
#include "unix-sock.h"
#include "util.h"

static int dir_addr(const char *dir, struct sockaddr_un *sa, int *dfd,
		    struct herr *err)
{
	*dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dfd < 0)
		return herr_set(err, 0, errno, "open %s", dir);
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path),
		 "/proc/self/fd/%d/ctl.sock", *dfd);
	return 0;
}

int rt_ctl_listen(const char *dir, struct herr *err)
{
	struct sockaddr_un sa;
	int dfd, fd;

	if (dir_addr(dir, &sa, &dfd, err) < 0)
		return -1;
	fd = unix_listen(sa.sun_path, SOCK_SEQPACKET | SOCK_NONBLOCK, 16,
			 UNIX_LISTEN_REPLACE, err);
	if (fd < 0)
		/* Name the directory, not the /proc/self/fd path. */
		herr_set(err, 0, err->errnum, "listen on %s/ctl.sock", dir);
	close(dfd);
	return fd;
}

int rt_ctl_connect(const char *root, const char *id, struct herr *err)
{
	_cleanup_free_ char *dir = rt_dir(root, id);
	struct sockaddr_un sa;
	int dfd, fd;

	if (dir_addr(dir, &sa, &dfd, err) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		herr_set(err, 0, errno, "socket");
	} else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		herr_set(err, 0, errno,
			 "container %s: its monitor does not answer on "
			 "%s/ctl.sock",
			 id, dir);
		close(fd);
		fd = -1;
	}
	close(dfd);
	return fd;
}

int rt_ctl_send(int fd, const char *msg, size_t len, const int *fds, int nfd)
{
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfd > 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(nfd * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfd * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfd * sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

ssize_t rt_ctl_recv(int fd, char *buf, size_t size, int *fds, int *nfd)
{
	union {
		char buf[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = size - 1 };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	int max = nfd ? *nfd : 0;
	ssize_t n;

	if (nfd)
		*nfd = 0;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
	     c = CMSG_NXTHDR(&mh, c)) {
		int k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (nfd && *nfd < max)
				fds[(*nfd)++] = f;
			else
				close(f);
		}
	}
	return n;
}

int rt_ctl_call(const char *root, const char *id, const char *msg, char *reply,
		size_t size, struct herr *err)
{
	_cleanup_close_ int fd = rt_ctl_connect(root, id, err);
	ssize_t n;
	int r;

	if (fd < 0)
		return -1;
	r = rt_ctl_send(fd, msg, strlen(msg), NULL, 0);
	if (r < 0)
		return herr_set(err, 0, -r, "container %s: send to its monitor",
				id);
	n = rt_ctl_recv(fd, reply, size, NULL, NULL);
	if (n < 0)
		return herr_set(err, 0, (int)-n,
				"container %s: no answer from its monitor", id);
	if (n == 0)
		return herr_set(err, 0, 0,
				"container %s: its monitor went away", id);
	if (!strncmp(reply, "err ", 4))
		return herr_set(err, 0, 0, "%s", reply + 4);
	return 0;
}

int rt_console_open(const char *console_socket, int *slave, struct herr *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int sock = -1;
	int master = -1, r;
	struct termios t;
	char name[64];

	*slave = -1;
	if (strlen(console_socket) >= sizeof(sa.sun_path))
		return herr_set(err, 0, 0, "--console-socket %s: path too long",
				console_socket);
	strcpy(sa.sun_path, console_socket);
	if (openpty(&master, slave, name, NULL, NULL) < 0)
		return herr_set(err, 0, errno, "open a pty");
	fcntl(master, F_SETFD, FD_CLOEXEC);
	fcntl(*slave, F_SETFD, FD_CLOEXEC);
	/* The guest's pty does the line discipline: this one passes bytes. */
	if (tcgetattr(*slave, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(*slave, TCSANOW, &t);
	}
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		herr_set(err, 0, errno, "--console-socket %s: connect",
			 console_socket);
		goto fail;
	}
	r = rt_ctl_send(sock, name, strlen(name), &master, 1);
	if (r < 0) {
		herr_set(err, 0, -r, "--console-socket %s: send the pty",
			 console_socket);
		goto fail;
	}
	close(master);
	return 0;
fail:
	close(master);
	closep(slave);
	*slave = -1;
	return -1;
}
