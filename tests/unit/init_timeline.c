// SPDX-License-Identifier: Apache-2.0
/*
 * init/timeline.c: steps are only stored until printed, the print is one
 * debug line of the steps in order on the guest's clock, nothing is
 * written below debug, and a second print has only the steps since the
 * first.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "init.h"
#include "log.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

/* What the log wrote to the pipe so far (one read; lines are small). */
static ssize_t drain(int fd, char *buf, size_t len)
{
	ssize_t n = read(fd, buf, len - 1);

	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/* One process, one timeline: the steps accumulate across the checks. */
TEST(timeline_debug_only_in_order)
{
	char buf[4096];
	const char *a, *b, *c;
	int p[2];

	ASSERT_EQ(0, pipe2(p, O_NONBLOCK));
	log_init(p[1], LOG_WARN);
	init_step("alpha");
	usleep(2000);
	init_step("beta");
	init_timeline_print();
	EXPECT_EQ(-1, drain(p[0], buf, sizeof(buf)));

	log_set_level(LOG_DEBUG);
	init_timeline_print();
	ASSERT_LT(0, drain(p[0], buf, sizeof(buf)));
	/* One line: the only newline ends it. */
	EXPECT_EQ(strlen(buf) - 1, (size_t)(strchr(buf, '\n') - buf));
	a = strstr(buf, "alpha=");
	b = strstr(buf, " beta=");
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	EXPECT_LT(a, b);
	/* beta came 2 ms or more after alpha: "(+2.0)" or more. */
	EXPECT_NE(NULL, strstr(b, "(+"));
	EXPECT_NE('0', strstr(b, "(+")[2]);
	EXPECT_NE(NULL, strstr(a, "(+0.0)"));

	init_step("gamma");
	init_timeline_print();
	ASSERT_LT(0, drain(p[0], buf, sizeof(buf)));
	c = strstr(buf, "gamma=");
	EXPECT_NE(NULL, c);
	EXPECT_EQ(NULL, strstr(buf, "alpha="));
	EXPECT_EQ(NULL, strstr(buf, "beta="));
	/* Nothing new: nothing printed. */
	init_timeline_print();
	EXPECT_EQ(-1, drain(p[0], buf, sizeof(buf)));
	close(p[0]);
	close(p[1]);
}

TEST_HARNESS_MAIN
