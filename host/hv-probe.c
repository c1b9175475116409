// SPDX-License-Identifier: Apache-2.0
/*
 * What this host can give a VM, found out by trying rather than by looking:
 * /dev/kvm can exist and KVM_CREATE_VM succeed while guests never make
 * progress (platform.md), so KVM counts as usable only when a tiny guest
 * really runs under it in bounded time.  Also: QEMU's -sandbox, its
 * version, vhost-vsock, the host TSC rate; and the child-process helpers
 * the drivers share (spawn with a pidfd, wait without reaping).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv.h"
#include "log.h"
#include "util.h"

/*
 * The test guest: a 64 KiB firmware image whose reset vector jumps to a
 * loop of PROBE_LOOPS iterations (dec/jnz, two instructions each), then
 * writes PROBE_CODE to an isa-debug-exit port, which makes QEMU exit with
 * status (PROBE_CODE << 1) | 1.  Hardware KVM runs the loop in a few
 * milliseconds and TCG in well under a second; a KVM that traps or
 * emulates every instruction (as here: about 1 us each) needs tens of
 * seconds, and one that never enters the guest never finishes.  Either
 * way the probe times out and TCG is used.
 */
#define PROBE_BIOS_SIZE 65536
#define PROBE_LOOPS 0x01000000u
#define PROBE_CODE 0x2a
#define PROBE_EXIT ((PROBE_CODE << 1) | 1)
#define PROBE_PORT "0xf4"
#define PROBE_TIMEOUT_MS 3000
#define PROBE_LOG_MAX 2048

/* Kata's seccompsandbox default. */
#define QEMU_SANDBOX "on,obsolete=deny,spawn=deny,resourcecontrol=deny"

static int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

pid_t hv_spawn(char *const argv[], const int *fds, size_t n_fds, int out_fd,
	       int *pidfd, struct herr *err)
{
	return hv_spawn_env(argv, environ, fds, n_fds, out_fd, pidfd, err);
}

pid_t hv_spawn_env(char *const argv[], char *const envp[], const int *fds,
		   size_t n_fds, int out_fd, int *pidfd, struct herr *err)
{
	_cleanup_close_ int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	pid_t parent = getpid(), pid;
	int fd;

	if (null_fd < 0)
		return herr_errno(err, errno, "open /dev/null");
	if (out_fd < 0)
		out_fd = null_fd;
	pid = fork();
	if (pid < 0)
		return herr_errno(err, errno, "fork for %s", argv[0]);
	if (pid == 0) {
		/* Child: async-signal-safe calls only from here on. */
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigset_t none;
		int moved[24];
		size_t i;

		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		if (n_fds > ARRAY_SIZE(moved))
			_exit(127);
		/* Park every fd above the targets first: none is clobbered. */
		for (i = 0; i < n_fds; i++) {
			moved[i] =
				fcntl(fds[i], F_DUPFD_CLOEXEC, 3 + (int)n_fds);
			if (moved[i] < 0)
				_exit(127);
		}
		out_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 3 + (int)n_fds);
		null_fd = fcntl(null_fd, F_DUPFD_CLOEXEC, 3 + (int)n_fds);
		if (out_fd < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 ||
		    dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
			_exit(127);
		for (i = 0; i < n_fds; i++)
			if (dup2(moved[i], 3 + (int)i) < 0)
				_exit(127);
		syscall(SYS_close_range, 3 + n_fds, ~0U, 0);
		/* The shim blocks SIGCHLD (signalfd) and ignores SIGPIPE. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				sigaction(s, &dfl, NULL);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	fd = sys_pidfd_open(pid);
	if (fd < 0) {
		int e = errno;

		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return herr_errno(err, e, "pidfd_open for %s", argv[0]);
	}
	*pidfd = fd;
	return pid;
}

int hv_pidfd_wait(int pidfd, long long timeout_ms)
{
	long long end = timeout_ms < 0 ? 0 : now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
		long long left = timeout_ms < 0 ? -1 : end - now_ms();
		int n;

		if (timeout_ms >= 0 && left < 0)
			left = 0;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n > 0)
			return 1;
		if (timeout_ms >= 0 && now_ms() >= end)
			return 0;
	}
}

int hv_pidfd_kill(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* waitid's siginfo as a wait status. */
static int siginfo_status(const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED)
		return W_EXITCODE(si->si_status, 0);
	return si->si_status & 0x7f; /* killed: the signal */
}

int hv_pidfd_reap(int pidfd)
{
	siginfo_t si = { 0 };

	while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0)
		if (errno != EINTR)
			return -1;
	return siginfo_status(&si);
}

int hv_pidfd_peek(int pidfd)
{
	siginfo_t si = { 0 };

	if (pidfd < 0 ||
	    waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG | WNOWAIT) <
		    0 ||
	    !si.si_pid)
		return -1;
	return siginfo_status(&si);
}

void hv_file_tail(const char *path, size_t max, char *out, size_t cap)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	size_t n = 0, o = 0;
	struct stat st;
	ssize_t r;
	off_t from;

	if (!cap)
		return;
	out[0] = '\0';
	if (fd < 0 || fstat(fd, &st) < 0 || !max)
		return;
	from = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
	buf = xmalloc(max + 1);
	while (n < max) {
		r = pread(fd, buf + n, max - n, from + (off_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	/* Trailing blank lines say nothing. */
	while (n &&
	       (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\r')
			continue;
		if (c == '\n') {
			if (o + 4 >= cap)
				break;
			if (o && (o < 3 || strncmp(out + o - 3, " | ", 3))) {
				memcpy(out + o, " | ", 3);
				o += 3;
			}
			continue;
		}
		/* ANSI escapes (SeaBIOS) and control bytes become '?'. */
		out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[o] = '\0';
}

static void probe_bios(unsigned char *b)
{
	/* mov ecx, LOOPS; 1: dec ecx; jnz 1b; mov al, CODE; out PORT, al; hlt
	 */
	static const unsigned char code[] = {
		0x66,
		0xb9,
		PROBE_LOOPS & 0xff,
		(PROBE_LOOPS >> 8) & 0xff,
		(PROBE_LOOPS >> 16) & 0xff,
		(PROBE_LOOPS >> 24) & 0xff,
		0x66,
		0x49,
		0x75,
		0xfc,
		0xb0,
		PROBE_CODE,
		0xe6,
		0xf4,
		0xf4,
		0xeb,
		0xfd,
	};

	memset(b, 0xf4, PROBE_BIOS_SIZE); /* hlt everywhere else */
	memcpy(b + 0xffc0, code, sizeof(code));
	/* Reset vector at 0xffff0: jmp short to 0xfffc0 (same segment). */
	b[0xfff0] = 0xeb;
	b[0xfff1] = (unsigned char)(0xffc0 - 0xfff2);
}

static int memfd_with(const char *name, const void *data, size_t len,
		      struct herr *err)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return herr_errno(err, errno, "memfd_create %s", name);
	if (len && write_all(fd, data, len) < 0) {
		int e = errno;

		close(fd);
		return herr_errno(err, e, "write %s", name);
	}
	return fd;
}

/* What the probe's QEMU printed, as one line. */
static void memfd_text(int fd, char *out, size_t cap)
{
	ssize_t n = pread(fd, out, cap - 1, 0);
	size_t k;

	if (n < 0)
		n = 0;
	out[n] = '\0';
	k = (size_t)n;
	while (k && (out[k - 1] == '\n' || out[k - 1] == ' '))
		out[--k] = '\0';
	for (size_t i = 0; i < k; i++)
		if (out[i] == '\n' || (unsigned char)out[i] < 0x20)
			out[i] = ' ';
}

/* Run the test guest; 0 when it finished, -1 with @why when not. */
static int run_probe(const char *qemu, const char *accel, bool sandbox,
		     long long *ms_out, struct herr *why)
{
	_cleanup_free_ unsigned char *bios = xmalloc(PROBE_BIOS_SIZE);
	_cleanup_close_ int bfd = -1, lfd = -1, pidfd = -1;
	char accel_opt[32], text[PROBE_LOG_MAX];
	char *argv[32];
	long long start;
	int n = 0, rc, status;
	pid_t pid;

	probe_bios(bios);
	bfd = memfd_with("husk-probe-bios", bios, PROBE_BIOS_SIZE, why);
	if (bfd < 0)
		return -1;
	lfd = memfd_with("husk-probe-log", NULL, 0, why);
	if (lfd < 0)
		return -1;
	snprintf(accel_opt, sizeof(accel_opt), "%s", accel);
	argv[n++] = (char *)qemu;
	argv[n++] = "-machine";
	argv[n++] = "microvm";
	argv[n++] = "-accel";
	argv[n++] = accel_opt;
	if (!strcmp(accel, "kvm")) {
		/* What a real VM would get: -cpu host fails on some hosts. */
		argv[n++] = "-cpu";
		argv[n++] = "host,pmu=off";
	}
	argv[n++] = "-m";
	argv[n++] = "16M";
	argv[n++] = "-nodefaults";
	argv[n++] = "-no-user-config";
	argv[n++] = "-display";
	argv[n++] = "none";
	argv[n++] = "-bios";
	argv[n++] = "/dev/fd/3";
	argv[n++] = "-device";
	argv[n++] = "isa-debug-exit,iobase=" PROBE_PORT ",iosize=1";
	if (sandbox) {
		argv[n++] = "-sandbox";
		argv[n++] = QEMU_SANDBOX;
	}
	argv[n] = NULL;

	start = now_ms();
	pid = hv_spawn(argv, &bfd, 1, lfd, &pidfd, why);
	if (pid < 0)
		return -1;
	rc = hv_pidfd_wait(pidfd, PROBE_TIMEOUT_MS);
	if (rc <= 0)
		hv_pidfd_kill(pidfd, SIGKILL);
	status = hv_pidfd_reap(pidfd);
	*ms_out = now_ms() - start;
	memfd_text(lfd, text, sizeof(text));
	if (rc == 0)
		return herr_set(why, GRPC_UNAVAILABLE, 0,
				"a test guest under %s did not finish within "
				"%d ms (%s%s)",
				accel, PROBE_TIMEOUT_MS,
				*text ? "qemu: " : "guest never made progress",
				text);
	if (rc < 0)
		return herr_errno(why, errno, "wait for the %s probe", accel);
	if (status == W_EXITCODE(PROBE_EXIT, 0))
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !*text)
		return herr_set(why, GRPC_NOT_FOUND, 0, "cannot run %s", qemu);
	if (WIFSIGNALED(status) || status < 0)
		return herr_set(
			why, GRPC_UNAVAILABLE, 0,
			"test guest under %s: qemu killed by signal %d%s%s",
			accel, status < 0 ? 0 : WTERMSIG(status),
			*text ? ": " : "", text);
	return herr_set(why, GRPC_UNAVAILABLE, 0,
			"test guest under %s: qemu exited with status %d%s%s",
			accel, WEXITSTATUS(status), *text ? ": " : "", text);
}

/*
 * This process's answers, one per binary as it is now (hv_cache_key(), or
 * the path alone when it has no key), a few binaries at most: a test or
 * "husk env" may ask about several.
 */
#define PROC_CACHE_ENTRIES 4

struct cached {
	char *path;
	char key[HV_CACHE_KEY_MAX];
	bool ok;
	struct herr why;
};

struct proc_cache {
	struct cached e[PROC_CACHE_ENTRIES];
	unsigned int next;
};

static void binary_key(const char *path, char *key, size_t cap)
{
	if (!hv_cache_key(path, key, cap))
		key[0] = '\0';
}

static bool cached_get(struct proc_cache *c, const char *path, const char *key,
		       struct herr *why, bool *ok)
{
	for (size_t i = 0; i < ARRAY_SIZE(c->e); i++) {
		struct cached *e = &c->e[i];

		if (!e->path || strcmp(e->path, path) || strcmp(e->key, key))
			continue;
		*ok = e->ok;
		if (why && !e->ok)
			*why = e->why;
		return true;
	}
	return false;
}

static bool cached_put(struct proc_cache *c, const char *path, const char *key,
		       bool ok, const struct herr *w, struct herr *why)
{
	struct cached *e = NULL;

	/* The binary's older answer goes, else the oldest slot. */
	for (size_t i = 0; i < ARRAY_SIZE(c->e) && !e; i++)
		if (c->e[i].path && !strcmp(c->e[i].path, path))
			e = &c->e[i];
	if (!e)
		e = &c->e[c->next++ % ARRAY_SIZE(c->e)];
	free(e->path);
	e->path = xstrdup(path);
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->ok = ok;
	if (!ok) {
		e->why = *w;
		if (why)
			*why = *w;
	}
	return ok;
}

/* A probe's answer from the boot's cache file: 1/0, -1 when none. */
static int probe_cache_read(const char *what, const char *qemu, struct herr *w)
{
	char msg[HERR_MSG_MAX], path[PATH_MAX];
	bool ok;

	if (!hv_cache_lookup(what, qemu, &ok, msg, sizeof(msg)))
		return -1;
	if (!ok)
		herr_set(w, GRPC_UNAVAILABLE, 0,
			 "%s (cached for this boot in %s)", msg,
			 hv_cache_file(what, path, sizeof(path)));
	return ok;
}

static void probe_cache_write(const char *what, const char *qemu, bool ok,
			      const struct herr *w)
{
	hv_cache_store(what, qemu, ok, ok ? "" : w->msg);
}

bool hv_probe_guest(const char *qemu_path, const char *accel, long long *ms_out,
		    struct herr *why)
{
	long long ms = 0;
	struct herr w;
	bool ok = run_probe(qemu_path, accel, false, &ms, &w) == 0;

	if (ms_out)
		*ms_out = ms;
	if (!ok && why)
		*why = w;
	/* A fresh answer ("husk check") replaces the cached one. */
	if (!strcmp(accel, "kvm"))
		probe_cache_write("kvm", qemu_path, ok, &w);
	return ok;
}

/*
 * A probe's answer for @qemu_path: this process's, else this boot's cache
 * file's, else a test guest's under @accel (kept in both).
 */
static bool probe_usable(struct proc_cache *c, const char *what,
			 const char *qemu_path, const char *accel, bool sandbox,
			 struct herr *why)
{
	char key[HV_CACHE_KEY_MAX];
	struct herr w;
	long long ms;
	bool ok;
	int rc;

	binary_key(qemu_path, key, sizeof(key));
	if (cached_get(c, qemu_path, key, why, &ok))
		return ok;
	if (!strcmp(accel, "kvm") && access("/dev/kvm", R_OK | W_OK) < 0) {
		herr_errno(&w, errno, "/dev/kvm");
		return cached_put(c, qemu_path, key, false, &w, why);
	}
	rc = probe_cache_read(what, qemu_path, &w);
	if (rc >= 0)
		return cached_put(c, qemu_path, key, rc == 1, &w, why);
	ok = run_probe(qemu_path, accel, sandbox, &ms, &w) == 0;
	if (ok)
		log_debug("%s probe: test guest finished in %lld ms", what, ms);
	probe_cache_write(what, qemu_path, ok, &w);
	return cached_put(c, qemu_path, key, ok, &w, why);
}

bool kvm_usable(const char *qemu_path, struct herr *why)
{
	static struct proc_cache c;

	return probe_usable(&c, "kvm", qemu_path, "kvm", false, why);
}

bool qemu_sandbox_usable(const char *qemu_path, struct herr *why)
{
	static struct proc_cache c;

	/* The TCG test guest with -sandbox: accepted and still working. */
	return probe_usable(&c, "sandbox", qemu_path, "tcg", true, why);
}

const char *qemu_version(const char *qemu_path, struct herr *why)
{
	static char *path, *version;
	static struct herr failed;
	_cleanup_close_ int lfd = -1, pidfd = -1;
	char text[512], *argv[] = { (char *)qemu_path, "--version", NULL };
	int rc;

	if (path && !strcmp(path, qemu_path)) {
		if (!version && why)
			*why = failed;
		return version;
	}
	free(path);
	free(version);
	path = xstrdup(qemu_path);
	version = NULL;
	lfd = memfd_with("husk-qemu-version", NULL, 0, &failed);
	if (lfd >= 0 && hv_spawn(argv, NULL, 0, lfd, &pidfd, &failed) >= 0) {
		rc = hv_pidfd_wait(pidfd, 5000);
		if (rc <= 0)
			hv_pidfd_kill(pidfd, SIGKILL);
		rc = hv_pidfd_reap(pidfd);
		memset(text, 0, sizeof(text));
		if (pread(lfd, text, sizeof(text) - 1, 0) < 0)
			text[0] = '\0';
		text[strcspn(text, "\n")] = '\0';
		if (rc == 0 && *text)
			version = xstrdup(text);
		else
			herr_set(&failed, GRPC_NOT_FOUND, 0,
				 "%s --version failed%s%s", qemu_path,
				 *text ? ": " : "", text);
	}
	if (!version && why)
		*why = failed;
	return version;
}

bool vhost_vsock_usable(struct herr *why)
{
	int fd = open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return herr_errno(why, errno, "/dev/vhost-vsock"), false;
	close(fd);
	return true;
}

unsigned long tsc_khz_parse(const char *cpuinfo)
{
	const char *p = cpuinfo;

	/* The first "cpu MHz\t\t: 2596.122" line; kHz keeps three decimals. */
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		unsigned long mhz = 0, frac = 0;
		int digits = 0;

		if (!strncmp(p, "cpu MHz", 7)) {
			const char *q = p + 7;

			while (*q == ' ' || *q == '\t')
				q++;
			if (*q++ != ':')
				return 0;
			while (*q == ' ')
				q++;
			if (*q < '0' || *q > '9')
				return 0;
			while (*q >= '0' && *q <= '9' && mhz < 10000000)
				mhz = mhz * 10 + (unsigned long)(*q++ - '0');
			if (*q == '.')
				for (q++; *q >= '0' && *q <= '9'; q++)
					if (digits < 3) {
						frac = frac * 10 +
						       (unsigned long)(*q -
								       '0');
						digits++;
					}
			while (digits < 3) {
				frac *= 10;
				digits++;
			}
			return mhz * 1000 + frac;
		}
		p = eol ? eol + 1 : NULL;
	}
	return 0;
}

unsigned long host_tsc_khz(void)
{
	static unsigned long khz;
	static bool known;
	_cleanup_free_ char *buf = NULL;
	size_t cap = 1 << 16, n = 0;
	int fd;

	if (known)
		return khz;
	known = true;
	fd = open("/proc/cpuinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* The first CPU's block is enough. */
	buf = xmalloc(cap);
	while (n < cap - 1) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	khz = tsc_khz_parse(buf);
	return khz;
}

/* ---- small helpers both VMM drivers use --------------------------------- */

int hv_check_file(const char *what, const char *path, int mode,
		  struct herr *err)
{
	struct stat st;

	if (!path || !*path)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"no %s configured", what);
	if (stat(path, &st) < 0)
		return herr_errno(err, errno, "%s %s", what, path);
	if (!S_ISREG(st.st_mode))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s %s: not a regular file", what, path);
	if (access(path, mode) < 0)
		return herr_errno(err, errno, "%s %s", what, path);
	return 0;
}

void hv_unlink_quiet(const char *path)
{
	if (path && unlink(path) < 0 && errno != ENOENT)
		log_warn("remove %s: %s", path, strerror(errno));
}

void hv_describe_exit(const char *name, int status, char *out, size_t cap)
{
	if (status < 0)
		snprintf(out, cap, "%s exited", name);
	else if (WIFSIGNALED(status))
		snprintf(out, cap, "%s was killed by signal %d (%s)", name,
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WEXITSTATUS(status) == 0)
		snprintf(out, cap,
			 "%s exited with status 0 (the guest powered off or "
			 "rebooted)",
			 name);
	else
		snprintf(out, cap, "%s exited with status %d", name,
			 WEXITSTATUS(status));
}

void hv_warn_stopped_alone(const char *id, const char *name, int status,
			   const char *log_path)
{
	char st[96], tail[HV_TAIL_BYTES + 64];

	/* A clean exit or our own SIGKILL is no news. */
	if (status <= 0 || (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
		return;
	hv_describe_exit(name, status, st, sizeof(st));
	hv_file_tail(log_path, HV_TAIL_BYTES, tail, sizeof(tail));
	log_warn("sandbox %s: the VM had stopped on its own: %s%s%s", id, st,
		 *tail ? ": " : "", tail);
}

void hv_kill_and_reap(int *pidfd, pid_t *pid, long long wait_ms)
{
	if (*pidfd < 0)
		return;
	hv_pidfd_kill(*pidfd, SIGKILL);
	hv_pidfd_wait(*pidfd, wait_ms);
	hv_pidfd_reap(*pidfd);
	close(*pidfd);
	*pidfd = -1;
	*pid = 0;
}
