/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A process's stdio: containerd's FIFOs (or file:// paths) pumped through
 * the agent.  Output: a ReadStdout/ReadStderr loop, each chunk written to
 * the FIFO before the next read is asked for, so a slow reader slows the
 * container instead of growing the shim.  Input: the stdin FIFO forwarded
 * with WriteStdin, then CloseStdin once containerd closes it (CloseIO) and
 * everything already written has been forwarded.  With a terminal there
 * is one output stream (the pty), on stdout.
 */
#ifndef HUSK_SHIM_STDIO_H
#define HUSK_SHIM_STDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct shim_process;
struct ev_timer;

struct shim_out_stream {
	bool is_stderr;
	int fd; /* FIFO or file, -1: read and discard */
	bool eof; /* agent reported EOF, or the stream failed */
	bool reading; /* a read is in flight */
	uint8_t *buf; /* a chunk not yet written to fd */
	size_t len, off;
	bool want_out; /* waiting for the FIFO to take more */
};

struct shim_stdio {
	bool terminal;
	bool started;
	int in_fd; /* stdin FIFO, -1 if not connected */
	bool in_watch;
	bool in_busy; /* WriteStdin in flight */
	bool close_wanted; /* CloseIO, or the FIFO's writer left */
	bool in_closed; /* CloseStdin sent (or stdin is gone) */
	uint8_t *in_buf;
	size_t in_len, in_off;
	struct shim_out_stream out, err;
	bool output_done;
	struct ev_timer *drain_timer;
	long long drain_deadline;
	void (*drained)(struct shim_process *sp);
};

/* Open the process's FIFOs (paths in the shim_process). Nothing is read yet. */
int shim_stdio_open(struct shim_process *sp, struct herr *err);

/* The process runs in the guest: start pumping. */
void shim_stdio_start(struct shim_process *sp);

/* containerd's CloseIO{stdin}: forward what is buffered, then close. */
void shim_stdio_close_stdin(struct shim_process *sp);

/* Give up on output (the VM is gone): report output done now. */
void shim_stdio_abort(struct shim_process *sp);

/*
 * Wait (bounded) until containerd has read everything written to the
 * output FIFOs, then call @done.  The exit is reported only after this.
 */
void shim_stdio_wait_drained(struct shim_process *sp,
			     void (*done)(struct shim_process *sp));

/* Close every fd and stop every watch (no callbacks afterwards). */
void shim_stdio_close(struct shim_process *sp);

#endif
