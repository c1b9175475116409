// SPDX-License-Identifier: Apache-2.0
/*
 * The per-container monitor: the process whose pid husk-runtime create
 * writes to --pid-file.  It boots the container's VM through the host
 * library's pod (the same code as the shim), creates the container,
 * relays the stdio it inherited (or the pty whose master went over
 * --console-socket) to the agent, serves later invocations on
 * <root>/<id>/ctl.sock, and when the container's init exits it tears the
 * VM down (DestroySandbox removes the container in the guest), removes
 * the container's host side and exits with the init's status (128+n
 * for a signal), so its caller (containerd's runc shim or conmon, both
 * subreapers) reaps exactly what runc's init would have given it.
 *
 * Output is written with blocking writes: a caller that stops reading
 * stalls this container only, as a full pipe stalls runc's container.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "evloop.h"
#include "log.h"
#include "path.h"
#include "pod.h"
#include "runtime.h"
#include "spec.h"
#include "util.h"

#define CHUNK 32768

/* A process's I/O: the fds it relays and, for an exec, who waits. */
struct mon_io {
	int in_fd, out_fd, err_fd;
	bool in_pollable, in_watch, in_busy, in_closed;
	bool out_eof, err_eof, output_done;
	uint8_t *in_buf;
	size_t in_len;
	int client_fd; /* exec: the invocation waiting for "exit N" */
	bool client_watch; /* reading its "winsize R C" messages */
};

struct mon {
	struct evloop *loop;
	const char *root, *id;
	char *dir;
	struct husk_config cfg;
	bool cfg_loaded;
	struct pod *pod;
	struct pod_container *c;
	struct rt_state st;
	int ready_fd;
	int lfd, sigfd;
	int tty_fd; /* the pty slave of the init process, or -1 */
	int host_mntns; /* the caller's mount namespace, for hooks */
	pid_t netns_holder; /* keeps the container's new netns, or 0 */
	bool hooks_ran; /* prestart ran: poststop is due on failure */
	bool create_failed;
	bool finishing, done;
	int exit_status;
	unsigned exec_seq;
};

static struct mon_io *io_of(struct pod_process *p)
{
	return p->fe;
}

static void mon_finish(struct mon *m, int status);

/* ---- output: ReadStdout/ReadStderr to the fds ------------------------ */

static void check_output_done(struct pod_process *p)
{
	struct mon_io *io = io_of(p);

	if (io->output_done || !io->out_eof || !io->err_eof)
		return;
	io->output_done = true;
	pod_process_output_done(p);
}

static void read_more(struct pod_process *p, bool is_stderr);

struct read_op {
	struct pod_process *p;
	bool is_stderr;
};

static void on_read(void *resp, const struct herr *err, void *data)
{
	struct read_op *op = data;
	struct pod_process *p = op->p;
	bool is_stderr = op->is_stderr;
	const Grpc__ReadStreamResponse *r = resp;
	struct mon_io *io = io_of(p);

	free(op);
	if (p->removed || !io) {
		pod_process_unref(p);
		return;
	}
	if (err || !r->data.len) {
		*(is_stderr ? &io->err_eof : &io->out_eof) = true;
		check_output_done(p);
	} else {
		int fd = is_stderr ? io->err_fd : io->out_fd;

		if (fd >= 0 && write_all(fd, r->data.data, r->data.len) < 0) {
			log_warn("container %s: write %s: %s; discarding "
				 "further output",
				 p->c->id, is_stderr ? "stderr" : "stdout",
				 strerror(errno));
			if (is_stderr)
				closep(&io->err_fd), io->err_fd = -1;
			else if (io->out_fd != io->in_fd)
				closep(&io->out_fd), io->out_fd = -1;
		}
		read_more(p, is_stderr);
	}
	pod_process_unref(p);
}

static void read_more(struct pod_process *p, bool is_stderr)
{
	struct read_op *op = xmalloc(sizeof(*op));

	op->p = p;
	op->is_stderr = is_stderr;
	pod_process_ref(p);
	agent_read_stream(p->c->pod->agent, is_stderr, p->c->id,
			  p->agent_exec_id, on_read, op);
}

/* ---- input: the fd to WriteStdin ------------------------------------ */

static void stdin_pump(struct pod_process *p);

static void on_stdin_readable(struct evloop *loop, int fd, uint32_t events,
			      void *data)
{
	(void)loop;
	(void)fd;
	(void)events;
	stdin_pump(data);
}

static void stdin_watch(struct pod_process *p, bool on)
{
	struct mon_io *io = io_of(p);

	if (!io->in_pollable || io->in_watch == on || io->in_fd < 0)
		return;
	if (on)
		io->in_watch = evloop_add(p->c->pod->loop, io->in_fd, EPOLLIN,
					  on_stdin_readable, p) == 0;
	else {
		evloop_del(p->c->pod->loop, io->in_fd);
		io->in_watch = false;
	}
}

static void on_unref_done(void *resp, const struct herr *err, void *data)
{
	(void)resp;
	(void)err;
	pod_process_unref(data);
}

static void stdin_close(struct pod_process *p)
{
	struct mon_io *io = io_of(p);

	if (io->in_closed)
		return;
	io->in_closed = true;
	stdin_watch(p, false);
	pod_process_ref(p);
	agent_close_stdin(p->c->pod->agent, p->c->id, p->agent_exec_id,
			  on_unref_done, p);
}

static void on_stdin_written(void *resp, const struct herr *err, void *data)
{
	struct pod_process *p = data;
	struct mon_io *io = io_of(p);

	(void)resp;
	if (io && !p->removed) {
		io->in_busy = false;
		if (err)
			io->in_closed = true; /* the process is gone */
		else
			stdin_pump(p);
	}
	pod_process_unref(p);
}

static void stdin_pump(struct pod_process *p)
{
	struct mon_io *io = io_of(p);
	ssize_t n;

	if (io->in_busy || io->in_closed)
		return;
	if (io->in_fd < 0) {
		stdin_close(p);
		return;
	}
	if (!io->in_buf)
		io->in_buf = xmalloc(CHUNK);
	do
		n = read(io->in_fd, io->in_buf, CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN) {
		stdin_watch(p, true);
		return;
	}
	if (n <= 0) {
		/* EOF, or EIO from a pty whose master closed. */
		stdin_close(p);
		return;
	}
	stdin_watch(p, false);
	io->in_busy = true;
	pod_process_ref(p);
	agent_write_stdin(p->c->pod->agent, p->c->id, p->agent_exec_id,
			  io->in_buf, (size_t)n, on_stdin_written, p);
}

/* ---- process lifecycle (struct pod_ops) ------------------------------ */

static struct mon_io *io_new(int in, int out, int err_fd)
{
	struct mon_io *io = xcalloc(1, sizeof(*io));

	io->in_fd = in;
	io->out_fd = out;
	io->err_fd = err_fd;
	io->client_fd = -1;
	return io;
}

static void io_close(struct mon_io *io, struct evloop *loop)
{
	if (io->in_watch)
		evloop_del(loop, io->in_fd);
	io->in_watch = false;
	if (io->err_fd >= 0 && io->err_fd != io->out_fd)
		close(io->err_fd);
	if (io->out_fd >= 0 && io->out_fd != io->in_fd)
		close(io->out_fd);
	if (io->in_fd >= 0)
		close(io->in_fd);
	io->in_fd = io->out_fd = io->err_fd = -1;
}

static void client_close(struct pod_process *p)
{
	struct mon_io *io = io_of(p);

	if (io->client_watch)
		evloop_del(p->c->pod->loop, io->client_fd);
	io->client_watch = false;
	closep(&io->client_fd);
	io->client_fd = -1;
}

static void on_started(struct pod_process *p, void *data)
{
	struct mon_io *io = io_of(p);
	int fl;

	(void)data;
	if (p->terminal)
		io->err_eof = true; /* the pty carries both */
	read_more(p, false);
	if (!io->err_eof)
		read_more(p, true);
	/* epoll refuses regular files and /dev/null: those read at once. */
	if (io->in_fd >= 0) {
		fl = fcntl(io->in_fd, F_GETFL);
		io->in_pollable =
			evloop_add(p->c->pod->loop, io->in_fd, EPOLLIN,
				   on_stdin_readable, p) == 0;
		if (io->in_pollable) {
			evloop_del(p->c->pod->loop, io->in_fd);
			if (fl >= 0 && !(fl & O_NONBLOCK))
				fcntl(io->in_fd, F_SETFL, fl | O_NONBLOCK);
		}
	}
	stdin_pump(p);
}

static void on_waited(struct pod_process *p, void *data)
{
	(void)data;
	/* Output went out with blocking writes: nothing left to drain. */
	pod_process_exited(p, p->wait_status);
}

static void remove_exec(struct evloop *loop, void *data)
{
	struct pod_process *p = data;

	(void)loop;
	pod_process_remove(p);
	pod_process_unref(p);
}

static void on_exited(struct pod_process *p, bool ran, void *data)
{
	struct mon *m = data;
	struct mon_io *io = io_of(p);

	(void)ran;
	io_close(io, m->loop);
	if (io->client_fd >= 0) {
		char msg[32];

		snprintf(msg, sizeof(msg), "exit %u", p->exit_status);
		rt_ctl_send(io->client_fd, msg, strlen(msg), NULL, 0);
		client_close(p);
	}
	if (p == m->c->init) {
		mon_finish(m, (int)p->exit_status);
	} else {
		/* Not from inside the pod's own callback. */
		pod_process_ref(p);
		evloop_timer(m->loop, 0, remove_exec, p);
	}
}

static void on_lost(struct pod_process *p, void *data)
{
	struct mon_io *io = io_of(p);

	(void)data;
	io->out_eof = io->err_eof = true;
	check_output_done(p);
}

static void on_removed(struct pod_process *p, void *data)
{
	struct mon *m = data;

	io_close(io_of(p), m->loop);
}

static void on_free(struct pod_process *p, void *data)
{
	struct mon_io *io = io_of(p);

	(void)data;
	if (!io)
		return;
	client_close(p);
	free(io->in_buf);
	free(io);
	p->fe = NULL;
}

static void on_oom(struct pod *pod, const char *cid, void *data)
{
	(void)pod;
	(void)data;
	log_warn("container %s: OOM kill in the guest", cid);
}

static const struct pod_ops mon_pod_ops = {
	.oom = on_oom,
	.process_started = on_started,
	.process_waited = on_waited,
	.process_exited = on_exited,
	.process_lost = on_lost,
	.process_removed = on_removed,
	.process_free = on_free,
};

/* ---- the end -------------------------------------------------------- */

static void write_state(struct mon *m)
{
	struct herr err;

	if (rt_state_write(m->root, &m->st, &err) < 0)
		log_warn("container %s: %s", m->id, err.msg);
}

static void torn_down(void *data)
{
	struct mon *m = data;

	m->done = true;
}

static void release(struct mon *m)
{
	struct pod_container *c = m->c;

	pod_container_release_host(c);
	pod_remove_container(m->pod, c);
	pod_teardown(m->pod, torn_down, m);
}

static void on_container_removed(void *resp, const struct herr *err, void *data)
{
	struct mon *m = data;

	(void)resp;
	if (err && pod_usable(m->pod))
		log_warn("container %s: RemoveContainer: %s", m->id, err->msg);
	release(m);
}

/* DestroySandbox removed the container with the VM: its host side goes. */
static void last_torn_down(void *data)
{
	struct mon *m = data;

	log_msg(LOG_INFO, "container removed with its sandbox", "container=%s",
		m->id);
	pod_container_release_host(m->c);
	pod_remove_container(m->pod, m->c);
	m->done = true;
}

static void finish_now(struct evloop *loop, void *data)
{
	struct mon *m = data;
	bool created = m->c->state == POD_CONTAINER_READY;

	(void)loop;
	m->c->state = POD_CONTAINER_FAILED;
	if (!pod_usable(m->pod))
		release(m);
	else if (created && m->pod->n_containers == 1 &&
		 m->pod->containers == m->c)
		/*
		 * The VM's only container, as the shim's last one: no
		 * RemoveContainer first, DestroySandbox removes it (kills
		 * and waits for what is left of it, then syncs).
		 */
		pod_teardown(m->pod, last_torn_down, m);
	else
		agent_remove_container(m->pod->agent, m->id,
				       on_container_removed, m);
}

/* The init exited (or the container is being destroyed): the monitor
 * records it, stops serving, tears the VM down and exits with @status. */
static void mon_finish(struct mon *m, int status)
{
	if (m->finishing)
		return;
	m->finishing = true;
	m->exit_status = status;
	m->st.status = RT_STOPPED;
	m->st.exit_status = status;
	write_state(m);
	if (m->lfd >= 0) {
		_cleanup_free_ char *sock = NULL;

		evloop_del(m->loop, m->lfd);
		closep(&m->lfd);
		m->lfd = -1;
		if (asprintf(&sock, "%s/ctl.sock", m->dir) < 0)
			abort();
		unlink(sock);
	}
	log_msg(LOG_INFO, "container exited", "container=%s status=%d", m->id,
		status);
	/* Not from inside the pod's own callback. */
	evloop_timer(m->loop, 0, finish_now, m);
}

/* ---- control requests ----------------------------------------------- */

struct req {
	struct mon *m;
	int fd;
	struct pod_process *p;
	enum rt_status then; /* the status a success leads to */
};

static void answer(int fd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void answer(int fd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	rt_ctl_send(fd, buf, (size_t)n, NULL, 0);
}

static struct req *req_new(struct mon *m, int fd, struct pod_process *p)
{
	struct req *r = xcalloc(1, sizeof(*r));

	r->m = m;
	r->fd = fd;
	r->p = p;
	if (p)
		pod_process_ref(p);
	return r;
}

static void req_done(struct req *r)
{
	if (r->fd >= 0)
		close(r->fd);
	if (r->p)
		pod_process_unref(r->p);
	free(r);
}

static void send_winsize(struct mon *m)
{
	struct pod_process *p = m->c->init;
	struct winsize ws;

	if (m->tty_fd < 0 || !p || p->status != POD_PROCESS_RUNNING ||
	    ioctl(m->tty_fd, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col)
		return;
	pod_process_ref(p);
	agent_tty_resize(m->pod->agent, m->id, p->agent_exec_id, ws.ws_row,
			 ws.ws_col, on_unref_done, p);
}

static void on_unref_done(void *resp, const struct herr *err, void *data);

/* An exec's invocation forwards its terminal's size changes. */
static void on_exec_client(struct evloop *loop, int fd, uint32_t events,
			   void *data)
{
	struct pod_process *p = data;
	unsigned rows, cols;
	char buf[128];
	ssize_t n;

	(void)loop;
	(void)events;
	n = rt_ctl_recv(fd, buf, sizeof(buf), NULL, NULL);
	if (n <= 0) {
		/* The invocation went away: nobody to tell the exit. */
		client_close(p);
		return;
	}
	if (sscanf(buf, "winsize %u %u", &rows, &cols) == 2 && rows && cols &&
	    p->terminal && p->status == POD_PROCESS_RUNNING &&
	    pod_usable(p->c->pod)) {
		pod_process_ref(p);
		agent_tty_resize(p->c->pod->agent, p->c->id, p->agent_exec_id,
				 rows, cols, on_unref_done, p);
	}
}

static void on_start_done(void *resp, const struct herr *err, void *data)
{
	struct req *r = data;
	struct mon *m = r->m;
	struct pod_process *p = r->p;
	bool init = p == m->c->init;
	int fd = init ? r->fd : io_of(p)->client_fd;

	(void)resp;
	if (err) {
		answer(fd, "err start %s%s: agent: %s", m->id,
		       init ? "" : " exec", err->msg);
	} else if (p->removed || p->status != POD_PROCESS_CREATED) {
		answer(fd, "err start %s: the process went away", m->id);
	} else {
		if (init) {
			m->st.status = RT_RUNNING;
			write_state(m);
		}
		pod_process_started(p);
		if (init)
			send_winsize(m);
		answer(fd, "ok");
		if (!init && p->terminal && io_of(p)->client_fd >= 0)
			io_of(p)->client_watch =
				evloop_add(m->loop, io_of(p)->client_fd,
					   EPOLLIN, on_exec_client, p) == 0;
		req_done(r);
		return;
	}
	if (!init)
		pod_process_remove(p);
	req_done(r);
}

static void on_simple_done(void *resp, const struct herr *err, void *data)
{
	struct req *r = data;
	struct mon *m = r->m;

	(void)resp;
	if (err) {
		answer(r->fd, "err %s: agent: %s", m->id, err->msg);
	} else {
		if (r->then != RT_STOPPED && !m->finishing) {
			m->st.status = r->then;
			write_state(m);
		}
		answer(r->fd, "ok");
	}
	req_done(r);
}

static void do_kill(struct mon *m, int fd, const char *arg)
{
	struct pod_process *p = m->c->init;
	int sig = atoi(arg);
	struct req *r;

	if (!p || p->status != POD_PROCESS_RUNNING || !pod_usable(m->pod)) {
		if (p && p->status == POD_PROCESS_CREATED &&
		    (sig == SIGKILL || sig == SIGTERM)) {
			/* A created container killed never runs. */
			answer(fd, "ok");
			close(fd);
			mon_finish(m, 128 + sig);
			return;
		}
		answer(fd, "err container %s is not running", m->id);
		close(fd);
		return;
	}
	r = req_new(m, fd, p);
	r->then = RT_STOPPED;
	agent_signal_process(m->pod->agent, m->id, "", (uint32_t)sig,
			     on_simple_done, r);
}

static void do_exec(struct mon *m, int fd, const char *json, const int *fds,
		    int nfd)
{
	Grpc__Process *spec = NULL;
	Grpc__ExecProcessRequest er = GRPC__EXEC_PROCESS_REQUEST__INIT;
	struct pod_process *p;
	struct mon_io *io;
	struct herr err;
	char eid[64];
	struct req *r;

	if (m->c->init->status != POD_PROCESS_RUNNING || m->finishing ||
	    !pod_usable(m->pod)) {
		answer(fd, "err exec in %s: the container is not running",
		       m->id);
		goto fail;
	}
	if (nfd != 3) {
		answer(fd, "err exec in %s: expected 3 stdio fds, got %d",
		       m->id, nfd);
		goto fail;
	}
	if (spec_process_from_json(json, strlen(json), &spec, &err) < 0) {
		answer(fd, "err exec in %s: process: %s", m->id, err.msg);
		goto fail;
	}
	snprintf(eid, sizeof(eid), "exec-%d-%u", (int)getpid(), ++m->exec_seq);
	p = pod_process_new(m->c, eid, spec->terminal);
	p->exec_spec = spec;
	io = io_new(fds[0], fds[1], fds[2]);
	io->client_fd = fd;
	p->fe = io;
	pod_container_add_exec(m->c, p);
	r = req_new(m, -1, p);
	er.container_id = (char *)m->id;
	er.exec_id = eid;
	er.process = spec;
	agent_exec_process(m->pod->agent, &er, on_start_done, r);
	return;
fail:
	for (int i = 0; i < nfd; i++)
		close(fds[i]);
	close(fd);
}

static void do_update(struct mon *m, int fd, const char *json)
{
	Grpc__LinuxResources *res = NULL;
	struct herr err;
	struct req *r;

	if (spec_resources_from_json(json, strlen(json), &res, &err) < 0) {
		answer(fd, "err update %s: resources: %s", m->id, err.msg);
		close(fd);
		return;
	}
	r = req_new(m, fd, NULL);
	r->then = m->st.status;
	agent_update_container(m->pod->agent, m->id, res, on_simple_done, r);
	protobuf_c_message_free_unpacked(&res->base, NULL);
}

static void on_request(struct evloop *loop, int fd, uint32_t events, void *data)
{
	struct mon *m = data;
	char buf[65536], *arg;
	int fds[3], nfd = 3;
	struct req *r;
	ssize_t n;

	evloop_del(loop, fd);
	(void)events;
	n = rt_ctl_recv(fd, buf, sizeof(buf), fds, &nfd);
	if (n <= 0) {
		close(fd);
		return;
	}
	arg = strchr(buf, ' ');
	if (arg)
		*arg++ = '\0';
	else
		arg = buf + strlen(buf);
	log_msg(LOG_DEBUG, "request", "container=%s verb=%s", m->id, buf);
	if (strcmp(buf, "exec"))
		for (int i = 0; i < nfd; i++)
			close(fds[i]);
	if (m->finishing) {
		answer(fd, "err container %s is stopping", m->id);
		close(fd);
		return;
	}
	if (!strcmp(buf, "start")) {
		if (m->c->init->status != POD_PROCESS_CREATED) {
			answer(fd, "err container %s is not in created state",
			       m->id);
			close(fd);
			return;
		}
		r = req_new(m, fd, m->c->init);
		agent_start_container(m->pod->agent, m->id, on_start_done, r);
	} else if (!strcmp(buf, "kill")) {
		do_kill(m, fd, arg);
	} else if (!strcmp(buf, "destroy")) {
		/* delete --force: whatever the state, the container goes. */
		answer(fd, "ok");
		close(fd);
		if (m->c->init->status == POD_PROCESS_RUNNING &&
		    pod_usable(m->pod)) {
			pod_process_ref(m->c->init);
			agent_signal_process(m->pod->agent, m->id, "", SIGKILL,
					     on_unref_done, m->c->init);
		} else
			mon_finish(m, 128 + SIGKILL);
	} else if (!strcmp(buf, "pause") || !strcmp(buf, "resume")) {
		bool pause = buf[0] == 'p';

		if (m->c->init->status != POD_PROCESS_RUNNING) {
			answer(fd, "err container %s is not running", m->id);
			close(fd);
			return;
		}
		r = req_new(m, fd, NULL);
		r->then = pause ? RT_PAUSED : RT_RUNNING;
		if (pause)
			agent_pause_container(m->pod->agent, m->id,
					      on_simple_done, r);
		else
			agent_resume_container(m->pod->agent, m->id,
					       on_simple_done, r);
	} else if (!strcmp(buf, "exec")) {
		do_exec(m, fd, arg, fds, nfd);
	} else if (!strcmp(buf, "update")) {
		do_update(m, fd, arg);
	} else {
		answer(fd, "err unknown request \"%s\"", buf);
		close(fd);
	}
}

static void on_accept(struct evloop *loop, int lfd, uint32_t events, void *data)
{
	int fd;

	(void)events;
	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		if (evloop_add(loop, fd, EPOLLIN, on_request, data) < 0)
			close(fd);
}

/* ---- signals -------------------------------------------------------- */

static void on_signal(struct evloop *loop, int fd, uint32_t events, void *data)
{
	struct mon *m = data;
	struct signalfd_siginfo si;

	(void)loop;
	(void)events;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			int st;
			pid_t pid;

			while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
				/* Not to be killed by pid later: it is gone. */
				if (pid == m->netns_holder) {
					log_warn(
						"container %s: the process "
						"holding its network namespace "
						"exited",
						m->id);
					m->netns_holder = 0;
				}
				pod_child_reaped(m->pod, pid, st);
			}
		} else if (si.ssi_signo == SIGWINCH) {
			send_winsize(m);
		} else if (!m->finishing) {
			struct herr why;

			herr_set(&why, 0, 0, "the monitor got signal %u",
				 si.ssi_signo);
			if (m->pod->state != POD_NEW)
				pod_fail(m->pod, &why);
			mon_finish(m, 128 + (int)si.ssi_signo);
		}
	}
}

static int setup_signals(struct mon *m, struct herr *err)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_BLOCK, &set, NULL);
	m->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (m->sigfd < 0)
		return herr_set(err, 0, errno, "signalfd");
	if (evloop_add(m->loop, m->sigfd, EPOLLIN, on_signal, m) < 0)
		return herr_set(err, 0, 0, "watch signalfd");
	return 0;
}

/* ---- create --------------------------------------------------------- */

/* The VM's files live under a short path: QEMU's sockets must fit in
 * sun_path, and --root plus a 64-character id may not. */
static char *short_run_dir(const char *dir)
{
	const char *base = getenv("HUSK_RUN_ROOT");
	unsigned long long h = 1469598103934665603ULL;
	char *out;

	for (const char *p = dir; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	if (asprintf(&out, "%s/rt-%016llx", base && *base ? base : "/run/husk",
		     h) < 0)
		abort();
	return out;
}

/*
 * The spec's linux.cgroupsPath, where QEMU and the monitor go.  The
 * network namespace needs nothing here: pod_container_create() hands it
 * to the host library's pod networking, the code CRI pods use.
 */
static void read_cgroups_path(struct mon *m, const char *bundle)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	json_object *o, *linux_, *cg;
	struct herr err;
	size_t len;

	if (asprintf(&path, "%s/config.json", bundle) < 0)
		abort();
	if (spec_read_file(path, 1 << 22, &text, &len, &err) < 0)
		return;
	o = json_tokener_parse(text);
	if (o && json_object_object_get_ex(o, "linux", &linux_) &&
	    json_object_object_get_ex(linux_, "cgroupsPath", &cg) &&
	    json_object_is_type(cg, json_type_string))
		snprintf(m->st.cgroup, sizeof(m->st.cgroup), "%s",
			 json_object_get_string(cg));
	json_object_put(o);
}

static void report(struct mon *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(struct mon *m, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n;

	if (m->ready_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	if (write_all(m->ready_fd, buf, (size_t)n) < 0)
		log_warn("report to create: %s", strerror(errno));
	closep(&m->ready_fd);
	m->ready_fd = -1;
}

static void on_created(struct pod_container *c, const struct herr *err,
		       void *data)
{
	struct mon *m = data;

	if (err) {
		log_error("create %s: %s", m->id, err->msg);
		report(m, "err %s", err->msg);
		m->create_failed = true;
		m->finishing = true;
		m->exit_status = 1;
		c->state = POD_CONTAINER_FAILED;
		release(m);
		return;
	}
	m->st.vm_pid = m->pod->vm_pid;
	m->st.vm_start = rt_proc_start(m->pod->vm_pid);
	m->st.status = RT_CREATED;
	write_state(m);
	report(m, "ok");
}

static int private_mounts(struct herr *err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return herr_set(err, 0, errno, "unshare mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return herr_set(err, 0, errno, "make / a slave mount");
	return 0;
}

static void null_stdio(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0)
		return;
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	close(null);
}

static void netns_holder_stop(struct mon *m)
{
	if (m->netns_holder <= 0)
		return;
	kill(m->netns_holder, SIGKILL);
	while (waitpid(m->netns_holder, NULL, 0) < 0 && errno == EINTR)
		;
	m->netns_holder = 0;
}

/*
 * A process that only holds a new network namespace, as runc's init holds
 * the container's: its /proc/<pid>/ns/net is what the prestart hooks
 * (Docker's libnetwork-setkey) configure and what the pod's networking
 * scans.  The monitor itself stays in the caller's namespace, where the
 * pod network code expects to run.  It dies with the monitor.
 */
static int netns_holder_start(struct mon *m, struct herr *err)
{
	pid_t parent = getpid(), pid;
	int p[2], e = 0;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return herr_set(err, 0, errno, "pipe");
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return herr_set(err, 0, errno, "fork the netns holder");
	}
	if (pid == 0) {
		close(p[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if (unshare(CLONE_NEWNET) < 0)
			e = errno;
		if (write(p[1], &e, sizeof(e)) != sizeof(e) || e)
			_exit(1);
		close_range(0, ~0U, 0);
		for (;;)
			pause();
	}
	close(p[1]);
	do
		n = read(p[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	m->netns_holder = pid;
	if (n != sizeof(e) || e) {
		netns_holder_stop(m);
		return herr_set(err, 0, n == sizeof(e) ? e : 0,
				"new network namespace");
	}
	return 0;
}

static void hook_warn(const char *msg)
{
	log_warn("%s", msg);
}

/* runc's order: prestart, then createRuntime, once the namespaces exist. */
static int run_create_hooks(struct mon *m, struct herr *err)
{
	_cleanup_free_ char *state = NULL;
	pid_t pid = m->netns_holder ? m->netns_holder : getpid();

	state = rt_hook_state_json(m->id, "creating", pid, m->st.bundle);
	m->hooks_ran = true;
	if (rt_hooks_run(m->st.bundle, "prestart", state, m->host_mntns, NULL,
			 err) < 0 ||
	    rt_hooks_run(m->st.bundle, "createRuntime", state, m->host_mntns,
			 NULL, err) < 0)
		return -1;
	return 0;
}

/* A create that failed after prestart ran: runc runs poststop then. */
static void run_failed_poststop(struct mon *m)
{
	_cleanup_free_ char *state = NULL;
	struct herr err;

	if (!m->hooks_ran)
		return;
	state = rt_hook_state_json(m->id, "stopped", getpid(), m->st.bundle);
	rt_hooks_run(m->st.bundle, "poststop", state, m->host_mntns, hook_warn,
		     &err);
}

static int mon_setup(struct mon *m, const struct rt_cmd *cmd, struct herr *err)
{
	struct pod_container *c;
	bool terminal;
	int slave = -1;

	m->host_mntns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (private_mounts(err) < 0 || setup_signals(m, err) < 0)
		return -1;
	if (config_load(NULL, &m->cfg, err) < 0)
		return -1;
	m->cfg_loaded = true;
	m->pod = pod_new(m->loop, m->id, m->st.run_dir, &mon_pod_ops, m);
	c = m->c = pod_container_new(m->pod, m->id, m->st.bundle);
	if (spec_read_bundle(m->st.bundle, m->id, &c->spec, err) < 0 ||
	    rt_hooks_check(m->st.bundle, err) < 0)
		return -1;
	terminal = c->spec.spec->process && c->spec.spec->process->terminal;
	if (terminal && !cmd->console_socket)
		return herr_set(err, 0, 0,
				"process.terminal is true: --console-socket "
				"is required");
	if (!terminal && cmd->console_socket)
		return herr_set(err, 0, 0,
				"--console-socket given, but process.terminal "
				"is false");
	c->init = pod_process_new(c, "", terminal);
	pod_add_container(m->pod, c);
	if (terminal) {
		if (rt_console_open(cmd->console_socket, &slave, err) < 0)
			return -1;
		/* Its controlling terminal: SIGWINCH says when to resize. */
		ioctl(slave, TIOCSCTTY, 0);
		m->tty_fd = slave;
		c->init->fe = io_new(slave, slave, -1);
		/* The caller's stdio is not the container's, and a caller
		 * that reads our output until EOF (go-runc) must get it. */
		null_stdio();
	} else {
		c->init->fe = io_new(fcntl(0, F_DUPFD_CLOEXEC, 3),
				     fcntl(1, F_DUPFD_CLOEXEC, 3),
				     fcntl(2, F_DUPFD_CLOEXEC, 3));
	}
	if (mkdir_p(m->st.run_dir, 0700) < 0)
		return herr_set(err, 0, errno, "mkdir %s", m->st.run_dir);
	if (rootfs_setup(c, err) < 0)
		return -1;
	m->lfd = rt_ctl_listen(m->dir, err);
	if (m->lfd < 0)
		return -1;
	if (evloop_add(m->loop, m->lfd, EPOLLIN, on_accept, m) < 0)
		return herr_set(err, 0, 0, "watch the control socket");
	read_cgroups_path(m, m->st.bundle);
	/* Before QEMU starts: it inherits the cgroup. */
	if (rt_cgroup_enter(m->st.cgroup, getpid(), err) < 0)
		return -1;
	/* A network namespace without a path: ours to make, as runc does. */
	if (!c->spec.netns_path && !c->spec.host_netns) {
		if (netns_holder_start(m, err) < 0)
			return -1;
		if (asprintf(&c->spec.netns_path, "/proc/%d/ns/net",
			     (int)m->netns_holder) < 0)
			abort();
	}
	if (run_create_hooks(m, err) < 0)
		return -1;
	write_state(m);
	pod_container_create(c, &m->cfg, on_created, m);
	return 0;
}

static void mon_log(struct mon *m, const struct rt_cmd *cmd)
{
	_cleanup_free_ char *path = NULL;
	int fd;

	if (asprintf(&path, "%s/monitor.log", m->dir) < 0)
		abort();
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	log_init(fd >= 0 ? fd : open("/dev/null", O_WRONLY | O_CLOEXEC),
		 cmd->debug ? LOG_DEBUG : LOG_INFO);
}

static void mon_run(struct mon *m, const struct rt_cmd *cmd)
{
	struct herr err;
	int r;

	mon_log(m, cmd);
	m->loop = evloop_new();
	if (!m->loop) {
		report(m, "err out of memory");
		_exit(1);
	}
	if (mon_setup(m, cmd, &err) < 0) {
		log_error("create %s: %s", m->id, err.msg);
		report(m, "err %s", err.msg);
		if (m->c) {
			m->c->state = POD_CONTAINER_FAILED;
			pod_container_release_host(m->c);
			pod_remove_container(m->pod, m->c);
		}
		if (m->pod) {
			/* No VM ran: nothing else unmounts it. */
			rootfs_shared_dir_release(m->pod);
			pod_free(m->pod);
		}
		netns_holder_stop(m);
		run_failed_poststop(m);
		rt_remove_tree(m->st.run_dir);
		rt_cgroup_remove(m->st.cgroup, true);
		_exit(1);
	}
	while (!m->done) {
		r = evloop_run_once(m->loop, -1);
		if (r < 0 && r != -EINTR) {
			log_error("event loop: %s", strerror(-r));
			break;
		}
	}
	if (m->pod->vm) {
		herr_set(&err, 0, 0, "the monitor is exiting");
		pod_fail(m->pod, &err);
	}
	pod_free(m->pod);
	/* After the pod's taps in it are gone. */
	netns_holder_stop(m);
	if (m->create_failed)
		run_failed_poststop(m);
	rt_remove_tree(m->st.run_dir);
	rt_cgroup_remove(m->st.cgroup, true);
	if (m->cfg_loaded)
		config_free(&m->cfg);
	log_msg(LOG_INFO, "monitor exits", "container=%s status=%d", m->id,
		m->exit_status);
	_exit(m->exit_status & 0xff);
}

pid_t rt_monitor_spawn(const struct rt_cmd *cmd, const char *root,
		       int *ready_fd, struct herr *err)
{
	struct mon m = {
		.lfd = -1, .sigfd = -1, .tty_fd = -1, .host_mntns = -1
	};
	char *bundle = realpath(cmd->bundle, NULL);
	int pfd[2];
	struct timespec now;
	struct tm tm;
	pid_t pid;

	if (!bundle)
		return herr_set(err, 0, errno, "bundle %s", cmd->bundle);
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		free(bundle);
		return herr_set(err, 0, errno, "pipe");
	}
	m.root = root;
	m.id = cmd->id;
	m.dir = rt_dir(root, cmd->id);
	snprintf(m.st.id, sizeof(m.st.id), "%s", cmd->id);
	snprintf(m.st.bundle, sizeof(m.st.bundle), "%s", bundle);
	snprintf(m.st.rootfs, sizeof(m.st.rootfs), "%s/rootfs", bundle);
	free(bundle);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(m.st.created, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(m.st.created + strlen(m.st.created),
		 sizeof(m.st.created) - strlen(m.st.created), ".%09ldZ",
		 now.tv_nsec);
	{
		char *run = short_run_dir(m.dir);

		snprintf(m.st.run_dir, sizeof(m.st.run_dir), "%s", run);
		free(run);
	}
	m.st.status = RT_CREATING;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		free(m.dir);
		return herr_set(err, 0, errno, "fork the monitor");
	}
	if (pid == 0) {
		unsigned int keep = (unsigned int)pfd[1];

		close(pfd[0]);
		/* Only stdio and the report pipe: callers leak fds. */
		if (keep > 3)
			close_range(3, keep - 1, 0);
		close_range(keep + 1, ~0U, 0);
		setsid();
		m.ready_fd = pfd[1];
		m.st.pid = getpid();
		m.st.pid_start = rt_proc_start(m.st.pid);
		mon_run(&m, cmd);
	}
	close(pfd[1]);
	free(m.dir);
	*ready_fd = pfd[0];
	return pid;
}
