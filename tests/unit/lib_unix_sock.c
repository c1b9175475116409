// SPDX-License-Identifier: Apache-2.0
/*
 * lib/unix-sock.c: a listening socket of the asked type and flags, 0600
 * when private, close-on-exec always; a path in use refused with
 * EADDRINUSE unless replacing; a path too long named; a socket file that
 * is not a socket's refused as well.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unix-sock.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

FIXTURE(dir)
{
	char path[256];
	char tmp[64];
};

FIXTURE_SETUP(dir)
{
	strcpy(self->tmp, "/tmp/husk-unix-sock.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->tmp));
	snprintf(self->path, sizeof(self->path), "%s/s.sock", self->tmp);
}

FIXTURE_TEARDOWN(dir)
{
	unlink(self->path);
	rmdir(self->tmp);
}

static int sock_type(int fd)
{
	int t = -1;
	socklen_t len = sizeof(t);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &len) < 0)
		return -1;
	return t;
}

static int connects(const char *path, int type)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	int r;

	if (fd < 0 || unix_sockaddr(path, &sa, NULL) < 0)
		return -1;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return r;
}

TEST_F(dir, private_stream)
{
	struct herr err;
	struct stat st;
	int fd = unix_listen(self->path, SOCK_STREAM, 4, UNIX_LISTEN_PRIVATE,
			     &err);

	ASSERT_LE(0, fd) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	EXPECT_EQ(0600U, st.st_mode & 07777);
	EXPECT_EQ(SOCK_STREAM, sock_type(fd));
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(0, connects(self->path, SOCK_STREAM));
	close(fd);
}

TEST_F(dir, seqpacket_nonblocking)
{
	struct herr err;
	int fd = unix_listen(self->path, SOCK_SEQPACKET | SOCK_NONBLOCK, 4, 0,
			     &err);

	ASSERT_LE(0, fd) TH_LOG("%s", err.msg);
	EXPECT_EQ(SOCK_SEQPACKET, sock_type(fd));
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(0, connects(self->path, SOCK_SEQPACKET));
	close(fd);
}

/* Something at the path: refused, unless replacing. */
TEST_F(dir, in_use)
{
	struct herr err;
	int fd = unix_listen(self->path, SOCK_STREAM, 4, 0, &err);
	int fd2;

	ASSERT_LE(0, fd) TH_LOG("%s", err.msg);
	EXPECT_EQ(-1, unix_listen(self->path, SOCK_STREAM, 4, 0, &err));
	EXPECT_EQ(EADDRINUSE, err.errnum);
	EXPECT_NE(NULL, strstr(err.msg, self->path)) TH_LOG("%s", err.msg);
	/* The refused call left the first socket's file in place. */
	EXPECT_EQ(0, connects(self->path, SOCK_STREAM));
	fd2 = unix_listen(self->path, SOCK_STREAM, 4, UNIX_LISTEN_REPLACE,
			  &err);
	ASSERT_LE(0, fd2) TH_LOG("%s", err.msg);
	close(fd);
	EXPECT_EQ(0, connects(self->path, SOCK_STREAM));
	close(fd2);
}

TEST_F(dir, too_long)
{
	char path[200];
	struct herr err;

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	EXPECT_EQ(-1, unix_listen(path, SOCK_STREAM, 4, 0, &err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, err.code);
	EXPECT_NE(NULL, strstr(err.msg, "longer than")) TH_LOG("%s", err.msg);
}

/* No directory: the error names the path and keeps errno. */
TEST_F(dir, no_dir)
{
	char path[300];
	struct herr err;

	snprintf(path, sizeof(path), "%s/none/s.sock", self->tmp);
	EXPECT_EQ(-1,
		  unix_listen(path, SOCK_STREAM, 4, UNIX_LISTEN_REPLACE, &err));
	EXPECT_EQ(ENOENT, err.errnum);
	EXPECT_NE(NULL, strstr(err.msg, path)) TH_LOG("%s", err.msg);
}

TEST_HARNESS_MAIN
