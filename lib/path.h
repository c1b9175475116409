/* SPDX-License-Identifier: Apache-2.0 */
/* Path helpers shared by the agent's storage, CopyFile and state code. */
#ifndef HUSK_PATH_H
#define HUSK_PATH_H

#include <sys/types.h>

/*
 * "/a//b/./c/" -> "/a/b/c" (malloc'd).  NULL for a relative path or one
 * with a ".." component, so two spellings never name different places.
 */
char *path_clean(const char *p);

/*
 * mkdir -p with @mode for each missing component.  Returns 0, or -errno
 * with errno set (-ENOTDIR when @path exists but is not a directory).
 */
int mkdir_p(const char *path, mode_t mode);

/*
 * Undo, in place, the \ooo escapes that /proc/self/mounts and mountinfo
 * use for space, tab, newline and backslash in paths.
 */
void path_unescape_octal(char *s);

/* "@dir/@name", malloc'd; aborts when out of memory (short paths only). */
char *path_join(const char *dir, const char *name);

/* The last component of @path: after its last '/' ("" if it ends in one). */
const char *path_base(const char *path);

#endif
