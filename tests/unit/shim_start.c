// SPDX-License-Identifier: Apache-2.0
/*
 * The names a shim is known by (host-shim/start.c, flags.c): the socket
 * address containerd computes too (sha256 vectors from sha256sum), Go's
 * path cleaning it hashes, the Go-style command line, the run directory,
 * atomic files and the pid checks used before killing anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flags.h"
#include "start.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

#pragma GCC diagnostic ignored "-Wsign-compare"

TEST(socket_address_matches_containerd)
{
	struct {
		const char *addr, *ns, *id, *want;
	} v[] = {
		/* printf %s /run/containerd/containerd.sock/default/t1 |
		   sha256sum */
		{ "/run/containerd/containerd.sock", "default", "t1",
		  "unix:///run/containerd/s/"
		  "df6a0c5cd2e9a1a16d9a3f2447365d9fc6021bc1d3d9a4caa2f5b2c4f773"
		  "758f" },
		/* printf %s /tmp/ctd/containerd.sock/k8s.io/abc | sha256sum */
		{ "/tmp/ctd//containerd.sock", "k8s.io", "abc",
		  "unix:///run/containerd/s/"
		  "5a5c2af740266552e1c900d2e1381fffeed3ff03ee38f8054658ece165bc"
		  "a1c0" },
		/* CRI-O passes -address "": filepath.Join drops it. */
		{ "", "default", "t1",
		  "unix:///run/containerd/s/"
		  "62a0a9a4cc0fa64c95331755912096445d170ec0039dcd6ab4ae2e72bda0"
		  "0cb1" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct herr err;
		char *a =
			shim_socket_address(v[i].addr, v[i].ns, v[i].id, &err);

		ASSERT_NE(NULL, a);
		EXPECT_STREQ(v[i].want, a);
		EXPECT_STREQ(v[i].want + 7, shim_socket_path(a));
		free(a);
	}
}

TEST(go_path_clean_like_filepath_join)
{
	struct {
		const char *in, *out;
	} v[] = {
		{ "", "." },
		{ "/", "/" },
		{ "a//b", "a/b" },
		{ "/a/./b/", "/a/b" },
		{ "/a/b/../c", "/a/c" },
		{ "/../a", "/a" },
		{ "../../a", "../../a" },
		{ "a/../..", ".." },
		{ "./", "." },
		{ "/run/containerd/containerd.sock/default/t1",
		  "/run/containerd/containerd.sock/default/t1" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		char *c = go_path_clean(v[i].in);

		EXPECT_STREQ(v[i].out, c) TH_LOG("clean(\"%s\")", v[i].in);
		free(c);
	}
}

TEST(flags_start_as_containerd_sends_them)
{
	char *argv[] = { "shim",
			 "-namespace",
			 "default",
			 "-address",
			 "/run/c.sock",
			 "-publish-binary",
			 "/usr/bin/containerd",
			 "-id",
			 "t1",
			 "-debug",
			 "start",
			 NULL };
	struct shim_flags f;
	struct herr err;

	ASSERT_EQ(0, shim_flags_parse(ARRAY_SIZE(argv) - 1, argv, &f, &err));
	EXPECT_EQ(SHIM_ACTION_START, f.action);
	EXPECT_STREQ("default", f.namespace_);
	EXPECT_STREQ("/run/c.sock", f.address);
	EXPECT_STREQ("/usr/bin/containerd", f.publish_binary);
	EXPECT_STREQ("t1", f.id);
	EXPECT_TRUE(f.debug);
	EXPECT_STREQ("", f.bundle);
}

TEST(flags_delete_daemon_and_go_spellings)
{
	char *del[] = { "shim",	 "--namespace=k8s.io", "-bundle", "/b",
			"-id=x", "-debug=false",       "delete",  NULL };
	char *daemon[] = { "shim", "-namespace", "n", "-id", "y", NULL };
	struct shim_flags f;
	struct herr err;

	ASSERT_EQ(0, shim_flags_parse(ARRAY_SIZE(del) - 1, del, &f, &err));
	EXPECT_EQ(SHIM_ACTION_DELETE, f.action);
	EXPECT_STREQ("k8s.io", f.namespace_);
	EXPECT_STREQ("/b", f.bundle);
	EXPECT_STREQ("x", f.id);
	EXPECT_FALSE(f.debug);
	EXPECT_STREQ("containerd", f.publish_binary);
	ASSERT_EQ(0,
		  shim_flags_parse(ARRAY_SIZE(daemon) - 1, daemon, &f, &err));
	EXPECT_EQ(SHIM_ACTION_DAEMON, f.action);
}

TEST(flags_errors)
{
	struct {
		char *argv[5];
		const char *want;
	} v[] = {
		{ { "shim", "-bogus", NULL },
		  "flag provided but not defined: -bogus" },
		{ { "shim", "-id", NULL }, "flag needs an argument: -id" },
		{ { "shim", "restart", NULL }, "unknown action \"restart\"" },
		{ { "shim", "start", "extra", NULL }, "unexpected argument" },
		{ { "shim", "-debug=maybe", NULL }, "invalid boolean value" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct shim_flags f;
		struct herr err;
		int argc = 0;

		while (v[i].argv[argc])
			argc++;
		EXPECT_EQ(-1, shim_flags_parse(argc, v[i].argv, &f, &err));
		EXPECT_NE(NULL, strstr(err.msg, v[i].want))
		TH_LOG("case %zu: %s", i, err.msg);
	}
}

TEST(run_dir_and_atomic_files)
{
	char dir[] = "/tmp/shim-start-XXXXXX", buf[64] = "";
	_cleanup_free_ char *path = NULL, *tmp = NULL;
	struct herr err;
	char *rd;
	FILE *f;

	unsetenv("HUSK_RUN_ROOT");
	rd = shim_run_dir("default", "t1");
	EXPECT_STREQ("/run/husk/default/t1", rd);
	free(rd);
	setenv("HUSK_RUN_ROOT", "/tmp/x", 1);
	rd = shim_run_dir("k8s.io", "p");
	EXPECT_STREQ("/tmp/x/k8s.io/p", rd);
	free(rd);
	unsetenv("HUSK_RUN_ROOT");

	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, write_file_atomic(dir, "address", "unix:///x", &err));
	ASSERT_EQ(0, write_file_atomic(dir, "shim.pid", "1234", &err));
	ASSERT_EQ(0, asprintf(&path, "%s/address", dir) < 0);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(buf, sizeof(buf), f));
	fclose(f);
	/* No trailing newline: containerd reads the file verbatim. */
	EXPECT_STREQ("unix:///x", buf);
	EXPECT_EQ(1234, read_pid_file(dir, "shim.pid"));
	EXPECT_EQ(0, read_pid_file(dir, "missing"));
	ASSERT_EQ(0, asprintf(&tmp, "%s/.address", dir) < 0);
	EXPECT_NE(0, access(tmp, F_OK));
	EXPECT_EQ(-1, write_file_atomic("/nonexistent/dir", "a", "b", &err));
	EXPECT_NE(NULL, strstr(err.msg, "/nonexistent/dir/.a"));
	unlink(path);
	free(path);
	path = NULL;
	ASSERT_EQ(0, asprintf(&path, "%s/shim.pid", dir) < 0);
	unlink(path);
	rmdir(dir);
}

TEST(pid_matches_checks_command_line_and_zombies)
{
	const char *self[] = { "shim_start", NULL };
	const char *other[] = { "no-such-program-name", NULL };
	pid_t child;

	EXPECT_TRUE(pid_matches(getpid(), self));
	EXPECT_FALSE(pid_matches(getpid(), other));
	EXPECT_FALSE(pid_matches(0, self));
	EXPECT_FALSE(pid_matches(1, NULL));
	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0)
		_exit(0);
	/* A zombie is not alive, whatever its command line. */
	usleep(100000);
	EXPECT_FALSE(pid_matches(child, self));
	waitpid(child, NULL, 0);
}

TEST_HARNESS_MAIN
