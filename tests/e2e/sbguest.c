// SPDX-License-Identifier: Apache-2.0
/*
 * sbguest COOKIE [nofence|port]: the guest half of a store-buffering
 * litmus test (tests/e2e/mb-order.sh).  Puts COOKIE at the start of a page
 * of its own that sbhost finds in the VM's RAM, then for each new value k
 * of go: stores a = k, runs a full barrier, loads b into r1 and sets
 * done = k.  The barrier is spelt as Linux's smp_mb() on x86-64 (which
 * virtio_mb() is, between a virtqueue index it publishes and the other
 * side's it reads); "port" writes I/O port 0x80 instead, as husk's kernel
 * does with virtio_ring.mb_port=1 (needs CAP_SYS_RAWIO: a privileged
 * container); "nofence" leaves it out: the control, where reordering must
 * show.  Runs until stop is set.  Static (musl): the container has
 * busybox only.
 */
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>

#include "sb-page.h"

int main(int argc, char **argv)
{
	struct sb_page *p;
	uint64_t last = 0, k;
	enum { NONE, SMP_MB, PORT } fence = SMP_MB;

	if (argc < 2 || strlen(argv[1]) >= sizeof(p->cookie)) {
		fprintf(stderr, "usage: sbguest COOKIE [nofence|port]\n");
		return 2;
	}
	if (argc > 2 && !strcmp(argv[2], "nofence"))
		fence = NONE;
	if (argc > 2 && !strcmp(argv[2], "port")) {
		fence = PORT;
		if (ioperm(0x80, 1, 1) < 0) {
			perror("sbguest: ioperm 0x80");
			return 1;
		}
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		perror("sbguest: mmap");
		return 1;
	}
	/* Best effort: the page must stay where sbhost found it. */
	mlock(p, 4096);
	memset(p, 0, sizeof(*p));
	strcpy(p->cookie, argv[1]);
	for (;;) {
		while ((k = p->go) == last)
			if (p->stop)
				return 0;
		p->a = k;
		if (fence == SMP_MB)
			__asm__ volatile("lock; addl $0,-4(%%rsp)" ::
						 : "memory", "cc");
		else if (fence == PORT)
			__asm__ volatile("outb %%al, $0x80" ::"a"(0) : "memory");
		else
			__asm__ volatile("" ::: "memory");
		p->r1 = p->b;
		p->done = k;
		last = k;
	}
}
