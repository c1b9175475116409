/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The page a store-buffering litmus test shares between a process in a
 * guest (sbguest.c) and one on the host (sbhost.c), through the VM's RAM.
 * One cache line per word, as a virtqueue's indices are apart.
 */
#ifndef HUSK_TESTS_SB_PAGE_H
#define HUSK_TESTS_SB_PAGE_H

#include <stdint.h>

struct sb_page {
	char cookie[64]; /* how the host finds the page, NUL-terminated */
	volatile uint64_t go, pad0[7]; /* host: round k begins */
	volatile uint64_t a, pad1[7]; /* guest stores k */
	volatile uint64_t b, pad2[7]; /* host stores k */
	volatile uint64_t r1, pad3[7]; /* guest: b as it read it */
	volatile uint64_t done, pad4[7]; /* guest: round k over */
	volatile uint64_t stop, pad5[7]; /* host: exit */
};

#endif
