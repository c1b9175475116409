// SPDX-License-Identifier: Apache-2.0
/*
 * containerd runs "<shim> ... start" in the bundle and reads its combined
 * stdout and stderr as the address, so nothing but the address (or, on
 * failure, one error line) may be printed.  A container that belongs to a
 * pod whose shim already runs gets that shim's address and no process; any
 * other gets a new daemon: this binary again without the action word, with
 * the listening socket as fd 3, in its own session, stdio on /dev/null.
 */
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spec.h"
#include "start.h"
#include "unix-sock.h"
#include "util.h"

char *go_path_clean(const char *path)
{
	size_t n = strlen(path), w = 0, r = 0, dotdot = 0;
	bool rooted = n && path[0] == '/';
	char *out = xmalloc(n + 2);

	if (n == 0) {
		strcpy(out, ".");
		return out;
	}
	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (path[r] == '/') {
			r++;
		} else if (path[r] == '.' &&
			   (r + 1 == n || path[r + 1] == '/')) {
			r++;
		} else if (path[r] == '.' && path[r + 1] == '.' &&
			   (r + 2 == n || path[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				/* back up over the last element */
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				/* cannot back up: keep the .. */
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && path[r] != '/'; r++)
				out[w++] = path[r];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

char *shim_socket_address(const char *address, const char *ns, const char *id,
			  struct herr *err)
{
	const char *parts[] = { address, ns, id };
	uint8_t md[SHA256_DIGEST_SIZE];
	_cleanup_free_ char *joined = NULL, *clean = NULL;
	char hex[2 * SHA256_DIGEST_SIZE + 1], *out;
	struct sha256_ctx ctx;
	size_t len = 0;

	/* filepath.Join: the non-empty elements joined by '/', then cleaned. */
	joined = xcalloc(strlen(address) + strlen(ns) + strlen(id) + 3, 1);
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		if (!*parts[i])
			continue;
		if (len)
			joined[len++] = '/';
		strcpy(joined + len, parts[i]);
		len += strlen(parts[i]);
	}
	clean = len ? go_path_clean(joined) : xstrdup("");
	/* nettle, not OpenSSL: a far smaller library in every shim's RSS. */
	sha256_init(&ctx);
	sha256_update(&ctx, strlen(clean), (const uint8_t *)clean);
	sha256_digest(&ctx, sizeof(md), md);
	for (size_t i = 0; i < sizeof(md); i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	if (asprintf(&out, "unix://" SHIM_SOCKET_DIR "/%s", hex) < 0)
		abort();
	return out;
}

const char *shim_socket_path(const char *address)
{
	return strncmp(address, "unix://", 7) ? address : address + 7;
}

char *shim_run_dir(const char *ns, const char *sandbox_id)
{
	const char *root = getenv("HUSK_RUN_ROOT");
	char *out;

	if (!root || !*root)
		root = SHIM_RUN_ROOT;
	if (asprintf(&out, "%s/%s/%s", root, ns, sandbox_id) < 0)
		abort();
	return out;
}

int pid_matches(pid_t pid, const char *const *needles)
{
	char path[64], buf[8192], state = 0;
	_cleanup_close_ int fd = -1;
	ssize_t n;
	FILE *f;

	if (pid <= 1)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	/* "pid (comm) S ...": the state follows the last ')'. */
	n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (n > 0) {
		char *p;

		buf[n] = '\0';
		p = strrchr(buf, ')');
		if (p && p[1] == ' ')
			state = p[2];
	}
	if (state == 0 || state == 'Z' || state == 'X')
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	for (; needles && *needles; needles++)
		if (!strstr(buf, *needles))
			return 0;
	return 1;
}

pid_t read_pid_file(const char *dir, const char *name)
{
	_cleanup_free_ char *path = NULL;
	char buf[32] = "";
	_cleanup_close_ int fd = -1;
	ssize_t n;
	long v;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		abort();
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	v = strtol(buf, NULL, 10);
	return v > 1 && v < (1 << 22) ? (pid_t)v : 0;
}

static bool socket_answers(const char *path)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa;
	struct herr err;
	int r;

	if (fd < 0 || unix_sockaddr(path, &sa, &err) < 0)
		return false;
	do
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	while (r < 0 && errno == EINTR);
	return r == 0;
}

static int listen_at(const char *path, struct herr *err)
{
	const unsigned int priv = UNIX_LISTEN_PRIVATE;
	int fd;

	if (mkdir(SHIM_SOCKET_DIR, 0711) < 0 && errno != EEXIST) {
		if (mkdir("/run/containerd", 0711) < 0 && errno != EEXIST)
			return herr_errno(err, errno, "mkdir /run/containerd");
		if (mkdir(SHIM_SOCKET_DIR, 0711) < 0 && errno != EEXIST)
			return herr_errno(err, errno, "mkdir " SHIM_SOCKET_DIR);
	}
	fd = unix_listen(path, SOCK_STREAM, 64, priv, err);
	if (fd >= 0 || err->errnum != EADDRINUSE)
		return fd;
	/* A live shim already serves this id: refuse to steal it. */
	if (socket_answers(path))
		return herr_set(err, GRPC_ALREADY_EXISTS, 0,
				"a shim already serves %s", path);
	return unix_listen(path, SOCK_STREAM, 64, priv | UNIX_LISTEN_REPLACE,
			   err);
}

/*
 * Start the daemon: this binary, same flags, no action word, the listening
 * socket on fd 3.  A close-on-exec pipe reports a failed exec.
 */
static pid_t spawn_daemon(int lfd, int argc, char *const argv[],
			  struct herr *err)
{
	int pfd[2];
	char **args = xcalloc((size_t)argc + 1, sizeof(char *));
	pid_t pid;
	int child_errno = 0;
	ssize_t n;

	/* Everything but the trailing action word. */
	for (int i = 0; i < argc - 1; i++)
		args[i] = argv[i];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		free(args);
		return herr_errno(err, errno, "pipe");
	}
	pid = fork();
	if (pid < 0) {
		herr_errno(err, errno, "fork");
		close(pfd[0]);
		close(pfd[1]);
		free(args);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		close(pfd[0]);
		if (lfd != 3) {
			if (dup2(lfd, 3) < 0)
				goto fail;
		} else if (fcntl(3, F_SETFD, 0) < 0) {
			goto fail;
		}
		if (setsid() < 0 || null < 0 || dup2(null, 0) < 0 ||
		    dup2(null, 1) < 0 || dup2(null, 2) < 0)
			goto fail;
		signal(SIGPIPE, SIG_DFL);
		execv("/proc/self/exe", args);
fail:
		child_errno = errno;
		if (write(pfd[1], &child_errno, sizeof(child_errno)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	free(args);
	do
		n = read(pfd[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n > 0) {
		waitpid(pid, NULL, 0);
		return herr_errno(err, child_errno, "start the shim daemon");
	}
	return pid;
}

/* Pod members reuse the pod's shim: its address, no new process. */
static int pod_address(const struct shim_flags *f, char **address,
		       struct herr *err)
{
	_cleanup_free_ char *text = NULL, *sid = NULL;
	bool member;
	size_t len;

	*address = NULL;
	if (spec_read_file("config.json", SPEC_JSON_MAX, &text, &len, err) < 0)
		return herr_prefix(err, "bundle");
	if (spec_pod_info(text, len, &sid, &member, err) < 0)
		return herr_prefix(err, "config.json");
	if (!member || !sid || !strcmp(sid, f->id))
		return 0;
	*address = shim_socket_address(f->address, f->namespace_, sid, err);
	if (!*address)
		return -1;
	if (!socket_answers(shim_socket_path(*address))) {
		herr_set(err, GRPC_NOT_FOUND, 0,
			 "container %s belongs to pod %s, but no shim serves "
			 "that pod at %s",
			 f->id, sid, *address);
		free(steal_pointer(address));
		return -1;
	}
	return 0;
}

static int do_start(const struct shim_flags *f, int argc, char *const argv[],
		    char **address_out, struct herr *err)
{
	_cleanup_free_ char *address = NULL, *cwd = NULL;
	_cleanup_close_ int lfd = -1;
	char pidbuf[32];
	pid_t pid;

	if (!*f->id || !*f->namespace_)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"start needs -id and -namespace");
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return herr_errno(err, errno, "getcwd");
	if (pod_address(f, &address, err) < 0)
		return -1;
	if (address) {
		if (write_file_atomic(cwd, "address", address, err) < 0)
			return -1;
		*address_out = steal_pointer(&address);
		return 0;
	}
	address = shim_socket_address(f->address, f->namespace_, f->id, err);
	if (!address)
		return -1;
	lfd = listen_at(shim_socket_path(address), err);
	if (lfd < 0)
		return -1;
	pid = spawn_daemon(lfd, argc, argv, err);
	if (pid < 0) {
		unlink(shim_socket_path(address));
		return -1;
	}
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	if (write_file_atomic(cwd, "shim.pid", pidbuf, err) < 0 ||
	    write_file_atomic(cwd, "address", address, err) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		unlink(shim_socket_path(address));
		return -1;
	}
	*address_out = steal_pointer(&address);
	return 0;
}

int shim_start(const struct shim_flags *f, int argc, char *const argv[])
{
	_cleanup_free_ char *address = NULL;
	char started[32];
	struct herr err;

	/* CLOCK_MONOTONIC is the host's: the daemon can compare with it. */
	snprintf(started, sizeof(started), "%lld", now_ms());
	setenv(SHIM_START_ENV, started, 1);
	if (do_start(f, argc, argv, &address, &err) < 0) {
		fprintf(stderr, "containerd-shim-husk-v2 start: %s\n", err.msg);
		return 1;
	}
	if (write_all(1, address, strlen(address)) < 0)
		return 1;
	return 0;
}
