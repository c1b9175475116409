/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PID-1 duties of husk-agent in the guest: early mounts, the kernel
 * command line, the agent channel (vsock or virtio-serial), the debug
 * console, and shutdown.  agent/main.c calls these only when it is PID 1
 * without --listen; host mode never touches them.
 *
 * Order at boot: init_early() (mounts, cmdline; a failure powers off),
 * then the agent object, then init_channel_serve(), then the event loop;
 * init_late() (late mounts, hostname, loopback, page reporting) before the
 * first request that is not a health check; when the loop stops,
 * init_shutdown().
 */
#ifndef HUSK_INIT_H
#define HUSK_INIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "evloop.h"
#include "ttrpc/server.h"

#define INIT_CHANNEL_NAME "agent.channel.0"
#define INIT_VSOCK_PORT 1024
#define INIT_CHANNEL_TIMEOUT_S 10

/* What the kernel command line asked for (Kata's agent.*, husk's husk.*). */
struct init_config {
	int log_level; /* enum log_level, or -1: not given */
	bool quiet; /* the kernel's "quiet": a quiet console */
	bool debug_console;
	uint32_t debug_console_vport; /* 0: the console tty */
	bool vsock_only; /* agent.server_addr=vsock://... was given */
	uint32_t vsock_port;
	uint32_t container_pipe_size; /* 0: the kernel's default */
	uint32_t hotplug_timeout_s;
	char channel[64]; /* husk.channel: virtio-serial port name */
	uint32_t channel_timeout_s; /* husk.channel_timeout */
};

/* cmdline.c */
void init_config_defaults(struct init_config *cfg);
/*
 * The agent's log level: agent.log=, else warnings only under the
 * kernel's "quiet" (the console is a serial port, each line costs ms
 * under TCG, and the host reads info lines only when debugging, when it
 * passes agent.log=debug), else @dflt.
 */
int init_log_level(const struct init_config *cfg, int dflt);
/*
 * Apply the parameters of @cmdline (the text of /proc/cmdline) to @cfg.
 * Unknown agent.* and husk.* keys and bad values are skipped with a
 * warning each (a typo must not stop the boot); returns how many were
 * skipped.
 */
int init_cmdline_parse(const char *cmdline, struct init_config *cfg);

/* mounts.c: /proc, /sys, /dev and /run, on a root that can pivot. */
int init_mounts(struct herr *err);
/* mounts.c: /dev/pts (and /dev/ptmx to it), /dev/shm, cgroup2. */
int init_mounts_late(struct herr *err);

/* loopback.c: bring "lo" up (setting it up again is no error). */
int init_loopback_up(struct herr *err);

/*
 * reporting.c: report free blocks of 2^@order pages and up to the host
 * (the kernel's page_reporting_order, in sysfs at @param).  1 when set,
 * 0 when the kernel has no free page reporting, or -1 with @err.
 */
#define INIT_PAGE_REPORTING_PARAM \
	"/sys/module/page_reporting/parameters/page_reporting_order"
/* 32 KiB: what an idle guest frees is there; 4 KiB gains nothing more. */
#define INIT_PAGE_REPORTING_ORDER 3
int init_page_reporting(const char *param, unsigned int order,
			struct herr *err);

/* init.c: mounts, cmdline, environment.  Powers off on failure. */
void init_early(struct init_config *cfg);
/*
 * init.c: the mounts containers need, hostname, "lo" up, the page
 * reporting order: what the agent's health check does not need.  Runs
 * once (later calls return at once); a mount the agent cannot do without
 * powers off, the rest are warnings.
 */
void init_late(void);

/*
 * channel.c: find the agent channel and serve @srv on it: vsock port
 * @cfg->vsock_port when the guest has a vsock device, else the
 * virtio-serial port named @cfg->channel (waiting up to
 * @cfg->channel_timeout_s for it to appear).  Prints the boot marker
 * "husk-agent: serving on ... at uptime S.SSSs" on the console.
 */
int init_channel_serve(const struct init_config *cfg, struct evloop *loop,
		       struct ttrpc_server *srv, struct herr *err);

/*
 * The name of the port under @class_dir (/sys/class/virtio-ports) whose
 * "name" file says @name, e.g. "vport0p1", into @dev.  0, or -ENOENT.
 */
int init_find_serial_port(const char *class_dir, const char *name, char *dev,
			  size_t dev_len);

/*
 * Host-to-guest framing on a virtio-serial port.  The port outlives host
 * connections, and a reconnect may go unseen (closed and reopened before
 * the guest looked), so a new client is recognised by its first request:
 * a stream id not above the last one seen.  Fed every byte in order.
 */
struct init_framer {
	uint32_t body_left; /* of the frame being passed through */
	uint32_t last_stream;
};

/*
 * Scan @p[0..n); returns how many bytes belong to the current client.
 * Less than @n means either a new client's request starts there
 * (*@new_client set: reset the session and the framer, then scan from
 * that offset again) or an incomplete header sits at the end (keep it
 * and scan it again once more bytes have arrived).
 */
size_t init_framer_scan(struct init_framer *f, const uint8_t *p, size_t n,
			bool *new_client);
void init_framer_reset(struct init_framer *f);

/* Has the guest a vsock device (a CID of its own)? */
bool init_vsock_present(void);
/* A listening AF_VSOCK socket on @port (any CID), or -1. */
int init_vsock_listen(uint32_t port, struct herr *err);

/* console.c: a shell for debugging, when agent.debug_console asks. */
void init_debug_console(const struct init_config *cfg, struct evloop *loop);

/*
 * timeline.c: init_step() notes that the step @name (a string literal)
 * ended now; init_timeline_print() writes the steps not yet printed as
 * one debug line.
 */
void init_step(const char *name);
void init_timeline_print(void);

/* shutdown.c */
/* Print @reason on the console, stop everything, sync, unmount, power off. */
void init_shutdown(const char *reason) __attribute__((noreturn));
void init_fatal(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
/* A crash of PID 1 powers off with a message instead of a kernel panic. */
void init_crash_handlers(void);
/* Milliseconds since boot (CLOCK_BOOTTIME), for the markers. */
long long init_uptime_ms(void);

#endif
