// SPDX-License-Identifier: Apache-2.0
/*
 * The only way out of the guest: say why on the console, TERM everything,
 * wait a bounded time, KILL what is left, sync, unmount, power off.  PID 1
 * must never exit (the kernel would panic), so every path ends in
 * reboot(2) or, if even that fails, in a pause() loop after saying so.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init.h"
#include "path.h"
#include "util.h"

#define TERM_WAIT_MS 2000
#define KILL_WAIT_MS 1000

long long init_uptime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Straight to the console (fd 2 is /dev/console for PID 1), unbuffered. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dprintf(2, "husk-agent: ");
	vdprintf(2, fmt, ap);
	dprintf(2, "\n");
	va_end(ap);
}

/* Reap until no child is left or @ms pass; true if none is left. */
static bool reap_all(long long ms)
{
	long long end = now_ms() + ms;

	for (;;) {
		pid_t pid = waitpid(-1, NULL, WNOHANG | __WALL);

		if (pid < 0 && errno == ECHILD)
			return true;
		if (pid > 0 || (pid < 0 && errno == EINTR))
			continue;
		if (now_ms() >= end)
			return false;
		usleep(10000);
	}
}

static void stop_processes(void)
{
	/* From PID 1, kill(-1) reaches every process but ourselves. */
	if (kill(-1, SIGTERM) < 0 && errno == ESRCH)
		return;
	if (reap_all(TERM_WAIT_MS))
		return;
	say("processes left after %d ms: killing them", TERM_WAIT_MS);
	kill(-1, SIGKILL);
	if (!reap_all(KILL_WAIT_MS))
		say("processes still left after SIGKILL: going on");
}

/* Everything but / in reverse order of mounting; / goes read-only. */
static void unmount_all(void)
{
	char line[1024], **dirs = NULL;
	size_t n = 0;
	FILE *f = fopen("/proc/self/mounts", "re");

	if (!f) {
		say("unmount: /proc/self/mounts: %s", strerror(errno));
		goto root;
	}
	while (fgets(line, sizeof(line), f)) {
		char dir[512], **more;

		if (sscanf(line, "%*s %511s", dir) != 1 || !strcmp(dir, "/"))
			continue;
		more = realloc(dirs, (n + 1) * sizeof(*dirs));
		if (!more)
			break;
		dirs = more;
		path_unescape_octal(dir);
		dirs[n] = strdup(dir);
		if (dirs[n])
			n++;
	}
	fclose(f);
	while (n--) {
		/* Busy (a D-state reader on 9p, say): detach it at least. */
		if (umount2(dirs[n], 0) < 0 &&
		    umount2(dirs[n], MNT_DETACH) < 0 && errno != EINVAL &&
		    errno != ENOENT)
			say("unmount %s: %s", dirs[n], strerror(errno));
		free(dirs[n]);
	}
	free(dirs);
root:
	/* An initramfs root cannot be remounted; that is fine. */
	mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL);
}

void init_shutdown(const char *reason)
{
	long long up = init_uptime_ms();
	sigset_t all;

	say("powering off at uptime %lld.%03llds: %s", up / 1000, up % 1000,
	    reason);
	/* Nothing may interrupt what follows, and PID 1 ignores signals. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	stop_processes();
	sync();
	unmount_all();
	sync();
	reboot(RB_POWER_OFF);
	say("power off failed: %s; halting", strerror(errno));
	reboot(RB_HALT_SYSTEM);
	say("halt failed: %s; waiting forever", strerror(errno));
	for (;;)
		pause();
}

void init_fatal(const char *fmt, ...)
{
	char reason[HERR_MSG_MAX + 16];
	va_list ap;
	int n;

	n = snprintf(reason, sizeof(reason), "fatal: ");
	va_start(ap, fmt);
	vsnprintf(reason + n, sizeof(reason) - (size_t)n, fmt, ap);
	va_end(ap);
	init_shutdown(reason);
}

/* Async-signal-safe: write(2), sync(2) and reboot(2) only. */
static void on_crash(int sig)
{
	static const char msg[] = "husk-agent: fatal: crashed with signal ";
	char num[4] = { (char)('0' + sig / 10 % 10), (char)('0' + sig % 10),
			'\n' };

	if (write(2, msg, sizeof(msg) - 1) < 0 || write(2, num, 3) < 0) {
		/* nothing else to try: still power off */
	}
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

void init_crash_handlers(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa = { .sa_handler = on_crash };

	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}
