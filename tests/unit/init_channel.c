// SPDX-License-Identifier: Apache-2.0
/*
 * init/channel.c, the parts that run without a VM: finding the agent's
 * virtio-serial port by name in a fake /sys/class/virtio-ports tree, and
 * the framing that tells one host client from the next on a port that
 * never closes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "init.h"
#include "ttrpc/frame.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

/* ---- port discovery ---- */

FIXTURE(ports)
{
	char dir[64];
	char dev[64];
};

FIXTURE_SETUP(ports)
{
	strcpy(self->dir, "/tmp/husk-ports-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
}

FIXTURE_TEARDOWN(ports)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("%s failed", cmd);
}

/* <dir>/<port>/name holding @name (NULL: no name file at all). */
static void add_port(const char *dir, const char *port, const char *name)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, port);
	mkdir(path, 0755);
	if (!name)
		return;
	snprintf(path, sizeof(path), "%s/%s/name", dir, port);
	f = fopen(path, "w");
	if (f) {
		fputs(name, f);
		fclose(f);
	}
}

TEST_F(ports, found_by_name)
{
	add_port(self->dir, "vport0p0", "\n"); /* a console port: no name */
	add_port(self->dir, "vport0p1", "agent.channel.0\n");
	add_port(self->dir, "vport0p2", "org.qemu.guest_agent.0\n");
	ASSERT_EQ(0, init_find_serial_port(self->dir, "agent.channel.0",
					   self->dev, sizeof(self->dev)));
	EXPECT_STREQ("vport0p1", self->dev);
	ASSERT_EQ(0, init_find_serial_port(self->dir, "org.qemu.guest_agent.0",
					   self->dev, sizeof(self->dev)));
	EXPECT_STREQ("vport0p2", self->dev);
}

TEST_F(ports, not_there)
{
	add_port(self->dir, "vport0p1", "agent.channel.1\n");
	add_port(self->dir, "vport0p2", "agent.channel.0.extra\n");
	add_port(self->dir, "vport0p3", "agent.channel\n");
	EXPECT_EQ(-ENOENT, init_find_serial_port(self->dir, "agent.channel.0",
						 self->dev,
						 sizeof(self->dev)));
}

/* Named a little after it appears: an empty name, or none yet. */
TEST_F(ports, not_named_yet)
{
	add_port(self->dir, "vport0p1", "");
	add_port(self->dir, "vport0p2", NULL);
	EXPECT_EQ(-ENOENT, init_find_serial_port(self->dir, "agent.channel.0",
						 self->dev,
						 sizeof(self->dev)));
	add_port(self->dir, "vport0p1", "agent.channel.0");
	EXPECT_EQ(0, init_find_serial_port(self->dir, "agent.channel.0",
					   self->dev, sizeof(self->dev)));
	EXPECT_STREQ("vport0p1", self->dev);
}

TEST_F(ports, no_class_dir)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/none", self->dir);
	EXPECT_EQ(-ENOENT, init_find_serial_port(path, "agent.channel.0",
						 self->dev,
						 sizeof(self->dev)));
}

/* Two ports with the same name: the same one every boot. */
TEST_F(ports, lowest_of_two)
{
	add_port(self->dir, "vport1p1", "agent.channel.0\n");
	add_port(self->dir, "vport0p3", "agent.channel.0\n");
	add_port(self->dir, "vport2p1", "agent.channel.0\n");
	ASSERT_EQ(0, init_find_serial_port(self->dir, "agent.channel.0",
					   self->dev, sizeof(self->dev)));
	EXPECT_STREQ("vport0p3", self->dev);
}

/* A port name that does not fit the caller's buffer is skipped. */
TEST_F(ports, long_port_name)
{
	char small[8];

	add_port(self->dir, "vport100p100", "agent.channel.0\n");
	EXPECT_EQ(-ENOENT, init_find_serial_port(self->dir, "agent.channel.0",
						 small, sizeof(small)));
}

/* ---- framing ---- */

/* Append one frame (header + @len bytes of 'x') to @buf at *@off. */
static void frame(uint8_t *buf, size_t *off, uint32_t len, uint32_t stream,
		  uint8_t type)
{
	struct ttrpc_hdr h = { .len = len, .stream_id = stream, .type = type };

	ttrpc_hdr_encode(&h, buf + *off);
	*off += TTRPC_HDR_LEN;
	memset(buf + *off, 'x', len);
	*off += len;
}

TEST(one_client)
{
	struct init_framer f = { 0 };
	uint8_t buf[256];
	size_t n = 0;
	bool nc;

	frame(buf, &n, 20, 1, TTRPC_TYPE_REQUEST);
	frame(buf, &n, 0, 3, TTRPC_TYPE_REQUEST);
	frame(buf, &n, 7, 5, TTRPC_TYPE_REQUEST);
	EXPECT_EQ(n, init_framer_scan(&f, buf, n, &nc));
	EXPECT_FALSE(nc);
	EXPECT_EQ(5u, f.last_stream);
}

/* Stream ids going back: a new client, cut exactly where it starts. */
TEST(new_client)
{
	struct init_framer f = { 0 };
	uint8_t buf[256];
	size_t n = 0, first, used;
	bool nc;

	frame(buf, &n, 12, 1, TTRPC_TYPE_REQUEST);
	frame(buf, &n, 12, 3, TTRPC_TYPE_REQUEST);
	first = n;
	frame(buf, &n, 30, 1, TTRPC_TYPE_REQUEST);
	frame(buf, &n, 2, 3, TTRPC_TYPE_REQUEST);
	used = init_framer_scan(&f, buf, n, &nc);
	EXPECT_EQ(first, used);
	EXPECT_TRUE(nc);
	/* Asked again without a reset, it says the same. */
	EXPECT_EQ(0u, init_framer_scan(&f, buf + used, n - used, &nc));
	EXPECT_TRUE(nc);
	init_framer_reset(&f);
	EXPECT_EQ(n - used, init_framer_scan(&f, buf + used, n - used, &nc));
	EXPECT_FALSE(nc);
	EXPECT_EQ(3u, f.last_stream);
}

/* The same stream id twice is a new client too (each starts at 1). */
TEST(same_id_again)
{
	struct init_framer f = { 0 };
	uint8_t buf[64];
	size_t n = 0, first;
	bool nc;

	frame(buf, &n, 4, 1, TTRPC_TYPE_REQUEST);
	first = n;
	frame(buf, &n, 4, 1, TTRPC_TYPE_REQUEST);
	EXPECT_EQ(first, init_framer_scan(&f, buf, n, &nc));
	EXPECT_TRUE(nc);
}

/* A header cut short is held back until it is whole. */
TEST(partial_header)
{
	uint8_t buf[64];
	size_t n = 0, first, used;
	bool nc;

	frame(buf, &n, 5, 1, TTRPC_TYPE_REQUEST);
	first = n;
	frame(buf, &n, 5, 1, TTRPC_TYPE_REQUEST);
	for (size_t cut = 1; cut < TTRPC_HDR_LEN; cut++) {
		struct init_framer g = { 0 };

		used = init_framer_scan(&g, buf, first + cut, &nc);
		EXPECT_EQ(first, used);
		EXPECT_FALSE(nc);
		/* With the rest of it, the new client shows. */
		EXPECT_EQ(0u, init_framer_scan(&g, buf + used, n - used, &nc));
		EXPECT_TRUE(nc);
	}
}

/* A body arriving in pieces, byte by byte, is passed as it comes. */
TEST(body_in_pieces)
{
	struct init_framer f = { 0 };
	uint8_t buf[128];
	size_t n = 0, pos = 0;
	bool nc;

	frame(buf, &n, 50, 1, TTRPC_TYPE_REQUEST);
	frame(buf, &n, 10, 3, TTRPC_TYPE_REQUEST);
	while (pos < n) {
		size_t want = pos + 1, got;

		got = init_framer_scan(&f, buf + pos, want - pos, &nc);
		EXPECT_FALSE(nc);
		/* Bytes of a header wait until the header is complete. */
		if (got == 0) {
			size_t end = pos + TTRPC_HDR_LEN;

			got = init_framer_scan(&f, buf + pos, end - pos, &nc);
			ASSERT_EQ((size_t)TTRPC_HDR_LEN, got);
		}
		pos += got;
	}
	EXPECT_EQ(n, pos);
	EXPECT_EQ(3u, f.last_stream);
}

/* Only requests count: other types neither cut nor move the mark. */
TEST(other_types)
{
	struct init_framer f = { 0 };
	uint8_t buf[128];
	size_t n = 0;
	bool nc;

	frame(buf, &n, 3, 5, TTRPC_TYPE_REQUEST);
	frame(buf, &n, 3, 1, TTRPC_TYPE_DATA);
	frame(buf, &n, 3, 1, TTRPC_TYPE_RESPONSE);
	frame(buf, &n, 3, 7, TTRPC_TYPE_REQUEST);
	EXPECT_EQ(n, init_framer_scan(&f, buf, n, &nc));
	EXPECT_FALSE(nc);
	EXPECT_EQ(7u, f.last_stream);
}

/* A huge length is passed through; the ttRPC decoder refuses it. */
TEST(huge_length)
{
	struct init_framer f = { 0 };
	uint8_t buf[4096];
	size_t n = 0;
	bool nc;

	frame(buf, &n, 0, 1, TTRPC_TYPE_REQUEST);
	{
		struct ttrpc_hdr h = { .len = 0xffffffffu, .stream_id = 3,
				       .type = TTRPC_TYPE_REQUEST };

		ttrpc_hdr_encode(&h, buf + n);
		n += TTRPC_HDR_LEN;
	}
	memset(buf + n, 0, 1000);
	n += 1000;
	EXPECT_EQ(n, init_framer_scan(&f, buf, n, &nc));
	EXPECT_FALSE(nc);
	EXPECT_EQ(0xffffffffu - 1000, f.body_left);
}

TEST_HARNESS_MAIN
