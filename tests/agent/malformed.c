// SPDX-License-Identifier: Apache-2.0
/*
 * The malformed-request table: each bad request and the gRPC code and
 * message fragment the agent must answer with, then proof the agent is
 * still serving.  Also checks that a parked long call does not block
 * others on the same connection, and that a reply is written as soon as
 * it is ready, not after the next request read with it.  Prints TAP.
 *
 * usage: agent_malformed unix:SOCKET ROOTFS
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "health.pb-c.h"
#include "oci.pb-c.h"
#include "ttrpc/client.h"
#include "ttrpc/frame.h"
#include "ttrpc.pb-c.h"
#include "util.h"

static struct evloop *loop;
static struct ttrpc_client *cl;
static const char *rootfs;
static int tap_n, failures;

/* A valid spec each case then breaks in one place. */
struct spec_parts {
	Grpc__Spec spec;
	Grpc__Process proc;
	Grpc__Root root;
	Grpc__Linux linux_;
	char *args[2];
	char *env[2];
	Grpc__LinuxCapabilities caps;
	char *capnames[1];
	Grpc__POSIXRlimit rl, *rls[1];
	Grpc__LinuxNamespace ns, *nss[1];
	Grpc__Mount mnt, *mnts[1];
	Grpc__LinuxSeccomp sc;
	Grpc__LinuxDevice dev, *devs[1];
	Grpc__Linux__SysctlEntry sysctl, *sysctls[1];
	Grpc__LinuxResources res;
	Grpc__LinuxCPU cpu;
};

static void good_spec(struct spec_parts *p)
{
	memset(p, 0, sizeof(*p));
	grpc__spec__init(&p->spec);
	grpc__process__init(&p->proc);
	grpc__root__init(&p->root);
	grpc__linux__init(&p->linux_);
	p->args[0] = "true";
	p->proc.args = p->args;
	p->proc.n_args = 1;
	p->env[0] = "PATH=/bin";
	p->proc.env = p->env;
	p->proc.n_env = 1;
	p->root.path = (char *)rootfs;
	p->spec.process = &p->proc;
	p->spec.root = &p->root;
	p->spec.linux = &p->linux_;
}

static struct spec_parts sp;
static Grpc__CreateContainerRequest ccr;

static ProtobufCMessage *create_req(const char *id)
{
	good_spec(&sp);
	grpc__create_container_request__init(&ccr);
	ccr.container_id = (char *)id;
	ccr.oci = &sp.spec;
	return &ccr.base;
}

static void tap(bool good, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void tap(bool good, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", good ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!good)
		failures++;
}

/* Call and compare the outcome with @want_code and @want_text. */
static void expect(const char *what, const char *service, const char *method,
		   const ProtobufCMessage *req, int want_code,
		   const char *want_text)
{
	struct herr err;
	void *resp = NULL;
	int r;

	herr_clear(&err);
	r = ttrpc_client_call_sync(cl, service, method, req, NULL, 10000, &resp,
				   &err);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	if (r == 0) {
		tap(want_code == 0, "%s: %s -> OK", what, method);
		return;
	}
	tap(err.code == want_code &&
		    (!want_text || strstr(err.msg, want_text)),
	    "%s: %s -> %s \"%s\" (want %s \"%s\")", what, method,
	    grpc_code_name(err.code), err.msg, grpc_code_name(want_code),
	    want_text ? want_text : "");
}

#define AGENT "grpc.AgentService"
#define EXPECT_CREATE(what, code, text, ...)                                 \
	do {                                                                 \
		create_req("bad1");                                          \
		__VA_ARGS__;                                                 \
		expect(what, AGENT, "CreateContainer", &ccr.base, code,      \
		       text);                                                \
	} while (0)

static void create_cases(void)
{
	EXPECT_CREATE("empty container id", 3, "container_id",
		      ccr.container_id = "");
	EXPECT_CREATE("container id with a slash", 3, "container_id",
		      ccr.container_id = "a/b");
	EXPECT_CREATE("container id too long", 3, "container_id",
		      ccr.container_id = "a123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789");
	EXPECT_CREATE("no spec", 3, "oci", ccr.oci = NULL);
	EXPECT_CREATE("no linux section", 3, "oci.linux",
		      sp.spec.linux = NULL);
	EXPECT_CREATE("no root", 3, "oci.root", sp.spec.root = NULL);
	EXPECT_CREATE("relative root path", 3, "oci.root.path",
		      sp.root.path = "rootfs");
	EXPECT_CREATE("missing rootfs", 5, "oci.root.path",
		      sp.root.path = "/nonexistent/rootfs");
	EXPECT_CREATE("no process", 3, "oci.process",
		      sp.spec.process = NULL);
	EXPECT_CREATE("no args", 3, "oci.process.args", sp.proc.n_args = 0);
	EXPECT_CREATE("empty args[0]", 3, "oci.process.args",
		      sp.args[0] = "");
	EXPECT_CREATE("env without =", 3, "oci.process.env[0]",
		      sp.env[0] = "PATH");
	EXPECT_CREATE("relative cwd", 3, "oci.process.cwd",
		      sp.proc.cwd = "tmp");
	EXPECT_CREATE("oom_score_adj out of range", 3, "oomScoreAdj",
		      sp.proc.oomscoreadj = 5000);
	EXPECT_CREATE("console size without terminal", 3, "consoleSize", {
		static Grpc__Box box = GRPC__BOX__INIT;
		sp.proc.consolesize = &box;
	});
	EXPECT_CREATE("unknown capability", 3, "capabilities", {
		grpc__linux_capabilities__init(&sp.caps);
		sp.capnames[0] = "CAP_BOGUS";
		sp.caps.bounding = sp.capnames;
		sp.caps.n_bounding = 1;
		sp.proc.capabilities = &sp.caps;
	});
	EXPECT_CREATE("unknown rlimit", 3, "rlimits", {
		grpc__posixrlimit__init(&sp.rl);
		sp.rl.type = "RLIMIT_BOGUS";
		sp.rls[0] = &sp.rl;
		sp.proc.rlimits = sp.rls;
		sp.proc.n_rlimits = 1;
	});
	EXPECT_CREATE("rlimit soft above hard", 3, "rlimits", {
		grpc__posixrlimit__init(&sp.rl);
		sp.rl.type = "RLIMIT_NOFILE";
		sp.rl.soft = 10;
		sp.rl.hard = 5;
		sp.rls[0] = &sp.rl;
		sp.proc.rlimits = sp.rls;
		sp.proc.n_rlimits = 1;
	});
	EXPECT_CREATE("unknown namespace type", 3,
		      "oci.linux.namespaces[0].type", {
			      grpc__linux_namespace__init(&sp.ns);
			      sp.ns.type = "bogus";
			      sp.nss[0] = &sp.ns;
			      sp.linux_.namespaces = sp.nss;
			      sp.linux_.n_namespaces = 1;
		      });
	EXPECT_CREATE("user namespace", 3, "user namespaces", {
		grpc__linux_namespace__init(&sp.ns);
		sp.ns.type = "user";
		sp.nss[0] = &sp.ns;
		sp.linux_.namespaces = sp.nss;
		sp.linux_.n_namespaces = 1;
	});
	EXPECT_CREATE("namespace path that does not exist", 5,
		      "oci.linux.namespaces[0].path", {
			      grpc__linux_namespace__init(&sp.ns);
			      sp.ns.type = "network";
			      sp.ns.path = "/proc/self/ns/nope";
			      sp.nss[0] = &sp.ns;
			      sp.linux_.namespaces = sp.nss;
			      sp.linux_.n_namespaces = 1;
		      });
	EXPECT_CREATE("relative mount destination", 3,
		      "oci.mounts[0].destination", {
			      grpc__mount__init(&sp.mnt);
			      sp.mnt.destination = "proc";
			      sp.mnt.type = "proc";
			      sp.mnts[0] = &sp.mnt;
			      sp.spec.mounts = sp.mnts;
			      sp.spec.n_mounts = 1;
		      });
	EXPECT_CREATE("bind mount with a relative source", 3,
		      "oci.mounts[0].source", {
			      grpc__mount__init(&sp.mnt);
			      sp.mnt.destination = "/x";
			      sp.mnt.type = "bind";
			      sp.mnt.source = "x";
			      sp.mnts[0] = &sp.mnt;
			      sp.spec.mounts = sp.mnts;
			      sp.spec.n_mounts = 1;
		      });
	EXPECT_CREATE("bad seccomp default action", 3, "seccomp", {
		grpc__linux_seccomp__init(&sp.sc);
		sp.sc.defaultaction = "SCMP_ACT_BOGUS";
		sp.linux_.seccomp = &sp.sc;
	});
	EXPECT_CREATE("bad device type", 3, "oci.linux.devices[0].type", {
		grpc__linux_device__init(&sp.dev);
		sp.dev.path = "/dev/x";
		sp.dev.type = "z";
		sp.devs[0] = &sp.dev;
		sp.linux_.devices = sp.devs;
		sp.linux_.n_devices = 1;
	});
	EXPECT_CREATE("sysctl that climbs out of /proc/sys", 3,
		      "oci.linux.sysctl[0]", {
			      grpc__linux__sysctl_entry__init(&sp.sysctl);
			      sp.sysctl.key = "../../etc/passwd";
			      sp.sysctl.value = "x";
			      sp.sysctls[0] = &sp.sysctl;
			      sp.linux_.sysctl = sp.sysctls;
			      sp.linux_.n_sysctl = 1;
		      });
	EXPECT_CREATE("bad cpuset", 3, "cpus", {
		grpc__linux_resources__init(&sp.res);
		grpc__linux_cpu__init(&sp.cpu);
		sp.cpu.cpus = "zero-one";
		sp.res.cpu = &sp.cpu;
		sp.linux_.resources = &sp.res;
	});
	EXPECT_CREATE("bad rootfs propagation", 3, "rootfsPropagation",
		      sp.linux_.rootfspropagation = "sideways");
	EXPECT_CREATE("apparmor profile", 3, "apparmor",
		      sp.proc.apparmorprofile = "x");
}

static void other_cases(void)
{
	Grpc__StartContainerRequest start = GRPC__START_CONTAINER_REQUEST__INIT;
	Grpc__ExecProcessRequest exec = GRPC__EXEC_PROCESS_REQUEST__INIT;
	Grpc__SignalProcessRequest sig = GRPC__SIGNAL_PROCESS_REQUEST__INIT;
	Grpc__WaitProcessRequest wait = GRPC__WAIT_PROCESS_REQUEST__INIT;
	Grpc__ReadStreamRequest rd = GRPC__READ_STREAM_REQUEST__INIT;
	Grpc__TtyWinResizeRequest tty = GRPC__TTY_WIN_RESIZE_REQUEST__INIT;
	Grpc__CreateSandboxRequest sb = GRPC__CREATE_SANDBOX_REQUEST__INIT;
	Grpc__SetGuestDateTimeRequest dt = GRPC__SET_GUEST_DATE_TIME_REQUEST__INIT;
	Grpc__ReseedRandomDevRequest rnd = GRPC__RESEED_RANDOM_DEV_REQUEST__INIT;
	Grpc__UpdateContainerRequest upd = GRPC__UPDATE_CONTAINER_REQUEST__INIT;
	Grpc__CopyFileRequest cp = GRPC__COPY_FILE_REQUEST__INIT;
	Grpc__WaitProcessResponse wrong = GRPC__WAIT_PROCESS_RESPONSE__INIT;
	Grpc__RemoveContainerRequest rm = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
	Grpc__KernelModule km = GRPC__KERNEL_MODULE__INIT, *kms[1] = { &km };
	char *bad_dns[1] = { "nameserver 1.1.1.1\nsearch evil" };
	Grpc__Process proc = GRPC__PROCESS__INIT;
	char *args[1] = { "true" };

	start.container_id = "nosuch";
	expect("unknown container", AGENT, "StartContainer", &start.base, 5,
	       "nosuch");
	rm.container_id = "nosuch";
	expect("unknown container", AGENT, "RemoveContainer", &rm.base, 5,
	       "nosuch");
	exec.container_id = "nosuch";
	exec.exec_id = "e1";
	expect("exec without a process", AGENT, "ExecProcess", &exec.base, 3,
	       "process");
	proc.args = args;
	proc.n_args = 1;
	exec.process = &proc;
	expect("exec into an unknown container", AGENT, "ExecProcess",
	       &exec.base, 5, "nosuch");
	exec.exec_id = "";
	expect("exec with an empty exec id", AGENT, "ExecProcess", &exec.base,
	       3, "exec_id");
	sig.container_id = "nosuch";
	sig.signal = 0;
	expect("signal 0", AGENT, "SignalProcess", &sig.base, 3, "signal");
	sig.signal = 99;
	expect("signal 99", AGENT, "SignalProcess", &sig.base, 3, "signal");
	wait.container_id = "nosuch";
	expect("wait for an unknown container", AGENT, "WaitProcess",
	       &wait.base, 5, "nosuch");
	rd.container_id = "nosuch";
	expect("read with len 0", AGENT, "ReadStdout", &rd.base, 3, "len");
	tty.container_id = "nosuch";
	tty.row = 70000;
	expect("huge window", AGENT, "TtyWinResize", &tty.base, 3, "row");
	sb.hostname = "bad\nhost";
	expect("hostname with a newline", AGENT, "CreateSandbox", &sb.base, 3,
	       "hostname");
	sb.hostname = "ok";
	sb.dns = bad_dns;
	sb.n_dns = 1;
	expect("DNS line with a newline", AGENT, "CreateSandbox", &sb.base, 3,
	       "dns[0]");
	sb.n_dns = 0;
	sb.kernel_modules = kms;
	sb.n_kernel_modules = 1;
	expect("kernel modules", AGENT, "CreateSandbox", &sb.base, 3,
	       "kernel_modules");
	dt.usec = 2000000;
	expect("usec out of range", AGENT, "SetGuestDateTime", &dt.base, 3,
	       "usec");
	expect("no data", AGENT, "ReseedRandomDev", &rnd.base, 3, "data");
	upd.container_id = "nosuch";
	expect("update without resources", AGENT, "UpdateContainer",
	       &upd.base, 3, "resources");
	cp.path = "relative/file";
	expect("relative CopyFile path", AGENT, "CopyFile", &cp.base, 3,
	       "path");
	wrong.status = 5; /* field 1 as a varint where a string belongs */
	expect("payload that does not decode", AGENT, "CreateContainer",
	       &wrong.base, 3, "does not decode");
	expect("unknown method", AGENT, "NoSuchMethod", NULL, 12,
	       "NoSuchMethod");
	expect("method of the schema not implemented", AGENT, "GetMetrics",
	       NULL, 12, "GetMetrics");
	expect("unknown service", "grpc.Nope", "Check", NULL, 12, "grpc.Nope");
}

static void read_done(void *resp, const struct herr *err, void *data)
{
}

/* Create, start twice, duplicate exec id, and a parked read. */
static void state_cases(void)
{
	Grpc__StartContainerRequest start = GRPC__START_CONTAINER_REQUEST__INIT;
	Grpc__ExecProcessRequest exec = GRPC__EXEC_PROCESS_REQUEST__INIT;
	Grpc__ReadStreamRequest rd = GRPC__READ_STREAM_REQUEST__INIT;
	Grpc__RemoveContainerRequest rm = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
	Grpc__CheckRequest chk = GRPC__CHECK_REQUEST__INIT;
	Grpc__Process proc = GRPC__PROCESS__INIT;
	char *args[2] = { "sleep", "100" }, *env[1] = { "PATH=/bin" };
	struct herr err;
	long long t0;
	int r;

	create_req("mf1");
	sp.args[0] = "sleep";
	sp.proc.args = args;
	sp.proc.n_args = 2;
	expect("valid container", AGENT, "CreateContainer", &ccr.base, 0,
	       NULL);
	expect("same id again", AGENT, "CreateContainer", &ccr.base, 6,
	       "mf1");
	start.container_id = "mf1";
	expect("start", AGENT, "StartContainer", &start.base, 0, NULL);
	expect("start twice", AGENT, "StartContainer", &start.base, 9,
	       "created state");
	exec.container_id = "mf1";
	exec.exec_id = "x1";
	proc.args = args;
	proc.n_args = 2;
	proc.env = env;
	proc.n_env = 1;
	exec.process = &proc;
	expect("exec", AGENT, "ExecProcess", &exec.base, 0, NULL);
	expect("duplicate exec id", AGENT, "ExecProcess", &exec.base, 6,
	       "x1");

	/* A parked ReadStdout (nothing to read) must not block Check. */
	rd.container_id = "mf1";
	rd.len = 100;
	r = ttrpc_client_call(cl, AGENT, "ReadStdout", &rd.base,
			      &grpc__read_stream_response__descriptor, 0,
			      read_done, NULL, &err);
	t0 = now_ms();
	r |= ttrpc_client_call_sync(cl, "grpc.Health", "Check", &chk.base,
				    NULL, 5000, NULL, &err);
	tap(r == 0 && now_ms() - t0 < 2000,
	    "a parked ReadStdout does not block Check on the same connection");
	rm.container_id = "mf1";
	expect("remove answers the parked read too", AGENT, "RemoveContainer",
	       &rm.base, 0, NULL);
}

/* Append a request frame for @method carrying @msg to @buf. */
static uint8_t *append_frame(uint8_t *buf, size_t *len, uint32_t id,
			     const char *service, const char *method,
			     const ProtobufCMessage *msg)
{
	Ttrpc__Request rq = TTRPC__REQUEST__INIT;
	size_t plen = protobuf_c_message_get_packed_size(msg), blen, flen;
	uint8_t *payload = xmalloc(plen ? plen : 1), *body, *f;

	protobuf_c_message_pack(msg, payload);
	rq.service = (char *)service;
	rq.method = (char *)method;
	rq.payload.data = payload;
	rq.payload.len = plen;
	blen = ttrpc__request__get_packed_size(&rq);
	body = xmalloc(blen);
	ttrpc__request__pack(&rq, body);
	f = ttrpc_frame_build(id, TTRPC_TYPE_REQUEST, 0, body, blen, &flen);
	if (!f)
		abort();
	buf = realloc(buf, *len + flen);
	if (!buf)
		abort();
	memcpy(buf + *len, f, flen);
	*len += flen;
	free(f);
	free(body);
	free(payload);
	return buf;
}

/*
 * Read the next whole frame from @fd within @ms.  Returns the decoded
 * Response (its stream id in *@id), or NULL on a timeout, EOF or bad frame.
 */
static Ttrpc__Response *next_response(int fd, struct ttrpc_decoder *dec,
				      uint32_t *id, int ms)
{
	long long end = now_ms() + ms;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = end - now_ms();
		Ttrpc__Response *r;
		struct herr err;
		uint8_t byte, *data;
		size_t used;
		int n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return NULL;
		/* One byte at a time: what follows stays in the socket. */
		if (read(fd, &byte, 1) != 1)
			return NULL;
		n = ttrpc_decoder_feed(dec, &byte, 1, &used, &err);
		if (n < 0)
			return NULL;
		if (n == 0)
			continue;
		*id = dec->hdr.stream_id;
		data = ttrpc_decoder_take(dec);
		r = ttrpc__response__unpack(NULL, dec->hdr.len, data);
		free(data);
		return r;
	}
}

/*
 * A Check and a CreateContainer in one write, on a connection of their
 * own.  The create waits in the agent's loop for a device node that does
 * not exist yet; the Check's reply must come while it waits, not once every
 * frame of that read is handled.  The helper then creates the node, so the
 * create goes on to its mount (of a file system that does not exist) and
 * fails there rather than on the 3 s wait.
 */
static void pipelined_case(const struct sockaddr_un *sa, const char *dir)
{
	Grpc__CheckRequest chk = GRPC__CHECK_REQUEST__INIT;
	Grpc__Storage st = GRPC__STORAGE__INIT, *sts[1] = { &st };
	char dev[256], mnt[256], *msg = NULL;
	Ttrpc__Response *r;
	struct ttrpc_decoder dec;
	uint8_t *buf = NULL;
	size_t len = 0;
	uint32_t id = 0;
	bool check_first;
	int fd, code = -1;

	snprintf(dev, sizeof(dev), "%s/pipeline.dev", dir);
	snprintf(mnt, sizeof(mnt), "%s/pipeline.mnt", dir);
	unlink(dev);
	create_req("pipe1");
	st.driver = "mmioblk";
	st.source = dev;
	st.fstype = "husk-nofs";
	st.mount_point = mnt;
	ccr.storages = sts;
	ccr.n_storages = 1;
	buf = append_frame(buf, &len, 1, "grpc.Health", "Check", &chk.base);
	buf = append_frame(buf, &len, 3, AGENT, "CreateContainer", &ccr.base);
	ccr.storages = NULL;
	ccr.n_storages = 0;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ||
	    write(fd, buf, len) != (ssize_t)len) {
		tap(false, "pipelined: connect and write: %s", strerror(errno));
		goto out;
	}
	ttrpc_decoder_init(&dec);
	r = next_response(fd, &dec, &id, 10000);
	check_first = r && id == 1 && r->status && !r->status->code;
	if (r)
		ttrpc__response__free_unpacked(r, NULL);
	/* Let the create go on (a no-op if it gave up already). */
	close(open(dev, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	r = next_response(fd, &dec, &id, 10000);
	if (r && id == 3 && r->status) {
		code = r->status->code;
		msg = xstrdup(r->status->message ? r->status->message : "");
	}
	if (r)
		ttrpc__response__free_unpacked(r, NULL);
	tap(check_first, "pipelined: Check answered first");
	tap(code > 0 && msg && strstr(msg, "husk-nofs"),
	    "pipelined: Check answered while CreateContainer still waited "
	    "(create: %s \"%s\")",
	    grpc_code_name(code), msg ? msg : "no reply");
	ttrpc_decoder_reset(&dec);
out:
	if (fd >= 0)
		close(fd);
	unlink(dev);
	free(msg);
	free(buf);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	Grpc__CheckRequest chk = GRPC__CHECK_REQUEST__INIT;
	char dir[sizeof(sa.sun_path)];
	const char *path, *slash;
	int fd;

	if (argc != 3 || strncmp(argv[1], "unix:", 5)) {
		fprintf(stderr, "usage: %s unix:SOCKET ROOTFS\n", argv[0]);
		return 2;
	}
	path = argv[1] + 5;
	rootfs = argv[2];
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("not ok 1 - connect %s: %s\n", path, strerror(errno));
		return 1;
	}
	loop = evloop_new();
	cl = ttrpc_client_new(loop, fd, fd);
	create_cases();
	other_cases();
	state_cases();
	slash = strrchr(path, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
		 slash ? path : ".");
	pipelined_case(&sa, dir);
	expect("after all that", "grpc.Health", "Check", &chk.base, 0, NULL);
	ttrpc_client_free(cl);
	evloop_free(loop);
	return failures ? 1 : 0;
}
