// SPDX-License-Identifier: Apache-2.0
/*
 * The start of PID 1, top to bottom: crash handlers, mounts, the kernel
 * command line, environment (init_early), then, once the agent serves and
 * a request other than a health check comes, the containers' mounts,
 * hostname, loopback and free page reporting (init_late): the host's first
 * Check waits for nothing the check does not need (lo alone is 15-45 ms of
 * first-run network code under TCG).  Anything the agent cannot serve without
 * powers the guest off with the reason on the console; anything it can is a
 * warning.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"
#include "log.h"
#include "util.h"

/* The whole of /proc/cmdline (the kernel caps it at 2 KiB on x86). */
static void read_cmdline(char *buf, size_t len)
{
	if (read_file_str("/proc/cmdline", buf, len) < 0)
		log_warn("read /proc/cmdline: %s: using defaults",
			 strerror(errno));
}

static void set_hostname(void)
{
	char name[65];

	read_file_str("/etc/hostname", name, sizeof(name));
	name[strcspn(name, "\n")] = '\0';
	if (!*name)
		strcpy(name, "localhost");
	if (sethostname(name, strlen(name)) < 0)
		log_warn("sethostname %s: %s", name, strerror(errno));
}

void init_early(struct init_config *cfg)
{
	char cmdline[4096];
	struct herr err;

	init_step("init");
	init_crash_handlers();
	umask(022);
	if (init_mounts(&err) < 0)
		init_fatal("%s", err.msg);
	init_step("mounts");
	init_config_defaults(cfg);
	read_cmdline(cmdline, sizeof(cmdline));
	init_cmdline_parse(cmdline, cfg);
	log_set_level(init_log_level(cfg, log_get_level()));
	/* Hooks and the debug shell look programs up in PATH. */
	setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
	init_step("cmdline");
}

void init_late(void)
{
	static bool done;
	struct herr err;

	if (done)
		return;
	done = true;
	if (init_mounts_late(&err) < 0)
		init_fatal("%s", err.msg);
	init_step("mounts-late");
	set_hostname();
	init_step("hostname");
	if (init_loopback_up(&err) < 0)
		log_warn("%s", err.msg);
	init_step("lo");
	if (init_page_reporting(INIT_PAGE_REPORTING_PARAM,
				INIT_PAGE_REPORTING_ORDER, &err) < 0)
		log_warn("%s: freed guest memory stays on the host", err.msg);
	init_step("reporting");
	init_timeline_print();
}
