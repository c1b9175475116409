/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttRPC framing: a 10-byte big-endian header (data length, stream id,
 * message type, flags) followed by at most 4 MiB of protobuf data.
 *
 * The decoder is a pure state machine over bytes (no I/O), so the same code
 * serves sockets, vsock, virtio-serial and the fuzzer.
 */
#ifndef HUSK_TTRPC_FRAME_H
#define HUSK_TTRPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define TTRPC_HDR_LEN 10
#define TTRPC_MAX_DATA (4u << 20)

enum ttrpc_msg_type {
	TTRPC_TYPE_REQUEST = 1,
	TTRPC_TYPE_RESPONSE = 2,
	TTRPC_TYPE_DATA = 3,
};

enum ttrpc_flags {
	TTRPC_FLAG_REMOTE_CLOSED = 0x1,
	TTRPC_FLAG_REMOTE_OPEN = 0x2,
	TTRPC_FLAG_NO_DATA = 0x4,
};

struct ttrpc_hdr {
	uint32_t len;
	uint32_t stream_id;
	uint8_t type;
	uint8_t flags;
};

void ttrpc_hdr_encode(const struct ttrpc_hdr *h, uint8_t out[TTRPC_HDR_LEN]);
void ttrpc_hdr_decode(const uint8_t in[TTRPC_HDR_LEN], struct ttrpc_hdr *h);

/* Incremental frame decoder. */
struct ttrpc_decoder {
	uint8_t hdr_buf[TTRPC_HDR_LEN];
	size_t hdr_have;
	struct ttrpc_hdr hdr;
	uint8_t *data; /* hdr.len bytes once the header is complete */
	size_t data_have;
	uint32_t max_len;
};

void ttrpc_decoder_init(struct ttrpc_decoder *d);
void ttrpc_decoder_reset(struct ttrpc_decoder *d);

/*
 * Consume bytes from @buf (up to @len) and set *@used to how many were taken.
 * Returns 1 when a whole frame is ready in d->hdr / d->data (valid until the
 * next feed or ttrpc_decoder_take()), 0 when more bytes are needed, -1 on a
 * frame that must not be accepted (oversized, unknown type), with @err set.
 */
int ttrpc_decoder_feed(struct ttrpc_decoder *d, const uint8_t *buf, size_t len,
		       size_t *used, struct herr *err);

/* Hand the ready frame's data to the caller (who frees it); reset. */
uint8_t *ttrpc_decoder_take(struct ttrpc_decoder *d);

/* Build a whole frame (header + data) in a new buffer. NULL if oversized. */
uint8_t *ttrpc_frame_build(uint32_t stream_id, uint8_t type, uint8_t flags,
			   const uint8_t *data, size_t len, size_t *frame_len);

#endif
