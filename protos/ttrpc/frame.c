// SPDX-License-Identifier: Apache-2.0
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "util.h"

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

void ttrpc_hdr_encode(const struct ttrpc_hdr *h, uint8_t out[TTRPC_HDR_LEN])
{
	put_be32(out, h->len);
	put_be32(out + 4, h->stream_id);
	out[8] = h->type;
	out[9] = h->flags;
}

void ttrpc_hdr_decode(const uint8_t in[TTRPC_HDR_LEN], struct ttrpc_hdr *h)
{
	h->len = get_be32(in);
	h->stream_id = get_be32(in + 4);
	h->type = in[8];
	h->flags = in[9];
}

void ttrpc_decoder_init(struct ttrpc_decoder *d)
{
	memset(d, 0, sizeof(*d));
	d->max_len = TTRPC_MAX_DATA;
}

void ttrpc_decoder_reset(struct ttrpc_decoder *d)
{
	free(d->data);
	d->data = NULL;
	d->hdr_have = 0;
	d->data_have = 0;
}

static bool frame_ready(const struct ttrpc_decoder *d)
{
	return d->hdr_have == TTRPC_HDR_LEN && d->data_have == d->hdr.len;
}

int ttrpc_decoder_feed(struct ttrpc_decoder *d, const uint8_t *buf, size_t len,
		       size_t *used, struct herr *err)
{
	size_t off = 0;

	/* A frame handed out by the last call is finished now. */
	if (frame_ready(d))
		ttrpc_decoder_reset(d);

	if (d->hdr_have < TTRPC_HDR_LEN) {
		size_t n = TTRPC_HDR_LEN - d->hdr_have;

		if (n > len)
			n = len;
		memcpy(d->hdr_buf + d->hdr_have, buf, n);
		d->hdr_have += n;
		off += n;
		if (d->hdr_have < TTRPC_HDR_LEN) {
			*used = off;
			return 0;
		}
		ttrpc_hdr_decode(d->hdr_buf, &d->hdr);
		if (d->hdr.len > d->max_len) {
			*used = off;
			d->hdr_have = 0; /* never continue a rejected frame */
			return herr_set(err, GRPC_RESOURCE_EXHAUSTED, 0,
					"ttrpc: frame of %u bytes on stream %u exceeds the maximum of %u",
					d->hdr.len, d->hdr.stream_id,
					d->max_len);
		}
		if (d->hdr.type < TTRPC_TYPE_REQUEST ||
		    d->hdr.type > TTRPC_TYPE_DATA) {
			*used = off;
			d->hdr_have = 0;
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"ttrpc: unknown message type %u on stream %u",
					d->hdr.type, d->hdr.stream_id);
		}
		d->data = xmalloc(d->hdr.len);
		d->data_have = 0;
	}

	if (d->data_have < d->hdr.len) {
		size_t n = d->hdr.len - d->data_have;

		if (n > len - off)
			n = len - off;
		memcpy(d->data + d->data_have, buf + off, n);
		d->data_have += n;
		off += n;
	}
	*used = off;
	return frame_ready(d) ? 1 : 0;
}

uint8_t *ttrpc_decoder_take(struct ttrpc_decoder *d)
{
	uint8_t *data = d->data;

	d->data = NULL;
	d->hdr_have = 0;
	d->data_have = 0;
	return data;
}

uint8_t *ttrpc_frame_build(uint32_t stream_id, uint8_t type, uint8_t flags,
			   const uint8_t *data, size_t len, size_t *frame_len)
{
	struct ttrpc_hdr h = {
		.len = (uint32_t)len,
		.stream_id = stream_id,
		.type = type,
		.flags = flags,
	};
	uint8_t *f;

	if (len > TTRPC_MAX_DATA)
		return NULL;
	f = xmalloc(TTRPC_HDR_LEN + len);
	ttrpc_hdr_encode(&h, f);
	if (len)
		memcpy(f + TTRPC_HDR_LEN, data, len);
	*frame_len = TTRPC_HDR_LEN + len;
	return f;
}
