// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unix-sock.h"
#include "util.h"

int unix_sockaddr(const char *path, struct sockaddr_un *sa, struct herr *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"socket path %s: longer than %zu bytes", path,
				sizeof(sa->sun_path) - 1);
	strcpy(sa->sun_path, path);
	return 0;
}

int unix_listen(const char *path, int type, int backlog, unsigned int flags,
		struct herr *err)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa;

	if (unix_sockaddr(path, &sa, err) < 0)
		return -1;
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return herr_errno(err, errno, "socket for %s", path);
	if (flags & UNIX_LISTEN_REPLACE)
		unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return herr_errno(err, errno, "bind %s", path);
	if (((flags & UNIX_LISTEN_PRIVATE) && chmod(path, 0600) < 0) ||
	    listen(fd, backlog) < 0) {
		int e = errno;

		unlink(path);
		return herr_errno(err, e, "listen on %s", path);
	}
	return steal_fd(&fd);
}
