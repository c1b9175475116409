// SPDX-License-Identifier: Apache-2.0
/*
 * Reading and writing cgroup files, every one by its full path so that
 * errors can name it, parsing the values they hold, and walking the
 * cgroups below one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "util.h"

int cg_file_path(char *buf, const struct cgroup *cg, const char *dir,
		 const char *file, struct herr *err)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", dir, file);

	if (n < 0 || n >= PATH_MAX)
		return herr_set(err, GRPC_INVALID_ARGUMENT, ENAMETOOLONG,
				"cgroup %s: %s/%s", cg->path, dir, file);
	return 0;
}

bool cg_has(const char *dir, const char *file)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/%s", dir, file) >= (int)sizeof(p))
		return false;
	return access(p, F_OK) == 0;
}

/*
 * Cgroup files take one value per write(2): never split it.  O_TRUNC is
 * what a shell's ">" does too; cgroupfs ignores it, plain files need it.
 */
int cg_write(const struct cgroup *cg, const char *dir, const char *file,
	     const char *val, struct herr *err)
{
	char p[PATH_MAX];
	size_t len = strlen(val);
	ssize_t n;
	int fd;

	if (cg_file_path(p, cg, dir, file, err))
		return -1;
	fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return herr_errno(err, errno, "cgroup %s: open %s", cg->path,
				  p);
	do
		n = write(fd, val, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != len) {
		int e = n < 0 ? errno : EIO;

		close(fd);
		return herr_errno(err, e, "cgroup %s: write \"%s\" to %s",
				  cg->path, val, p);
	}
	close(fd);
	return 0;
}

int cg_printf(const struct cgroup *cg, const char *dir, const char *file,
	      struct herr *err, const char *fmt, ...)
{
	char val[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return cg_write(cg, dir, file, val, err);
}

static int read_fd(int fd, char **out)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len - 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (cap - len - 1 == 0) {
			char *p = realloc(buf, cap * 2);

			if (!p) {
				free(buf);
				errno = ENOMEM;
				return -1;
			}
			buf = p;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/*
 * Read a whole file.  With @optional, a missing file is not an error:
 * returns 1 and leaves *out NULL.
 */
int cg_read(const struct cgroup *cg, const char *dir, const char *file,
	    bool optional, char **out, struct herr *err)
{
	char p[PATH_MAX];
	int fd, e;

	*out = NULL;
	if (cg_file_path(p, cg, dir, file, err))
		return -1;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (optional && errno == ENOENT)
			return 1;
		return herr_errno(err, errno, "cgroup %s: open %s", cg->path,
				  p);
	}
	if (read_fd(fd, out)) {
		e = errno;
		close(fd);
		return herr_errno(err, e, "cgroup %s: read %s", cg->path, p);
	}
	close(fd);
	return 0;
}

/* A number, or "max" as UINT64_MAX. */
int cg_parse_u64(const char *s, uint64_t *v)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!strncmp(s, "max", 3)) {
		*v = UINT64_MAX;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	return 0;
}

/* Read a file holding one number ("max" counts as UINT64_MAX). */
int cg_read_u64(const struct cgroup *cg, const char *dir, const char *file,
		bool optional, uint64_t *v, struct herr *err)
{
	_cleanup_free_ char *buf = NULL;
	int rc = cg_read(cg, dir, file, optional, &buf, err);

	*v = 0;
	if (rc)
		return rc;
	if (cg_parse_u64(buf, v))
		return herr_set(err, GRPC_INTERNAL, 0,
				"cgroup %s: %s/%s: not a number: \"%.32s\"",
				cg->path, dir, file, buf);
	return 0;
}

/* Value of "key N" in a flat-keyed file (memory.stat, cpu.stat, ...). */
bool cg_kv_get(const char *buf, const char *key, uint64_t *v)
{
	size_t klen = strlen(key);

	for (const char *l = buf; *l;) {
		if (!strncmp(l, key, klen) && l[klen] == ' ')
			return cg_parse_u64(l + klen + 1, v) == 0;
		l = strchrnul(l, '\n');
		if (*l)
			l++;
	}
	return false;
}

void cg_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

bool cg_next_subdir(DIR *d, const char *dir, char *sub)
{
	struct dirent *e;

	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") ||
		    !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(sub, PATH_MAX, "%s/%s", dir, e->d_name) < PATH_MAX)
			return true;
	}
	return false;
}
