// SPDX-License-Identifier: Apache-2.0
/*
 * memhog MIB [HOLD_SECONDS]: allocate MIB mebibytes, write every page so
 * that the kernel really charges them, print "touched MIB MiB", then hold
 * them HOLD_SECONDS (default 0) and exit 0.  Static (musl), run in a
 * container by tests/e2e/resources.sh: busybox has no such tool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long mib, hold = 0;
	size_t len, page = (size_t)sysconf(_SC_PAGESIZE);
	char *p;

	if (argc < 2) {
		fprintf(stderr, "usage: memhog MIB [HOLD_SECONDS]\n");
		return 2;
	}
	mib = strtoul(argv[1], NULL, 10);
	if (argc > 2)
		hold = strtoul(argv[2], NULL, 10);
	len = (size_t)mib << 20;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED) {
		perror("memhog: mmap");
		return 1;
	}
	for (size_t o = 0; o < len; o += page)
		p[o] = 1;
	printf("touched %lu MiB\n", mib);
	fflush(stdout);
	sleep((unsigned int)hold);
	return 0;
}
