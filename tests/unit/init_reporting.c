// SPDX-License-Identifier: Apache-2.0
/*
 * init/reporting.c against a stand-in for the kernel's parameter file:
 * the order is written as the kernel parses it, a kernel without page
 * reporting is no error, and a failure names the file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

FIXTURE(dir)
{
	char path[64];
	char param[96];
};

FIXTURE_SETUP(dir)
{
	strcpy(self->path, "/tmp/init-reporting.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->path));
	snprintf(self->param, sizeof(self->param), "%s/page_reporting_order",
		 self->path);
}

FIXTURE_TEARDOWN(dir)
{
	unlink(self->param);
	rmdir(self->path);
}

/* The kernel's value (pageblock order) is replaced by ours. */
TEST_F(dir, writes_the_order)
{
	struct herr err;
	char buf[16] = "";
	FILE *f = fopen(self->param, "w");

	ASSERT_NE(NULL, f);
	fputs("9\n", f);
	fclose(f);
	ASSERT_EQ(1, init_page_reporting(self->param, INIT_PAGE_REPORTING_ORDER,
					 &err))
	TH_LOG("%s", err.msg);
	f = fopen(self->param, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(buf, sizeof(buf), f));
	fclose(f);
	EXPECT_STREQ("3\n", buf);
}

/* No CONFIG_PAGE_REPORTING: no file, nothing to do, no warning. */
TEST_F(dir, no_reporting_in_the_kernel)
{
	struct herr err;

	EXPECT_EQ(0, init_page_reporting(self->param, 3, &err));
}

/* Any other failure is an error that names the file. */
TEST_F(dir, error_names_the_file)
{
	struct herr err;

	ASSERT_EQ(0, mkdir(self->param, 0700));
	EXPECT_EQ(-1, init_page_reporting(self->param, 3, &err));
	EXPECT_EQ(EISDIR, err.errnum);
	EXPECT_NE(NULL, strstr(err.msg, self->param)) TH_LOG("%s", err.msg);
	rmdir(self->param);
}

TEST_HARNESS_MAIN
