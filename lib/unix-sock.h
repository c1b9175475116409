/* SPDX-License-Identifier: Apache-2.0 */
/* Listening unix sockets: the shim's, the agent's, virtiofsd's, husk-runtime's.
 */
#ifndef HUSK_UNIX_SOCK_H
#define HUSK_UNIX_SOCK_H

#include <sys/un.h>

#include "err.h"

/* unix_listen() flags. */
#define UNIX_LISTEN_REPLACE 0x1 /* unlink what is at the path first */
#define UNIX_LISTEN_PRIVATE 0x2 /* chmod 0600 before listening */

/* Fill @sa for @path; -1 with @err if it does not fit sun_path. */
int unix_sockaddr(const char *path, struct sockaddr_un *sa, struct herr *err);

/*
 * A socket of @type (SOCK_STREAM or SOCK_SEQPACKET, optionally ORed with
 * SOCK_NONBLOCK; always close-on-exec) bound to @path and listening with
 * @backlog.  Returns the fd, or -1 with @err naming @path; err->errnum is
 * EADDRINUSE when something already sits at @path and REPLACE was not
 * asked for, so a caller can check whether a live owner answers there.
 * A socket file this call bound is removed again if listen fails.
 */
int unix_listen(const char *path, int type, int backlog, unsigned int flags,
		struct herr *err);

#endif
