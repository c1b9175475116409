// SPDX-License-Identifier: Apache-2.0
/*
 * The start timeline's line (host/pod-timeline.c): the phase names in
 * their fixed order, times since the shim's start or else since Create,
 * phases that did not happen left out, a phase recorded once, and the
 * line logged once then forgotten.  tests/e2e/boot-async.sh checks the
 * line a real `ctr run --rm` produces.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "pod.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

static struct pod mkpod(void)
{
	struct pod pod;

	memset(&pod, 0, sizeof(pod));
	pod.id = "p1";
	return pod;
}

TEST(every_phase_in_order)
{
	struct pod pod = mkpod();
	char buf[256];

	for (int i = 0; i < POD_PHASES; i++)
		pod_timeline_set(&pod, i, 1000 + 10 * i);
	ASSERT_TRUE(pod_timeline_format(&pod, buf, sizeof(buf)));
	EXPECT_STREQ("start=0,create=10,spawned=20,console=30,agent=40,"
		     "sandbox=50,container=60,started=70,output=80,exit=90,"
		     "teardown=100",
		     buf);
}

TEST(missing_phases_left_out_and_create_as_base)
{
	struct pod pod = mkpod();
	char buf[256];

	pod_timeline_set(&pod, POD_T_CREATE, 500);
	pod_timeline_set(&pod, POD_T_SPAWNED, 700);
	pod_timeline_set(&pod, POD_T_TEARDOWN, 900);
	ASSERT_TRUE(pod_timeline_format(&pod, buf, sizeof(buf)));
	EXPECT_STREQ("create=0,spawned=200,teardown=400", buf);
}

TEST(a_start_after_create_is_not_ours)
{
	struct pod pod = mkpod();
	char buf[256];

	pod_timeline_set(&pod, POD_T_START, 800);
	pod_timeline_set(&pod, POD_T_CREATE, 500);
	ASSERT_TRUE(pod_timeline_format(&pod, buf, sizeof(buf)));
	EXPECT_STREQ("create=0", buf);
}

TEST(first_mark_wins)
{
	struct pod pod = mkpod();
	char buf[256];

	pod_timeline_set(&pod, POD_T_CREATE, 100);
	pod_timeline_set(&pod, POD_T_OUTPUT, 150);
	pod_timeline_set(&pod, POD_T_OUTPUT, 170);
	pod_timeline_set(&pod, POD_T_CREATE, 120);
	ASSERT_TRUE(pod_timeline_format(&pod, buf, sizeof(buf)));
	EXPECT_STREQ("create=0,output=50", buf);
}

TEST(no_create_no_line)
{
	struct pod pod = mkpod();
	char buf[64];

	pod_timeline_set(&pod, POD_T_START, 100);
	EXPECT_FALSE(pod_timeline_format(&pod, buf, sizeof(buf)));
}

TEST(logged_once_then_forgotten)
{
	struct pod pod = mkpod();
	char line[512] = "";
	int p[2];
	ssize_t n;

	ASSERT_EQ(0, pipe(p));
	log_init(p[1], LOG_INFO);
	pod_timeline_set(&pod, POD_T_START, 1000);
	pod_timeline_set(&pod, POD_T_CREATE, 1004);
	pod_timeline_mark(&pod, POD_T_TEARDOWN);
	pod_timeline_log(&pod);
	pod_timeline_log(&pod); /* nothing recorded any more: no line */
	close(p[1]);
	n = read(p[0], line, sizeof(line) - 1);
	ASSERT_GT(n, 0);
	line[n] = '\0';
	EXPECT_NE(NULL, strstr(line, "level=info msg=\"start timeline\" "
				     "sandbox=p1 phases=\"start=0,create=4,"
				     "teardown="));
	/* One line only. */
	EXPECT_EQ(line + n - 1, strchr(line, '\n'));
	close(p[0]);
}

TEST_HARNESS_MAIN
