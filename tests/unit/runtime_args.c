// SPDX-License-Identifier: Apache-2.0
/*
 * husk-runtime's command line (cli/runtime-args.c) as go-runc and conmon
 * write it, errors that name the verb or flag, signal names, and the state
 * JSON (cli/runtime-state.c): runc's `state` output and the state file's
 * round trip.
 */
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

#pragma GCC diagnostic ignored "-Wsign-compare"

static int parse(struct rt_cmd *cmd, struct herr *err, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;
	char *a;

	va_start(ap, err);
	while ((a = va_arg(ap, char *)) && argc < 63)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return rt_parse(argc, argv, cmd, err);
}

TEST(go_runc_create)
{
	struct rt_cmd c;
	struct herr e;

	/* containerd-shim-runc-v2's create, global flags first. */
	ASSERT_EQ(0, parse(&c, &e, "--root", "/run/docker/runtime-husk/moby",
			   "--log", "/b/log.json", "--log-format", "json",
			   "create", "--bundle", "/b", "--pid-file",
			   "/b/init.pid", "--console-socket", "/tmp/c.sock",
			   "--no-pivot", "abc", NULL));
	EXPECT_EQ(RT_CREATE, c.verb);
	EXPECT_STREQ("/run/docker/runtime-husk/moby", c.root);
	EXPECT_STREQ("/b/log.json", c.log);
	EXPECT_TRUE(c.log_json);
	EXPECT_STREQ("/b", c.bundle);
	EXPECT_STREQ("/b/init.pid", c.pid_file);
	EXPECT_STREQ("/tmp/c.sock", c.console_socket);
	EXPECT_STREQ("abc", c.id);
}

TEST(conmon_forms)
{
	struct rt_cmd c;
	struct herr e;

	/* "=" values, Go's single dash, --systemd-cgroup recorded. */
	ASSERT_EQ(0, parse(&c, &e, "--systemd-cgroup", "-root=/r",
			   "--log-format=json", "create", "-bundle=/b",
			   "-pid-file", "/p", "id1", NULL));
	EXPECT_TRUE(c.systemd_cgroup);
	EXPECT_STREQ("/r", c.root);
	EXPECT_STREQ("/b", c.bundle);
	EXPECT_STREQ("/p", c.pid_file);
	/* exec as containerd's shim and conmon write it. */
	ASSERT_EQ(0,
		  parse(&c, &e, "exec", "--process", "/tmp/p.json", "--detach",
			"--pid-file", "/tmp/e.pid", "--tty", "c1", NULL));
	EXPECT_EQ(RT_EXEC, c.verb);
	EXPECT_TRUE(c.detach);
	EXPECT_TRUE(c.tty);
	EXPECT_STREQ("/tmp/p.json", c.process);
	EXPECT_EQ(0, c.n_args);
	/* exec with a command instead of --process. */
	ASSERT_EQ(0, parse(&c, &e, "exec", "-t", "c1", "sh", "-c", "x", NULL));
	EXPECT_EQ(3, c.n_args);
	EXPECT_STREQ("sh", c.args[0]);
}

TEST(verbs_and_defaults)
{
	struct rt_cmd c;
	struct herr e;

	ASSERT_EQ(0, parse(&c, &e, "kill", "--all", "c1", "KILL", NULL));
	EXPECT_TRUE(c.all);
	EXPECT_STREQ("KILL", c.signal);
	ASSERT_EQ(0, parse(&c, &e, "kill", "c1", NULL));
	EXPECT_STREQ("TERM", c.signal);
	EXPECT_STREQ(RT_DEFAULT_ROOT, c.root);
	ASSERT_EQ(0, parse(&c, &e, "delete", "-f", "c1", NULL));
	EXPECT_TRUE(c.force);
	ASSERT_EQ(0, parse(&c, &e, "ps", "--format", "json", "c1", NULL));
	EXPECT_STREQ("json", c.format);
	ASSERT_EQ(0, parse(&c, &e, "update", "--resources", "-", "c1", NULL));
	EXPECT_STREQ("-", c.resources);
	ASSERT_EQ(0, parse(&c, &e, "--version", NULL));
	EXPECT_EQ(RT_VERSION, c.verb);
	ASSERT_EQ(0, parse(&c, &e, "features", NULL));
	EXPECT_EQ(RT_FEATURES, c.verb);
	ASSERT_EQ(0, parse(&c, &e, "create", "c1", NULL));
	EXPECT_STREQ(".", c.bundle);
}

TEST(errors_name_what)
{
	static const struct {
		const char *argv[6];
		const char *msg;
	} bad[] = {
		{ { "frobnicate", "c1" }, "unknown command \"frobnicate\"" },
		{ { "--frob", "state", "c1" }, "unknown flag --frob" },
		{ { "create", "--bogus", "c1" },
		  "create: unknown flag --bogus" },
		{ { "create", "--bundle" },
		  "create: flag --bundle needs a value" },
		{ { "start" }, "start: missing the container id" },
		{ { "state", "a", "b" }, "state: unexpected argument \"b\"" },
		{ { "kill", "--force", "c1" }, "kill: unknown flag --force" },
		{ { "exec", "c1" }, "exec: give --process FILE or a command" },
		{ { "update", "c1" }, "update: only --resources FILE" },
		{ { "ps", "--format", "xml", "c1" }, "ps: --format xml" },
		{ { "--log-format", "xml", "state", "c1" },
		  "--log-format xml" },
		{ { NULL }, "no command given" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct rt_cmd c;
		struct herr e;
		int n = 0;

		while (n < 6 && bad[i].argv[n])
			n++;
		EXPECT_EQ(-1, rt_parse(n, (char **)bad[i].argv, &c, &e));
		EXPECT_NE(NULL, strstr(e.msg, bad[i].msg))
		{
			TH_LOG("case %zu: \"%s\" lacks \"%s\"", i, e.msg,
			       bad[i].msg);
		}
	}
}

TEST(signals)
{
	EXPECT_EQ(SIGTERM, rt_signal_parse("TERM"));
	EXPECT_EQ(SIGTERM, rt_signal_parse("SIGTERM"));
	EXPECT_EQ(SIGKILL, rt_signal_parse("9"));
	EXPECT_EQ(SIGWINCH, rt_signal_parse("WINCH"));
	EXPECT_EQ(-1, rt_signal_parse("NOPE"));
	EXPECT_EQ(-1, rt_signal_parse("0"));
	EXPECT_EQ(-1, rt_signal_parse("65"));
	EXPECT_EQ(-1, rt_signal_parse("9x"));
}

static json_object *field(json_object *o, const char *k)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, k, &v);
	return v;
}

TEST(state_json)
{
	struct rt_state st = { .pid = 4242, .status = RT_RUNNING };
	json_object *o;
	char *s;

	strcpy(st.id, "c1");
	strcpy(st.bundle, "/b");
	strcpy(st.rootfs, "/b/rootfs");
	strcpy(st.created, "2026-12-06T16:00:00.000000001Z");
	s = rt_state_json(&st, "{\"a\":\"b\"}");
	o = json_tokener_parse(s);
	ASSERT_NE(NULL, o);
	EXPECT_STREQ("1.0.2", json_object_get_string(field(o, "ociVersion")));
	EXPECT_STREQ("c1", json_object_get_string(field(o, "id")));
	EXPECT_EQ(4242, json_object_get_int(field(o, "pid")));
	EXPECT_STREQ("running", json_object_get_string(field(o, "status")));
	EXPECT_STREQ("/b", json_object_get_string(field(o, "bundle")));
	EXPECT_STREQ("/b/rootfs", json_object_get_string(field(o, "rootfs")));
	EXPECT_STREQ(st.created, json_object_get_string(field(o, "created")));
	EXPECT_STREQ("b", json_object_get_string(
				  field(field(o, "annotations"), "a")));
	json_object_put(o);
	free(s);
	/* Stopped: no pid, as runc says; no annotations: an empty object. */
	st.status = RT_STOPPED;
	s = rt_state_json(&st, NULL);
	o = json_tokener_parse(s);
	ASSERT_NE(NULL, o);
	EXPECT_EQ(0, json_object_get_int(field(o, "pid")));
	EXPECT_STREQ("stopped", json_object_get_string(field(o, "status")));
	EXPECT_TRUE(
		json_object_is_type(field(o, "annotations"), json_type_object));
	json_object_put(o);
	free(s);
}

TEST(state_file_round_trip)
{
	struct rt_state a = { .pid = 7,
			      .pid_start = 123456789ULL,
			      .vm_pid = 8,
			      .vm_start = 987654321ULL,
			      .status = RT_PAUSED,
			      .exit_status = 137 };
	struct rt_state b;
	struct herr e;
	char *s;

	strcpy(a.id, "x");
	strcpy(a.bundle, "/bundle \"quoted\"");
	strcpy(a.rootfs, "/r");
	strcpy(a.created, "now");
	strcpy(a.run_dir, "/run/husk/rt-1");
	strcpy(a.cgroup, "/docker/x");
	s = rt_state_encode(&a);
	ASSERT_EQ(0, rt_state_decode(s, &b, &e));
	EXPECT_STREQ(a.bundle, b.bundle);
	EXPECT_STREQ(a.run_dir, b.run_dir);
	EXPECT_STREQ(a.cgroup, b.cgroup);
	EXPECT_EQ(a.pid, b.pid);
	EXPECT_EQ(a.pid_start, b.pid_start);
	EXPECT_EQ(a.vm_pid, b.vm_pid);
	EXPECT_EQ(a.vm_start, b.vm_start);
	EXPECT_EQ(a.status, b.status);
	EXPECT_EQ(a.exit_status, b.exit_status);
	free(s);
	EXPECT_EQ(-1, rt_state_decode("[]", &b, &e));
	EXPECT_EQ(-1, rt_state_decode("{\"id\":\"x\"}", &b, &e));
	EXPECT_NE(NULL, strstr(e.msg, "\"bundle\" missing"));
	EXPECT_EQ(-1,
		  rt_state_decode("{\"id\":\"x\",\"bundle\":\"b\",\"rootfs\":"
				  "\"r\",\"created\":\"c\",\"run_dir\":"
				  "\"d\",\"status\":\"dancing\"}",
				  &b, &e));
	EXPECT_NE(NULL, strstr(e.msg, "unknown status \"dancing\""));
}

TEST(liveness)
{
	/* Ourselves: alive with our start time, not with another one. */
	unsigned long long st = rt_proc_start(getpid());

	EXPECT_NE(0ULL, st);
	EXPECT_TRUE(rt_alive(getpid(), st));
	EXPECT_FALSE(rt_alive(getpid(), st + 1));
	EXPECT_FALSE(rt_alive(0, 0));
}

TEST_HARNESS_MAIN
