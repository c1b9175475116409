// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "path.h"
#include "util.h"

char *path_clean(const char *p)
{
	char *out = xmalloc(strlen(p) + 2);
	const char *s = p, *end;
	size_t o = 0, len;

	if (*p != '/')
		goto bad;
	while (*s) {
		while (*s == '/')
			s++;
		end = strchrnul(s, '/');
		len = (size_t)(end - s);
		if (len == 2 && !memcmp(s, "..", 2))
			goto bad;
		if (len && !(len == 1 && *s == '.')) {
			out[o++] = '/';
			memcpy(out + o, s, len);
			o += len;
		}
		s = end;
	}
	if (!o)
		out[o++] = '/';
	out[o] = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = xstrdup(path);
	struct stat st;
	char *s, c;

	if (!*p) {
		errno = ENOENT;
		return -ENOENT;
	}
	for (s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = c;
		if (!c)
			break;
	}
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -ENOTDIR;
	}
	return 0;
}

void path_unescape_octal(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
					(s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

char *path_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

const char *path_base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}
