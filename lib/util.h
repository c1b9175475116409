/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers every file wants: cleanup attributes and EINTR-safe I/O. */
#ifndef HUSK_UTIL_H
#define HUSK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member)                                      \
	((type *)((char *)(ptr) - offsetof(type, member)))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))

/* Return the value of *p and leave NULL (or -1) behind, to keep it from cleanup. */
#define steal_pointer(p)                                                     \
	({                                                                   \
		__typeof__(*(p)) _v = *(p);                                  \
		*(p) = NULL;                                                 \
		_v;                                                          \
	})
#define steal_fd(p)                                                          \
	({                                                                   \
		int _fd = *(p);                                              \
		*(p) = -1;                                                   \
		_fd;                                                         \
	})

/* Write all of @buf, retrying on EINTR and short writes (blocking fds). */
int write_all(int fd, const void *buf, size_t len);

/* Read exactly @len bytes; returns 0, or -1 with errno (0 at EOF). */
int read_all(int fd, void *buf, size_t len);

/*
 * A small text file (/proc, /sys, /etc) in one read: at most @size - 1
 * bytes of @path into @buf, NUL-terminated.  The byte count, or -1 with
 * errno and @buf "".
 */
ssize_t read_file_str(const char *path, char *buf, size_t size);

/* Set or clear O_NONBLOCK. Returns 0 or -1 with errno. */
int fd_set_nonblock(int fd, int on);

/* malloc/calloc/strdup that abort on failure: tiny allocations only. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);

/* Free a NULL-terminated string vector (NULL is fine). */
void strv_free(char **v);

/* Monotonic clock in milliseconds. */
long long now_ms(void);

/*
 * Is @word one of the words of @list, separated by spaces or newlines (a
 * kernel command line, a cgroup.controllers file)?  NULL is no words.
 */
bool word_in(const char *list, const char *word);

struct herr;

/* Write @data to <dir>/<name> through <dir>/.<name> and rename(2). */
int write_file_atomic(const char *dir, const char *name, const char *data,
		      struct herr *err);

#endif
