// SPDX-License-Identifier: Apache-2.0
/*
 * The file operations busybox has no applet for, run inside a container by
 * tests/boot/virtiofs.sh against the shared filesystem (static, no libc
 * beyond musl):
 *   fsops mmap-write FILE TEXT   size FILE to TEXT, write it through a
 *                                MAP_SHARED mapping, msync, close
 *   fsops mmap-read FILE         print FILE's bytes read through a mapping
 *   fsops mmap-dirty FILE TEXT   the same as mmap-write, but the fd closed
 *                                before the write and no msync, no munmap:
 *                                the pages are left dirty at exit
 *   fsops fsync FILE TEXT        write TEXT, fsync and fdatasync
 *   fsops now                    CLOCK_MONOTONIC in microseconds (for
 *                                tests/bench/fs.sh: busybox date has no %N)
 * Exits 0 on success; otherwise 1 with the failing call on stderr.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what, const char *file)
{
	perror(file);
	fprintf(stderr, "fsops: %s failed\n", what);
	return 1;
}

/*
 * TEXT written into FILE through a shared mapping; @dirty leaves it there,
 * unflushed, with the fd closed first (no flush on close after the write).
 */
static int mmap_text(const char *file, const char *text, bool dirty)
{
	size_t n = strlen(text);
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *p;

	if (fd < 0)
		return fail("open", file);
	if (ftruncate(fd, (off_t)n) < 0)
		return fail("ftruncate", file);
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("mmap", file);
	if (dirty) {
		if (close(fd) < 0)
			return fail("close", file);
		memcpy(p, text, n);
		return 0;
	}
	memcpy(p, text, n);
	if (msync(p, n, MS_SYNC) < 0)
		return fail("msync", file);
	if (munmap(p, n) < 0 || close(fd) < 0)
		return fail("munmap/close", file);
	return 0;
}

static int mmap_read(const char *file)
{
	int fd = open(file, O_RDONLY);
	struct stat st;
	char *p;

	if (fd < 0 || fstat(fd, &st) < 0)
		return fail("open/fstat", file);
	if (!st.st_size)
		return 0;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("mmap", file);
	if (fwrite(p, 1, (size_t)st.st_size, stdout) != (size_t)st.st_size)
		return fail("write stdout", file);
	munmap(p, (size_t)st.st_size);
	close(fd);
	return 0;
}

static int write_fsync(const char *file, const char *text)
{
	size_t n = strlen(text);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return fail("open", file);
	if (write(fd, text, n) != (ssize_t)n)
		return fail("write", file);
	if (fsync(fd) < 0)
		return fail("fsync", file);
	if (fdatasync(fd) < 0)
		return fail("fdatasync", file);
	if (close(fd) < 0)
		return fail("close", file);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "mmap-write"))
		return mmap_text(argv[2], argv[3], false);
	if (argc == 4 && !strcmp(argv[1], "mmap-dirty"))
		return mmap_text(argv[2], argv[3], true);
	if (argc == 3 && !strcmp(argv[1], "mmap-read"))
		return mmap_read(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "fsync"))
		return write_fsync(argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[1], "now")) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		printf("%lld\n",
		       (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
		return 0;
	}
	fprintf(stderr, "usage: fsops mmap-write FILE TEXT | mmap-dirty FILE "
			"TEXT | mmap-read FILE | fsync FILE TEXT | now\n");
	return 2;
}
