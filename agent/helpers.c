// SPDX-License-Identifier: Apache-2.0
/* Small helpers the agent's parts share: paths, files, parked calls. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "agent.h"
#include "util.h"

struct waiter *waiter_park(struct waiter **head, struct ttrpc_call *call,
			   void *owner)
{
	struct waiter *w = xcalloc(1, sizeof(*w)), **pp = head;

	/* FIFO: readers and writers are served in the order they came. */
	while (*pp)
		pp = &(*pp)->next;
	w->call = call;
	w->owner = owner;
	w->head = head;
	w->prev = (pp == head) ? NULL : container_of(pp, struct waiter, next);
	*pp = w;
	return w;
}

void waiter_drop(struct waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		*w->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	free(w);
}

static int rm_rf_at(int dfd, const char *name)
{
	struct stat st;
	int fd, r = 0;
	DIR *d;
	struct dirent *de;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	fd = openat(dfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (rm_rf_at(dirfd(d), de->d_name) < 0)
			r = -1;
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -1;
	return r;
}

int rm_rf(const char *path)
{
	return rm_rf_at(AT_FDCWD, path);
}

int write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_TRUNC | O_CREAT, 0644);
	int r;

	if (fd < 0)
		return -1;
	r = write_all(fd, data, strlen(data));
	if (r < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

char *strdupf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

void strvn_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
