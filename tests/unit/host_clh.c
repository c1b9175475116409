// SPDX-License-Identifier: Apache-2.0
/*
 * Cloud Hypervisor's protocol boundary against test servers that follow
 * the published API (Cloud Hypervisor itself is not packaged here): the
 * REST calls (ping, vm.create with its VmConfig, vm.boot, vm.shutdown,
 * error bodies, split and missing responses, a server that never answers)
 * and the hybrid vsock handshake (hang-ups while nothing listens, then
 * "OK <port>" with stream bytes right behind it, which must not be lost).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0)
		abort();
	return fd;
}

static void reply(int fd, const char *status, const char *body)
{
	char head[256];
	int n = snprintf(
		head, sizeof(head),
		"HTTP/1.1 %s\r\nServer: Cloud Hypervisor API\r\n"
		"Connection: keep-alive\r\n%sContent-Length: %zu\r\n\r\n",
		status, body ? "Content-Type: application/json\r\n" : "",
		body ? strlen(body) : 0);

	if (write_all(fd, head, (size_t)n) < 0 ||
	    (body && write_all(fd, body, strlen(body)) < 0))
		_exit(3);
}

/* Read one request: headers, then Content-Length bytes of body. */
static int read_request(int fd, char *buf, size_t cap, char **body)
{
	size_t len = 0;
	char *end;
	const char *cl;
	size_t blen;

	for (;;) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end)
			break;
	}
	cl = strcasestr(buf, "\r\nContent-Length: ");
	if (!cl)
		return -1;
	blen = strtoul(cl + 18, NULL, 10);
	*body = end + 4;
	while ((size_t)(buf + len - *body) < blen) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
	(*body)[blen] = '\0';
	return 0;
}

/* A descriptor sent with the request's first bytes (SCM_RIGHTS), or -1. */
static int peek_fd(int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	int got = -1;

	if (recvmsg(fd, &msg, MSG_PEEK | MSG_CMSG_CLOEXEC) <= 0)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(&got, CMSG_DATA(c), sizeof(got));
	return got;
}

/* The REST server: one request per connection, like the client sends. */
static void api_server(int lfd, const char *dir)
{
	for (;;) {
		char buf[65536], path[256], *body;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), got_fd;

		if (fd < 0)
			_exit(2);
		got_fd = peek_fd(fd);
		if (read_request(fd, buf, sizeof(buf), &body) < 0) {
			close(fd);
			continue;
		}
		if (!strncmp(buf, "GET /api/v1/vmm.ping HTTP/1.1\r\n", 31)) {
			reply(fd, "200 OK",
			      "{\"version\":\"v38.0\",\"build_version\":\"v38."
			      "0-test\",\"pid\":42,\"features\":[]}");
		} else if (!strncmp(buf, "PUT /api/v1/vm.create ", 22)) {
			int out;

			/* The VMM needs both headers; it reads no chunking. */
			if (!strcasestr(
				    buf,
				    "\r\nContent-Type: application/json\r\n") ||
			    body[0] != '{') {
				reply(fd, "400 Bad Request", "[\"bad body\"]");
				close(fd);
				continue;
			}
			snprintf(path, sizeof(path), "%s/create.json", dir);
			out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (out < 0 || write_all(out, body, strlen(body)) < 0)
				_exit(3);
			close(out);
			reply(fd, "204 No Content", NULL);
		} else if (!strncmp(buf, "PUT /api/v1/vm.boot ", 20) ||
			   !strncmp(buf, "PUT /api/v1/vm.shutdown ", 24)) {
			reply(fd, "204 No Content", NULL);
		} else if (!strncmp(buf, "PUT /api/v1/vm.fail ", 20)) {
			reply(fd, "500 Internal Server Error",
			      "[\"Error booting VM\",\"Cannot load the "
			      "kernel\"]");
		} else if (!strncmp(buf, "GET /api/v1/vm.split ", 21)) {
			/* Headers, a pause, then the body in two writes. */
			static const char h[] =
				"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n";

			if (write_all(fd, h, sizeof(h) - 1) < 0)
				_exit(3);
			usleep(50000);
			if (write_all(fd, "{\"a\":", 5) < 0)
				_exit(3);
			usleep(50000);
			if (write_all(fd, "\"bcd\"}", 6) < 0)
				_exit(3);
		} else if (!strncmp(buf, "PUT /api/v1/vm.add-net ", 23)) {
			struct stat st;
			FILE *f;

			/* The body and what the attached fd is. */
			snprintf(path, sizeof(path), "%s/add-net.txt", dir);
			f = fopen(path, "w");
			if (!f)
				_exit(3);
			fprintf(f, "%s fd=%s", body,
				got_fd < 0		 ? "none"
				: fstat(got_fd, &st) < 0 ? "bad"
				: S_ISFIFO(st.st_mode)	 ? "fifo"
							 : "other");
			fclose(f);
			reply(fd, "204 No Content", NULL);
		} else if (!strncmp(buf, "GET /api/v1/vm.info ", 20)) {
			/* What the test put in info.json, as it is. */
			char info[1024] = "";
			int in;

			snprintf(path, sizeof(path), "%s/info.json", dir);
			in = open(path, O_RDONLY);
			if (in < 0 || read(in, info, sizeof(info) - 1) < 0)
				_exit(3);
			close(in);
			reply(fd, "200 OK", info);
		} else if (!strncmp(buf, "PUT /api/v1/vm.close ", 21)) {
			/* Hang up without a word. */
		} else if (!strncmp(buf, "PUT /api/v1/vm.hang ", 20)) {
			sleep(30);
		} else {
			reply(fd, "404 Not Found", NULL);
		}
		if (got_fd >= 0)
			close(got_fd);
		close(fd);
	}
}

/*
 * The VMM's hybrid vsock muxer: the first @refusals connections are hung
 * up after "CONNECT" (nothing listens in the guest); then "OK" with the
 * stream's first bytes in the same write, and an echo.
 */
static void vsock_server(int lfd, int refusals)
{
	for (int i = 0;; i++) {
		char buf[64];
		size_t len = 0;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			_exit(2);
		while (len < sizeof(buf) - 1 &&
		       (!len || buf[len - 1] != '\n')) {
			ssize_t n = read(fd, buf + len, 1);

			if (n <= 0)
				break;
			len += (size_t)n;
		}
		buf[len] = '\0';
		if (strcmp(buf, "CONNECT 1024\n") || i < refusals) {
			close(fd);
			continue;
		}
		if (write_all(fd, "OK 1073741824\nhello", 19) < 0)
			_exit(3);
		for (;;) {
			ssize_t n = read(fd, buf, sizeof(buf));

			if (n <= 0 || write_all(fd, buf, (size_t)n) < 0)
				break;
		}
		close(fd);
	}
}

FIXTURE(api)
{
	char dir[64];
	char api[128], vsock[128];
	pid_t api_pid, vsock_pid;
	struct herr err;
};

FIXTURE_SETUP(api)
{
	int lfd;

	snprintf(self->dir, sizeof(self->dir), "/tmp/husk-clh-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->api, sizeof(self->api), "%s/clh-api.sock", self->dir);
	snprintf(self->vsock, sizeof(self->vsock), "%s/clh.sock", self->dir);
	lfd = listen_at(self->api);
	self->api_pid = fork();
	ASSERT_LE(0, self->api_pid);
	if (!self->api_pid)
		api_server(lfd, self->dir);
	close(lfd);
	lfd = listen_at(self->vsock);
	self->vsock_pid = fork();
	ASSERT_LE(0, self->vsock_pid);
	if (!self->vsock_pid)
		vsock_server(lfd, 2);
	close(lfd);
}

FIXTURE_TEARDOWN(api)
{
	char cmd[128];

	kill(self->api_pid, SIGKILL);
	kill(self->vsock_pid, SIGKILL);
	waitpid(self->api_pid, NULL, 0);
	waitpid(self->vsock_pid, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

TEST_F(api, ping)
{
	char *version = NULL;

	ASSERT_EQ(0, clh_ping(self->api, 2000, &version, &self->err))
	TH_LOG("%s", self->err.msg);
	EXPECT_STREQ("v38.0", version);
	free(version);
}

TEST_F(api, create_boot_shutdown)
{
	struct husk_config cfg;
	struct vm_params p = { .cfg = &cfg,
			       .sandbox_id = "s",
			       .run_dir = "/run/vc/vm/s",
			       .shared_dir = "/run/s/shared",
			       .console_fd = -1 };
	char path[160], got[4096] = "";
	char *json;
	int fd;

	config_defaults(&cfg);
	free(cfg.kernel_params);
	cfg.kernel_params = xstrdup("a=\"b\"");
	json = clh_vm_config(&p, "console=ttyS0 a=\"b\"",
			     "/run/vc/vm/s/clh.sock",
			     "/run/vc/vm/s/console.log");
	EXPECT_STREQ(
		"{\"payload\":{\"kernel\":\"/usr/share/husk/vmlinux-husk\","
		"\"cmdline\":\"console=ttyS0 a=\\\"b\\\"\","
		"\"initramfs\":\"/usr/share/husk/husk-initrd.img\"},"
		"\"cpus\":{\"boot_vcpus\":1,\"max_vcpus\":1},"
		"\"memory\":{\"size\":268435456,\"shared\":false},"
		"\"vsock\":{\"cid\":3,\"socket\":\"/run/vc/vm/s/clh.sock\"},"
		"\"serial\":{\"mode\":\"File\",\"file\":\"/run/vc/vm/s/"
		"console.log\"},"
		"\"console\":{\"mode\":\"Off\"},"
		"\"rng\":{\"src\":\"/dev/urandom\"}}",
		json);
	ASSERT_EQ(0, clh_vm_create(self->api, json, 2000, &self->err))
	TH_LOG("%s", self->err.msg);
	/* The server got exactly the body (Content-Length was right). */
	snprintf(path, sizeof(path), "%s/create.json", self->dir);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, got, sizeof(got) - 1));
	close(fd);
	EXPECT_STREQ(json, got);
	free(json);
	EXPECT_EQ(0, clh_vm_boot(self->api, 2000, &self->err));
	EXPECT_EQ(0, clh_vm_shutdown(self->api, 2000, &self->err));

	/* An image on pmem and virtio-fs (shared memory, fs socket). */
	free(cfg.initrd);
	cfg.initrd = NULL;
	cfg.image = xstrdup("/i.img");
	cfg.shared_fs = SHARED_FS_VIRTIO_FS;
	json = clh_vm_config(&p, "x", "/v", "/c");
	EXPECT_NE(NULL,
		  strstr(json,
			 "\"memory\":{\"size\":268435456,\"shared\":true}"));
	EXPECT_NE(NULL, strstr(json, "\"pmem\":[{\"file\":\"/"
				     "i.img\",\"discard_writes\":true}]"));
	EXPECT_NE(NULL, strstr(json, "\"fs\":[{\"tag\":\"kataShared\","
				     "\"socket\":\"/run/vc/vm/s/"
				     "vhost-fs.sock\",\"num_queues\":1,\"queue_"
				     "size\":1024}]"));
	EXPECT_EQ(NULL, strstr(json, "initramfs"));
	free(json);
	config_free(&cfg);
}

TEST_F(api, errors)
{
	char *body = NULL;
	int status;
	long long t0;

	EXPECT_EQ(-1, clh_api_call(self->api, "PUT", "vm.fail", NULL, 2000,
				   &status, &body, &self->err));
	EXPECT_EQ(500, status);
	EXPECT_STREQ("cloud-hypervisor PUT vm.fail: HTTP 500: [\"Error booting "
		     "VM\",\"Cannot load the kernel\"]",
		     self->err.msg);
	EXPECT_EQ(-1, clh_api_call(self->api, "PUT", "vm.nosuch", NULL, 2000,
				   &status, &body, &self->err));
	EXPECT_EQ(404, status);
	EXPECT_EQ(GRPC_NOT_FOUND, self->err.code);
	EXPECT_EQ(-1, clh_api_call(self->api, "PUT", "vm.close", NULL, 2000,
				   &status, &body, &self->err));
	EXPECT_STREQ("cloud-hypervisor PUT vm.close: connection closed without "
		     "a response",
		     self->err.msg);
	t0 = now_ms();
	EXPECT_EQ(-1, clh_api_call(self->api, "PUT", "vm.hang", NULL, 300,
				   &status, &body, &self->err));
	EXPECT_EQ(GRPC_DEADLINE_EXCEEDED, self->err.code);
	EXPECT_LT(now_ms() - t0, 2000);
	EXPECT_EQ(NULL, body);
	/* No VMM at all. */
	EXPECT_EQ(-1,
		  clh_ping("/nonexistent/clh-api.sock", 500, NULL, &self->err));
	EXPECT_NE(NULL, strstr(self->err.msg, "No such file or directory"));
}

TEST_F(api, split_response)
{
	char *body = NULL;
	int status;

	ASSERT_EQ(0, clh_api_call(self->api, "GET", "vm.split", NULL, 2000,
				  &status, &body, &self->err))
	TH_LOG("%s", self->err.msg);
	EXPECT_EQ(200, status);
	EXPECT_STREQ("{\"a\":\"bcd\"}", body);
	free(body);
}

TEST_F(api, hybrid_vsock)
{
	char buf[16] = "";
	int fd;

	/* Two hang-ups (nothing listening yet), then OK. */
	fd = hvsock_connect(self->vsock, 1024, 5000, &self->err);
	ASSERT_LE(0, fd) TH_LOG("%s", self->err.msg);
	/* The bytes right behind "OK ...\n" belong to the stream. */
	ASSERT_EQ(0, read_all(fd, buf, 5));
	EXPECT_STREQ("hello", buf);
	ASSERT_EQ(0, write_all(fd, "ping", 4));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(0, read_all(fd, buf, 4));
	EXPECT_STREQ("ping", buf);
	close(fd);
}

TEST_F(api, hybrid_vsock_gives_up)
{
	long long t0 = now_ms();

	/* Port 1025: the muxer hangs up every time. */
	EXPECT_EQ(-1, hvsock_connect(self->vsock, 1025, 400, &self->err));
	EXPECT_LT(now_ms() - t0, 2000);
	EXPECT_EQ(GRPC_DEADLINE_EXCEEDED, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "closed without OK"))
	TH_LOG("%s", self->err.msg);
	EXPECT_EQ(-1, hvsock_connect("/nonexistent/clh.sock", 1024, 200,
				     &self->err));
}

/* vm.add-net: NetConfig in the body, the tap fd attached (SCM_RIGHTS). */
TEST_F(api, add_net_passes_the_fd)
{
	static const unsigned char mac[6] = { 0x02, 0, 0, 0, 0, 0xab };
	char path[160], got[512] = "";
	int p[2], fd;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(0, clh_vm_add_net(self->api, 1, mac, p[0], 2000, &self->err))
	TH_LOG("%s", self->err.msg);
	close(p[0]);
	close(p[1]);
	snprintf(path, sizeof(path), "%s/add-net.txt", self->dir);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, got, sizeof(got) - 1));
	close(fd);
	EXPECT_STREQ("{\"id\":\"net1\",\"mac\":\"02:00:00:00:00:ab\","
		     "\"num_queues\":2,\"queue_size\":256} fd=fifo",
		     got);
}

static void put_info(const char *dir, const char *json)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/info.json", dir);
	f = fopen(path, "w");
	if (!f || fputs(json, f) < 0 || fclose(f))
		abort();
}

/* vm.info is checked against VmInfo: config and a published state. */
TEST_F(api, vm_info_state)
{
	const char *state = NULL;

	put_info(self->dir, "{\"config\":{\"payload\":{}},\"state\":"
			    "\"Running\",\"memory_actual_size\":1}");
	ASSERT_EQ(0, clh_vm_info_state(self->api, 2000, &state, &self->err))
	TH_LOG("%s", self->err.msg);
	EXPECT_STREQ("Running", state);

	put_info(self->dir, "{\"config\":{},\"state\":\"Exploded\"}");
	EXPECT_EQ(-1, clh_vm_info_state(self->api, 2000, &state, &self->err));
	EXPECT_STREQ("cloud-hypervisor GET vm.info: unknown state \"Exploded\"",
		     self->err.msg);
	EXPECT_EQ(NULL, state);

	put_info(self->dir, "{\"state\":\"Running\"}");
	EXPECT_EQ(-1, clh_vm_info_state(self->api, 2000, &state, &self->err));
	EXPECT_NE(NULL, strstr(self->err.msg, "not a VmInfo"));

	put_info(self->dir, "{\"config\":{},\"state\":7}");
	EXPECT_EQ(-1, clh_vm_info_state(self->api, 2000, &state, &self->err));
	EXPECT_NE(NULL, strstr(self->err.msg, "not a VmInfo"));

	put_info(self->dir, "[\"Running\"");
	EXPECT_EQ(-1, clh_vm_info_state(self->api, 2000, &state, &self->err));
	EXPECT_NE(NULL, strstr(self->err.msg, "not a VmInfo"));
}

TEST_HARNESS_MAIN
