// SPDX-License-Identifier: Apache-2.0
/*
 * config.json -> oci.Spec (host/spec.c): the spec containerd's ctr
 * writes, converted field by field and constrained for the guest (root
 * path, namespaces, hooks, host-only cgroup settings, bind sources moved
 * into the shared directory), and a table of bad inputs, each of which
 * must fail with a message naming the field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

#pragma GCC diagnostic ignored "-Wsign-compare"

/* What containerd 1.6's ctr run writes, trimmed a little, plus extras. */
static const char ctr_spec[] =
	"{\"ociVersion\":\"1.0.2-dev\","
	"\"process\":{\"user\":{\"uid\":0,\"gid\":0,\"additionalGids\":[10,11]}"
	","
	"\"args\":[\"echo\",\"hello\"],"
	"\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/"
	"sbin:/bin\"],"
	"\"cwd\":\"/"
	"\",\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\"],"
	"\"effective\":[\"CAP_CHOWN\"],\"permitted\":[\"CAP_CHOWN\"]},"
	"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}]"
	","
	"\"noNewPrivileges\":true,\"apparmorProfile\":\"cri-containerd."
	"apparmor.d\","
	"\"oomScoreAdj\":-998},"
	"\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
	"\"hostname\":\"box\","
	"\"mounts\":["
	"{\"destination\":\"/"
	"proc\",\"type\":\"proc\",\"source\":\"proc\",\"options\":[\"nosuid\","
	"\"noexec\",\"nodev\"]},"
	"{\"destination\":\"/"
	"dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\","
	"\"strictatime\",\"mode=755\",\"size=65536k\"]},"
	"{\"destination\":\"/dev/shm\",\"type\":\"bind\",\"source\":\"/run/"
	"containerd/shm/x\",\"options\":[\"rbind\",\"ro\"]},"
	"{\"destination\":\"/etc/resolv.conf\",\"type\":\"bind\",\"source\":\"/"
	"var/lib/x/resolv.conf\",\"options\":[\"rbind\",\"ro\"]},"
	"{\"destination\":\"/data\",\"type\":\"none\",\"source\":\"/srv/"
	"data\",\"options\":[\"rbind\",\"rw\"]}"
	"],"
	"\"hooks\":{\"prestart\":[{\"path\":\"/usr/bin/hook\"}]},"
	"\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\","
	"\"io.kubernetes.cri.sandbox-id\":\"pod1\",\"other\":\"x\"},"
	"\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":"
	"\"rwm\"}],"
	"\"memory\":{\"limit\":268435456,\"swap\":-1},"
	"\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000,\"cpus\":"
	"\"0-3\",\"mems\":\"0\"},"
	"\"pids\":{\"limit\":100},\"blockIO\":{\"weight\":10}},"
	"\"cgroupsPath\":\"/default/t1\","
	"\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\",\"path\":\"/proc/"
	"1/ns/ipc\"},"
	"{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"network\","
	"\"path\":\"/var/run/netns/x\"},"
	"{\"type\":\"cgroup\"}],"
	"\"devices\":[{\"path\":\"/dev/"
	"fuse\",\"type\":\"c\",\"major\":10,\"minor\":229}],"
	"\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},"
	"\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":["
	"\"SCMP_ARCH_X86_64\"],"
	"\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\","
	"\"errnoRet\":1,"
	"\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]},"
	"\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/"
	"sys\"]}}\n";

static const Grpc__Mount *find_mount(const Grpc__Spec *sp, const char *dst)
{
	for (size_t i = 0; i < sp->n_mounts; i++)
		if (!strcmp(sp->mounts[i]->destination, dst))
			return sp->mounts[i];
	return NULL;
}

static bool has_ns(const Grpc__Linux *l, const char *type)
{
	for (size_t i = 0; i < l->n_namespaces; i++)
		if (!strcmp(l->namespaces[i]->type, type))
			return true;
	return false;
}

TEST(ctr_spec_converts)
{
	struct spec_result r;
	struct herr err = { 0 };
	const Grpc__Spec *sp;
	const Grpc__Process *p;
	const Grpc__Mount *m;

	ASSERT_EQ(0, spec_from_json(ctr_spec, strlen(ctr_spec), "t1", &r, &err))
	TH_LOG("%s", err.msg);
	sp = r.spec;
	p = sp->process;
	ASSERT_EQ(2, p->n_args);
	EXPECT_STREQ("hello", p->args[1]);
	EXPECT_STREQ("/", p->cwd);
	EXPECT_EQ(2, p->user->n_additionalgids);
	EXPECT_EQ(11, p->user->additionalgids[1]);
	EXPECT_EQ(2, p->capabilities->n_bounding);
	EXPECT_EQ(1024, p->rlimits[0]->hard);
	EXPECT_TRUE(p->nonewprivileges);
	EXPECT_EQ(-998, p->oomscoreadj);
	/* Host policy names do not reach the guest. */
	EXPECT_STREQ("", p->apparmorprofile);
	/* The guest path of the shared rootfs, read-only kept. */
	EXPECT_STREQ("/run/kata-containers/shared/containers/t1/rootfs",
		     sp->root->path);
	EXPECT_TRUE(sp->root->readonly);
	EXPECT_STREQ("rootfs", r.root_path);
	EXPECT_STREQ("box", sp->hostname);
	EXPECT_EQ(NULL, sp->hooks);
	EXPECT_EQ(3, sp->n_annotations);
	EXPECT_STREQ("pod1", r.sandbox_id);
	EXPECT_TRUE(r.pod_member);

	/* Namespaces: network and cgroup dropped, paths cleared. */
	EXPECT_TRUE(has_ns(sp->linux, "pid"));
	EXPECT_TRUE(has_ns(sp->linux, "ipc"));
	EXPECT_FALSE(has_ns(sp->linux, "network"));
	EXPECT_FALSE(has_ns(sp->linux, "cgroup"));
	for (size_t i = 0; i < sp->linux->n_namespaces; i++)
		EXPECT_STREQ("", sp->linux->namespaces[i]->path);
	EXPECT_FALSE(r.sandbox_pidns);
	/* ... but the network one's path is where the pod's NICs come from. */
	EXPECT_STREQ("/var/run/netns/x", r.netns_path);
	EXPECT_FALSE(r.host_netns);

	/* Resources: memory, cpu time and pids kept; the rest dropped. */
	EXPECT_EQ(268435456, sp->linux->resources->memory->limit);
	EXPECT_EQ(-1, sp->linux->resources->memory->swap);
	EXPECT_EQ(512, sp->linux->resources->cpu->shares);
	EXPECT_STREQ("", sp->linux->resources->cpu->cpus);
	EXPECT_STREQ("", sp->linux->resources->cpu->mems);
	EXPECT_EQ(100, sp->linux->resources->pids->limit);
	EXPECT_EQ(0, sp->linux->resources->n_devices);
	EXPECT_EQ(NULL, sp->linux->resources->blockio);
	EXPECT_EQ(0, sp->linux->n_devices);
	EXPECT_STREQ("/default/t1", sp->linux->cgroupspath);
	EXPECT_EQ(1, sp->linux->n_sysctl);
	ASSERT_NE(NULL, sp->linux->seccomp);
	EXPECT_EQ(GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET,
		  sp->linux->seccomp->syscalls[0]->errno_ret_case);
	EXPECT_EQ(1, sp->linux->seccomp->syscalls[0]->errnoret);
	EXPECT_STREQ("SCMP_CMP_EQ",
		     sp->linux->seccomp->syscalls[0]->args[0]->op);

	/* Mounts: /dev/shm is the guest's tmpfs; host binds are shared. */
	EXPECT_EQ(5, sp->n_mounts);
	m = find_mount(sp, "/dev/shm");
	ASSERT_NE(NULL, m);
	EXPECT_STREQ("tmpfs", m->type);
	EXPECT_STREQ("shm", m->source);
	ASSERT_EQ(2, r.n_shares);
	EXPECT_STREQ("/var/lib/x/resolv.conf", r.shares[0].host_path);
	EXPECT_STREQ("t1-m3-resolv.conf", r.shares[0].name);
	EXPECT_TRUE(r.shares[0].readonly);
	m = find_mount(sp, "/etc/resolv.conf");
	EXPECT_STREQ("/run/kata-containers/shared/containers/t1-m3-resolv.conf",
		     m->source);
	EXPECT_STREQ("/srv/data", r.shares[1].host_path);
	EXPECT_FALSE(r.shares[1].readonly);
	m = find_mount(sp, "/proc");
	EXPECT_STREQ("proc", m->source);
	spec_result_free(&r);
}

TEST(pid_namespace_path_means_the_pods)
{
	static const char j[] =
		"{\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
		"\"linux\":{\"namespaces\":[{\"type\":\"pid\",\"path\":\"/proc/"
		"9/ns/pid\"},"
		"{\"type\":\"mount\"}]}}";
	struct spec_result r;
	struct herr err;

	ASSERT_EQ(0, spec_from_json(j, strlen(j), "c2", &r, &err))
	TH_LOG("%s", err.msg);
	EXPECT_TRUE(r.sandbox_pidns);
	EXPECT_FALSE(has_ns(r.spec->linux, "pid"));
	EXPECT_TRUE(has_ns(r.spec->linux, "mount"));
	/* No network namespace at all: the host's (hostNetwork), no NIC. */
	EXPECT_EQ(NULL, r.netns_path);
	EXPECT_TRUE(r.host_netns);
	EXPECT_EQ(NULL, r.sandbox_id);
	EXPECT_FALSE(r.pod_member);
	spec_result_free(&r);
}

TEST(network_namespace_without_path_is_a_new_one)
{
	static const char j[] =
		"{\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
		"\"linux\":{\"namespaces\":[{\"type\":\"network\"}]}}";
	struct spec_result r;
	struct herr err;

	ASSERT_EQ(0, spec_from_json(j, strlen(j), "c3", &r, &err))
	TH_LOG("%s", err.msg);
	/* A new, empty namespace (plain ctr run): no NIC, not the host's. */
	EXPECT_EQ(NULL, r.netns_path);
	EXPECT_FALSE(r.host_netns);
	spec_result_free(&r);
}

TEST(console_size_needs_terminal)
{
	static const char j[] = "{\"process\":{\"args\":[\"sh\"],"
				"\"consoleSize\":{\"height\":24,\"width\":80}},"
				"\"linux\":{}}";
	struct spec_result r;
	struct herr err;

	ASSERT_EQ(0, spec_from_json(j, strlen(j), "c3", &r, &err));
	EXPECT_EQ(NULL, r.spec->process->consolesize);
	/* An empty cwd means "/". */
	EXPECT_STREQ("/", r.spec->process->cwd);
	spec_result_free(&r);
}

struct bad_case {
	const char *json;
	const char *want; /* substring of the error */
};

static const struct bad_case bad_cases[] = {
	{ "", "not valid JSON" },
	{ "   ", "not valid JSON" },
	{ "[]", "not a JSON object" },
	{ "{\"process\":{\"args\":[\"a\"]},\"linux\":{}} x", "not valid JSON" },
	{ "{\"process\":{\"args\":[\"a\"]},\"linux\":{}", "not valid JSON" },
	{ "{\"process\":{\"args\":[\"a\"]},\"linux\":{},}", "not valid JSON" },
	{ "{\"linux\":{}}", "process: missing" },
	{ "{\"process\":{\"args\":[\"a\"]}}", "linux: missing" },
	{ "{\"process\":1,\"linux\":{}}", "process: expected an object" },
	{ "{\"process\":{\"args\":[]},\"linux\":{}}",
	  "process.args: must name a program" },
	{ "{\"process\":{\"args\":[\"\"]},\"linux\":{}}",
	  "process.args: must name a program" },
	{ "{\"process\":{\"args\":[\"a\",2]},\"linux\":{}}",
	  "process.args[1]: expected a string" },
	{ "{\"process\":{\"args\":\"a\"},\"linux\":{}}",
	  "process.args: expected an array" },
	{ "{\"process\":{\"args\":[\"a\"],\"cwd\":\"tmp\"},\"linux\":{}}",
	  "process.cwd: must be an absolute path" },
	{ "{\"process\":{\"args\":[\"a\"],\"user\":{\"uid\":-1}},\"linux\":{}}",
	  "process.user.uid: must not be negative" },
	{ "{\"process\":{\"args\":[\"a\"],\"user\":{\"uid\":4294967296}},"
	  "\"linux\":{}}",
	  "process.user.uid: out of range" },
	{ "{\"process\":{\"args\":[\"a\"],\"user\":{\"uid\":1.5}},\"linux\":{}"
	  "}",
	  "process.user.uid: expected an integer" },
	{ "{\"process\":{\"args\":[\"a\"],\"terminal\":\"yes\"},\"linux\":{}}",
	  "process.terminal: expected a boolean" },
	{ "{\"process\":{\"args\":[\"a\"],\"rlimits\":[{\"type\":\"X\","
	  "\"hard\":\"1\"}]},\"linux\":{}}",
	  "process.rlimits[0].hard: expected an integer" },
	{ "{\"process\":{\"args\":[\"a\"]},\"linux\":{\"namespaces\":[{"
	  "\"type\":\"user\"}]}}",
	  "user namespaces are not supported" },
	{ "{\"process\":{\"args\":[\"a\"]},\"linux\":{\"namespaces\":[{"
	  "\"type\":\"bogus\"}]}}",
	  "unknown namespace type" },
	{ "{\"process\":{\"args\":[\"a\"]},\"linux\":{\"namespaces\":[{}]}}",
	  "linux.namespaces[0].type: missing" },
	{ "{\"process\":{\"args\":[\"a\"]},\"linux\":{\"resources\":{"
	  "\"memory\":{\"limit\":\"1G\"}}}}",
	  "linux.resources.memory.limit: expected an integer" },
	{ "{\"process\":{\"args\":[\"a\"]},\"linux\":{\"resources\":{"
	  "\"memory\":{\"limit\":9223372036854775808}}}}",
	  "linux.resources.memory.limit: out of range" },
	{ "{\"process\":{\"args\":[\"a\"]},\"linux\":{\"sysctl\":{\"a\":1}}}",
	  "expected a string" },
	{ "{\"process\":{\"args\":[\"a\"]},\"linux\":{},\"mounts\":[{"
	  "\"destination\":\"proc\",\"type\":\"proc\"}]}",
	  "mounts[0].destination: must be an absolute path" },
	{ "{\"process\":{\"args\":[\"a\"]},\"linux\":{},\"mounts\":[{"
	  "\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"rel\"}]}",
	  "mounts[0].source: a bind mount needs an absolute host path" },
	{ "{\"process\":{\"args\":[\"a\"]},\"linux\":{},\"mounts\":[3]}",
	  "mounts[0]: expected an object" },
	{ "{\"process\":{\"args\":[\"a\"]},\"linux\":{},\"annotations\":{\"k\":"
	  "1}}",
	  "annotations.k: expected a string" },
	{ "{\"process\":{\"args\":[\"a\"]},\"linux\":{\"seccomp\":{"
	  "\"syscalls\":[{\"names\":[\"x\"],\"errnoRet\":-1}]}}}",
	  "linux.seccomp.syscalls[0].errnoRet: must not be negative" },
	{ "{\"process\":{\"args\":[\"a\"]},\"linux\":[]}",
	  "linux: expected an object" },
	{ "{\"process\":{\"args\":[\"a\"]},\"root\":{\"path\":5},\"linux\":{}}",
	  "root.path: expected a string" },
};

TEST(bad_inputs_fail_with_the_field_named)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		struct spec_result r;
		struct herr err = { 0 };
		const struct bad_case *c = &bad_cases[i];

		EXPECT_EQ(-1, spec_from_json(c->json, strlen(c->json), "t1", &r,
					     &err))
		TH_LOG("case %zu (%s) was accepted", i, c->json);
		EXPECT_EQ(GRPC_INVALID_ARGUMENT, err.code);
		EXPECT_NE(NULL, strstr(err.msg, c->want))
		TH_LOG("case %zu: want \"%s\", got \"%s\"", i, c->want,
		       err.msg);
		EXPECT_EQ(NULL, r.spec);
	}
}

TEST(nul_bytes_and_deep_nesting_are_refused)
{
	static const char nul[] = "{\"process\":{}\0}";
	char deep[200];
	struct spec_result r;
	struct herr err;
	size_t n = 0;

	EXPECT_EQ(-1, spec_from_json(nul, sizeof(nul) - 1, "t1", &r, &err));
	EXPECT_NE(NULL, strstr(err.msg, "NUL"));
	for (int i = 0; i < 60; i++)
		deep[n++] = '[';
	for (int i = 0; i < 60; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	EXPECT_EQ(-1, spec_from_json(deep, n, "t1", &r, &err));
}

TEST(exec_process_and_update_resources)
{
	static const char proc[] = "{\"terminal\":true,\"consoleSize\":{"
				   "\"height\":30,\"width\":100},"
				   "\"user\":{\"uid\":1000,\"gid\":1000},"
				   "\"args\":[\"sh\",\"-c\",\"id\"],"
				   "\"env\":[\"TERM=xterm\"],\"cwd\":\"/tmp\"}";
	static const char res[] =
		"{\"memory\":{\"limit\":1048576},\"cpu\":{\"cpus\":\"1\"},"
		"\"devices\":[{\"allow\":true}]}";
	Grpc__Process *p;
	Grpc__LinuxResources *lr;
	struct herr err;

	ASSERT_EQ(0, spec_process_from_json(proc, strlen(proc), &p, &err))
	TH_LOG("%s", err.msg);
	EXPECT_TRUE(p->terminal);
	EXPECT_EQ(30, p->consolesize->height);
	EXPECT_EQ(1000, p->user->uid);
	EXPECT_STREQ("/tmp", p->cwd);
	protobuf_c_message_free_unpacked(&p->base, NULL);

	EXPECT_EQ(-1, spec_process_from_json("{\"args\":[]}", 11, &p, &err));
	EXPECT_NE(NULL, strstr(err.msg, "process.args"));

	ASSERT_EQ(0, spec_resources_from_json(res, strlen(res), &lr, &err));
	EXPECT_EQ(1048576, lr->memory->limit);
	EXPECT_STREQ("", lr->cpu->cpus);
	EXPECT_EQ(0, lr->n_devices);
	protobuf_c_message_free_unpacked(&lr->base, NULL);
}

TEST(pod_info_only_reads_annotations)
{
	static const char j[] = "{\"annotations\":{\"io.kubernetes.cri-o."
				"ContainerType\":\"sandbox\","
				"\"io.kubernetes.cri-o.SandboxID\":\"s1\"}}";
	char *sid;
	bool member;
	struct herr err;

	ASSERT_EQ(0, spec_pod_info(j, strlen(j), &sid, &member, &err));
	EXPECT_STREQ("s1", sid);
	EXPECT_FALSE(member);
	free(sid);
	ASSERT_EQ(0, spec_pod_info("{}", 2, &sid, &member, &err));
	EXPECT_EQ(NULL, sid);
	EXPECT_EQ(-1, spec_pod_info("{\"annotations\":[]}", 18, &sid, &member,
				    &err));
}

TEST(read_bundle_names_the_file)
{
	char dir[] = "/tmp/shim-spec-XXXXXX", path[64];
	struct spec_result r;
	struct herr err;
	FILE *f;

	ASSERT_NE(NULL, mkdtemp(dir));
	EXPECT_EQ(-1, spec_read_bundle(dir, "t1", &r, &err));
	EXPECT_NE(NULL, strstr(err.msg, "config.json"));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	fputs("{\"process\":{\"args\":[\"a\"]},\"linux\":{\"resources\":7}}",
	      f);
	fclose(f);
	EXPECT_EQ(-1, spec_read_bundle(dir, "t1", &r, &err));
	EXPECT_NE(NULL,
		  strstr(err.msg,
			 "config.json: linux.resources: expected an object"))
	TH_LOG("%s", err.msg);
	f = fopen(path, "w");
	fputs(ctr_spec, f);
	fclose(f);
	EXPECT_EQ(0, spec_read_bundle(dir, "t1", &r, &err));
	spec_result_free(&r);
	unlink(path);
	rmdir(dir);
}

TEST_HARNESS_MAIN
