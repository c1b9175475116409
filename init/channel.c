// SPDX-License-Identifier: Apache-2.0
/*
 * The agent channel.  With a vsock device the agent listens on vsock port
 * 1024 and every host connection is its own ttRPC connection; that path
 * is small and could not be run here (no vhost-vsock on the test hosts).
 * Without one it serves the virtio-serial port named agent.channel.0,
 * found by its sysfs name (no udev, so no /dev/virtio-ports links).
 *
 * A serial port is not a socket: it is one byte stream for the guest's
 * whole life, while host clients come and go.  The port stays open (data
 * that arrives while no fd is open is dropped by virtio_console), and a
 * small relay feeds what the host sends through a pipe into one ttRPC
 * connection per host client.  A client ends when the host closes its end
 * (the port reads EOF), or when a request shows that a new client has
 * started without the guest ever seeing the old one go (see
 * init_framer_scan()).
 *
 * Replies come back through a second pipe that the relay copies to the
 * port: only the relay may touch the port.  Linux's virtio_console takes
 * the host's next buffer off the virtqueue in poll() itself (port_has_data()),
 * and the interrupt that follows then finds no work and wakes nobody.  A
 * second epoll watch on the port (the connection's, when it wrote to a dup
 * of it) could so swallow a request that arrived while it was polled: the
 * relay's edge never came and the request sat unread until the host gave
 * up.  With several vCPUs this happened every few hundred round trips
 * under TCG (tests/boot/smp.sh).  Any poll of the port is now the relay's
 * own, and it reads after each.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "init.h"
#include "log.h"
#include "ttrpc/frame.h"
#include "util.h"

#define SERIAL_CLASS "/sys/class/virtio-ports"
#define POLL_MS 5

/* ---- the pure parts: port discovery, framing ---- */

int init_find_serial_port(const char *class_dir, const char *name, char *dev,
			  size_t dev_len)
{
	DIR *d = opendir(class_dir);
	struct dirent *de;
	int r = -ENOENT;

	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		char path[512], got[128];

		if (de->d_name[0] == '.' || strlen(de->d_name) >= dev_len)
			continue;
		snprintf(path, sizeof(path), "%s/%s/name", class_dir,
			 de->d_name);
		if (read_file_str(path, got, sizeof(got)) <= 0)
			continue; /* not named yet: the host names it later */
		got[strcspn(got, "\n")] = '\0';
		/* Two ports with one name: take the lowest, every boot. */
		if (!strcmp(got, name) &&
		    (r < 0 || strcmp(de->d_name, dev) < 0)) {
			strcpy(dev, de->d_name);
			r = 0;
		}
	}
	closedir(d);
	return r;
}

void init_framer_reset(struct init_framer *f)
{
	f->body_left = 0;
	f->last_stream = 0;
}

size_t init_framer_scan(struct init_framer *f, const uint8_t *p, size_t n,
			bool *new_client)
{
	size_t used = 0;

	*new_client = false;
	while (used < n) {
		struct ttrpc_hdr h;

		if (f->body_left) {
			size_t take = n - used;

			if (take > f->body_left)
				take = f->body_left;

			used += take;
			f->body_left -= (uint32_t)take;
			continue;
		}
		if (n - used < TTRPC_HDR_LEN)
			break; /* wait for the rest of the header */
		ttrpc_hdr_decode(p + used, &h);
		/* Clients number requests 1, 3, 5...: going back = new. */
		if (h.type == TTRPC_TYPE_REQUEST && f->last_stream &&
		    h.stream_id <= f->last_stream) {
			*new_client = true;
			break;
		}
		if (h.type == TTRPC_TYPE_REQUEST)
			f->last_stream = h.stream_id;
		f->body_left = h.len;
		used += TTRPC_HDR_LEN;
	}
	return used;
}

/* ---- virtio-serial ---- */

struct serial {
	struct evloop *loop;
	struct ttrpc_server *srv;
	char dev[64];
	int port; /* open for the agent's whole life */
	int pipe_w; /* the current client's connection reads the other end */
	int out_r; /* replies, from every connection's dup of out_w */
	int out_w;
	bool port_ready; /* an edge said the port may have input */
	bool out_blocked; /* the port took no more: wait for its edge */
	bool cut; /* a new client's first request starts at chk */
	struct ev_timer *retry;
	struct init_framer fr;
	/* Read from the port: [off, chk) is approved for this client. */
	size_t off, chk, len;
	uint8_t buf[16384];
	/* A reply read from out_r: [ooff, olen) still to go to the port. */
	size_t ooff, olen;
	uint8_t obuf[16384];
};

static void pump(struct serial *s);

/* Copy replies to the port until out_r is empty or the port is full. */
static void relay_out(struct serial *s)
{
	for (;;) {
		ssize_t n;

		if (s->ooff == s->olen) {
			n = read(s->out_r, s->obuf, sizeof(s->obuf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return; /* EAGAIN: we hold out_w, never EOF */
			s->ooff = 0;
			s->olen = (size_t)n;
		}
		n = write(s->port, s->obuf + s->ooff, s->olen - s->ooff);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* The port's edge (EPOLLOUT) resumes; stop reading. */
			if (!s->out_blocked)
				evloop_mod(s->loop, s->out_r, 0);
			s->out_blocked = true;
			return;
		}
		if (n < 0) {
			log_warn("agent channel %s: write: %s", s->dev,
				 strerror(errno));
			n = (ssize_t)(s->olen - s->ooff); /* drop it */
		}
		s->ooff += (size_t)n;
		if (s->out_blocked) {
			evloop_mod(s->loop, s->out_r, EPOLLIN);
			s->out_blocked = false;
		}
	}
}

/*
 * poll() on the port may take the host's next buffer without anyone being
 * woken (see the top of this file): whatever it says, read and write after.
 */
static bool host_connected(struct serial *s)
{
	struct pollfd p = { .fd = s->port, .events = POLLIN | POLLOUT };
	bool up = poll(&p, 1, 0) >= 0 && !(p.revents & (POLLHUP | POLLERR));

	s->port_ready = true;
	relay_out(s);
	return up;
}

static void session_end(struct serial *s)
{
	if (s->pipe_w < 0)
		return;
	/* Its connection reads EOF and closes itself. */
	evloop_del(s->loop, s->pipe_w);
	close(s->pipe_w);
	s->pipe_w = -1;
	init_framer_reset(&s->fr);
	log_debug("agent channel %s: client gone", s->dev);
}

static void on_pipe(struct evloop *loop, int fd, uint32_t events, void *data)
{
	struct serial *s = data;

	if (events & (EPOLLERR | EPOLLHUP)) {
		/* The connection closed (peer HUP, bad frame...). */
		session_end(s);
	} else {
		evloop_mod(loop, fd, 0);
	}
	pump(s);
}

static void retry_pump(struct evloop *loop, void *data)
{
	struct serial *s = data;

	s->retry = NULL;
	pump(s);
}

static int session_start(struct serial *s)
{
	struct herr err;
	int p[2], wfd;

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_warn("agent channel %s: pipe: %s", s->dev, strerror(errno));
		return -1;
	}
	/* The connection closes its fds; out_w must stay open. */
	wfd = fcntl(s->out_w, F_DUPFD_CLOEXEC, 3);
	if (wfd < 0) {
		log_warn("agent channel %s: dup: %s", s->dev, strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (ttrpc_server_add_conn(s->srv, p[0], wfd, &err) < 0) {
		log_warn("agent channel %s: %s", s->dev, err.msg);
		close(p[1]);
		return -1;
	}
	/* EPOLLERR on the write end says the connection is gone. */
	if (evloop_add(s->loop, p[1], 0, on_pipe, s) < 0) {
		close(p[1]); /* the connection sees EOF */
		return -1;
	}
	s->pipe_w = p[1];
	log_debug("agent channel %s: client connected", s->dev);
	return 0;
}

static void pump(struct serial *s)
{
	for (;;) {
		ssize_t n;

		if (s->pipe_w < 0) {
			/* Without a host the next edge on the port wakes us. */
			if (!host_connected(s))
				return;
			if (session_start(s) < 0) {
				if (!s->retry)
					s->retry = evloop_timer(s->loop, 100,
								retry_pump, s);
				return;
			}
		}
		if (!s->cut && s->chk < s->len) {
			bool nc;

			s->chk += init_framer_scan(&s->fr, s->buf + s->chk,
						   s->len - s->chk, &nc);
			s->cut = nc;
		}
		if (s->off < s->chk) {
			n = write(s->pipe_w, s->buf + s->off, s->chk - s->off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN) {
				evloop_mod(s->loop, s->pipe_w, EPOLLOUT);
				return;
			}
			if (n < 0)
				session_end(s); /* EPIPE: connection gone */
			else
				s->off += (size_t)n;
			continue;
		}
		if (s->cut) {
			/* The old client's bytes are all out: switch. */
			log_debug("agent channel %s: new client", s->dev);
			session_end(s);
			s->cut = false;
			continue;
		}
		if (s->off) {
			memmove(s->buf, s->buf + s->off, s->len - s->off);
			s->len -= s->off;
			s->chk -= s->off;
			s->off = 0;
		}
		if (!s->port_ready || s->len == sizeof(s->buf))
			return;
		n = read(s->port, s->buf + s->len, sizeof(s->buf) - s->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->port_ready = false;
			if (n < 0 && errno == EAGAIN)
				return;
			/* EOF: the host closed its end; it may come back. */
			if (n < 0)
				log_warn("agent channel %s: read: %s", s->dev,
					 strerror(errno));
			session_end(s);
			s->off = s->chk = s->len = 0;
			return;
		}
		s->len += (size_t)n;
	}
}

static void on_port(struct evloop *loop, int fd, uint32_t events, void *data)
{
	struct serial *s = data;

	s->port_ready = true;
	relay_out(s);
	pump(s);
}

static void on_out(struct evloop *loop, int fd, uint32_t events, void *data)
{
	relay_out(data);
}

static int serve_serial(struct evloop *loop, struct ttrpc_server *srv,
			const char *dev, struct herr *err)
{
	struct serial *s = xcalloc(1, sizeof(*s));
	char path[80];
	int p[2];

	s->loop = loop;
	s->srv = srv;
	s->pipe_w = -1;
	s->port_ready = true;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		herr_errno(err, errno, "agent channel: pipe");
		free(s);
		return -1;
	}
	s->out_r = p[0];
	s->out_w = p[1];
	/* Fewer partial writes of large replies (best effort). */
	fcntl(s->out_w, F_SETPIPE_SZ, 1 << 20);
	snprintf(s->dev, sizeof(s->dev), "%s", dev);
	snprintf(path, sizeof(path), "/dev/%s", dev);
	s->port = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (s->port < 0) {
		herr_errno(err, errno, "agent channel: open %s", path);
		goto fail;
	}
	/*
	 * Edge-triggered: while the host is away the port polls readable
	 * and HUP without end.  EPOLLOUT is what reports the host's return
	 * when its first bytes were read before the guest saw it connect.
	 */
	if (evloop_add(loop, s->port, EPOLLIN | EPOLLOUT | EPOLLET, on_port,
		       s) < 0) {
		herr_set(err, GRPC_INTERNAL, 0, "agent channel: watch %s",
			 path);
		close(s->port);
		goto fail;
	}
	if (evloop_add(loop, s->out_r, EPOLLIN, on_out, s) < 0) {
		herr_set(err, GRPC_INTERNAL, 0, "agent channel: watch replies");
		evloop_del(loop, s->port);
		close(s->port);
		goto fail;
	}
	pump(s);
	return 0; /* s lives as long as the agent */
fail:
	close(s->out_r);
	close(s->out_w);
	free(s);
	return -1;
}

/* ---- vsock ---- */

/* A vsock transport with a device behind it gives the guest a CID. */
bool init_vsock_present(void)
{
	unsigned int cid = VMADDR_CID_ANY;
	int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0)
		cid = VMADDR_CID_ANY;
	close(fd);
	return cid != VMADDR_CID_ANY && cid > VMADDR_CID_HOST;
}

int init_vsock_listen(uint32_t port, struct herr *err)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK,
				  .svm_cid = VMADDR_CID_ANY,
				  .svm_port = port };
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return herr_errno(err, errno, "vsock socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0) {
		int e = errno;

		close(fd);
		return herr_errno(err, e, "vsock port %u", port);
	}
	return fd;
}

/* ---- finding the channel ---- */

/*
 * The boot marker the tests and tests/bench/boot.sh look for, with what
 * the boot left allocated (MemTotal - MemFree, which sysinfo(2) reads
 * from the same counters without formatting all of /proc/meminfo: under
 * TCG every code path run for the first time costs translation, and this
 * one is on the way to ready).
 */
static void marker(const char *what)
{
	long long up = init_uptime_ms();
	unsigned long long total = 0, used = 0;
	struct sysinfo si;

	if (!sysinfo(&si)) {
		total = (unsigned long long)si.totalram * si.mem_unit / 1024;
		used = total -
		       (unsigned long long)si.freeram * si.mem_unit / 1024;
	}
	dprintf(2,
		"husk-agent: serving on %s at uptime %lld.%03llds (mem used "
		"%llu KiB of %llu KiB)\n",
		what, up / 1000, up % 1000, used, total);
}

int init_channel_serve(const struct init_config *cfg, struct evloop *loop,
		       struct ttrpc_server *srv, struct herr *err)
{
	long long end = now_ms() + (long long)cfg->channel_timeout_s * 1000;
	bool serial = IS_ENABLED_CONFIG_AGENT_VIRTIO_SERIAL && !cfg->vsock_only;
	char dev[64], what[96];

	if (!IS_ENABLED_CONFIG_AGENT_VSOCK && cfg->vsock_only)
		return herr_set(
			err, GRPC_UNIMPLEMENTED, 0,
			"agent.server_addr=vsock://...: built without vsock");
	/* The serial port may be named a little after init starts. */
	for (;;) {
		if (IS_ENABLED_CONFIG_AGENT_VSOCK && init_vsock_present()) {
			int fd = init_vsock_listen(cfg->vsock_port, err);

			if (fd < 0 || ttrpc_server_listen_fd(srv, fd, err) < 0)
				return herr_prefix(err, "agent channel");
			snprintf(what, sizeof(what), "vsock port %u",
				 cfg->vsock_port);
			break;
		}
		if (serial && !init_find_serial_port(SERIAL_CLASS, cfg->channel,
						     dev, sizeof(dev))) {
			init_step("port-found");
			if (serve_serial(loop, srv, dev, err) < 0)
				return -1;
			snprintf(what, sizeof(what), "%s", dev);
			break;
		}
		if (now_ms() >= end)
			return herr_set(
				err, GRPC_UNAVAILABLE, 0,
				"no agent channel after %us: no vsock "
				"device%s%s",
				cfg->channel_timeout_s,
				serial ? " and no virtio-serial port named "
				       : "",
				serial ? cfg->channel : "");
		usleep(POLL_MS * 1000);
	}
	init_step("serving");
	marker(what);
	init_step("marker");
	return 0;
}
