// SPDX-License-Identifier: Apache-2.0
/*
 * Free page reporting at a finer grain.  With the host's virtio-balloon
 * (reclaim_guest_freed_memory), the guest tells the host which pages are
 * free and the host drops them; but Linux reports only free blocks of
 * page_reporting_order and up, and 6.1's balloon driver sets that to the
 * pageblock order (2 MiB) when it registers, over any
 * page_reporting.page_reporting_order= on the command line.  What boot
 * and the first container freed in smaller blocks (about 4 MiB of an idle
 * pod's guest RAM, tests/bench/start.sh) then stays on the host for good.
 * The parameter is writable at run time, and the driver registered during
 * the kernel's boot, so PID 1 sets it once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "init.h"
#include "util.h"

int init_page_reporting(const char *param, unsigned int order, struct herr *err)
{
	_cleanup_close_ int fd = open(param, O_WRONLY | O_CLOEXEC);
	char buf[16];
	int n;

	/* A kernel without CONFIG_PAGE_REPORTING: nothing to set. */
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return herr_errno(err, errno, "open %s", param);
	n = snprintf(buf, sizeof(buf), "%u\n", order);
	if (write(fd, buf, (size_t)n) != n)
		return herr_errno(err, errno, "write %u to %s", order, param);
	return 1;
}
