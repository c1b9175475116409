// SPDX-License-Identifier: Apache-2.0
/*
 * The host probes' answers kept for the rest of the boot, shared by every
 * shim: each shim is its own process, and a KVM that does not work costs
 * the whole probe timeout (even a working -sandbox check boots a guest).
 *
 * One file per question (<prefix>-kvm, <prefix>-sandbox, ...) holds one
 * line per binary, newest first and at most HV_CACHE_ENTRIES of them, so
 * a host whose runtime classes name two QEMUs does not re-probe each time
 * it switches.  A line is "KEY\tOK\tPATH\tTEXT": KEY is the boot id and
 * what identifies the binary now (device, inode, size, mtime and ctime to
 * the nanosecond), so a new boot or a changed binary probes again.
 *
 * Readers need no lock: a writer replaces the whole file by rename(2).
 * Writers serialise their read-modify-write on <file>.lock (flock), or
 * two shims probing two binaries at once would each drop the other's
 * line; a writer that cannot get the lock soon gives up (the cache is an
 * optimisation, a shim never waits long for it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"
#include "log.h"
#include "util.h"

/* Beside, not inside, the shims' run root /run/husk, which they own. */
#define HV_CACHE_DEFAULT "/run/husk-probe"
/* Bigger than any file this code writes: anything larger is not ours. */
#define HV_CACHE_FILE_MAX \
	(HV_CACHE_ENTRIES * (HV_CACHE_KEY_MAX + PATH_MAX + HERR_MSG_MAX + 8))
#define HV_CACHE_LOCK_MS 1000

const char *hv_cache_file(const char *what, char *buf, size_t cap)
{
	const char *p = getenv("HUSK_PROBE_CACHE");

	if (p && !*p)
		return NULL;
	if ((size_t)snprintf(buf, cap, "%s-%s", p ? p : HV_CACHE_DEFAULT,
			     what) >= cap)
		return NULL;
	return buf;
}

bool hv_cache_key(const char *binary, char *key, size_t cap)
{
	char boot[64];
	struct stat st;

	/* A path that cannot be one field of a line is not cached. */
	if (strpbrk(binary, "\t\n") || stat(binary, &st) < 0 ||
	    read_file_str("/proc/sys/kernel/random/boot_id", boot,
			  sizeof(boot)) <= 0)
		return false;
	boot[strcspn(boot, "\n")] = '\0';
	return (size_t)snprintf(key, cap,
				"%s %llx:%llx:%llx:%llx.%09ld:%llx.%09ld", boot,
				(unsigned long long)st.st_dev,
				(unsigned long long)st.st_ino,
				(unsigned long long)st.st_size,
				(unsigned long long)st.st_mtim.tv_sec,
				st.st_mtim.tv_nsec,
				(unsigned long long)st.st_ctim.tv_sec,
				st.st_ctim.tv_nsec) < cap;
}

/* One parsed line; the strings point into the file's buffer. */
struct cache_line {
	const char *key, *path, *text;
	bool ok;
};

/* Split @line in place; false when it is not a well-formed entry. */
static bool cache_line_parse(char *line, struct cache_line *l)
{
	char *ok, *path, *text;

	ok = strchr(line, '\t');
	if (!ok)
		return false;
	*ok++ = '\0';
	path = strchr(ok, '\t');
	if (!path || path != ok + 1 || (*ok != '0' && *ok != '1'))
		return false;
	*path++ = '\0';
	text = strchr(path, '\t');
	if (!text)
		return false;
	*text++ = '\0';
	l->key = line;
	l->ok = *ok == '1';
	l->path = path;
	l->text = text;
	return *line && *path;
}

/*
 * The next whole line at *@pos, NUL-terminated in place, with *@pos moved
 * past it; NULL at the end or before a line without its end (not one
 * this code wrote).
 */
static char *cache_next_line(char **pos)
{
	char *line = *pos, *end;

	if (!line || !*line)
		return NULL;
	end = strchr(line, '\n');
	if (!end)
		return NULL;
	*end = '\0';
	*pos = end + 1;
	return line;
}

/*
 * The whole file, NUL-terminated, in a new buffer (NULL when missing,
 * unreadable or too big to be ours).
 */
static char *cache_file_load(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *buf;
	size_t n = 0;

	if (fd < 0)
		return NULL;
	buf = xmalloc(HV_CACHE_FILE_MAX + 1);
	for (;;) {
		ssize_t r = read(fd, buf + n, HV_CACHE_FILE_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (r > 0 && n + (size_t)r > HV_CACHE_FILE_MAX)) {
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	return buf;
}

int hv_cache_lookup(const char *what, const char *binary, bool *ok, char *text,
		    size_t cap)
{
	char pbuf[PATH_MAX], key[HV_CACHE_KEY_MAX];
	const char *path = hv_cache_file(what, pbuf, sizeof(pbuf));
	_cleanup_free_ char *buf = NULL;
	char *pos, *line;

	if (!path || !hv_cache_key(binary, key, sizeof(key)))
		return 0;
	pos = buf = cache_file_load(path);
	while ((line = cache_next_line(&pos))) {
		struct cache_line l;

		if (!cache_line_parse(line, &l) || strcmp(l.key, key))
			continue;
		*ok = l.ok;
		if (cap)
			snprintf(text, cap, "%s", l.text);
		return 1;
	}
	return 0;
}

/* Take <path>.lock within HV_CACHE_LOCK_MS: its fd, or -1. */
static int cache_lock(const char *path)
{
	char lock[PATH_MAX];
	long long end = now_ms() + HV_CACHE_LOCK_MS;
	int fd;

	if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >=
	    sizeof(lock))
		return -1;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1; /* not root: just no cache */
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };

		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    now_ms() >= end) {
			log_debug("probe cache %s: not written: lock: %s", path,
				  strerror(errno));
			close(fd);
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	return fd;
}

/* The key's boot id: what a line from another boot differs in. */
static size_t key_boot_len(const char *key)
{
	return strcspn(key, " ");
}

void hv_cache_store(const char *what, const char *binary, bool ok,
		    const char *text)
{
	char pbuf[PATH_MAX], key[HV_CACHE_KEY_MAX];
	const char *path = hv_cache_file(what, pbuf, sizeof(pbuf));
	_cleanup_free_ char *old = NULL, *out = NULL, *tmp = NULL;
	_cleanup_close_ int lock = -1, fd = -1;
	size_t boot = 0, len, n, kept = 1;
	char *pos, *line;
	FILE *f;

	if (!path || !hv_cache_key(binary, key, sizeof(key)))
		return;
	lock = cache_lock(path);
	if (lock < 0)
		return;
	f = open_memstream(&out, &len);
	if (!f)
		abort();
	n = strcspn(text, "\n");
	fprintf(f, "%s\t%d\t%s\t%.*s\n", key, ok, binary,
		(int)(n < HERR_MSG_MAX ? n : HERR_MSG_MAX - 1), text);
	boot = key_boot_len(key);
	pos = old = cache_file_load(path);
	/* The others, newest first: not this binary, this boot, bounded. */
	while (kept < HV_CACHE_ENTRIES && (line = cache_next_line(&pos))) {
		struct cache_line l;

		if (!cache_line_parse(line, &l) || !strcmp(l.path, binary) ||
		    !strcmp(l.key, key) || key_boot_len(l.key) != boot ||
		    strncmp(l.key, key, boot))
			continue;
		fprintf(f, "%s\t%d\t%s\t%s\n", l.key, l.ok, l.path, l.text);
		kept++;
	}
	if (fclose(f) != 0)
		abort();
	if (asprintf(&tmp, "%s.%d", path, (int)getpid()) < 0)
		abort();
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0644);
	if (fd < 0)
		return;
	if (write_all(fd, out, len) < 0 || close(steal_fd(&fd)) < 0 ||
	    rename(tmp, path) < 0)
		unlink(tmp);
}

bool hv_cache_get(const char *what, const char *binary, char *text, size_t cap)
{
	bool ok = false;

	return hv_cache_lookup(what, binary, &ok, text, cap) == 1 && ok;
}

void hv_cache_put(const char *what, const char *binary, const char *text)
{
	hv_cache_store(what, binary, true, text);
}
