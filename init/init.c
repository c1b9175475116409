// SPDX-License-Identifier: Apache-2.0
/*
 * The start of PID 1, top to bottom: crash handlers, mounts, the kernel
 * command line, environment, hostname, loopback.  Anything the agent
 * cannot serve without powers the guest off with the reason on the
 * console; anything it can is a warning.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"
#include "log.h"

/* The whole of /proc/cmdline (the kernel caps it at 2 KiB on x86). */
static void read_cmdline(char *buf, size_t len)
{
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	if (n < 0) {
		log_warn("read /proc/cmdline: %s: using defaults",
			 strerror(errno));
		n = 0;
	}
	buf[n] = '\0';
	if (fd >= 0)
		close(fd);
}

static void set_hostname(void)
{
	char name[65] = "localhost";
	int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t n = read(fd, name, sizeof(name) - 1);

		close(fd);
		if (n > 0) {
			name[n] = '\0';
			name[strcspn(name, "\n")] = '\0';
		}
		if (!*name)
			strcpy(name, "localhost");
	}
	if (sethostname(name, strlen(name)) < 0)
		log_warn("sethostname %s: %s", name, strerror(errno));
}

void init_early(struct init_config *cfg)
{
	char cmdline[4096];
	struct herr err;

	init_crash_handlers();
	umask(022);
	if (init_mounts(&err) < 0)
		init_fatal("%s", err.msg);
	init_config_defaults(cfg);
	read_cmdline(cmdline, sizeof(cmdline));
	init_cmdline_parse(cmdline, cfg);
	if (cfg->log_level >= 0)
		log_set_level(cfg->log_level);
	/* Hooks and the debug shell look programs up in PATH. */
	setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
	set_hostname();
	if (init_loopback_up(&err) < 0)
		log_warn("%s", err.msg);
	log_debug("init: early setup done at uptime %lld ms", init_uptime_ms());
}
