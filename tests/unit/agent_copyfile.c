// SPDX-License-Identifier: Apache-2.0
/*
 * agent/copyfile.c: the chunked protocol (.tmp, rename once complete),
 * directories, symlinks, ownership and modes, and the destination checks
 * (allowed root, "..", symlinks leading out).  Each test works in its own
 * directory under /tmp; the allowed root is <dir>/root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copyfile.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

#define MiB (1024 * 1024)

FIXTURE(cp)
{
	char dir[64];
	char root[128];
	char path[256];
	struct herr err;
	Grpc__CopyFileRequest req;
};

FIXTURE_SETUP(cp)
{
	strcpy(self->dir, "/tmp/husk-copyfile-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->root, sizeof(self->root), "%s/root", self->dir);
	grpc__copy_file_request__init(&self->req);
	herr_clear(&self->err);
}

FIXTURE_TEARDOWN(cp)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("%s failed", cmd);
}

/* self->path = <root>/<rel> */
static char *in_root(FIXTURE_DATA(cp) * self, const char *rel)
{
	snprintf(self->path, sizeof(self->path), "%s/%s", self->root, rel);
	return self->path;
}

static int send_chunk(FIXTURE_DATA(cp) * self, const uint8_t *data, size_t len,
		      int64_t offset)
{
	self->req.data.data = (uint8_t *)data;
	self->req.data.len = len;
	self->req.offset = offset;
	herr_clear(&self->err);
	return copy_file(&self->req, self->root, &self->err);
}

TEST_F(cp, chunked_file_lands_complete_with_mode_and_owner)
{
	const size_t size = 2 * MiB + 100;
	char tmp[300], parent[300];
	uint8_t *data = xmalloc(size), *back;
	struct stat st;
	size_t i, off;
	int fd;

	for (i = 0; i < size; i++)
		data[i] = (uint8_t)(i * 7 + i / 4096);
	self->req.path = in_root(self, "ctr-0123456789abcdef-resolv/sub/file");
	snprintf(tmp, sizeof(tmp), "%s.tmp", self->path);
	snprintf(parent, sizeof(parent), "%s/ctr-0123456789abcdef-resolv/sub",
		 self->root);
	self->req.file_size = (int64_t)size;
	self->req.file_mode = S_IFREG | 0640;
	self->req.dir_mode = 0750;
	self->req.uid = 1234;
	self->req.gid = 5678;

	for (off = 0; off < size; off += MiB) {
		ASSERT_EQ(0, send_chunk(self, data + off,
					size - off < MiB ? size - off : MiB,
					(int64_t)off))
		TH_LOG("chunk at %zu: %s", off, self->err.msg);
		if (off + MiB < size) {
			/* Not there until complete. */
			EXPECT_EQ(-1, access(self->path, F_OK));
			EXPECT_EQ(0, access(tmp, F_OK));
		}
	}
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(0640u, st.st_mode & 07777);
	EXPECT_EQ(1234u, st.st_uid);
	EXPECT_EQ(5678u, st.st_gid);
	EXPECT_EQ((off_t)size, st.st_size);
	EXPECT_EQ(-1, access(tmp, F_OK));
	back = xmalloc(size);
	fd = open(self->path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)size, read(fd, back, size));
	close(fd);
	EXPECT_EQ(0, memcmp(data, back, size));
	free(back);
	free(data);
	/* Parents made with dir_mode, whatever the umask. */
	ASSERT_EQ(0, stat(parent, &st));
	EXPECT_EQ(0750u, st.st_mode & 07777);
}

TEST_F(cp, empty_file_and_overwrite)
{
	struct stat st;

	self->req.path = in_root(self, "empty");
	self->req.file_mode = 0644; /* no type bits: a regular file */
	ASSERT_EQ(0, send_chunk(self, NULL, 0, 0)) TH_LOG("%s", self->err.msg);
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(0, st.st_size);

	/* A new version replaces the old one whole. */
	self->req.file_size = 3;
	ASSERT_EQ(0, send_chunk(self, (const uint8_t *)"abc", 3, 0));
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(3, st.st_size);
}

TEST_F(cp, directory)
{
	struct stat st;

	self->req.path = in_root(self, "a/b/dir");
	self->req.file_mode = S_IFDIR | 0711;
	self->req.dir_mode = 0755;
	self->req.uid = 42;
	self->req.gid = 43;
	ASSERT_EQ(0, send_chunk(self, NULL, 0, 0)) TH_LOG("%s", self->err.msg);
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(0711u, st.st_mode & 07777);
	EXPECT_EQ(42u, st.st_uid);
	EXPECT_EQ(43u, st.st_gid);
	/* Again, with another mode: fixed up, no EEXIST. */
	self->req.file_mode = S_IFDIR | 0700;
	ASSERT_EQ(0, send_chunk(self, NULL, 0, 0)) TH_LOG("%s", self->err.msg);
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(0700u, st.st_mode & 07777);
}

TEST_F(cp, symlink_made_and_replaced)
{
	char target[256];
	struct stat st;
	ssize_t n;

	self->req.path = in_root(self, "links/l");
	self->req.file_mode = S_IFLNK | 0777;
	self->req.uid = 7;
	self->req.gid = 8;
	ASSERT_EQ(0, send_chunk(self, (const uint8_t *)"../data/x", 9, 0))
	TH_LOG("%s", self->err.msg);
	n = readlink(self->path, target, sizeof(target) - 1);
	ASSERT_EQ(9, n);
	target[n] = '\0';
	EXPECT_STREQ("../data/x", target);
	ASSERT_EQ(0, lstat(self->path, &st));
	EXPECT_EQ(7u, st.st_uid);
	EXPECT_EQ(8u, st.st_gid);

	ASSERT_EQ(0, send_chunk(self, (const uint8_t *)"/abs/y", 6, 0))
	TH_LOG("%s", self->err.msg);
	n = readlink(self->path, target, sizeof(target) - 1);
	ASSERT_EQ(6, n);
	target[n] = '\0';
	EXPECT_STREQ("/abs/y", target);

	ASSERT_EQ(-1, send_chunk(self, NULL, 0, 0));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
}

TEST_F(cp, path_outside_root_refused)
{
	char outside[128];

	snprintf(outside, sizeof(outside), "%s/elsewhere", self->dir);
	self->req.path = outside;
	self->req.file_mode = S_IFREG | 0644;
	self->req.file_size = 1;
	ASSERT_EQ(-1, send_chunk(self, (const uint8_t *)"x", 1, 0));
	EXPECT_EQ(GRPC_PERMISSION_DENIED, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, outside))
	TH_LOG("%s", self->err.msg);
	EXPECT_EQ(-1, access(outside, F_OK));

	/* A sibling whose name merely starts like the root. */
	snprintf(outside, sizeof(outside), "%s/rootx/f", self->dir);
	ASSERT_EQ(-1, send_chunk(self, (const uint8_t *)"x", 1, 0));
	EXPECT_EQ(GRPC_PERMISSION_DENIED, self->err.code);

	/* The root itself is not a file to replace. */
	self->req.path = self->root;
	ASSERT_EQ(-1, send_chunk(self, (const uint8_t *)"x", 1, 0));
	EXPECT_EQ(GRPC_PERMISSION_DENIED, self->err.code);

	self->req.path = "relative/f";
	ASSERT_EQ(-1, send_chunk(self, (const uint8_t *)"x", 1, 0));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "relative/f"));
}

TEST_F(cp, dotdot_escape_refused)
{
	char evil[256];

	snprintf(evil, sizeof(evil), "%s/a/../../escaped", self->root);
	self->req.path = evil;
	self->req.file_mode = S_IFREG | 0644;
	self->req.file_size = 1;
	ASSERT_EQ(-1, send_chunk(self, (const uint8_t *)"x", 1, 0));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, evil))
	TH_LOG("%s", self->err.msg);
	EXPECT_NE(NULL, strstr(self->err.msg, ".."));
	snprintf(evil, sizeof(evil), "%s/escaped", self->dir);
	EXPECT_EQ(-1, access(evil, F_OK));

	/* ".." that would stay inside is refused all the same. */
	snprintf(evil, sizeof(evil), "%s/a/../b", self->root);
	self->req.path = evil;
	ASSERT_EQ(-1, send_chunk(self, (const uint8_t *)"x", 1, 0));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
}

TEST_F(cp, symlink_out_of_root_refused)
{
	char outside[128], link[256], inner[256];
	struct stat st;

	snprintf(outside, sizeof(outside), "%s/outside", self->dir);
	ASSERT_EQ(0, mkdir(outside, 0755));
	ASSERT_EQ(0, mkdir(self->root, 0755));
	/* A container planted an absolute symlink in the shared tree. */
	snprintf(link, sizeof(link), "%s/evil", self->root);
	ASSERT_EQ(0, symlink(outside, link));

	self->req.path = in_root(self, "evil/sub/x");
	self->req.file_mode = S_IFREG | 0644;
	self->req.file_size = 1;
	ASSERT_EQ(-1, send_chunk(self, (const uint8_t *)"x", 1, 0));
	EXPECT_EQ(GRPC_PERMISSION_DENIED, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, self->path))
	TH_LOG("%s", self->err.msg);
	snprintf(inner, sizeof(inner), "%s/sub", outside);
	EXPECT_EQ(-1, access(inner, F_OK));

	/* A symlink as the final name is replaced, not followed. */
	self->req.path = link;
	ASSERT_EQ(0, send_chunk(self, (const uint8_t *)"x", 1, 0))
	TH_LOG("%s", self->err.msg);
	ASSERT_EQ(0, lstat(link, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));

	/* A .tmp planted as a symlink is not written through. */
	snprintf(link, sizeof(link), "%s/f.tmp", self->root);
	snprintf(inner, sizeof(inner), "%s/target", outside);
	ASSERT_EQ(0, symlink(inner, link));
	self->req.path = in_root(self, "f");
	ASSERT_EQ(-1, send_chunk(self, (const uint8_t *)"x", 1, 0));
	EXPECT_EQ(-1, access(inner, F_OK));

	/* A symlink that stays inside the root is followed. */
	snprintf(inner, sizeof(inner), "%s/real", self->root);
	ASSERT_EQ(0, mkdir(inner, 0755));
	snprintf(link, sizeof(link), "%s/alias", self->root);
	ASSERT_EQ(0, symlink("real", link));
	self->req.path = in_root(self, "alias/y");
	ASSERT_EQ(0, send_chunk(self, (const uint8_t *)"x", 1, 0))
	TH_LOG("%s", self->err.msg);
	snprintf(inner, sizeof(inner), "%s/real/y", self->root);
	EXPECT_EQ(0, access(inner, F_OK));
}

TEST_F(cp, wrong_offsets_refused)
{
	static const uint8_t ten[10] = "0123456789";

	self->req.path = in_root(self, "f");
	self->req.file_mode = S_IFREG | 0644;
	self->req.file_size = 30;

	/* A later chunk with nothing before it. */
	ASSERT_EQ(-1, send_chunk(self, ten, 10, 10));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "offset 10"))
	TH_LOG("%s", self->err.msg);

	ASSERT_EQ(0, send_chunk(self, ten, 10, 0));
	/* A gap: bytes 10..19 were never sent. */
	ASSERT_EQ(-1, send_chunk(self, ten, 10, 20));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "offset 20"));
	/* Past file_size. */
	ASSERT_EQ(-1, send_chunk(self, ten, 10, 25));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "file_size 30"))
	TH_LOG("%s", self->err.msg);
	ASSERT_EQ(-1, send_chunk(self, ten, 10, -1));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	/* A resent chunk is fine, and the rest completes the file. */
	ASSERT_EQ(0, send_chunk(self, ten, 10, 0));
	ASSERT_EQ(0, send_chunk(self, ten, 10, 10));
	EXPECT_EQ(-1, access(self->path, F_OK));
	ASSERT_EQ(0, send_chunk(self, ten, 10, 20)) TH_LOG("%s", self->err.msg);
	EXPECT_EQ(0, access(self->path, F_OK));

	self->req.file_mode = S_IFCHR | 0644;
	ASSERT_EQ(-1, send_chunk(self, ten, 10, 0));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
}

TEST_HARNESS_MAIN
