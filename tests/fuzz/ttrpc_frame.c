// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the ttRPC frame decoder: arbitrary bytes, cut into arbitrary chunks.
 *
 * The first input byte seeds the chunking; the rest is the byte stream.  The
 * stream is decoded twice, once in a single feed and once in chunks, and the
 * two must agree exactly: the same frames ending at the same offsets, the
 * same error at the same place.  Every frame must also be the input bytes
 * it came from, and rebuild to them with ttrpc_frame_build().
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ttrpc/frame.h"

#define MAX_FRAMES 4096

struct outcome {
	size_t ends[MAX_FRAMES]; /* input offset just past each frame */
	size_t n;
	int failed; /* the decoder refused a frame */
	size_t fail_at; /* input offset when it did */
	int fail_code;
};

static struct outcome whole, chunked;

/* A small xorshift so the chunking is a function of the input alone. */
static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static size_t chunk_len(uint32_t *s)
{
	uint32_t r = next_rand(s);

	switch (r & 3) {
	case 0:
		return 1;
	case 1:
		return 1 + (r >> 2) % 16;
	case 2:
		return 1 + (r >> 2) % 300;
	default:
		return 1 + (r >> 2) % 70000;
	}
}

/* Check a ready frame against the input it came from. */
static void check_frame(const struct ttrpc_decoder *d, const uint8_t *in,
			size_t end)
{
	const struct ttrpc_hdr *h = &d->hdr;
	size_t flen = 0;
	uint8_t *f;

	if (h->len > TTRPC_MAX_DATA || h->type < TTRPC_TYPE_REQUEST ||
	    h->type > TTRPC_TYPE_DATA)
		abort();
	if (end < TTRPC_HDR_LEN + (size_t)h->len)
		abort();
	if (h->len && memcmp(d->data, in + end - h->len, h->len))
		abort();
	f = ttrpc_frame_build(h->stream_id, h->type, h->flags, d->data, h->len,
			      &flen);
	if (!f || flen != TTRPC_HDR_LEN + h->len ||
	    memcmp(f, in + end - flen, flen))
		abort();
	free(f);
}

/*
 * Decode @in in pieces from @chunk (NULL: one piece).  With @take, ready
 * frames are taken and freed; without, the next feed must release them.
 */
static void decode(const uint8_t *in, size_t len, uint32_t *chunk, bool take,
		   struct outcome *o)
{
	struct ttrpc_decoder d;
	size_t off = 0;

	memset(o, 0, sizeof(*o));
	ttrpc_decoder_init(&d);
	while (off < len) {
		size_t end = chunk ? off + chunk_len(chunk) : len;

		if (end > len)
			end = len;
		while (off < end) {
			struct herr err;
			size_t used = 0;
			int r = ttrpc_decoder_feed(&d, in + off, end - off,
						   &used, &err);

			if (used > end - off)
				abort();
			off += used;
			if (r < 0) {
				if (err.code == 0 || !err.msg[0])
					abort();
				o->failed = 1;
				o->fail_at = off;
				o->fail_code = err.code;
				goto out;
			}
			if (r == 0 && off < end)
				abort(); /* wanted more but left bytes */
			if (r == 1) {
				check_frame(&d, in, off);
				if (o->n < MAX_FRAMES)
					o->ends[o->n] = off;
				o->n++;
				if (take)
					free(ttrpc_decoder_take(&d));
			}
		}
	}
out:
	ttrpc_decoder_reset(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed;
	size_t n;

	if (size < 1)
		return 0;
	seed = 0x9e3779b9u ^ data[0];
	data++;
	size--;

	decode(data, size, NULL, true, &whole);
	decode(data, size, &seed, false, &chunked);

	if (whole.n != chunked.n || whole.failed != chunked.failed)
		abort();
	if (whole.failed && (whole.fail_at != chunked.fail_at ||
			     whole.fail_code != chunked.fail_code))
		abort();
	n = whole.n < MAX_FRAMES ? whole.n : MAX_FRAMES;
	if (memcmp(whole.ends, chunked.ends, n * sizeof(whole.ends[0])))
		abort();
	return 0;
}
