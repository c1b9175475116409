// SPDX-License-Identifier: Apache-2.0
/*
 * ttRPC framing: the 10-byte header, the incremental decoder and
 * ttrpc_frame_build(), checked against the exact bytes of the worked example
 * in reference/protocols.md §1.4 and against every way a stream can be cut.
 */
#include <stdlib.h>
#include <string.h>

#include "ttrpc_test_util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

/* Health.Check with a 30 s deadline: header + 26-byte Request. */
/* clang-format off */
static const uint8_t check_frame[] = {
	0x00, 0x00, 0x00, 0x1a, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00,
	0x0a, 0x0b, 'g', 'r', 'p', 'c', '.', 'H', 'e', 'a', 'l', 't', 'h',
	0x12, 0x05, 'C', 'h', 'e', 'c', 'k',
	0x20, 0x80, 0xd8, 0x8e, 0xe1, 0x6f,
};
/* clang-format on */

/*
 * Feed @len bytes in pieces of @chunk (0: all at once), collecting up to
 * @max frames.  Returns the number of frames, or -1 on a decoder error.
 */
struct got_frame {
	struct ttrpc_hdr hdr;
	uint8_t *data;
};

static int feed_all(struct ttrpc_decoder *d, const uint8_t *buf, size_t len,
		    size_t chunk, struct got_frame *out, int max,
		    struct herr *err)
{
	size_t off = 0;
	int n = 0;

	while (off < len) {
		size_t want = chunk && chunk < len - off ? chunk : len - off;
		size_t end = off + want;

		while (off < end) {
			size_t used = 0;
			int r = ttrpc_decoder_feed(d, buf + off, end - off,
						   &used, err);

			if (r < 0)
				return -1;
			/* The decoder must always make progress. */
			if (used == 0 && r == 0)
				return -2;
			off += used;
			if (r == 1) {
				if (n == max)
					return -3;
				out[n].hdr = d->hdr;
				out[n].data = ttrpc_decoder_take(d);
				n++;
			}
		}
	}
	return n;
}

static void free_frames(struct got_frame *f, int n)
{
	for (int i = 0; i < n; i++)
		free(f[i].data);
}

TEST(hdr_encode_worked_example)
{
	const struct ttrpc_hdr h = {
		.len = 26,
		.stream_id = 1,
		.type = TTRPC_TYPE_REQUEST,
		.flags = 0,
	};
	uint8_t out[TTRPC_HDR_LEN];

	memset(out, 0xee, sizeof(out));
	ttrpc_hdr_encode(&h, out);
	ASSERT_EQ(0, memcmp(out, check_frame, TTRPC_HDR_LEN));
}

TEST(hdr_big_endian_every_field)
{
	const struct ttrpc_hdr h = {
		.len = 0x00a0b0c0,
		.stream_id = 0xf1020304,
		.type = TTRPC_TYPE_DATA,
		.flags = TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA,
	};
	static const uint8_t want[] = { 0x00, 0xa0, 0xb0, 0xc0, 0xf1,
					0x02, 0x03, 0x04, 0x03, 0x05 };
	struct ttrpc_hdr back;
	uint8_t out[TTRPC_HDR_LEN];

	ttrpc_hdr_encode(&h, out);
	ASSERT_EQ(0, memcmp(out, want, sizeof(want)));
	memset(&back, 0, sizeof(back));
	ttrpc_hdr_decode(out, &back);
	EXPECT_EQ(h.len, back.len);
	EXPECT_EQ(h.stream_id, back.stream_id);
	EXPECT_EQ(h.type, back.type);
	EXPECT_EQ(h.flags, back.flags);
}

TEST(hdr_decode_worked_example)
{
	struct ttrpc_hdr h;

	ttrpc_hdr_decode(check_frame, &h);
	EXPECT_EQ(26, h.len);
	EXPECT_EQ(1, h.stream_id);
	EXPECT_EQ(TTRPC_TYPE_REQUEST, h.type);
	EXPECT_EQ(0, h.flags);
}

/* The envelope and frame a Go or Rust peer would produce for Check. */
TEST(build_worked_example)
{
	Ttrpc__Request req = TTRPC__REQUEST__INIT;
	size_t len, flen = 0;
	uint8_t *body, *frame;

	req.service = "grpc.Health";
	req.method = "Check";
	req.timeout_nano = 30000000000LL;
	body = pack_msg(&req.base, &len);
	ASSERT_EQ(26, len);
	ASSERT_EQ(0, memcmp(body, check_frame + TTRPC_HDR_LEN, len));

	frame = ttrpc_frame_build(1, TTRPC_TYPE_REQUEST, 0, body, len, &flen);
	ASSERT_NE(NULL, frame);
	ASSERT_EQ(sizeof(check_frame), flen);
	EXPECT_EQ(0, memcmp(frame, check_frame, flen));
	free(frame);
	free(body);
	ASSERT_EQ(0, leak_check());
}

TEST(decode_whole_frame)
{
	struct ttrpc_decoder d;
	struct herr err;
	size_t used = 0;
	Ttrpc__Request *req;
	uint8_t *data;

	ttrpc_decoder_init(&d);
	ASSERT_EQ(1, ttrpc_decoder_feed(&d, check_frame, sizeof(check_frame),
					&used, &err));
	ASSERT_EQ(sizeof(check_frame), used);
	EXPECT_EQ(26, d.hdr.len);
	EXPECT_EQ(1, d.hdr.stream_id);
	EXPECT_EQ(TTRPC_TYPE_REQUEST, d.hdr.type);
	EXPECT_EQ(0, d.hdr.flags);
	ASSERT_EQ(0, memcmp(d.data, check_frame + TTRPC_HDR_LEN, 26));

	data = ttrpc_decoder_take(&d);
	ASSERT_NE(NULL, data);
	req = ttrpc__request__unpack(NULL, 26, data);
	ASSERT_NE(NULL, req);
	EXPECT_STREQ("grpc.Health", req->service);
	EXPECT_STREQ("Check", req->method);
	EXPECT_EQ(30000000000LL, req->timeout_nano);
	EXPECT_EQ(0, req->payload.len);
	ttrpc__request__free_unpacked(req, NULL);
	free(data);
	ttrpc_decoder_reset(&d);
	ASSERT_EQ(0, leak_check());
}

/* Cut the frame at every position: reported once, only when complete. */
TEST(split_at_every_position)
{
	for (size_t cut = 0; cut <= sizeof(check_frame); cut++) {
		struct ttrpc_decoder d;
		struct herr err;
		size_t used = 0;
		int r;

		ttrpc_decoder_init(&d);
		r = ttrpc_decoder_feed(&d, check_frame, cut, &used, &err);
		if (cut < sizeof(check_frame)) {
			ASSERT_EQ(0, r) TH_LOG("cut %zu", cut);
			ASSERT_EQ(cut, used) TH_LOG("cut %zu", cut);
			r = ttrpc_decoder_feed(&d, check_frame + cut,
					       sizeof(check_frame) - cut, &used,
					       &err);
			ASSERT_EQ(sizeof(check_frame) - cut, used);
		} else {
			ASSERT_EQ(cut, used);
		}
		ASSERT_EQ(1, r) TH_LOG("cut %zu", cut);
		ASSERT_EQ(26, d.hdr.len);
		ASSERT_EQ(1, d.hdr.stream_id);
		ASSERT_EQ(0, memcmp(d.data, check_frame + TTRPC_HDR_LEN, 26))
			TH_LOG("cut %zu", cut);
		free(ttrpc_decoder_take(&d));
		ttrpc_decoder_reset(&d);
	}
	ASSERT_EQ(0, leak_check());
}

TEST(one_byte_at_a_time)
{
	struct ttrpc_decoder d;
	struct herr err;

	ttrpc_decoder_init(&d);
	for (size_t i = 0; i < sizeof(check_frame); i++) {
		size_t used = 0;
		int r = ttrpc_decoder_feed(&d, &check_frame[i], 1, &used, &err);

		ASSERT_EQ(1, used) TH_LOG("byte %zu", i);
		ASSERT_EQ(i == sizeof(check_frame) - 1 ? 1 : 0, r)
			TH_LOG("byte %zu", i);
	}
	ASSERT_EQ(0, memcmp(d.data, check_frame + TTRPC_HDR_LEN, 26));
	free(ttrpc_decoder_take(&d));
	ttrpc_decoder_reset(&d);
	ASSERT_EQ(0, leak_check());
}

/* Three frames back to back (one empty), in every chunk size. */
TEST(several_frames_in_one_buffer)
{
	static const uint8_t payload2[] = {
		0x0a, 0x00, 0x12, 0x02, 0x08, 0x01
	};
	uint8_t stream[128];
	size_t len = 0, flen;
	uint8_t *f;

	memcpy(stream, check_frame, sizeof(check_frame));
	len += sizeof(check_frame);
	f = ttrpc_frame_build(3, TTRPC_TYPE_RESPONSE, 0, payload2,
			      sizeof(payload2), &flen);
	ASSERT_NE(NULL, f);
	memcpy(stream + len, f, flen);
	len += flen;
	free(f);
	f = ttrpc_frame_build(5, TTRPC_TYPE_DATA, TTRPC_FLAG_NO_DATA, NULL, 0,
			      &flen);
	ASSERT_NE(NULL, f);
	ASSERT_EQ(TTRPC_HDR_LEN, flen);
	memcpy(stream + len, f, flen);
	len += flen;
	free(f);

	for (size_t chunk = 0; chunk <= len; chunk++) {
		struct got_frame got[4];
		struct ttrpc_decoder d;
		struct herr err;
		int n;

		ttrpc_decoder_init(&d);
		n = feed_all(&d, stream, len, chunk, got, 4, &err);
		ASSERT_EQ(3, n) TH_LOG("chunk %zu", chunk);
		EXPECT_EQ(1, got[0].hdr.stream_id);
		EXPECT_EQ(26, got[0].hdr.len);
		EXPECT_EQ(0, memcmp(got[0].data, check_frame + 10, 26));
		EXPECT_EQ(3, got[1].hdr.stream_id);
		EXPECT_EQ(TTRPC_TYPE_RESPONSE, got[1].hdr.type);
		EXPECT_EQ(sizeof(payload2), got[1].hdr.len);
		EXPECT_EQ(0, memcmp(got[1].data, payload2, sizeof(payload2)));
		EXPECT_EQ(5, got[2].hdr.stream_id);
		EXPECT_EQ(TTRPC_TYPE_DATA, got[2].hdr.type);
		EXPECT_EQ(TTRPC_FLAG_NO_DATA, got[2].hdr.flags);
		EXPECT_EQ(0, got[2].hdr.len);
		free_frames(got, n);
		ttrpc_decoder_reset(&d);
	}
	ASSERT_EQ(0, leak_check());
}

/* A frame nobody took is released by the next feed, not leaked. */
TEST(untaken_frame_released_by_next_feed)
{
	struct ttrpc_decoder d;
	struct herr err;
	size_t used;

	ttrpc_decoder_init(&d);
	for (int i = 0; i < 3; i++) {
		used = 0;
		ASSERT_EQ(1,
			  ttrpc_decoder_feed(&d, check_frame,
					     sizeof(check_frame), &used, &err));
		ASSERT_EQ(sizeof(check_frame), used);
		ASSERT_EQ(0, memcmp(d.data, check_frame + 10, 26));
	}
	ttrpc_decoder_reset(&d);
	ASSERT_EQ(0, leak_check());
}

TEST(truncated_frame_not_reported)
{
	struct ttrpc_decoder d;
	struct herr err;
	size_t used = 99;

	ttrpc_decoder_init(&d);
	ASSERT_EQ(0, ttrpc_decoder_feed(&d, check_frame, 0, &used, &err));
	ASSERT_EQ(0, used);
	/* Half a header. */
	ASSERT_EQ(0, ttrpc_decoder_feed(&d, check_frame, 5, &used, &err));
	ASSERT_EQ(5, used);
	/* All but the last data byte. */
	ASSERT_EQ(0, ttrpc_decoder_feed(&d, check_frame + 5,
					sizeof(check_frame) - 6, &used, &err));
	ASSERT_EQ(sizeof(check_frame) - 6, used);
	/* Feeding nothing more changes nothing. */
	ASSERT_EQ(0, ttrpc_decoder_feed(&d, check_frame, 0, &used, &err));
	ASSERT_EQ(1,
		  ttrpc_decoder_feed(&d, check_frame + sizeof(check_frame) - 1,
				     1, &used, &err));
	ASSERT_EQ(1, used);
	free(ttrpc_decoder_take(&d));
	ttrpc_decoder_reset(&d);
	ASSERT_EQ(0, leak_check());
}

/* The header alone is enough to refuse, before any data is buffered. */
TEST(oversize_rejected_with_size)
{
	const struct ttrpc_hdr h = {
		.len = TTRPC_MAX_DATA + 1,
		.stream_id = 7,
		.type = TTRPC_TYPE_REQUEST,
	};
	struct ttrpc_decoder d;
	uint8_t hdr[TTRPC_HDR_LEN];
	struct herr err;
	size_t used = 0;

	ttrpc_hdr_encode(&h, hdr);
	ttrpc_decoder_init(&d);
	herr_clear(&err);
	ASSERT_EQ(-1, ttrpc_decoder_feed(&d, hdr, sizeof(hdr), &used, &err));
	EXPECT_EQ(GRPC_RESOURCE_EXHAUSTED, err.code);
	EXPECT_NE(NULL, strstr(err.msg, "4194305")) TH_LOG("msg: %s", err.msg);
	ttrpc_decoder_reset(&d);

	/* A length far above the limit, as a hostile peer would send. */
	memset(hdr, 0xff, 4);
	ttrpc_decoder_init(&d);
	herr_clear(&err);
	ASSERT_EQ(-1, ttrpc_decoder_feed(&d, hdr, sizeof(hdr), &used, &err));
	EXPECT_NE(NULL, strstr(err.msg, "4294967295"))
		TH_LOG("msg: %s", err.msg);
	ttrpc_decoder_reset(&d);
	ASSERT_EQ(0, leak_check());
}

TEST(exactly_max_accepted)
{
	const size_t len = TTRPC_MAX_DATA;
	uint8_t *data = xmalloc(len);
	struct got_frame got[1];
	struct ttrpc_decoder d;
	struct herr err;
	size_t flen = 0;
	uint8_t *frame;

	fill_pattern(data, len, 3);
	frame = ttrpc_frame_build(9, TTRPC_TYPE_RESPONSE, 0, data, len, &flen);
	ASSERT_NE(NULL, frame);
	ASSERT_EQ(len + TTRPC_HDR_LEN, flen);
	ASSERT_EQ(0x00, frame[0]);
	ASSERT_EQ(0x40, frame[1]);
	ASSERT_EQ(0x00, frame[2]);
	ASSERT_EQ(0x00, frame[3]);

	ttrpc_decoder_init(&d);
	ASSERT_EQ(1, feed_all(&d, frame, flen, 65536 + 3, got, 1, &err))
		TH_LOG("%s", err.msg);
	EXPECT_EQ(len, got[0].hdr.len);
	EXPECT_EQ(9, got[0].hdr.stream_id);
	EXPECT_EQ(len, check_pattern(got[0].data, len, 3));
	free_frames(got, 1);
	ttrpc_decoder_reset(&d);
	free(frame);
	free(data);
	ASSERT_EQ(0, leak_check());
}

TEST(unknown_type_rejected)
{
	static const uint8_t types[] = { 0, 4, 0x7f, 0xff };

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		const struct ttrpc_hdr h = { .len = 2, .stream_id = 1,
					     .type = types[i] };
		uint8_t hdr[TTRPC_HDR_LEN];
		struct ttrpc_decoder d;
		struct herr err;
		size_t used = 0;

		ttrpc_hdr_encode(&h, hdr);
		ttrpc_decoder_init(&d);
		herr_clear(&err);
		EXPECT_EQ(-1,
			  ttrpc_decoder_feed(&d, hdr, sizeof(hdr), &used, &err))
			TH_LOG("type %u", types[i]);
		EXPECT_NE(GRPC_OK, err.code);
		EXPECT_NE(0, err.msg[0]);
		ttrpc_decoder_reset(&d);
	}
	ASSERT_EQ(0, leak_check());
}

/* The three known types are all accepted, with any flags. */
TEST(known_types_accepted)
{
	for (uint8_t t = TTRPC_TYPE_REQUEST; t <= TTRPC_TYPE_DATA; t++) {
		const struct ttrpc_hdr h = {
			.len = 1, .stream_id = 3, .type = t, .flags = 0x07
		};
		uint8_t hdr[TTRPC_HDR_LEN + 1];
		struct ttrpc_decoder d;
		struct herr err;
		size_t used = 0;

		ttrpc_hdr_encode(&h, hdr);
		hdr[TTRPC_HDR_LEN] = 0x42;
		ttrpc_decoder_init(&d);
		ASSERT_EQ(1, ttrpc_decoder_feed(&d, hdr, sizeof(hdr), &used,
						&err));
		EXPECT_EQ(t, d.hdr.type);
		EXPECT_EQ(0x07, d.hdr.flags);
		EXPECT_EQ(0x42, d.data[0]);
		free(ttrpc_decoder_take(&d));
		ttrpc_decoder_reset(&d);
	}
	ASSERT_EQ(0, leak_check());
}

TEST(build_refuses_oversize)
{
	uint8_t *data = calloc(1, TTRPC_MAX_DATA + 1);
	size_t flen = 12345;

	ASSERT_NE(NULL, data);
	EXPECT_EQ(NULL, ttrpc_frame_build(1, TTRPC_TYPE_REQUEST, 0, data,
					  TTRPC_MAX_DATA + 1, &flen));
	EXPECT_EQ(NULL, ttrpc_frame_build(1, TTRPC_TYPE_REQUEST, 0, data,
					  (size_t)UINT32_MAX + 2, &flen));
	free(data);
	ASSERT_EQ(0, leak_check());
}

/* Whatever is built decodes to the same header and data. */
TEST(build_decode_round_trip)
{
	static const size_t sizes[] = {
		0, 1, 9, 10, 11, 255, 256, 65535, 65536, 1 << 20,
	};
	uint8_t *data = xmalloc(1 << 20);

	fill_pattern(data, 1 << 20, 5);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		uint32_t id = 2 * (uint32_t)i + 1;
		uint8_t type = (uint8_t)(1 + i % 3), flags = (uint8_t)(i & 7);
		struct got_frame got[1];
		struct ttrpc_decoder d;
		struct herr err;
		size_t flen = 0;
		uint8_t *f = ttrpc_frame_build(id, type, flags, data, sizes[i],
					       &flen);

		ASSERT_NE(NULL, f);
		ASSERT_EQ(sizes[i] + TTRPC_HDR_LEN, flen);
		ttrpc_decoder_init(&d);
		ASSERT_EQ(1, feed_all(&d, f, flen, 7777, got, 1, &err));
		EXPECT_EQ(sizes[i], got[0].hdr.len);
		EXPECT_EQ(id, got[0].hdr.stream_id);
		EXPECT_EQ(type, got[0].hdr.type);
		EXPECT_EQ(flags, got[0].hdr.flags);
		EXPECT_EQ(sizes[i], check_pattern(got[0].data, sizes[i], 5));
		free_frames(got, 1);
		ttrpc_decoder_reset(&d);
		free(f);
	}
	free(data);
	ASSERT_EQ(0, leak_check());
}

/* Reset drops a half-read frame; the next frame decodes cleanly. */
TEST(reset_drops_partial_frame)
{
	struct ttrpc_decoder d;
	struct herr err;
	size_t used = 0;

	ttrpc_decoder_init(&d);
	ASSERT_EQ(0, ttrpc_decoder_feed(&d, check_frame, 20, &used, &err));
	ttrpc_decoder_reset(&d);
	ASSERT_EQ(1, ttrpc_decoder_feed(&d, check_frame, sizeof(check_frame),
					&used, &err));
	EXPECT_EQ(0, memcmp(d.data, check_frame + 10, 26));
	free(ttrpc_decoder_take(&d));
	ttrpc_decoder_reset(&d);
	ASSERT_EQ(0, leak_check());
}

TEST_HARNESS_MAIN
