/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A framed ttRPC connection on an event loop: non-blocking reads fed to the
 * decoder, a write queue flushed as the fd allows (partial writes, EAGAIN),
 * and one callback per complete frame.  Works over any stream fd: unix and
 * vsock sockets, a virtio-serial character device, a pipe pair.
 */
#ifndef HUSK_TTRPC_CONN_H
#define HUSK_TTRPC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "evloop.h"
#include "frame.h"

struct ttrpc_conn;

struct ttrpc_conn_ops {
	/* A whole frame arrived; @data (hdr->len bytes) is owned by the callee. */
	void (*on_frame)(struct ttrpc_conn *c, const struct ttrpc_hdr *hdr,
			 uint8_t *data, void *user);
	/*
	 * The connection is gone: peer closed, I/O error or bad frame (@err
	 * says which).  Called once; the conn is freed right after it returns.
	 */
	void (*on_close)(struct ttrpc_conn *c, const struct herr *err,
			 void *user);
};

/*
 * Wrap @rfd/@wfd (the same fd for sockets) on @loop.  The fds are made
 * non-blocking and are closed when the conn closes.
 */
struct ttrpc_conn *ttrpc_conn_new(struct evloop *loop, int rfd, int wfd,
				  const struct ttrpc_conn_ops *ops, void *user);

/* Queue one frame; it is written as the fd allows. Returns 0 or -1. */
int ttrpc_conn_send(struct ttrpc_conn *c, uint32_t stream_id, uint8_t type,
		    uint8_t flags, const uint8_t *data, size_t len,
		    struct herr *err);

/*
 * Close now (pending output is dropped); on_close runs with @reason (may be
 * NULL).  Safe to call from inside on_frame.
 */
void ttrpc_conn_close(struct ttrpc_conn *c, const struct herr *reason);

/* Bytes queued but not yet written. */
size_t ttrpc_conn_pending(const struct ttrpc_conn *c);

bool ttrpc_conn_closed(const struct ttrpc_conn *c);

#endif
