/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CopyFile: the runtime copies files into the guest in chunks (regular files
 * in 1 MiB pieces at increasing offsets, directories by S_IFDIR in
 * file_mode, symlinks by S_IFLNK with the target in data).  Data goes to
 * <path>.tmp and is renamed once file_size bytes are there; a chunk that
 * leaves a gap or runs past file_size is refused.  Only absolute paths
 * under @allowed_root (created if missing) are accepted: any ".." is
 * refused (INVALID_ARGUMENT), as is a directory on the way that a symlink
 * takes out of the root (PERMISSION_DENIED).  Missing parents are made
 * with dir_mode.
 */
#ifndef HUSK_AGENT_COPYFILE_H
#define HUSK_AGENT_COPYFILE_H

#include "agent.pb-c.h"
#include "err.h"

int copy_file(const Grpc__CopyFileRequest *req, const char *allowed_root,
	      struct herr *err);

#endif
