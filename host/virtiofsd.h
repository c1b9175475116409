/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtiofsd, one per pod (shared_fs = "virtio-fs"): its argv for the
 * daemon found, its start (log <run_dir>/virtiofsd.log, socket
 * <run_dir>/vhost-fs.sock), the watch on it and its stop.
 *
 * Debian 12 ships QEMU 7.2's C daemon: FUSE-style "-o" options, unknown
 * ones fatal.  With -o sandbox=namespace the process we spawn is a
 * monitor; after QEMU connects it forks the daemon proper into new
 * mount, pid and net namespaces (seccomp on, no way to turn it off).
 * That child survives a SIGKILLed monitor while QEMU stays connected, so
 * the child is found and held by a pidfd once QEMU is up, and killed
 * first.
 */
#ifndef HUSK_HOST_VIRTIOFSD_H
#define HUSK_HOST_VIRTIOFSD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "err.h"

#define VIRTIOFSD_LOG "virtiofsd.log"
/* How long QEMU's connection may wait for the daemon's accept(). */
#define VIRTIOFSD_START_TIMEOUT_MS 5000

enum virtiofsd_flavour {
	VIRTIOFSD_C, /* QEMU <= 7.2's: virtiofsd version 7.2.x, "-o" options */
	VIRTIOFSD_RUST, /* gitlab virtio-fs/virtiofsd: virtiofsd 1.x, --long */
};

struct virtiofsd;

/*
 * Which daemon @path is ("DAEMON --version"), with its version line in
 * @version (may be NULL).  Cached per path for the process.
 */
int virtiofsd_flavour(const char *path, enum virtiofsd_flavour *fl,
		      char *version, size_t cap, struct herr *err);

/* NULL-terminated argv for @fl; free with strv_free(). */
char **virtiofsd_build_argv(const struct husk_config *cfg,
			    enum virtiofsd_flavour fl, int listen_fd,
			    const char *source);

/*
 * Start the daemon on @source with its socket <run_dir>/vhost-fs.sock
 * already listening (made here, handed over as --fd), without waiting:
 * QEMU may dial it at once, and its connection waits in the backlog until
 * the daemon accepts.  A missing binary or a failed spawn is an error
 * naming virtiofsd, and nothing is left: no process, socket or log.  A
 * daemon that exits is seen on its pidfd (virtiofsd_error() quotes its
 * log); one that never accepts, by virtiofsd_check_accepted().
 */
int virtiofsd_start(const struct husk_config *cfg, const char *run_dir,
		    const char *source, struct virtiofsd **out,
		    struct herr *err);

/*
 * 0, or an error naming the daemon when QEMU's connection still waits for
 * its accept() (called VIRTIOFSD_START_TIMEOUT_MS after the start, before
 * virtiofsd_connected()).
 */
int virtiofsd_check_accepted(struct virtiofsd *d, struct herr *err);

/*
 * QEMU is up (its connection was answered): close our copy of the
 * listening socket, find the sandboxed child and hold it.
 */
void virtiofsd_connected(struct virtiofsd *d);

/* Readable once the monitor (the process we spawned) exited. */
int virtiofsd_pidfd(const struct virtiofsd *d);
pid_t virtiofsd_pid(const struct virtiofsd *d);
/* The sandboxed child virtiofsd_connected() found, or 0. */
pid_t virtiofsd_child_pid(const struct virtiofsd *d);

/* The owner reaped @pid with @status: true when it was this daemon's. */
bool virtiofsd_reaped(struct virtiofsd *d, pid_t pid, int status);

/*
 * It exited on its own, not with the clean 0 it gives when QEMU hangs up:
 * the daemon, not QEMU, is what failed.
 */
bool virtiofsd_failed(struct virtiofsd *d);

/* Why it is gone: "virtiofsd (pid N) exited with ...: <its log>". */
int virtiofsd_error(struct virtiofsd *d, struct herr *err);

/*
 * SIGKILL the child and the monitor without waiting: a VM's stop kills
 * QEMU and its daemon together (nothing of the guest's is pending in the
 * daemon once QEMU is told to go).  NULL is ignored.
 */
void virtiofsd_kill(struct virtiofsd *d);

/*
 * Stop it: virtiofsd_kill(), wait for both, reap the monitor, remove the
 * socket and the log, free.  NULL is ignored.
 */
void virtiofsd_stop(struct virtiofsd *d);

#endif
