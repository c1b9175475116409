// SPDX-License-Identifier: Apache-2.0
/*
 * init/loopback.c in a private network namespace (each test runs in its
 * own forked child, so the host's lo is never touched).
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "init.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

/* lo's flags by SIOCGIFFLAGS, or -1. */
static int lo_flags(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r;

	if (fd < 0)
		return -1;
	strcpy(ifr.ifr_name, "lo");
	r = ioctl(fd, SIOCGIFFLAGS, &ifr);
	close(fd);
	return r < 0 ? -1 : ifr.ifr_flags;
}

TEST(loopback_up_twice)
{
	struct herr err;
	int flags;

	ASSERT_EQ(0, unshare(CLONE_NEWNET))
	TH_LOG("unshare(CLONE_NEWNET): %s", strerror(errno));
	flags = lo_flags();
	ASSERT_NE(-1, flags);
	ASSERT_EQ(0, flags & IFF_UP);

	ASSERT_EQ(0, init_loopback_up(&err))
	TH_LOG("%s", err.msg);
	flags = lo_flags();
	EXPECT_EQ(IFF_UP, flags & IFF_UP);
	/* Up already: no error. */
	EXPECT_EQ(0, init_loopback_up(&err))
	TH_LOG("%s", err.msg);
}

TEST_HARNESS_MAIN
