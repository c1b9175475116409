// SPDX-License-Identifier: Apache-2.0
/*
 * agent.debug_console: a shell for whoever debugs the guest.  On vsock
 * port agent.debug_console_vport when there is a vsock device (a shell
 * per connection, as Kata does), else on the console tty, started again
 * a second after it exits.  The images carry a shell only when built
 * with CONFIG_DEBUG_CONSOLE; without one this says so and does nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init.h"
#include "log.h"
#include "util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static const char *shell;

/* In the child: default signals, a new session, @fd as stdio, exec. */
static void exec_shell(int fd, bool ctty)
{
	static char *const envp[] = { "PATH=/bin:/sbin:/usr/bin:/usr/sbin",
				      "HOME=/root", "TERM=vt100", NULL };
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	if (ctty)
		ioctl(fd, TIOCSCTTY, 1);
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(127);
	execle(shell, shell, "-i", (char *)NULL, envp);
	_exit(127);
}

static void start_tty_shell(struct evloop *loop, void *data);

static void tty_shell_exited(struct evloop *loop, int fd, uint32_t events,
			     void *data)
{
	evloop_del(loop, fd);
	close(fd);
	/* The reaper in agent/main.c collects it; start another later. */
	evloop_timer(loop, 1000, start_tty_shell, NULL);
}

static void start_tty_shell(struct evloop *loop, void *data)
{
	pid_t pid = fork();
	int pfd;

	if (pid == 0) {
		int fd = open("/dev/console", O_RDWR | O_NOCTTY);

		if (fd < 0)
			_exit(127);
		exec_shell(fd, true);
	}
	if (pid < 0) {
		log_warn("debug console: fork: %s", strerror(errno));
		return;
	}
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0 ||
	    evloop_add(loop, pfd, EPOLLIN, tty_shell_exited, NULL) < 0) {
		log_warn("debug console: cannot watch the shell: it will not be restarted");
		if (pfd >= 0)
			close(pfd);
	}
}

static void on_vsock_accept(struct evloop *loop, int fd, uint32_t events,
			    void *data)
{
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	pid_t pid;

	if (c < 0)
		return;
	pid = fork();
	if (pid == 0)
		exec_shell(c, false);
	if (pid < 0)
		log_warn("debug console: fork: %s", strerror(errno));
	close(c);
}

void init_debug_console(const struct init_config *cfg, struct evloop *loop)
{
	struct herr err;
	int fd;

	if (!cfg->debug_console)
		return;
	if (!access("/bin/bash", X_OK))
		shell = "/bin/bash";
	else if (!access("/bin/sh", X_OK))
		shell = "/bin/sh";
	if (!shell) {
		log_warn("agent.debug_console: no shell in this image (build it with CONFIG_DEBUG_CONSOLE=y)");
		return;
	}
	if (!cfg->debug_console_vport || !init_vsock_present()) {
		log_info("debug console: %s on the console", shell);
		start_tty_shell(loop, NULL);
		return;
	}
	fd = init_vsock_listen(cfg->debug_console_vport, &err);
	if (fd < 0 ||
	    evloop_add(loop, fd, EPOLLIN, on_vsock_accept, NULL) < 0) {
		log_warn("debug console: %s",
			 fd < 0 ? err.msg : "cannot watch");
		if (fd >= 0)
			close(fd);
		return;
	}
	log_info("debug console: %s on vsock port %u", shell,
		 cfg->debug_console_vport);
}
