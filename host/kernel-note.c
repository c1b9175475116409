// SPDX-License-Identifier: Apache-2.0
/*
 * The guest kernel's ELF notes: what a vmlinux tells the host before it
 * boots (the PVH entry QEMU needs, husk's own "husk" notes for what its
 * patches add, kernel/patches/).  A bzImage has none to read: no note.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "hv.h"
#include "util.h"

/* The notes read per PT_NOTE segment; a vmlinux has a few hundred bytes. */
#define NOTES_MAX 4096
#define PHNUM_MAX 64

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static bool read_full(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	if (off > (uint64_t)INT64_MAX - len)
		return false;
	do
		n = pread(fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len;
}

/* @notes (@n bytes) holds a note @name (with its NUL) of @type. */
static bool notes_have(const unsigned char *notes, uint64_t n, const char *name,
		       uint32_t type)
{
	uint64_t len = strlen(name) + 1, pos = 0;

	while (pos + 12 <= n) {
		uint64_t namesz = le32(notes + pos);
		uint64_t descsz = le32(notes + pos + 4);

		if (namesz == len && pos + 12 + len <= n &&
		    le32(notes + pos + 8) == type &&
		    !memcmp(notes + pos + 12, name, len))
			return true;
		pos += 12 + ((namesz + 3) & ~3ULL) + ((descsz + 3) & ~3ULL);
	}
	return false;
}

bool kernel_has_note(const char *path, const char *name, uint32_t type)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char eh[64], ph[56], notes[NOTES_MAX];
	uint64_t phoff;
	unsigned int phentsize, phnum;

	/* ELF64, little-endian, x86-64. */
	if (fd < 0 || !read_full(fd, eh, sizeof(eh), 0) ||
	    memcmp(eh, ELFMAG, SELFMAG) || eh[EI_CLASS] != ELFCLASS64 ||
	    eh[EI_DATA] != ELFDATA2LSB || (eh[18] | eh[19] << 8) != EM_X86_64)
		return false;
	phoff = le64(eh + 32);
	phentsize = eh[54] | eh[55] << 8;
	phnum = eh[56] | eh[57] << 8;
	if (phentsize < sizeof(ph) || phnum > PHNUM_MAX)
		return false;
	for (unsigned int i = 0; i < phnum; i++) {
		uint64_t size;

		if (!read_full(fd, ph, sizeof(ph),
			       phoff + (uint64_t)i * phentsize))
			return false;
		if (le32(ph) != PT_NOTE)
			continue;
		size = le64(ph + 32);
		if (size > sizeof(notes))
			size = sizeof(notes);
		if (read_full(fd, notes, size, le64(ph + 8)) &&
		    notes_have(notes, size, name, type))
			return true;
	}
	return false;
}
