// SPDX-License-Identifier: Apache-2.0
/*
 * husk ctl --addr unix:PATH <verb> [options] [-- args]: one agent RPC per
 * verb (read-stdout loops until EOF), for people and for the tests.  A
 * failed call prints "husk ctl: Method: CODE: message" and exits 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "ctl.h"
#include "health.pb-c.h"
#include "ttrpc/client.h"
#include "util.h"

#define AGENT_SVC "grpc.AgentService"
#define CALL_TIMEOUT_MS 60000

struct ctl {
	struct evloop *loop;
	struct ttrpc_client *cl;
	struct ctl_opts o;
};

static int call(struct ctl *c, const char *method, const ProtobufCMessage *req,
		const ProtobufCMessageDescriptor *resp_desc, long long timeout,
		void **resp)
{
	const char *svc = c->o.service ? c->o.service : AGENT_SVC;
	void *dummy = NULL;
	struct herr err;

	if (!strcmp(method, "Check") || !strcmp(method, "Version"))
		svc = "grpc.Health";
	if (ttrpc_client_call_sync(c->cl, svc, method, req, resp_desc, timeout,
				   resp ? resp : &dummy, &err) < 0) {
		fprintf(stderr, "husk ctl: %s: %s: %s\n", method,
			grpc_code_name(err.code), err.msg);
		return -1;
	}
	if (dummy)
		protobuf_c_message_free_unpacked(dummy, NULL);
	return 0;
}

static int connect_addr(const char *addr)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = addr;
	int fd;

	if (!strncmp(path, "unix://", 7))
		path += 7;
	else if (!strncmp(path, "unix:", 5))
		path += 5;
	else {
		fprintf(stderr, "husk ctl: --addr %s: only unix:PATH is supported\n",
			addr);
		return -1;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "husk ctl: %s: path too long\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "husk ctl: connect %s: %s\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int need_id(struct ctl *c)
{
	if (!c->o.id) {
		fprintf(stderr, "husk ctl: --id is required\n");
		return -1;
	}
	return 0;
}

static const char *exec_id(struct ctl *c)
{
	return c->o.exec_id ? c->o.exec_id : "";
}

static int v_check(struct ctl *c)
{
	Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
	Grpc__HealthCheckResponse *resp;

	if (call(c, "Check", &req.base, &grpc__health_check_response__descriptor,
		 30000, (void **)&resp) < 0)
		return 1;
	printf("%s\n", resp->status == 1 ? "SERVING" : "NOT_SERVING");
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

static int v_version(struct ctl *c)
{
	Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
	Grpc__VersionCheckResponse *resp;

	if (call(c, "Version", &req.base,
		 &grpc__version_check_response__descriptor, CALL_TIMEOUT_MS,
		 (void **)&resp) < 0)
		return 1;
	printf("agent %s grpc %s\n", resp->agent_version, resp->grpc_version);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

static int v_guest_details(struct ctl *c)
{
	Grpc__GuestDetailsRequest req = GRPC__GUEST_DETAILS_REQUEST__INIT;
	Grpc__GuestDetailsResponse *resp;

	req.mem_block_size = true;
	if (call(c, "GetGuestDetails", &req.base,
		 &grpc__guest_details_response__descriptor, CALL_TIMEOUT_MS,
		 (void **)&resp) < 0)
		return 1;
	printf("mem_block_size_bytes %llu\n",
	       (unsigned long long)resp->mem_block_size_bytes);
	if (resp->agent_details) {
		printf("version %s\nseccomp %d\ninit %d\n",
		       resp->agent_details->version,
		       resp->agent_details->supports_seccomp,
		       resp->agent_details->init_daemon);
		for (size_t i = 0; i < resp->agent_details->n_storage_handlers;
		     i++)
			printf("storage %s\n",
			       resp->agent_details->storage_handlers[i]);
	}
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

/* CreateSandbox --storage values; kept here so ctl.h stays as it is. */
static struct strlist storages;

/*
 * DRIVER:SOURCE:FSTYPE:MOUNT_POINT[:OPTION]... into a Storage; each
 * option is kept whole, commas and all ("trans=virtio,version=9p2000.L").
 * @buf is the writable copy the fields point into.
 */
static int parse_storage(char *buf, Grpc__Storage *st, char **opts,
			 size_t max_opts)
{
	char *f[4];

	for (int i = 0; i < 4; i++) {
		f[i] = strsep(&buf, ":");
		if (!f[i] || (i != 2 && !*f[i]))
			return -1;
	}
	grpc__storage__init(st);
	st->driver = f[0];
	st->source = f[1];
	st->fstype = f[2];
	st->mount_point = f[3];
	st->options = opts;
	while (buf && st->n_options < max_opts)
		opts[st->n_options++] = strsep(&buf, ":");
	return buf ? -1 : 0;
}

static int v_create_sandbox(struct ctl *c)
{
	Grpc__CreateSandboxRequest req = GRPC__CREATE_SANDBOX_REQUEST__INIT;
	Grpc__Storage st[CTL_LIST_MAX], *stp[CTL_LIST_MAX];
	char *opts[CTL_LIST_MAX][16];
	int r = 2;

	for (size_t i = 0; i < storages.n; i++)
		storages.v[i] = xstrdup(storages.v[i]);
	for (size_t i = 0; i < storages.n; i++) {
		if (parse_storage(storages.v[i], &st[i], opts[i],
				  ARRAY_SIZE(opts[i])) < 0) {
			fprintf(stderr, "husk ctl: --storage: want DRIVER:SOURCE:FSTYPE:MOUNT_POINT[:OPTION]... (at most %zu options)\n",
				ARRAY_SIZE(opts[i]));
			goto out;
		}
		stp[i] = &st[i];
	}
	req.storages = stp;
	req.n_storages = storages.n;
	req.hostname = (char *)(c->o.hostname ? c->o.hostname : "");
	req.sandbox_id = (char *)(c->o.sandbox_id ? c->o.sandbox_id :
				  c->o.id ? c->o.id : "");
	req.dns = c->o.dns.v;
	req.n_dns = c->o.dns.n;
	req.sandbox_pidns = c->o.sandbox_pidns;
	r = call(c, "CreateSandbox", &req.base, NULL, CALL_TIMEOUT_MS, NULL) <
	    0;
out:
	for (size_t i = 0; i < storages.n; i++)
		free(storages.v[i]);
	return r;
}

static int v_destroy_sandbox(struct ctl *c)
{
	Grpc__DestroySandboxRequest req = GRPC__DESTROY_SANDBOX_REQUEST__INIT;

	return call(c, "DestroySandbox", &req.base, NULL, CALL_TIMEOUT_MS,
		    NULL) < 0;
}

static int v_create(struct ctl *c)
{
	Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
	int bad = 0;

	if (need_id(c) < 0)
		return 2;
	if (!c->o.rootfs || !c->o.n_args) {
		fprintf(stderr, "husk ctl create: needs --rootfs DIR and -- ARGS\n");
		return 2;
	}
	req.container_id = (char *)c->o.id;
	req.exec_id = (char *)(c->o.exec_id ? c->o.exec_id : c->o.id);
	req.sandbox_pidns = c->o.sandbox_pidns;
	req.oci = ctl_build_spec(&c->o, &bad);
	if (!req.oci)
		return bad;
	return call(c, "CreateContainer", &req.base, NULL, CALL_TIMEOUT_MS,
		    NULL) < 0;
}

static int v_start(struct ctl *c)
{
	Grpc__StartContainerRequest req = GRPC__START_CONTAINER_REQUEST__INIT;

	if (need_id(c) < 0)
		return 2;
	req.container_id = (char *)c->o.id;
	return call(c, "StartContainer", &req.base, NULL, CALL_TIMEOUT_MS,
		    NULL) < 0;
}

static int v_exec(struct ctl *c)
{
	Grpc__ExecProcessRequest req = GRPC__EXEC_PROCESS_REQUEST__INIT;

	if (need_id(c) < 0)
		return 2;
	if (!c->o.exec_id || !c->o.n_args) {
		fprintf(stderr, "husk ctl exec: needs --exec-id ID and -- ARGS\n");
		return 2;
	}
	req.container_id = (char *)c->o.id;
	req.exec_id = (char *)c->o.exec_id;
	req.process = ctl_build_process(&c->o);
	return call(c, "ExecProcess", &req.base, NULL, CALL_TIMEOUT_MS,
		    NULL) < 0;
}

static int parse_signal(const char *s)
{
	static const struct {
		const char *name;
		int num;
	} names[] = { { "HUP", 1 },   { "INT", 2 },   { "QUIT", 3 },
		      { "KILL", 9 },  { "USR1", 10 }, { "USR2", 12 },
		      { "TERM", 15 }, { "CONT", 18 }, { "STOP", 19 } };

	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i].name))
			return names[i].num;
	return atoi(s);
}

static int v_signal(struct ctl *c)
{
	Grpc__SignalProcessRequest req = GRPC__SIGNAL_PROCESS_REQUEST__INIT;

	if (need_id(c) < 0)
		return 2;
	req.container_id = (char *)c->o.id;
	req.exec_id = (char *)exec_id(c);
	req.signal = parse_signal(c->o.signal ? c->o.signal : "TERM");
	return call(c, "SignalProcess", &req.base, NULL, CALL_TIMEOUT_MS,
		    NULL) < 0;
}

static int v_wait(struct ctl *c)
{
	Grpc__WaitProcessRequest req = GRPC__WAIT_PROCESS_REQUEST__INIT;
	Grpc__WaitProcessResponse *resp;

	if (need_id(c) < 0)
		return 2;
	req.container_id = (char *)c->o.id;
	req.exec_id = (char *)exec_id(c);
	if (call(c, "WaitProcess", &req.base,
		 &grpc__wait_process_response__descriptor, c->o.timeout * 1000,
		 (void **)&resp) < 0)
		return 1;
	printf("%d\n", resp->status);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

static int read_stream(struct ctl *c, const char *method)
{
	Grpc__ReadStreamRequest req = GRPC__READ_STREAM_REQUEST__INIT;

	if (need_id(c) < 0)
		return 2;
	req.container_id = (char *)c->o.id;
	req.exec_id = (char *)exec_id(c);
	req.len = c->o.len ? c->o.len : 32768;
	for (;;) {
		Grpc__ReadStreamResponse *resp;
		size_t n;

		if (call(c, method, &req.base,
			 &grpc__read_stream_response__descriptor,
			 c->o.timeout * 1000, (void **)&resp) < 0)
			return 1;
		n = resp->data.len;
		if (n && write_all(1, resp->data.data, n) < 0) {
			protobuf_c_message_free_unpacked(&resp->base, NULL);
			return 1;
		}
		protobuf_c_message_free_unpacked(&resp->base, NULL);
		if (!n || c->o.once)
			return 0;
	}
}

static int v_read_stdout(struct ctl *c)
{
	return read_stream(c, "ReadStdout");
}

static int v_read_stderr(struct ctl *c)
{
	return read_stream(c, "ReadStderr");
}

static int v_write_stdin(struct ctl *c)
{
	Grpc__WriteStreamRequest req = GRPC__WRITE_STREAM_REQUEST__INIT;
	Grpc__WriteStreamResponse *resp;
	static char buf[1 << 20];
	size_t n = 0;

	if (need_id(c) < 0)
		return 2;
	if (c->o.data) {
		n = strlen(c->o.data);
		memcpy(buf, c->o.data, n < sizeof(buf) ? n : sizeof(buf));
	} else {
		ssize_t r;

		while (n < sizeof(buf) &&
		       (r = read(0, buf + n, sizeof(buf) - n)) > 0)
			n += r;
	}
	req.container_id = (char *)c->o.id;
	req.exec_id = (char *)exec_id(c);
	req.data.data = (uint8_t *)buf;
	req.data.len = n;
	if (call(c, "WriteStdin", &req.base,
		 &grpc__write_stream_response__descriptor, CALL_TIMEOUT_MS,
		 (void **)&resp) < 0)
		return 1;
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

static int v_close_stdin(struct ctl *c)
{
	Grpc__CloseStdinRequest req = GRPC__CLOSE_STDIN_REQUEST__INIT;

	if (need_id(c) < 0)
		return 2;
	req.container_id = (char *)c->o.id;
	req.exec_id = (char *)exec_id(c);
	return call(c, "CloseStdin", &req.base, NULL, CALL_TIMEOUT_MS, NULL) <
	       0;
}

static int v_resize(struct ctl *c)
{
	Grpc__TtyWinResizeRequest req = GRPC__TTY_WIN_RESIZE_REQUEST__INIT;

	if (need_id(c) < 0)
		return 2;
	req.container_id = (char *)c->o.id;
	req.exec_id = (char *)exec_id(c);
	req.row = c->o.rows;
	req.column = c->o.cols;
	return call(c, "TtyWinResize", &req.base, NULL, CALL_TIMEOUT_MS,
		    NULL) < 0;
}

static int v_remove(struct ctl *c)
{
	Grpc__RemoveContainerRequest req = GRPC__REMOVE_CONTAINER_REQUEST__INIT;

	if (need_id(c) < 0)
		return 2;
	req.container_id = (char *)c->o.id;
	req.timeout = c->o.timeout;
	return call(c, "RemoveContainer", &req.base, NULL, 0, NULL) < 0;
}

static int simple_id(struct ctl *c, const char *method)
{
	Grpc__PauseContainerRequest req = GRPC__PAUSE_CONTAINER_REQUEST__INIT;

	/* Pause/Resume/Start requests all are { container_id = 1 }. */
	if (need_id(c) < 0)
		return 2;
	req.container_id = (char *)c->o.id;
	return call(c, method, &req.base, NULL, CALL_TIMEOUT_MS, NULL) < 0;
}

static int v_pause(struct ctl *c)
{
	return simple_id(c, "PauseContainer");
}

static int v_resume(struct ctl *c)
{
	return simple_id(c, "ResumeContainer");
}

static int v_stats(struct ctl *c)
{
	Grpc__StatsContainerRequest req = GRPC__STATS_CONTAINER_REQUEST__INIT;
	Grpc__StatsContainerResponse *resp;
	Grpc__CgroupStats *st;

	if (need_id(c) < 0)
		return 2;
	req.container_id = (char *)c->o.id;
	if (call(c, "StatsContainer", &req.base,
		 &grpc__stats_container_response__descriptor, CALL_TIMEOUT_MS,
		 (void **)&resp) < 0)
		return 1;
	st = resp->cgroup_stats;
	if (st && st->cpu_stats && st->cpu_stats->cpu_usage)
		printf("cpu_total_usage %llu\n",
		       (unsigned long long)st->cpu_stats->cpu_usage->total_usage);
	if (st && st->memory_stats && st->memory_stats->usage)
		printf("memory_usage %llu\nmemory_limit %llu\n",
		       (unsigned long long)st->memory_stats->usage->usage,
		       (unsigned long long)st->memory_stats->usage->limit);
	if (st && st->pids_stats)
		printf("pids_current %llu\npids_limit %llu\n",
		       (unsigned long long)st->pids_stats->current,
		       (unsigned long long)st->pids_stats->limit);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

static int v_update(struct ctl *c)
{
	Grpc__UpdateContainerRequest req = GRPC__UPDATE_CONTAINER_REQUEST__INIT;

	if (need_id(c) < 0)
		return 2;
	req.container_id = (char *)c->o.id;
	req.resources = ctl_build_resources(&c->o);
	return call(c, "UpdateContainer", &req.base, NULL, CALL_TIMEOUT_MS,
		    NULL) < 0;
}

static int v_oom_event(struct ctl *c)
{
	Grpc__GetOOMEventRequest req = GRPC__GET_OOMEVENT_REQUEST__INIT;
	Grpc__OOMEvent *resp;

	if (call(c, "GetOOMEvent", &req.base, &grpc__oomevent__descriptor,
		 c->o.timeout * 1000, (void **)&resp) < 0)
		return 1;
	printf("%s\n", resp->container_id);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

static int v_list_interfaces(struct ctl *c)
{
	Grpc__ListInterfacesRequest req = GRPC__LIST_INTERFACES_REQUEST__INIT;
	Grpc__Interfaces *resp;

	if (call(c, "ListInterfaces", &req.base, &grpc__interfaces__descriptor,
		 CALL_TIMEOUT_MS, (void **)&resp) < 0)
		return 1;
	for (size_t i = 0; i < resp->n_interfaces; i++)
		printf("%s mtu %llu %s\n", resp->interfaces[i]->name,
		       (unsigned long long)resp->interfaces[i]->mtu,
		       resp->interfaces[i]->hwaddr);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

static int v_list_routes(struct ctl *c)
{
	Grpc__ListRoutesRequest req = GRPC__LIST_ROUTES_REQUEST__INIT;
	Grpc__Routes *resp;

	if (call(c, "ListRoutes", &req.base, &grpc__routes__descriptor,
		 CALL_TIMEOUT_MS, (void **)&resp) < 0)
		return 1;
	for (size_t i = 0; i < resp->n_routes; i++)
		printf("%s via %s dev %s\n",
		       *resp->routes[i]->dest ? resp->routes[i]->dest :
						"default",
		       resp->routes[i]->gateway, resp->routes[i]->device);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return 0;
}

/* raw -- METHOD: an empty request to any method (UNIMPLEMENTED checks). */
static int v_raw(struct ctl *c)
{
	struct herr err;
	void *resp = NULL;

	if (!c->o.n_args) {
		fprintf(stderr, "husk ctl raw: -- METHOD\n");
		return 2;
	}
	if (ttrpc_client_call_sync(c->cl,
				   c->o.service ? c->o.service : AGENT_SVC,
				   c->o.args[0], NULL, NULL, CALL_TIMEOUT_MS,
				   &resp, &err) < 0) {
		fprintf(stderr, "husk ctl: %s: %s: %s\n", c->o.args[0],
			grpc_code_name(err.code), err.msg);
		return 1;
	}
	printf("OK\n");
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct ctl *c);
	const char *help;
} verbs[] = {
	{ "check", v_check, "Health.Check" },
	{ "version", v_version, "Health.Version" },
	{ "guest-details", v_guest_details, "GetGuestDetails" },
	{ "create-sandbox", v_create_sandbox,
	  "CreateSandbox [--hostname H] [--dns LINE]... [--sandbox-pidns]\n"
	  "                   [--storage DRIVER:SOURCE:FSTYPE:MOUNT_POINT[:OPTION]...]..." },
	{ "destroy-sandbox", v_destroy_sandbox, "DestroySandbox" },
	{ "create", v_create,
	  "CreateContainer --id ID --rootfs DIR [spec options] -- ARGS" },
	{ "start", v_start, "StartContainer --id ID" },
	{ "exec", v_exec, "ExecProcess --id ID --exec-id EID -- ARGS" },
	{ "signal", v_signal, "SignalProcess --id ID [--exec-id EID] --signal SIG" },
	{ "wait", v_wait, "WaitProcess --id ID [--exec-id EID]: prints the status" },
	{ "read-stdout", v_read_stdout, "ReadStdout until EOF [--once] [--len N]" },
	{ "read-stderr", v_read_stderr, "ReadStderr until EOF [--once] [--len N]" },
	{ "write-stdin", v_write_stdin, "WriteStdin [--data STR] (else stdin)" },
	{ "close-stdin", v_close_stdin, "CloseStdin" },
	{ "resize", v_resize, "TtyWinResize --rows R --cols C" },
	{ "remove", v_remove, "RemoveContainer --id ID [--timeout S]" },
	{ "pause", v_pause, "PauseContainer --id ID" },
	{ "resume", v_resume, "ResumeContainer --id ID" },
	{ "stats", v_stats, "StatsContainer --id ID" },
	{ "update", v_update, "UpdateContainer --id ID [--memory B] [--pids-limit N] ..." },
	{ "oom-event", v_oom_event, "GetOOMEvent (blocks)" },
	{ "list-interfaces", v_list_interfaces, "ListInterfaces" },
	{ "list-routes", v_list_routes, "ListRoutes" },
	{ "raw", v_raw, "-- METHOD [--service S]: call any method" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: husk ctl --addr unix:PATH <verb> [options] [-- ARGS]\n\nverbs:\n");
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "  %-16s %s\n", verbs[i].name, verbs[i].help);
	fprintf(f,
		"\nspec options (create, exec): --tty --readonly --env K=V --cwd DIR\n"
		"  --user UID:GID --groups G,G --caps CAP,CAP --cap-drop CAP --no-caps\n"
		"  --rlimit TYPE=SOFT:HARD --no-new-privs --oom-score-adj N --hostname H\n"
		"  --masked PATH --readonly-path PATH --seccomp-deny SYSCALL\n"
		"  --seccomp-errno N --memory BYTES --cpu-quota N --cpu-period N\n"
		"  --cpu-shares N --cpuset CPUS --pids-limit N --net --no-pidns\n"
		"  --cgroupns --sandbox-pidns --mount TYPE:SRC:DST[:OPTS] --sysctl K=V\n"
		"  --hook-prestart PATH --hook-poststop PATH --hook-start-container PATH\n"
		"  --hook-create-container PATH --hook-timeout S\n");
}

static void push(struct strlist *l, char *v)
{
	if (l->n < CTL_LIST_MAX)
		l->v[l->n++] = v;
}

enum {
	O_ADDR = 256, O_ID, O_EXEC_ID, O_SANDBOX_ID, O_ROOTFS, O_HOSTNAME,
	O_CWD, O_USER, O_GROUPS, O_CAPS, O_SIGNAL, O_DATA, O_SERVICE,
	O_TTY, O_READONLY, O_NNP, O_NET, O_NO_PIDNS, O_SANDBOX_PIDNS, O_ONCE,
	O_NO_CAPS, O_OOM, O_MEMORY, O_CPU_QUOTA, O_CPU_PERIOD, O_CPU_SHARES,
	O_PIDS, O_TIMEOUT, O_LEN, O_ROWS, O_COLS, O_ENV, O_CAP_DROP, O_RLIMIT,
	O_MASKED, O_RO_PATH, O_SECCOMP_DENY, O_SECCOMP_ERRNO, O_MOUNT,
	O_SYSCTL, O_DNS, O_HOOK_PRESTART, O_HOOK_POSTSTOP, O_HOOK_START,
	O_HOOK_CREATE, O_HOOK_TIMEOUT,
	O_CPUSET, O_CGROUPNS, O_STORAGE,
};

static const struct option long_opts[] = {
	{ "addr", required_argument, NULL, O_ADDR },
	{ "id", required_argument, NULL, O_ID },
	{ "exec-id", required_argument, NULL, O_EXEC_ID },
	{ "sandbox-id", required_argument, NULL, O_SANDBOX_ID },
	{ "rootfs", required_argument, NULL, O_ROOTFS },
	{ "hostname", required_argument, NULL, O_HOSTNAME },
	{ "cwd", required_argument, NULL, O_CWD },
	{ "user", required_argument, NULL, O_USER },
	{ "groups", required_argument, NULL, O_GROUPS },
	{ "caps", required_argument, NULL, O_CAPS },
	{ "signal", required_argument, NULL, O_SIGNAL },
	{ "data", required_argument, NULL, O_DATA },
	{ "service", required_argument, NULL, O_SERVICE },
	{ "tty", no_argument, NULL, O_TTY },
	{ "readonly", no_argument, NULL, O_READONLY },
	{ "no-new-privs", no_argument, NULL, O_NNP },
	{ "net", no_argument, NULL, O_NET },
	{ "no-pidns", no_argument, NULL, O_NO_PIDNS },
	{ "sandbox-pidns", no_argument, NULL, O_SANDBOX_PIDNS },
	{ "once", no_argument, NULL, O_ONCE },
	{ "no-caps", no_argument, NULL, O_NO_CAPS },
	{ "cgroupns", no_argument, NULL, O_CGROUPNS },
	{ "oom-score-adj", required_argument, NULL, O_OOM },
	{ "memory", required_argument, NULL, O_MEMORY },
	{ "cpu-quota", required_argument, NULL, O_CPU_QUOTA },
	{ "cpu-period", required_argument, NULL, O_CPU_PERIOD },
	{ "cpu-shares", required_argument, NULL, O_CPU_SHARES },
	{ "cpuset", required_argument, NULL, O_CPUSET },
	{ "pids-limit", required_argument, NULL, O_PIDS },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "len", required_argument, NULL, O_LEN },
	{ "rows", required_argument, NULL, O_ROWS },
	{ "cols", required_argument, NULL, O_COLS },
	{ "env", required_argument, NULL, O_ENV },
	{ "cap-drop", required_argument, NULL, O_CAP_DROP },
	{ "rlimit", required_argument, NULL, O_RLIMIT },
	{ "masked", required_argument, NULL, O_MASKED },
	{ "readonly-path", required_argument, NULL, O_RO_PATH },
	{ "seccomp-deny", required_argument, NULL, O_SECCOMP_DENY },
	{ "seccomp-errno", required_argument, NULL, O_SECCOMP_ERRNO },
	{ "mount", required_argument, NULL, O_MOUNT },
	{ "sysctl", required_argument, NULL, O_SYSCTL },
	{ "dns", required_argument, NULL, O_DNS },
	{ "storage", required_argument, NULL, O_STORAGE },
	{ "hook-prestart", required_argument, NULL, O_HOOK_PRESTART },
	{ "hook-poststop", required_argument, NULL, O_HOOK_POSTSTOP },
	{ "hook-start-container", required_argument, NULL, O_HOOK_START },
	{ "hook-create-container", required_argument, NULL, O_HOOK_CREATE },
	{ "hook-timeout", required_argument, NULL, O_HOOK_TIMEOUT },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static int parse(struct ctl_opts *o, int argc, char **argv)
{
	int ch;

	/* "+": stop at the first non-option (the verb), then resume. */
	while ((ch = getopt_long(argc, argv, "+h", long_opts, NULL)) != -1) {
		char *a = optarg;

		switch (ch) {
		case O_ADDR: o->addr = a; break;
		case O_ID: o->id = a; break;
		case O_EXEC_ID: o->exec_id = a; break;
		case O_SANDBOX_ID: o->sandbox_id = a; break;
		case O_ROOTFS: o->rootfs = a; break;
		case O_HOSTNAME: o->hostname = a; break;
		case O_CWD: o->cwd = a; break;
		case O_USER: o->user = a; break;
		case O_GROUPS: o->groups = a; break;
		case O_CAPS: o->caps = a; break;
		case O_SIGNAL: o->signal = a; break;
		case O_DATA: o->data = a; break;
		case O_SERVICE: o->service = a; break;
		case O_CPUSET: o->cpuset = a; break;
		case O_TTY: o->tty = true; break;
		case O_READONLY: o->readonly = true; break;
		case O_NNP: o->no_new_privs = true; break;
		case O_NET: o->net = true; break;
		case O_NO_PIDNS: o->no_pidns = true; break;
		case O_SANDBOX_PIDNS: o->sandbox_pidns = true; break;
		case O_ONCE: o->once = true; break;
		case O_NO_CAPS: o->no_caps_default = true; break;
		case O_CGROUPNS: o->cgroupns = true; break;
		case O_OOM: o->oom_score_adj = strtoll(a, NULL, 0); break;
		case O_MEMORY: o->memory = strtoll(a, NULL, 0); break;
		case O_CPU_QUOTA: o->cpu_quota = strtoll(a, NULL, 0); break;
		case O_CPU_PERIOD: o->cpu_period = strtoll(a, NULL, 0); break;
		case O_CPU_SHARES: o->cpu_shares = strtoll(a, NULL, 0); break;
		case O_PIDS: o->pids_limit = strtoll(a, NULL, 0); break;
		case O_TIMEOUT: o->timeout = strtoll(a, NULL, 0); break;
		case O_LEN: o->len = strtoll(a, NULL, 0); break;
		case O_ROWS: o->rows = strtoll(a, NULL, 0); break;
		case O_COLS: o->cols = strtoll(a, NULL, 0); break;
		case O_SECCOMP_ERRNO: o->seccomp_errno = strtoll(a, NULL, 0); break;
		case O_ENV: push(&o->env, a); break;
		case O_CAP_DROP: push(&o->cap_drop, a); break;
		case O_RLIMIT: push(&o->rlimits, a); break;
		case O_MASKED: push(&o->masked, a); break;
		case O_RO_PATH: push(&o->ro_paths, a); break;
		case O_SECCOMP_DENY: push(&o->seccomp_deny, a); break;
		case O_MOUNT: push(&o->mounts, a); break;
		case O_SYSCTL: push(&o->sysctls, a); break;
		case O_DNS: push(&o->dns, a); break;
		case O_STORAGE: push(&storages, a); break;
		case O_HOOK_PRESTART: push(&o->hooks_prestart, a); break;
		case O_HOOK_POSTSTOP: push(&o->hooks_poststop, a); break;
		case O_HOOK_START: push(&o->hooks_start_container, a); break;
		case O_HOOK_CREATE: push(&o->hooks_create_container, a); break;
		case O_HOOK_TIMEOUT: o->hook_timeout = strtoll(a, NULL, 0); break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	return 0;
}

int ctl_main(int argc, char **argv)
{
	struct ctl c = { 0 };
	const char *verb;
	int fd, r;

	optind = 1;
	if (parse(&c.o, argc, argv) < 0 || optind >= argc) {
		usage(stderr);
		return 2;
	}
	verb = argv[optind];
	/* Options may also follow the verb. */
	argv += optind;
	argc -= optind;
	optind = 1;
	if (parse(&c.o, argc, argv) < 0)
		return 2;
	c.o.args = argv + optind;
	c.o.n_args = argc - optind;
	if (!c.o.addr) {
		fprintf(stderr, "husk ctl: --addr unix:PATH is required\n");
		return 2;
	}
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		if (strcmp(verb, verbs[i].name))
			continue;
		fd = connect_addr(c.o.addr);
		if (fd < 0)
			return 1;
		c.loop = evloop_new();
		c.cl = ttrpc_client_new(c.loop, fd, fd);
		r = verbs[i].fn(&c);
		ttrpc_client_free(c.cl);
		evloop_free(c.loop);
		return r;
	}
	fprintf(stderr, "husk ctl: unknown verb %s\n", verb);
	usage(stderr);
	return 2;
}
