// SPDX-License-Identifier: Apache-2.0
/*
 * husk-runtime's verbs (runtime.h says how the pieces fit).  Errors go to
 * stderr and, with --log, to that file too (one JSON object a line with
 * --log-format json), where containerd's runc shim looks for the last
 * error when a command fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "path.h"
#include "pod.h"
#include "runtime.h"
#include "spec.h"
#include "util.h"
#include "version.h"

/* How long delete waits for a monitor to tear its VM down. */
#define DESTROY_WAIT_MS 60000

static const struct rt_cmd *g_cmd;

static void log_line(const char *level, const char *msg)
{
	char ts[64];
	struct timespec now;
	struct tm tm;
	FILE *f;

	if (!g_cmd || !g_cmd->log)
		return;
	f = fopen(g_cmd->log, "ae");
	if (!f)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (g_cmd->log_json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "level",
				       json_object_new_string(level));
		json_object_object_add(o, "msg", json_object_new_string(msg));
		json_object_object_add(o, "time", json_object_new_string(ts));
		fprintf(f, "%s\n",
			json_object_to_json_string_ext(
				o, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		fprintf(f, "time=\"%s\" level=%s msg=\"%s\"\n", ts, level, msg);
	}
	fclose(f);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "husk-runtime: %s\n", msg);
	log_line("error", msg);
	return 1;
}

static void warn(const char *msg)
{
	fprintf(stderr, "husk-runtime: warning: %s\n", msg);
	log_line("warning", msg);
}

static int write_pid_file(const char *path, pid_t pid, struct herr *err)
{
	_cleanup_free_ char *tmp = NULL;
	char buf[32];
	int fd, n;

	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		abort();
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return herr_set(err, 0, errno, "--pid-file %s", path);
	n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	if (write_all(fd, buf, (size_t)n) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		unlink(tmp);
		return herr_set(err, 0, errno, "--pid-file %s", path);
	}
	return 0;
}

/* ---- create / run ----------------------------------------------------- */

static int do_create(const struct rt_cmd *cmd, pid_t *monitor)
{
	_cleanup_free_ char *dir = rt_dir(cmd->root, cmd->id);
	_cleanup_free_ char *conf = NULL;
	struct spec_result spec = { 0 };
	char buf[4096];
	struct herr err;
	ssize_t n, len = 0;
	int rfd, st;
	pid_t pid;

	if (cmd->systemd_cgroup)
		return fail("create %s: --systemd-cgroup is not supported: "
			    "husk-runtime places no process in a systemd unit "
			    "(use the cgroupfs cgroup manager)",
			    cmd->id);
	if (pod_container_check_id(cmd->id, &err) < 0)
		return fail("create: %s", err.msg);
	if (asprintf(&conf, "%s/config.json", cmd->bundle) < 0)
		abort();
	if (access(conf, R_OK) < 0)
		return fail("create %s: bundle %s: no config.json (%s)",
			    cmd->id, cmd->bundle, strerror(errno));
	/* A bad config.json fails here, before anything exists. */
	if (spec_read_bundle(cmd->bundle, cmd->id, &spec, &err) < 0)
		return fail("create %s: %s", cmd->id, err.msg);
	spec_result_free(&spec);
	if (mkdir_p(cmd->root, 0711) < 0)
		return fail("create %s: --root %s: %s", cmd->id, cmd->root,
			    strerror(errno));
	if (mkdir(dir, 0711) < 0) {
		if (errno == EEXIST)
			return fail("create: container with id %s already "
				    "exists",
				    cmd->id);
		return fail("create %s: mkdir %s: %s", cmd->id, dir,
			    strerror(errno));
	}
	pid = rt_monitor_spawn(cmd, cmd->root, &rfd, &err);
	if (pid < 0) {
		rt_remove_tree(dir);
		return fail("create %s: %s", cmd->id, err.msg);
	}
	while ((n = read(rfd, buf + len, sizeof(buf) - 1 - len)) > 0 ||
	       (n < 0 && errno == EINTR))
		if (n > 0)
			len += n;
	close(rfd);
	buf[len] = '\0';
	if (strcmp(buf, "ok")) {
		waitpid(pid, &st, 0);
		rt_remove_tree(dir);
		if (!strncmp(buf, "err ", 4))
			return fail("create %s: %s", cmd->id, buf + 4);
		return fail("create %s: the monitor died before the container "
			    "was created",
			    cmd->id);
	}
	if (cmd->pid_file && write_pid_file(cmd->pid_file, pid, &err) < 0) {
		kill(pid, SIGTERM);
		waitpid(pid, &st, 0);
		rt_remove_tree(dir);
		return fail("create %s: %s", cmd->id, err.msg);
	}
	if (monitor)
		*monitor = pid;
	return 0;
}

static int read_state(const struct rt_cmd *cmd, struct rt_state *st)
{
	struct herr err;

	if (rt_state_read(cmd->root, cmd->id, st, &err) < 0)
		return fail("%s: %s", cmd->verb_name, err.msg);
	st->status = rt_state_status(st);
	return 0;
}

/* poststart and poststop: a failure is a warning (the OCI spec). */
static void run_hooks(const struct rt_state *st, const char *kind,
		      const char *status)
{
	_cleanup_free_ char *state = NULL;
	struct herr err;

	state = rt_hook_state_json(st->id, status, st->pid, st->bundle);
	if (rt_hooks_run(st->bundle, kind, state, -1, warn, &err) < 0)
		warn(err.msg);
}

static int do_start(const struct rt_cmd *cmd)
{
	struct rt_state st;
	struct herr err;
	char reply[1024];

	if (read_state(cmd, &st))
		return 1;
	if (st.status != RT_CREATED)
		return fail("start: container %s is not in created state: %s",
			    cmd->id, rt_status_name(st.status));
	if (rt_ctl_call(cmd->root, cmd->id, "start", reply, sizeof(reply),
			&err) < 0)
		return fail("start: %s", err.msg);
	run_hooks(&st, "poststart", "running");
	return 0;
}

static int wait_gone(const struct rt_state *st, long long ms)
{
	long long end = now_ms() + ms;

	while (rt_alive(st->pid, st->pid_start)) {
		if (now_ms() >= end)
			return -1;
		usleep(20000);
	}
	return 0;
}

static int do_delete(const struct rt_cmd *cmd)
{
	struct rt_state st;
	struct herr err;
	char reply[1024];

	if (rt_state_read(cmd->root, cmd->id, &st, &err) < 0) {
		if (cmd->force && err.errnum == ENOENT)
			return 0;
		/* A directory without a state file: create died early. */
		if (err.errnum == ENOENT)
			return fail("delete: %s", err.msg);
		if (cmd->force) {
			_cleanup_free_ char *dir = rt_dir(cmd->root, cmd->id);

			rt_remove_tree(dir);
			return 0;
		}
		return fail("delete: %s", err.msg);
	}
	st.status = rt_state_status(&st);
	if ((st.status == RT_RUNNING || st.status == RT_PAUSED) && !cmd->force)
		return fail("delete: cannot delete container %s that is not "
			    "stopped: %s",
			    cmd->id, rt_status_name(st.status));
	if (st.status != RT_STOPPED) {
		if (rt_ctl_call(cmd->root, cmd->id, "destroy", reply,
				sizeof(reply), &err) < 0 &&
		    rt_alive(st.pid, st.pid_start))
			warn(err.msg);
		if (wait_gone(&st, DESTROY_WAIT_MS) < 0) {
			warn("the monitor did not stop in time: killing it");
			kill(st.pid, SIGKILL);
			wait_gone(&st, 5000);
		}
	} else if (rt_alive(st.pid, st.pid_start)) {
		/* Stopped, still tearing its VM down. */
		wait_gone(&st, DESTROY_WAIT_MS);
	}
	rt_state_cleanup(cmd->root, &st);
	run_hooks(&st, "poststop", "stopped");
	return 0;
}

static int do_run(const struct rt_cmd *cmd)
{
	struct rt_cmd c = *cmd;
	pid_t pid;
	int st, r;

	if (do_create(cmd, &pid))
		return 1;
	c.verb_name = "start";
	if (do_start(&c)) {
		c.force = true;
		do_delete(&c);
		return 1;
	}
	if (cmd->detach)
		return 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	r = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	c.verb_name = "delete";
	do_delete(&c);
	return r;
}

/* ---- state, kill, pause, resume, ps, update -------------------------- */

static char *annotations_of(const char *bundle)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	json_object *o, *a;
	char *out = NULL;
	struct herr err;
	size_t len;

	if (asprintf(&path, "%s/config.json", bundle) < 0)
		abort();
	if (spec_read_file(path, 1 << 22, &text, &len, &err) < 0)
		return NULL;
	o = json_tokener_parse(text);
	if (o && json_object_object_get_ex(o, "annotations", &a))
		out = xstrdup(json_object_to_json_string(a));
	json_object_put(o);
	return out;
}

static int do_state(const struct rt_cmd *cmd)
{
	struct rt_state st;
	_cleanup_free_ char *ann = NULL, *out = NULL;

	if (read_state(cmd, &st))
		return 1;
	ann = annotations_of(st.bundle);
	out = rt_state_json(&st, ann);
	printf("%s\n", out);
	return 0;
}

static int simple_call(const struct rt_cmd *cmd, const char *msg)
{
	struct rt_state st;
	struct herr err;
	char reply[1024];

	if (read_state(cmd, &st))
		return 1;
	if (st.status == RT_STOPPED)
		return fail("%s: container %s is not running", cmd->verb_name,
			    cmd->id);
	if (rt_ctl_call(cmd->root, cmd->id, msg, reply, sizeof(reply), &err) <
	    0)
		return fail("%s: %s", cmd->verb_name, err.msg);
	return 0;
}

static int do_kill(const struct rt_cmd *cmd)
{
	int sig = rt_signal_parse(cmd->signal);
	char msg[32];

	if (sig < 0)
		return fail("kill: unknown signal \"%s\"", cmd->signal);
	snprintf(msg, sizeof(msg), "kill %d", sig);
	return simple_call(cmd, msg);
}

static int do_ps(const struct rt_cmd *cmd)
{
	struct rt_state st;

	if (read_state(cmd, &st))
		return 1;
	/* The container's processes are in the guest; on the host, the
	 * monitor stands for all of them. */
	if (cmd->format && !strcmp(cmd->format, "json")) {
		if (st.status == RT_STOPPED)
			printf("[]\n");
		else
			printf("[%d]\n", (int)st.pid);
		return 0;
	}
	printf("PID\n");
	if (st.status != RT_STOPPED)
		printf("%d\n", (int)st.pid);
	return 0;
}

static int read_text(const char *path, char **text, struct herr *err)
{
	size_t len;

	if (strcmp(path, "-"))
		return spec_read_file(path, 1 << 22, text, &len, err);
	{
		size_t cap = 4096;
		ssize_t n;

		*text = xmalloc(cap);
		len = 0;
		while ((n = read(0, *text + len, cap - 1 - len)) > 0) {
			len += (size_t)n;
			if (len + 1 == cap)
				*text = realloc(*text, cap *= 2);
		}
		(*text)[len] = '\0';
	}
	return 0;
}

static int do_update(const struct rt_cmd *cmd)
{
	_cleanup_free_ char *text = NULL, *msg = NULL;
	struct herr err;

	if (read_text(cmd->resources, &text, &err) < 0)
		return fail("update: --resources: %s", err.msg);
	if (asprintf(&msg, "update %s", text) < 0)
		abort();
	return simple_call(cmd, msg);
}

/* ---- exec ------------------------------------------------------------ */

static char *process_from_args(const struct rt_cmd *cmd)
{
	json_object *o = json_object_new_object(), *args, *env, *user;
	char *out;

	args = json_object_new_array();
	for (int i = 0; i < cmd->n_args; i++)
		json_object_array_add(args,
				      json_object_new_string(cmd->args[i]));
	env = json_object_new_array();
	json_object_array_add(
		env,
		json_object_new_string("PATH=/usr/local/sbin:/usr/local/"
				       "bin:/usr/sbin:/usr/bin:/sbin:/bin"));
	user = json_object_new_object();
	json_object_object_add(user, "uid", json_object_new_int(0));
	json_object_object_add(user, "gid", json_object_new_int(0));
	json_object_object_add(o, "terminal",
			       json_object_new_boolean(cmd->tty));
	json_object_object_add(o, "user", user);
	json_object_object_add(o, "args", args);
	json_object_object_add(o, "env", env);
	json_object_object_add(o, "cwd", json_object_new_string("/"));
	out = xstrdup(json_object_to_json_string(o));
	json_object_put(o);
	return out;
}

/* Terminal from the process JSON, --tty forcing it on (as runc does). */
static char *exec_process(const struct rt_cmd *cmd, bool *tty, struct herr *err)
{
	_cleanup_free_ char *text = NULL;
	json_object *o, *t;
	char *out;

	if (!cmd->process) {
		*tty = cmd->tty;
		return process_from_args(cmd);
	}
	if (read_text(cmd->process, &text, err) < 0)
		return NULL;
	o = json_tokener_parse(text);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		herr_set(err, 0, 0, "--process %s: not a JSON object",
			 cmd->process);
		return NULL;
	}
	*tty = cmd->tty || (json_object_object_get_ex(o, "terminal", &t) &&
			    json_object_get_boolean(t));
	json_object_object_add(o, "terminal", json_object_new_boolean(*tty));
	out = xstrdup(json_object_to_json_string(o));
	json_object_put(o);
	return out;
}

static int sigfd_winch(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static void send_size(int fd, int slave)
{
	struct winsize ws;
	char msg[64];

	if (ioctl(slave, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col)
		return;
	snprintf(msg, sizeof(msg), "winsize %u %u", ws.ws_row, ws.ws_col);
	rt_ctl_send(fd, msg, strlen(msg), NULL, 0);
}

/* Wait for "exit N", passing the pty's size on at every SIGWINCH. */
static ssize_t wait_exit(int fd, int winch, int slave, char *reply, size_t size)
{
	struct pollfd pf[2] = { { .fd = fd, .events = POLLIN },
				{ .fd = winch, .events = POLLIN } };
	ssize_t n;

	for (;;) {
		if (poll(pf, winch >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (winch >= 0 && (pf[1].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(winch, &si, sizeof(si)) > 0)
				send_size(fd, slave);
		}
		if (pf[0].revents) {
			do
				n = rt_ctl_recv(fd, reply, size, NULL, NULL);
			while (n == -EINTR);
			return n;
		}
	}
}

/*
 * Hand the process and its stdio to the monitor, wait until it started
 * (tell @report_fd, if any), then until it exits: its status is ours.
 */
static int exec_relay(const struct rt_cmd *cmd, const char *json, bool tty,
		      int report_fd)
{
	_cleanup_free_ char *msg = NULL;
	struct herr err;
	char reply[256];
	int fds[3], fd, slave = -1, r, null, winch = -1;
	ssize_t n;

	if (tty) {
		if (!cmd->console_socket) {
			r = fail("exec %s: a terminal needs --console-socket",
				 cmd->id);
			goto out_report;
		}
		if (rt_console_open(cmd->console_socket, &slave, &err) < 0) {
			r = fail("exec %s: %s", cmd->id, err.msg);
			goto out_report;
		}
		fds[0] = fds[1] = fds[2] = slave;
	} else {
		fds[0] = 0;
		fds[1] = 1;
		fds[2] = 2;
	}
	fd = rt_ctl_connect(cmd->root, cmd->id, &err);
	if (fd < 0) {
		r = fail("exec: %s", err.msg);
		goto out_report;
	}
	if (asprintf(&msg, "exec %s", json) < 0)
		abort();
	/* A detached exec leads its own session: with the pty as its
	 * controlling terminal, SIGWINCH says when the caller resized it. */
	if (slave >= 0 && cmd->detach && ioctl(slave, TIOCSCTTY, 0) == 0)
		winch = sigfd_winch();
	r = rt_ctl_send(fd, msg, strlen(msg), fds, 3);
	if (r < 0) {
		r = fail("exec %s: send to the monitor: %s", cmd->id,
			 strerror(-r));
		goto out_report;
	}
	n = rt_ctl_recv(fd, reply, sizeof(reply), NULL, NULL);
	if (n <= 0 || strncmp(reply, "ok", 2)) {
		r = fail("exec %s: %s", cmd->id,
			 n > 4 && !strncmp(reply, "err ", 4)
				 ? reply + 4
				 : "the monitor went away");
		goto out_report;
	}
	/* The size the caller may have set before the start. */
	if (winch >= 0)
		send_size(fd, slave);
	if (report_fd >= 0) {
		write_all(report_fd, "ok", 2);
		close(report_fd);
		report_fd = -1;
	}
	/*
	 * The monitor holds the stdio now: a detached exec must not keep the
	 * caller's open (go-runc reads its output until EOF).
	 */
	null = open("/dev/null", O_RDWR);
	if (null >= 0 && cmd->detach) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	if (null > 2)
		close(null);
	n = wait_exit(fd, winch, slave, reply, sizeof(reply));
	close(fd);
	if (slave >= 0)
		close(slave);
	if (winch >= 0)
		close(winch);
	if (n > 5 && !strncmp(reply, "exit ", 5))
		return atoi(reply + 5) & 0xff;
	return 255; /* the monitor, hence the VM, went away */
out_report:
	if (report_fd >= 0)
		close(report_fd);
	if (slave >= 0)
		close(slave);
	if (winch >= 0)
		close(winch);
	return r;
}

static int do_exec(const struct rt_cmd *cmd)
{
	_cleanup_free_ char *json = NULL;
	struct rt_state st;
	struct herr err;
	int pfd[2], st_w;
	char buf[8];
	bool tty;
	pid_t pid;

	if (read_state(cmd, &st))
		return 1;
	if (st.status != RT_RUNNING)
		return fail("exec: container %s is not running: %s", cmd->id,
			    rt_status_name(st.status));
	json = exec_process(cmd, &tty, &err);
	if (!json)
		return fail("exec %s: %s", cmd->id, err.msg);
	if (!cmd->detach) {
		if (cmd->pid_file &&
		    write_pid_file(cmd->pid_file, getpid(), &err) < 0)
			return fail("exec %s: %s", cmd->id, err.msg);
		return exec_relay(cmd, json, tty, -1);
	}
	/* Detached: a child lives as long as the process (--pid-file). */
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return fail("exec %s: pipe: %s", cmd->id, strerror(errno));
	pid = fork();
	if (pid < 0)
		return fail("exec %s: fork: %s", cmd->id, strerror(errno));
	if (pid == 0) {
		close(pfd[0]);
		setsid();
		_exit(exec_relay(cmd, json, tty, pfd[1]));
	}
	close(pfd[1]);
	if (read(pfd[0], buf, sizeof(buf)) != 2) {
		close(pfd[0]);
		waitpid(pid, &st_w, 0);
		return 1; /* the child said why */
	}
	close(pfd[0]);
	if (cmd->pid_file && write_pid_file(cmd->pid_file, pid, &err) < 0)
		return fail("exec %s: %s", cmd->id, err.msg);
	return 0;
}

/* ---- features, version, help ----------------------------------------- */

static int do_features(void)
{
	printf("{\n"
	       "  \"ociVersionMin\": \"1.0.0\",\n"
	       "  \"ociVersionMax\": \"1.0.2\",\n"
	       "  \"hooks\": [\"prestart\", \"createRuntime\", \"poststart\", "
	       "\"poststop\"],\n"
	       "  \"mountOptions\": [\"ro\", \"rw\", \"nosuid\", \"nodev\", "
	       "\"noexec\", \"bind\", \"rbind\"],\n"
	       "  \"linux\": {\n"
	       "    \"namespaces\": [\"pid\", \"network\", \"ipc\", \"uts\", "
	       "\"mount\", \"cgroup\"],\n"
	       "    \"cgroup\": {\"v1\": true, \"v2\": true, \"systemd\": "
	       "false, \"systemdUser\": false},\n"
	       "    \"seccomp\": {\"enabled\": true},\n"
	       "    \"apparmor\": {\"enabled\": false},\n"
	       "    \"selinux\": {\"enabled\": false}\n"
	       "  },\n"
	       "  \"annotations\": {\"io.husk.runtime\": \"vm\"}\n"
	       "}\n");
	return 0;
}

static const char usage[] =
	"usage: husk-runtime [--root DIR] [--log FILE] [--log-format "
	"text|json] [--debug] COMMAND\n"
	"runc-compatible: each container runs in its own VM.\n"
	"  create --bundle B [--pid-file P] [--console-socket S] ID\n"
	"  start ID | state ID | kill [--all] ID [SIG] | delete [--force] ID\n"
	"  exec [--process F | CMD...] [--detach] [--pid-file P] [--tty]\n"
	"       [--console-socket S] ID\n"
	"  run --bundle B [--detach] ID\n"
	"  pause ID | resume ID | ps [--format json] ID\n"
	"  update --resources F ID | features | --version\n";

int main(int argc, char **argv)
{
	struct rt_cmd cmd;
	struct herr err;

	signal(SIGPIPE, SIG_IGN);
	log_init(2, LOG_WARN);
	if (rt_parse(argc - 1, argv + 1, &cmd, &err) < 0) {
		g_cmd = &cmd;
		return fail("%s", err.msg);
	}
	g_cmd = &cmd;
	if (cmd.debug)
		log_set_level(LOG_DEBUG);
	switch (cmd.verb) {
	case RT_VERSION:
		printf("husk-runtime version %s\nspec: 1.0.2\n", HUSK_VERSION);
		return 0;
	case RT_HELP:
		fputs(usage, stdout);
		return 0;
	case RT_FEATURES:
		return do_features();
	case RT_CREATE:
		return do_create(&cmd, NULL);
	case RT_RUN:
		return do_run(&cmd);
	case RT_START:
		return do_start(&cmd);
	case RT_STATE:
		return do_state(&cmd);
	case RT_KILL:
		return do_kill(&cmd);
	case RT_DELETE:
		return do_delete(&cmd);
	case RT_EXEC:
		return do_exec(&cmd);
	case RT_PAUSE:
		return simple_call(&cmd, "pause");
	case RT_RESUME:
		return simple_call(&cmd, "resume");
	case RT_PS:
		return do_ps(&cmd);
	case RT_UPDATE:
		return do_update(&cmd);
	case RT_NONE:
		break;
	}
	return fail("unknown command");
}
