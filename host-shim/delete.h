/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "delete" action: containerd runs it whenever its connection to a
 * shim closes, normally after Shutdown and also after a shim died.  It
 * cleans up after a dead shim (the VM process, the socket, the run
 * directory) and prints a DeleteResponse protobuf, nothing else, on stdout.
 */
#ifndef HUSK_SHIM_DELETE_H
#define HUSK_SHIM_DELETE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "flags.h"

/* Exit status reported for a task whose shim is gone: 128 + SIGKILL. */
#define DELETE_EXIT_STATUS 137

/* Encode DeleteResponse{pid, exit_status, exited_at}; caller frees *buf. */
int delete_response_encode(uint32_t pid, uint32_t exit_status,
			   const struct timespec *at, uint8_t **buf,
			   size_t *len);

/* The delete action. Returns the exit code. */
int shim_delete(const struct shim_flags *f);

/*
 * Remove @path recursively without crossing into other mounts (what is
 * left of a run directory).  Returns 0 or -errno of the first failure.
 */
int remove_tree(const char *path);

#endif
