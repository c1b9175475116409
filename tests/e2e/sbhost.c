// SPDX-License-Identifier: Apache-2.0
/*
 * sbhost QEMU_PID COOKIE ROUNDS: the host half of the store-buffering
 * litmus test (tests/e2e/mb-order.sh, sbguest.c).  Maps the VM's RAM
 * through QEMU's memfd (the one virtiofsd maps), finds the guest's page
 * by COOKIE and plays the other side as virtiofsd's libvhost-user does:
 * b = k, mfence, r2 = a.  A round where both read the old value (r1 < k
 * and r2 < k) is a store->load reordering on the guest's side: with the
 * guest's barrier in place, the outcome that loses a virtqueue kick or
 * interrupt.  Prints "rounds N both_old M"; exit 0, or 1 on an error
 * (no memfd, no cookie yet, the guest stopped answering).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sb-page.h"

/* QEMU's guest RAM: its memfd (at least 16 MiB, not a small one). */
static int open_ram(const char *pid, size_t *len)
{
	char dir[64], path[320], link[256];
	struct dirent *de;
	struct stat st;
	ssize_t n;
	int fd = -1;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	d = opendir(dir);
	if (!d) {
		perror(dir);
		return -1;
	}
	while (fd < 0 && (de = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (!strstr(link, "memfd:"))
			continue;
		fd = open(path, O_RDWR);
		if (fd >= 0 &&
		    (fstat(fd, &st) < 0 || st.st_size < (16 << 20))) {
			close(fd);
			fd = -1;
		}
	}
	closedir(d);
	if (fd >= 0)
		*len = (size_t)st.st_size;
	return fd;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	unsigned long rounds, n = 0, both_old = 0;
	struct sb_page *p = NULL;
	size_t len = 0, off;
	char *ram;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: sbhost QEMU_PID COOKIE ROUNDS\n");
		return 2;
	}
	rounds = strtoul(argv[3], NULL, 10);
	fd = open_ram(argv[1], &len);
	if (fd < 0) {
		fprintf(stderr, "sbhost: no memfd RAM in QEMU %s\n", argv[1]);
		return 1;
	}
	ram = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ram == MAP_FAILED) {
		perror("sbhost: mmap");
		return 1;
	}
	for (off = 0; off + 4096 <= len && !p; off += 4096)
		if (!memcmp(ram + off, argv[2], strlen(argv[2]) + 1))
			p = (struct sb_page *)(ram + off);
	if (!p) {
		fprintf(stderr, "sbhost: cookie %s not in the guest's RAM\n",
			argv[2]);
		return 1;
	}
	srand(1);
	for (uint64_t k = p->go + 1; n < rounds; k++, n++) {
		/*
		 * The guest sees go some time after it is set: a random delay
		 * before b = k makes the two sides' store and load overlap in
		 * some rounds (up to 256 spins here found ~2% of the rounds
		 * reordered without the guest's barrier, 4096 far fewer).
		 */
		unsigned long delay = (unsigned long)rand() % 256;
		uint64_t r2, t0;

		p->go = k;
		for (volatile unsigned long i = 0; i < delay; i++)
			;
		p->b = k;
		__asm__ volatile("mfence" ::: "memory");
		r2 = p->a;
		t0 = now_ns();
		while (p->done != k)
			if (now_ns() - t0 > 10000000000ull) {
				fprintf(stderr,
					"sbhost: no answer to round %lu in 10 "
					"s\n",
					(unsigned long)k);
				p->stop = 1;
				return 1;
			}
		if (p->r1 < k && r2 < k)
			both_old++;
	}
	p->stop = 1;
	printf("rounds %lu both_old %lu\n", n, both_old);
	return 0;
}
