// SPDX-License-Identifier: Apache-2.0
/*
 * Cloud Hypervisor at its protocol boundary: the REST API on the VMM's
 * unix socket (HTTP/1.1, one request per connection, always a
 * Content-Length: its micro-http server reads no chunked bodies) and the
 * host side of hybrid vsock ("CONNECT <port>\n", answered "OK <port>\n").
 * Cloud Hypervisor is not packaged for Debian, so nothing here has run
 * against the real VMM; tests/unit/host_clh.c checks it against a server
 * that follows the published API (reference/protocols.md section 5).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <json-c/json.h>

#include "hv.h"
#include "util.h"

#define CLH_MAX_HEADER 8192
#define CLH_MAX_BODY (1 << 20)
#define HVSOCK_MAX_LINE 64

static int unix_connect_nb(const char *path, struct herr *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return herr_set(err, GRPC_INVALID_ARGUMENT, ENAMETOOLONG,
				"connect %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return herr_errno(err, errno, "socket");
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		if (e == EINTR)
			continue;
		close(fd);
		return herr_errno(err, e, "connect %s", path);
	}
	return fd;
}

/* Wait until @fd is readable (or writable), up to @deadline. */
static int wait_fd(int fd, short events, long long deadline, const char *what,
		   struct herr *err)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		long long left = deadline - now_ms();
		int n;

		if (left <= 0)
			return herr_set(err, GRPC_DEADLINE_EXCEEDED, 0,
					"%s: no answer in time", what);
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return herr_errno(err, errno, "%s: poll", what);
		if (n > 0)
			return 0;
	}
}

static int send_all(int fd, const char *buf, size_t len, long long deadline,
		    const char *what, struct herr *err)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (wait_fd(fd, POLLOUT, deadline, what, err) < 0)
				return -1;
			continue;
		}
		if (n < 0)
			return herr_errno(err, errno, "%s: send", what);
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read into @buf (capacity @cap) at @*len; 0 on EOF, -1 on error. */
static ssize_t recv_some(int fd, char *buf, size_t cap, size_t *len,
			 long long deadline, const char *what, struct herr *err)
{
	for (;;) {
		ssize_t n;

		if (wait_fd(fd, POLLIN, deadline, what, err) < 0)
			return -1;
		n = recv(fd, buf + *len, cap - *len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return herr_errno(err, errno, "%s: recv", what);
		*len += (size_t)n;
		return n;
	}
}

/* Case-insensitive header lookup in the header block @h. */
static const char *header(const char *h, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(h, "\r\n"); p; p = strstr(p, "\r\n")) {
		p += 2;
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			p += n + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
	}
	return NULL;
}

/* The VMM's bytes quoted in a message: no control characters. */
static void printable(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
}

int clh_http_head(char *buf, size_t len, int *code, size_t *hlen, size_t *blen,
		  struct herr *err)
{
	char *end = strstr(buf, "\r\n\r\n"), line[48];
	const char *cl;

	if (!end) {
		/* A NUL in the head hides its end: too long, in the end. */
		if (len >= CLH_MAX_HEADER)
			return herr_set(err, GRPC_INTERNAL, 0,
					"response header too long");
		return 1;
	}
	if (sscanf(buf, "HTTP/1.%*1[01] %3d", code) != 1 || *code < 100 ||
	    *code > 599) {
		snprintf(line, sizeof(line), "%s", buf);
		line[strcspn(line, "\r\n")] = '\0';
		printable(line);
		return herr_set(err, GRPC_INTERNAL, 0,
				"not an HTTP response: %s", line);
	}
	*end = '\0';
	*hlen = (size_t)(end - buf) + 4;
	*blen = 0;
	cl = header(buf, "Content-Length");
	if (cl) {
		char *stop;
		unsigned long v;

		/* Digits only: no sign, no spaces, nothing after. */
		if (*cl < '0' || *cl > '9')
			return herr_set(err, GRPC_INTERNAL, 0,
					"bad Content-Length");
		v = strtoul(cl, &stop, 10);
		if ((*stop && *stop != '\r') || v > CLH_MAX_BODY)
			return herr_set(err, GRPC_INTERNAL, 0,
					"bad Content-Length");
		*blen = v;
	}
	return 0;
}

/* The body (NUL-terminated), starting with the @have bytes at @got. */
static char *read_body(int fd, const char *got, size_t have, size_t blen,
		       long long deadline, const char *what, struct herr *err)
{
	char *p = xmalloc(blen + 1);
	ssize_t n;

	if (have > blen)
		have = blen;
	memcpy(p, got, have);
	while (have < blen) {
		n = recv_some(fd, p, blen, &have, deadline, what, err);
		if (n <= 0) {
			if (n == 0)
				herr_set(err, GRPC_UNAVAILABLE, 0,
					 "%s: body cut short", what);
			free(p);
			return NULL;
		}
	}
	p[have] = '\0';
	return p;
}

/*
 * The request's first bytes go in one sendmsg() with @fds attached
 * (SCM_RIGHTS): the VMM takes the descriptors with the request they came
 * with (tap fds for vm.add-net).
 */
static int send_with_fds(int fd, const char *buf, size_t len, const int *fds,
			 size_t n_fds, long long deadline, const char *what,
			 struct herr *err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VM_NICS_MAX)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t n;

	if (!n_fds)
		return send_all(fd, buf, len, deadline, what, err);
	if (n_fds > VM_NICS_MAX)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s: %zu descriptors, at most %d", what, n_fds,
				VM_NICS_MAX);
	memset(&u, 0, sizeof(u));
	msg.msg_control = u.buf;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	for (;;) {
		n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (wait_fd(fd, POLLOUT, deadline, what, err) < 0)
				return -1;
			continue;
		}
		if (n < 0)
			return herr_errno(err, errno, "%s: sendmsg", what);
		break;
	}
	return send_all(fd, buf + n, len - (size_t)n, deadline, what, err);
}

int clh_api_call(const char *api_sock, const char *method, const char *endpoint,
		 const char *body, long long timeout_ms, int *status,
		 char **resp_body, struct herr *err)
{
	return clh_api_call_fds(api_sock, method, endpoint, body, NULL, 0,
				timeout_ms, status, resp_body, err);
}

int clh_api_call_fds(const char *api_sock, const char *method,
		     const char *endpoint, const char *body, const int *fds,
		     size_t n_fds, long long timeout_ms, int *status,
		     char **resp_body, struct herr *err)
{
	long long deadline = now_ms() + timeout_ms;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *req = NULL, *buf = NULL;
	char what[96], *p;
	size_t len = 0, cap = CLH_MAX_HEADER, hlen = 0, blen = 0;
	int n, rc, code = 0;

	*status = 0;
	if (resp_body)
		*resp_body = NULL;
	snprintf(what, sizeof(what), "cloud-hypervisor %s %s", method,
		 endpoint);
	fd = unix_connect_nb(api_sock, err);
	if (fd < 0)
		return herr_prefix(err, "%s", what);
	n = asprintf(&req,
		     "%s /api/v1/%s HTTP/1.1\r\n"
		     "Host: localhost\r\n"
		     "Accept: application/json\r\n"
		     "%s"
		     "Content-Length: %zu\r\n"
		     "\r\n"
		     "%s",
		     method, endpoint,
		     body ? "Content-Type: application/json\r\n" : "",
		     body ? strlen(body) : 0, body ? body : "");
	if (n < 0)
		abort();
	if (send_with_fds(fd, req, (size_t)n, fds, n_fds, deadline, what, err) <
	    0)
		return -1;
	/* Status line and headers. */
	buf = xmalloc(cap + 1);
	for (;;) {
		buf[len] = '\0';
		rc = clh_http_head(buf, len, &code, &hlen, &blen, err);
		if (rc < 0)
			return herr_prefix(err, "%s", what);
		if (rc == 0)
			break;
		n = (int)recv_some(fd, buf, cap, &len, deadline, what, err);
		if (n < 0)
			return -1;
		if (n == 0)
			return herr_set(
				err, GRPC_UNAVAILABLE, 0,
				"%s: connection closed without a response",
				what);
	}
	/* Body: what came with the headers, then the rest. */
	p = read_body(fd, buf + hlen, len - hlen, blen, deadline, what, err);
	if (!p)
		return -1;
	*status = code;
	if (code >= 300) {
		printable(p);
		herr_set(err, code == 404 ? GRPC_NOT_FOUND : GRPC_UNAVAILABLE,
			 0, "%s: HTTP %d%s%.300s", what, code, blen ? ": " : "",
			 p);
		free(p);
		return -1;
	}
	if (resp_body)
		*resp_body = p;
	else
		free(p);
	return 0;
}

int clh_ping(const char *api_sock, long long timeout_ms, char **version,
	     struct herr *err)
{
	_cleanup_free_ char *body = NULL;
	const char *v, *e;
	int status;

	if (clh_api_call(api_sock, "GET", "vmm.ping", NULL, timeout_ms, &status,
			 &body, err) < 0)
		return -1;
	/* VmmPingResponse{version (required), ...}: only version is read. */
	v = body ? strstr(body, "\"version\"") : NULL;
	if (v)
		v = strchr(v + 9, '"');
	e = v ? strchr(v + 1, '"') : NULL;
	if (!e)
		return herr_set(
			err, GRPC_INTERNAL, 0,
			"cloud-hypervisor vmm.ping: no version in %.100s",
			body ? body : "");
	if (version)
		*version = strndup(v + 1, (size_t)(e - v - 1));
	return 0;
}

static int put_action(const char *api_sock, const char *endpoint,
		      const char *body, long long timeout_ms, struct herr *err)
{
	int status;

	return clh_api_call(api_sock, "PUT", endpoint, body, timeout_ms,
			    &status, NULL, err);
}

int clh_vm_create(const char *api_sock, const char *vm_config,
		  long long timeout_ms, struct herr *err)
{
	return put_action(api_sock, "vm.create", vm_config, timeout_ms, err);
}

int clh_vm_boot(const char *api_sock, long long timeout_ms, struct herr *err)
{
	return put_action(api_sock, "vm.boot", NULL, timeout_ms, err);
}

int clh_vm_shutdown(const char *api_sock, long long timeout_ms,
		    struct herr *err)
{
	return put_action(api_sock, "vm.shutdown", NULL, timeout_ms, err);
}

int clh_vmm_shutdown(const char *api_sock, long long timeout_ms,
		     struct herr *err)
{
	return put_action(api_sock, "vmm.shutdown", NULL, timeout_ms, err);
}

int clh_vm_add_net(const char *api_sock, unsigned int index,
		   const unsigned char mac[6], int tap_fd, long long timeout_ms,
		   struct herr *err)
{
	char body[160];
	int status;

	/*
	 * One queue pair per tap fd (num_queues counts both directions);
	 * the tap itself travels as SCM_RIGHTS, never by name.
	 */
	snprintf(body, sizeof(body),
		 "{\"id\":\"net%u\",\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\","
		 "\"num_queues\":2,\"queue_size\":256}",
		 index, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return clh_api_call_fds(api_sock, "PUT", "vm.add-net", body, &tap_fd, 1,
				timeout_ms, &status, NULL, err);
}

/* VmInfo.state, the enum of the published schema. */
static const char *const vm_states[] = { "Created", "Running", "Shutdown",
					 "Paused", "BreakPoint" };

int clh_vm_info_parse(const char *body, const char **state, struct herr *err)
{
	struct json_object *root, *st, *cfg;
	const char *v;
	char quoted[48];
	int rc = -1;

	*state = NULL;
	/* VmInfo{config (required), state (required), ...}. */
	root = json_tokener_parse(body);
	if (!root || !json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "config", &cfg) ||
	    !json_object_is_type(cfg, json_type_object) ||
	    !json_object_object_get_ex(root, "state", &st) ||
	    !json_object_is_type(st, json_type_string)) {
		snprintf(quoted, sizeof(quoted), "%s", body);
		printable(quoted);
		herr_set(err, GRPC_INTERNAL, 0, "not a VmInfo: %s", quoted);
		goto out;
	}
	v = json_object_get_string(st);
	for (size_t i = 0; i < ARRAY_SIZE(vm_states); i++)
		if (!strcmp(v, vm_states[i])) {
			*state = vm_states[i];
			rc = 0;
			goto out;
		}
	snprintf(quoted, sizeof(quoted), "%s", v);
	printable(quoted);
	herr_set(err, GRPC_INTERNAL, 0, "unknown state \"%s\"", quoted);
out:
	json_object_put(root);
	return rc;
}

int clh_vm_info_state(const char *api_sock, long long timeout_ms,
		      const char **state, struct herr *err)
{
	_cleanup_free_ char *body = NULL;
	int status;

	*state = NULL;
	if (clh_api_call(api_sock, "GET", "vm.info", NULL, timeout_ms, &status,
			 &body, err) < 0)
		return -1;
	if (clh_vm_info_parse(body ? body : "", state, err) < 0)
		return herr_prefix(err, "cloud-hypervisor GET vm.info");
	return 0;
}

/* ---- VmConfig ------------------------------------------------------- */

struct jbuf {
	char *s;
	size_t len, cap;
};

static void jb_put(struct jbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

__attribute__((format(printf, 2, 3))) static void
jb_printf(struct jbuf *b, const char *fmt, ...)
{
	char *s;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	jb_put(b, s, (size_t)n);
	free(s);
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void jb_str(struct jbuf *b, const char *s)
{
	jb_put(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			jb_printf(b, "\\%c", *p);
		else if (*p < 0x20)
			jb_printf(b, "\\u%04x", *p);
		else
			jb_put(b, (const char *)p, 1);
	}
	jb_put(b, "\"", 1);
}

char *clh_vm_config(const struct vm_params *p, const char *cmdline,
		    const char *vsock_sock, const char *console_log)
{
	const struct husk_config *cfg = p->cfg;
	/* The boot size sizing.h chose, else the configuration's. */
	unsigned int vcpus = p->vcpus		  ? p->vcpus
			     : cfg->default_vcpus ? cfg->default_vcpus
						  : 1;
	unsigned int mib = p->mem_mib		  ? p->mem_mib
			   : cfg->default_memory ? cfg->default_memory
						 : 256;
	unsigned long long mem = (unsigned long long)mib << 20;
	bool vfs = cfg->shared_fs == SHARED_FS_VIRTIO_FS;
	struct jbuf b = { 0 };

	/* The v26+ shape: payload{} (older releases had kernel/cmdline). */
	jb_printf(&b, "{\"payload\":{\"kernel\":");
	jb_str(&b, cfg->kernel);
	jb_printf(&b, ",\"cmdline\":");
	jb_str(&b, cmdline);
	if (cfg->initrd) {
		jb_printf(&b, ",\"initramfs\":");
		jb_str(&b, cfg->initrd);
	}
	jb_printf(&b, "},\"cpus\":{\"boot_vcpus\":%u,\"max_vcpus\":%u}", vcpus,
		  vcpus);
	/* vhost-user (virtio-fs) maps guest RAM: it must be shared. */
	jb_printf(&b, ",\"memory\":{\"size\":%llu,\"shared\":%s}", mem,
		  vfs ? "true" : "false");
	if (cfg->image) {
		/* Writes are never persisted: the image is shared by VMs. */
		jb_printf(&b, ",\"pmem\":[{\"file\":");
		jb_str(&b, cfg->image);
		jb_printf(&b, ",\"discard_writes\":true}]");
	}
	if (vfs) {
		_cleanup_free_ char *sock = NULL;

		if (asprintf(&sock, "%s/" VM_FS_SOCK, p->run_dir) < 0)
			abort();
		jb_printf(&b, ",\"fs\":[{\"tag\":\"kataShared\",\"socket\":");
		jb_str(&b, sock);
		jb_printf(&b, ",\"num_queues\":1,\"queue_size\":1024}]");
	}
	/* Hybrid vsock: the guest CID is always 3. */
	jb_printf(&b, ",\"vsock\":{\"cid\":3,\"socket\":");
	jb_str(&b, vsock_sock);
	jb_printf(&b, "},\"serial\":{\"mode\":\"File\",\"file\":");
	jb_str(&b, console_log);
	jb_printf(&b, "},\"console\":{\"mode\":\"Off\"}");
	jb_printf(&b, ",\"rng\":{\"src\":\"/dev/urandom\"}}");
	return b.s;
}

/* ---- hybrid vsock --------------------------------------------------- */

int hvsock_try(const char *uds, unsigned int port, long long deadline,
	       struct herr *err)
{
	char req[32], line[HVSOCK_MAX_LINE], what[160];
	_cleanup_close_ int fd = -1;
	size_t len = 0;
	ssize_t r = -1;
	int n;

	snprintf(what, sizeof(what), "hybrid vsock %s port %u", uds, port);
	n = snprintf(req, sizeof(req), "CONNECT %u\n", port);
	fd = unix_connect_nb(uds, err);
	if (fd < 0)
		return herr_prefix(err, "%s", what);
	if (send_all(fd, req, (size_t)n, deadline, what, err) < 0)
		return -1;
	/* Byte by byte: what follows "OK" is the stream's. */
	while (len + 1 < sizeof(line)) {
		r = recv_some(fd, line, len + 1, &len, deadline, what, err);
		if (r < 0)
			return -1;
		if (r == 0 || line[len - 1] == '\n')
			break;
	}
	line[len] = '\0';
	/* "OK <local port>\n": anything else is no handshake. */
	if (len > 4 && !strncmp(line, "OK ", 3) && line[len - 1] == '\n' &&
	    strspn(line + 3, "0123456789") == len - 4)
		return steal_fd(&fd);
	/* The muxer answers OK or hangs up: a line is a broken VMM. */
	if (len && line[len - 1] == '\n') {
		line[len - 1] = '\0';
		printable(line);
		return herr_set(err, GRPC_INTERNAL, 0,
				"%s: not a handshake answer: %.40s", what,
				line);
	}
	if (len + 1 >= sizeof(line))
		return herr_set(err, GRPC_INTERNAL, 0, "%s: answer too long",
				what);
	return herr_set(err, GRPC_UNAVAILABLE, 0,
			"%s: closed without OK (nothing listening in the guest "
			"yet)",
			what);
}

int hvsock_connect(const char *uds, unsigned int port, long long timeout_ms,
		   struct herr *err)
{
	long long deadline = now_ms() + timeout_ms;
	struct herr last;

	herr_set(&last, GRPC_UNAVAILABLE, 0,
		 "hybrid vsock %s port %u: not tried", uds, port);
	/* Until something in the guest listens, the VMM just hangs up. */
	while (now_ms() < deadline) {
		int fd = hvsock_try(uds, port, deadline, &last);

		if (fd >= 0)
			return fd;
		if (last.code == GRPC_INTERNAL)
			return herr_set(err, last.code, 0, "%s", last.msg);
		if (last.code == GRPC_DEADLINE_EXCEEDED)
			break;
		usleep(20000);
	}
	return herr_set(err, GRPC_DEADLINE_EXCEEDED, 0,
			"%s (gave up after %lld ms)", last.msg, timeout_ms);
}
