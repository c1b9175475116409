// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "util.h"

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = 0;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t read_file_str(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	buf[0] = '\0';
	if (fd < 0)
		return -1;
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	e = errno;
	close(fd);
	if (n < 0) {
		errno = e;
		return -1;
	}
	buf[n] = '\0';
	return n;
}

int fd_set_nonblock(int fd, int on)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0)
		return -1;
	flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, flags);
}

static void *check_alloc(void *p)
{
	if (!p) {
		fputs("husk: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xmalloc(size_t n)
{
	return check_alloc(malloc(n ? n : 1));
}

void *xcalloc(size_t n, size_t size)
{
	return check_alloc(calloc(n ? n : 1, size ? size : 1));
}

char *xstrdup(const char *s)
{
	return check_alloc(strdup(s));
}

bool word_in(const char *list, const char *word)
{
	size_t wlen = strlen(word);

	if (!list)
		return false;
	for (const char *p = list; (p = strstr(p, word)); p += wlen) {
		bool start = p == list || p[-1] == ' ' || p[-1] == '\n';
		char end = p[wlen];

		if (start && (end == '\0' || end == ' ' || end == '\n'))
			return true;
	}
	return false;
}

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int write_file_atomic(const char *dir, const char *name, const char *data,
		      struct herr *err)
{
	_cleanup_free_ char *tmp = NULL, *dst = NULL;
	_cleanup_close_ int fd = -1;

	if (asprintf(&tmp, "%s/.%s", dir, name) < 0 ||
	    asprintf(&dst, "%s/%s", dir, name) < 0)
		abort();
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return herr_errno(err, errno, "create %s", tmp);
	if (write_all(fd, data, strlen(data)) < 0) {
		herr_errno(err, errno, "write %s", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, dst) < 0) {
		herr_errno(err, errno, "rename %s to %s", tmp, dst);
		unlink(tmp);
		return -1;
	}
	return 0;
}
