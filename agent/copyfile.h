/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CopyFile: the runtime copies files into the guest in chunks (regular files
 * in 1 MiB pieces at increasing offsets, directories by S_IFDIR in
 * file_mode, symlinks by S_IFLNK with the target in data).  Data goes to
 * <path>.tmp and is renamed once file_size bytes are there.  Only paths
 * under @allowed_root are accepted (after resolving "..").
 */
#ifndef HUSK_AGENT_COPYFILE_H
#define HUSK_AGENT_COPYFILE_H

#include "agent.pb-c.h"
#include "err.h"

int copy_file(const Grpc__CopyFileRequest *req, const char *allowed_root,
	      struct herr *err);

#endif
