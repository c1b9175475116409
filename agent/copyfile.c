// SPDX-License-Identifier: Apache-2.0
/*
 * CopyFile: files pushed into the guest when there is no shared
 * filesystem.  The destination may sit in a tree a container can write to,
 * so the path is checked twice: by its text (absolute, no "..", under the
 * allowed root) and by where each directory on the way really is (a
 * symlink that leads out of the root is refused).  All changes then happen
 * relative to the verified parent directory, never through a path again.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copyfile.h"
#include "path.h"
#include "util.h"

#define TMP_SUFFIX ".tmp"

/* Is @path @root itself or inside it (both clean)? */
static bool path_under(const char *path, const char *root)
{
	size_t len = strlen(root);

	if (!strcmp(root, "/"))
		return true;
	return !strncmp(path, root, len) &&
	       (path[len] == '/' || path[len] == '\0');
}

/* Where the directory open on @fd really is. */
static int fd_realpath(int fd, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

/*
 * Open the directory @rel (components below the root, '/'-separated)
 * starting from @root_fd, creating what is missing with @dir_mode.  Each
 * step must still be under @root_real once symlinks are followed.
 * Returns the fd, or -1 with @err filled.
 */
static int open_parent(int root_fd, const char *root_real, char *rel,
		       mode_t dir_mode, const char *path, struct herr *err)
{
	_cleanup_close_ int cur = -1;
	char real[PATH_MAX];
	char *comp, *next;
	int fd, r;

	cur = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
	if (cur < 0)
		return herr_errno(err, errno, "copy file %s: dup", path);
	for (comp = rel; comp && *comp; comp = next) {
		next = strchr(comp, '/');
		if (next)
			*next++ = '\0';
		fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			if (mkdirat(cur, comp, dir_mode) < 0 && errno != EEXIST)
				return herr_errno(err, errno,
						  "copy file %s: mkdir %s",
						  path, comp);
			fd = openat(cur, comp,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					    O_CLOEXEC);
			/* mkdir honours the umask; the runtime's mode wins. */
			if (fd >= 0 && fchmod(fd, dir_mode) < 0) {
				r = errno;
				close(fd);
				return herr_errno(err, r,
						  "copy file %s: chmod %s",
						  path, comp);
			}
		}
		if (fd < 0)
			return herr_errno(err, errno, "copy file %s: open %s",
					  path, comp);
		close(cur);
		cur = fd;
		r = fd_realpath(cur, real, sizeof(real));
		if (r < 0)
			return herr_errno(err, -r, "copy file %s: resolve %s",
					  path, comp);
		if (!path_under(real, root_real))
			return herr_set(
				err, GRPC_PERMISSION_DENIED, 0,
				"copy file %s: %s leads to %s, outside %s",
				path, comp, real, root_real);
	}
	return steal_fd(&cur);
}

static int copy_dir(int parent, const char *name,
		    const Grpc__CopyFileRequest *req, struct herr *err)
{
	_cleanup_close_ int fd = -1;

	if (mkdirat(parent, name, req->file_mode & 07777) < 0 &&
	    errno != EEXIST)
		return herr_errno(err, errno, "copy file %s: mkdir", req->path);
	/* O_NOFOLLOW: an existing symlink here is not a directory to fix up. */
	fd = openat(parent, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return herr_errno(err, errno == ELOOP ? ENOTDIR : errno,
				  "copy file %s: open directory", req->path);
	/* chown first: it may clear set-id bits that chmod then restores. */
	if (fchown(fd, (uid_t)req->uid, (gid_t)req->gid) < 0)
		return herr_errno(err, errno, "copy file %s: chown %d:%d",
				  req->path, req->uid, req->gid);
	if (fchmod(fd, req->file_mode & 07777) < 0)
		return herr_errno(err, errno, "copy file %s: chmod %o",
				  req->path, req->file_mode & 07777);
	return 0;
}

/* The link is made aside and renamed over, so an old one is replaced. */
static int copy_symlink(int parent, const char *name, const char *tmp,
			const Grpc__CopyFileRequest *req, struct herr *err)
{
	_cleanup_free_ char *target = NULL;

	if (!req->data.len || memchr(req->data.data, '\0', req->data.len))
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"copy file %s: symlink target is empty or holds NUL",
			req->path);
	target = xmalloc(req->data.len + 1);
	memcpy(target, req->data.data, req->data.len);
	target[req->data.len] = '\0';
	if (unlinkat(parent, tmp, 0) < 0 && errno != ENOENT)
		return herr_errno(err, errno, "copy file %s: remove %s",
				  req->path, tmp);
	if (symlinkat(target, parent, tmp) < 0)
		return herr_errno(err, errno, "copy file %s: symlink to %s",
				  req->path, target);
	if (fchownat(parent, tmp, (uid_t)req->uid, (gid_t)req->gid,
		     AT_SYMLINK_NOFOLLOW) < 0 ||
	    renameat(parent, tmp, parent, name) < 0) {
		herr_errno(err, errno, "copy file %s: install symlink",
			   req->path);
		unlinkat(parent, tmp, 0);
		return -1;
	}
	return 0;
}

static int copy_chunk(int parent, const char *name, const char *tmp,
		      const Grpc__CopyFileRequest *req, struct herr *err)
{
	_cleanup_close_ int fd = -1;
	const int64_t len = (int64_t)req->data.len;
	struct stat st;
	ssize_t n;
	size_t done = 0;

	if (req->file_size < 0 || req->offset < 0)
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"copy file %s: negative file_size %lld or offset %lld",
			req->path, (long long)req->file_size,
			(long long)req->offset);
	if (req->offset > req->file_size - len)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"copy file %s: chunk at offset %lld of %lld "
				"bytes goes beyond file_size %lld",
				req->path, (long long)req->offset,
				(long long)len, (long long)req->file_size);
	/* The first chunk starts afresh; later ones continue the .tmp file. */
	fd = openat(parent, tmp,
		    O_WRONLY | O_NOFOLLOW | O_CLOEXEC |
			    (req->offset == 0 ? O_CREAT | O_TRUNC : 0),
		    0600);
	if (fd < 0 && errno == ENOENT)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"copy file %s: offset %lld but no earlier "
				"chunk was received",
				req->path, (long long)req->offset);
	if (fd < 0)
		return herr_errno(err, errno, "copy file %s: open %s",
				  req->path, tmp);
	if (fstat(fd, &st) < 0)
		return herr_errno(err, errno, "copy file %s: stat %s",
				  req->path, tmp);
	if (!S_ISREG(st.st_mode))
		return herr_set(err, GRPC_FAILED_PRECONDITION, 0,
				"copy file %s: %s is not a regular file",
				req->path, tmp);
	/* A gap would mean a chunk was lost. */
	if (req->offset > st.st_size)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"copy file %s: offset %lld is past the %lld "
				"bytes received so far",
				req->path, (long long)req->offset,
				(long long)st.st_size);
	while (done < req->data.len) {
		n = pwrite(fd, req->data.data + done, req->data.len - done,
			   (off_t)(req->offset + (int64_t)done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return herr_errno(err, n < 0 ? errno : EIO,
					  "copy file %s: write", req->path);
		done += (size_t)n;
	}
	if (req->offset + len != req->file_size)
		return 0;

	/* The last chunk: drop any stale tail, set owner and mode, publish. */
	if (ftruncate(fd, (off_t)req->file_size) < 0)
		return herr_errno(err, errno, "copy file %s: truncate",
				  req->path);
	if (fchown(fd, (uid_t)req->uid, (gid_t)req->gid) < 0)
		return herr_errno(err, errno, "copy file %s: chown %d:%d",
				  req->path, req->uid, req->gid);
	if (fchmod(fd, req->file_mode & 07777) < 0)
		return herr_errno(err, errno, "copy file %s: chmod %o",
				  req->path, req->file_mode & 07777);
	if (renameat(parent, tmp, parent, name) < 0)
		return herr_errno(err, errno, "copy file %s: rename from %s",
				  req->path, tmp);
	return 0;
}

int copy_file(const Grpc__CopyFileRequest *req, const char *allowed_root,
	      struct herr *err)
{
	_cleanup_free_ char *path = NULL, *root = NULL, *rel = NULL;
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int root_fd = -1, parent = -1;
	char root_real[PATH_MAX];
	mode_t dir_mode;
	const char *name;
	char *slash;
	size_t rlen;
	int r;

	if (!req || !req->path || !*req->path)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"copy file: path is empty");
	if (req->path[0] != '/')
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"copy file %s: path is not absolute",
				req->path);
	path = path_clean(req->path);
	if (!path)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"copy file %s: path contains \"..\"",
				req->path);
	root = allowed_root ? path_clean(allowed_root) : NULL;
	if (!root)
		return herr_set(err, GRPC_INTERNAL, 0,
				"copy file %s: bad allowed root \"%s\"",
				req->path, allowed_root ? allowed_root : "");
	if (!path_under(path, root) || !strcmp(path, root))
		return herr_set(err, GRPC_PERMISSION_DENIED, 0,
				"copy file %s: path is not under %s", req->path,
				root);

	/* Without a shared fs nothing has made the root yet. */
	r = mkdir_p(root, 0755);
	if (r < 0)
		return herr_errno(err, -r, "copy file %s: mkdir %s", req->path,
				  root);
	root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return herr_errno(err, errno, "copy file %s: open %s",
				  req->path, root);
	r = fd_realpath(root_fd, root_real, sizeof(root_real));
	if (r < 0)
		return herr_errno(err, -r, "copy file %s: resolve %s",
				  req->path, root);

	/* Below the root: parent components, then the name. */
	rlen = strcmp(root, "/") ? strlen(root) : 0;
	rel = xstrdup(path + rlen + 1);
	slash = strrchr(rel, '/');
	if (slash)
		*slash = '\0';
	name = slash ? slash + 1 : rel;
	dir_mode = req->dir_mode & 07777 ? req->dir_mode & 07777 : 0755;
	parent = open_parent(root_fd, root_real, slash ? rel : NULL, dir_mode,
			     req->path, err);
	if (parent < 0)
		return -1;
	if (strlen(name) + sizeof(TMP_SUFFIX) > NAME_MAX + 1)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"copy file %s: name too long", req->path);
	tmp = xmalloc(strlen(name) + sizeof(TMP_SUFFIX));
	strcpy(tmp, name);
	strcat(tmp, TMP_SUFFIX);

	switch (req->file_mode & S_IFMT) {
	case S_IFDIR:
		return copy_dir(parent, name, req, err);
	case S_IFLNK:
		return copy_symlink(parent, name, tmp, req, err);
	case 0:
	case S_IFREG:
		return copy_chunk(parent, name, tmp, req, err);
	default:
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"copy file %s: file_mode %o is not a file, "
				"directory or symlink",
				req->path, req->file_mode);
	}
}
