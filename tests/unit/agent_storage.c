// SPDX-License-Identifier: Apache-2.0
/*
 * agent/storage.c and mount_options_parse(): every test runs in its own
 * forked child inside a private mount namespace, on a fresh directory under
 * /tmp, so nothing it mounts is seen by the host or outlives the test.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "storage.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

/*
 * mount(2) as agent/storage.c calls it: defined here, this takes the place
 * of libc's mount() in the whole test binary.  Every call is recorded and
 * then made; while mount_stand_in is set the filesystem is replaced by a
 * tmpfs (same target and flags), for drivers whose filesystem cannot be
 * mounted on this host.
 */
struct mount_call {
	char source[256], target[256], fstype[64], data[256];
	unsigned long flags;
};
static struct mount_call mount_calls[8];
static size_t n_mount_calls;
static bool mount_stand_in;

static void copy_arg(char *buf, size_t len, const char *s)
{
	snprintf(buf, len, "%s", s ? s : "(null)");
}

int mount(const char *source, const char *target, const char *fstype,
	  unsigned long flags, const void *data)
{
	if (n_mount_calls < ARRAY_SIZE(mount_calls)) {
		struct mount_call *c = &mount_calls[n_mount_calls];

		copy_arg(c->source, sizeof(c->source), source);
		copy_arg(c->target, sizeof(c->target), target);
		copy_arg(c->fstype, sizeof(c->fstype), fstype);
		copy_arg(c->data, sizeof(c->data), data);
		c->flags = flags;
	}
	n_mount_calls++;
	if (mount_stand_in)
		return syscall(SYS_mount, "husk-stand-in", target, "tmpfs",
			       flags, NULL);
	return syscall(SYS_mount, source, target, fstype, flags, data);
}

/* Exactly one mount(2) since the count was reset, with these arguments. */
static void expect_one_mount(struct __test_metadata *_metadata,
			     const char *source, const char *target,
			     const char *fstype, unsigned long flags,
			     const char *data)
{
	const struct mount_call *c = &mount_calls[0];

	ASSERT_EQ(1u, n_mount_calls);
	EXPECT_STREQ(source, c->source);
	EXPECT_STREQ(target, c->target);
	EXPECT_STREQ(fstype, c->fstype);
	EXPECT_EQ(flags, c->flags);
	EXPECT_STREQ(data ? data : "(null)", c->data);
}

/* The mountinfo line of the topmost mount at @mp (malloc'd), or NULL. */
static char *mountinfo_line(const char *mp)
{
	char line[4096], point[2048];
	char *found = NULL;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %*s %*s %2047s", point) != 1 ||
		    strcmp(point, mp))
			continue;
		free(found);
		found = xstrdup(line);
	}
	fclose(f);
	return found;
}

/* Mounted at @mp, with filesystem type @type unless NULL. */
static bool is_mounted(const char *mp, const char *type)
{
	char *line = mountinfo_line(mp), t[256];
	char *dash = line ? strstr(line, " - ") : NULL;
	bool ok = dash && sscanf(dash + 3, "%255s", t) == 1 &&
		  (!type || !strcmp(t, type));

	free(line);
	return ok;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

FIXTURE(st)
{
	char dir[64];
	char path[256];
	char loop[64];
	struct herr err;
	Grpc__Storage s;
};

FIXTURE_SETUP(st)
{
	ASSERT_EQ(0, unshare(CLONE_NEWNS))
	TH_LOG("unshare(CLONE_NEWNS): %s", strerror(errno));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	strcpy(self->dir, "/tmp/husk-storage-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	grpc__storage__init(&self->s);
	herr_clear(&self->err);
	n_mount_calls = 0; /* the handler's calls only */
}

FIXTURE_TEARDOWN(st)
{
	char cmd[256];

	storage_put_all();
	storage_set_roots(NULL, NULL);
	if (self->loop[0]) {
		snprintf(cmd, sizeof(cmd), "losetup -d %s", self->loop);
		if (system(cmd))
			TH_LOG("%s failed", cmd);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("%s failed", cmd);
}

/* self->path = <dir>/<rel> */
static const char *at(FIXTURE_DATA(st) * self, const char *rel)
{
	snprintf(self->path, sizeof(self->path), "%s/%s", self->dir, rel);
	return self->path;
}

/*
 * storage_add(&self->s) at <dir>/@rel through the stand-in mount(): exactly
 * one mount(2), of s.source with these arguments; then storage_put()
 * unmounts it.
 */
static void stand_in_round_trip(struct __test_metadata *_metadata,
				FIXTURE_DATA(st) * self, const char *rel,
				const char *fstype, unsigned long flags,
				const char *data)
{
	self->s.mount_point = (char *)at(self, rel);
	mount_stand_in = true;
	n_mount_calls = 0;
	ASSERT_EQ(0, storage_add(&self->s, 0, &self->err))
	TH_LOG("%s", self->err.msg);
	expect_one_mount(_metadata, self->s.source, self->path, fstype, flags,
			 data);
	EXPECT_TRUE(is_mounted(self->path, "tmpfs"));
	ASSERT_EQ(0, storage_put(self->path, &self->err));
	EXPECT_FALSE(is_mounted(self->path, NULL));
}

TEST(mount_options_table)
{
	static const struct {
		const char *opts[4];
		unsigned long flags, prop;
		const char *data;
	} cases[] = {
		{ { "ro", "nosuid", "mode=0755" },
		  MS_RDONLY | MS_NOSUID,
		  0,
		  "mode=0755" },
		{ { "trans=virtio,version=9p2000.L,cache=mmap", "nodev",
		    "msize=8192" },
		  MS_NODEV,
		  0,
		  "trans=virtio,version=9p2000.L,cache=mmap,msize=8192" },
		{ { "ro", "rw" }, 0, 0, NULL },
		{ { "rw,ro" }, MS_RDONLY, 0, NULL },
		{ { "rbind", "rprivate" },
		  MS_BIND | MS_REC,
		  MS_PRIVATE | MS_REC,
		  NULL },
		{ { "shared", "slave" }, 0, MS_SHARED | MS_SLAVE, NULL },
		{ { "", ",,", "defaults" }, 0, 0, NULL },
		{ { "noexec,nosuid,nodev", "size=65536" },
		  MS_NOEXEC | MS_NOSUID | MS_NODEV,
		  0,
		  "size=65536" },
		{ { "context=\"system_u:object_r:a_t:s0:c1,c2\"", "noatime" },
		  MS_NOATIME,
		  0,
		  "context=\"system_u:object_r:a_t:s0:c1,c2\"" },
		{ { "lowerdir=/a:/b", "upperdir=/u", "workdir=/w" },
		  0,
		  0,
		  "lowerdir=/a:/b,upperdir=/u,workdir=/w" },
		{ { "noatime", "atime", "relatime", "dax" },
		  MS_RELATIME,
		  0,
		  "dax" },
	};
	struct herr err;
	unsigned long flags, prop;
	char *data;
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		for (n = 0; n < 4 && cases[i].opts[n]; n++)
			;
		data = (char *)1;
		ASSERT_EQ(0,
			  mount_options_parse((char *const *)cases[i].opts, n,
					      &flags, &prop, &data, &err));
		EXPECT_EQ(cases[i].flags, flags) TH_LOG("case %zu", i);
		EXPECT_EQ(cases[i].prop, prop) TH_LOG("case %zu", i);
		if (cases[i].data) {
			ASSERT_NE(NULL, data) TH_LOG("case %zu", i);
			EXPECT_STREQ(cases[i].data, data);
		} else {
			EXPECT_EQ(NULL, data) TH_LOG("case %zu: %s", i, data);
		}
		free(data);
	}
	/* No options at all. */
	ASSERT_EQ(0, mount_options_parse(NULL, 0, &flags, NULL, &data, &err));
	EXPECT_EQ(0ul, flags);
	EXPECT_EQ(NULL, data);
}

TEST_F(st, local_makes_directory_with_mode_and_group)
{
	char *opts[] = { "mode=0770", "fsgid=4321" };
	struct stat sb;

	self->s.driver = "local";
	self->s.source = "local";
	self->s.fstype = "local";
	self->s.mount_point = (char *)at(self, "a/b/local/vol");
	self->s.options = opts;
	self->s.n_options = 2;
	ASSERT_EQ(0, storage_add(&self->s, 0, &self->err))
	TH_LOG("%s", self->err.msg);
	ASSERT_EQ(0, stat(self->path, &sb));
	EXPECT_TRUE(S_ISDIR(sb.st_mode));
	EXPECT_EQ(02770u, sb.st_mode & 07777);
	EXPECT_EQ(4321u, sb.st_gid);
	EXPECT_FALSE(is_mounted(self->path, NULL));
	EXPECT_EQ(0, storage_put(self->path, &self->err));
	/* A local storage is a directory; it stays. */
	EXPECT_EQ(0, access(self->path, F_OK));

	opts[0] = "mode=0999";
	self->s.mount_point = (char *)at(self, "other");
	ASSERT_EQ(-1, storage_add(&self->s, 0, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "mode=0999"))
	TH_LOG("%s", self->err.msg);
}

TEST_F(st, ephemeral_tmpfs_with_options_and_fsgid)
{
	char *opts[] = { "noexec",    "nosuid",	      "nodev",
			 "mode=1777", "size=1048576", "fsgid=2345" };
	struct stat sb;
	char *mi;

	self->s.driver = "ephemeral";
	self->s.source = "shm";
	self->s.fstype = "tmpfs";
	self->s.mount_point = (char *)at(self, "sandbox/shm");
	self->s.options = opts;
	self->s.n_options = ARRAY_SIZE(opts);
	ASSERT_EQ(0, storage_add(&self->s, 0, &self->err))
	TH_LOG("%s", self->err.msg);
	EXPECT_TRUE(is_mounted(self->path, "tmpfs"));
	ASSERT_EQ(0, stat(self->path, &sb));
	EXPECT_EQ(03777u, sb.st_mode & 07777);
	EXPECT_EQ(2345u, sb.st_gid);
	mi = mountinfo_line(self->path);
	ASSERT_NE(NULL, mi);
	EXPECT_NE(NULL, strstr(mi, "noexec")) TH_LOG("%s", mi);
	EXPECT_NE(NULL, strstr(mi, "nosuid"));
	EXPECT_NE(NULL, strstr(mi, "size=1024k"));
	EXPECT_NE(NULL, strstr(mi, " shm "));
	free(mi);
	ASSERT_EQ(0, storage_put(self->path, &self->err));
	EXPECT_FALSE(is_mounted(self->path, NULL));
}

TEST_F(st, ephemeral_hugetlbfs_is_unimplemented)
{
	self->s.driver = "ephemeral";
	self->s.source = "nodev";
	self->s.fstype = "hugetlbfs";
	self->s.mount_point = (char *)at(self, "huge");
	ASSERT_EQ(-1, storage_add(&self->s, 0, &self->err));
	EXPECT_EQ(GRPC_UNIMPLEMENTED, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "hugetlbfs"));
}

TEST_F(st, bind_directory_read_only_and_file)
{
	char *ro[] = { "ro" };
	char src[512], file[512], dst[512];
	int fd;

	snprintf(src, sizeof(src), "%s/src", self->dir);
	ASSERT_EQ(0, mkdir(src, 0755));
	snprintf(file, sizeof(file), "%s/src/hello", self->dir);
	write_file(file, "hi\n");

	self->s.driver = "bind";
	self->s.fstype = "bind";
	self->s.source = src;
	self->s.mount_point = (char *)at(self, "dst/dir");
	self->s.options = ro;
	self->s.n_options = 1;
	ASSERT_EQ(0, storage_add(&self->s, 0, &self->err))
	TH_LOG("%s", self->err.msg);
	snprintf(dst, sizeof(dst), "%s/hello", self->path);
	EXPECT_EQ(0, access(dst, R_OK));
	snprintf(dst, sizeof(dst), "%s/new", self->path);
	fd = open(dst, O_CREAT | O_WRONLY, 0644);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EROFS, errno);

	/* A file source gets a file mount point. */
	self->s.driver = "watchable-bind";
	self->s.source = file;
	self->s.mount_point = (char *)at(self, "dst/files/hello");
	self->s.n_options = 0;
	ASSERT_EQ(0, storage_add(&self->s, 0, &self->err))
	TH_LOG("%s", self->err.msg);
	EXPECT_TRUE(is_mounted(self->path, NULL));
	EXPECT_EQ(0, access(self->path, R_OK));

	snprintf(src, sizeof(src), "%s/missing", self->dir);
	self->s.source = src;
	self->s.mount_point = (char *)at(self, "dst/x");
	ASSERT_EQ(-1, storage_add(&self->s, 0, &self->err));
	EXPECT_EQ(GRPC_NOT_FOUND, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "missing"))
	TH_LOG("%s", self->err.msg);
}

TEST_F(st, overlay_creates_upper_and_work)
{
	char lower[512], o1[600], o2[600], o3[600], p[600];
	char *opts[] = { o1, o2, o3 };
	struct stat sb;
	int fd;

	snprintf(lower, sizeof(lower), "%s/lower", self->dir);
	ASSERT_EQ(0, mkdir(lower, 0755));
	snprintf(p, sizeof(p), "%s/base", lower);
	write_file(p, "base\n");
	snprintf(o1, sizeof(o1), "lowerdir=%s", lower);
	snprintf(o2, sizeof(o2), "upperdir=%s/rw/upper", self->dir);
	snprintf(o3, sizeof(o3), "workdir=%s/rw/work", self->dir);

	self->s.driver = "overlayfs";
	self->s.source = "overlay";
	self->s.fstype = "overlay";
	self->s.options = opts;
	self->s.n_options = 3;
	self->s.mount_point = (char *)at(self, "merged");
	ASSERT_EQ(0, storage_add(&self->s, 0, &self->err))
	TH_LOG("%s", self->err.msg);
	EXPECT_TRUE(is_mounted(self->path, "overlay"));
	snprintf(p, sizeof(p), "%s/base", self->path);
	EXPECT_EQ(0, access(p, R_OK));
	snprintf(p, sizeof(p), "%s/new", self->path);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	EXPECT_LE(0, fd);
	close(fd);
	snprintf(p, sizeof(p), "%s/rw/upper/new", self->dir);
	EXPECT_EQ(0, stat(p, &sb));

	self->s.n_options = 0;
	self->s.mount_point = (char *)at(self, "merged2");
	ASSERT_EQ(-1, storage_add(&self->s, 0, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "lowerdir"));
}

TEST_F(st, refcount_by_mount_point)
{
	char alias[600];

	self->s.driver = "ephemeral";
	self->s.source = "tmpfs";
	self->s.fstype = "tmpfs";
	self->s.mount_point = (char *)at(self, "shared/vol");
	ASSERT_EQ(0, storage_add(&self->s, 0, &self->err));
	/* The same mount point spelled differently is the same storage. */
	snprintf(alias, sizeof(alias), "%s//shared/./vol/", self->dir);
	self->s.mount_point = alias;
	ASSERT_EQ(0, storage_add(&self->s, 0, &self->err));
	at(self, "shared/vol");

	ASSERT_EQ(0, storage_put(self->path, &self->err));
	EXPECT_TRUE(is_mounted(self->path, "tmpfs"));
	ASSERT_EQ(0, storage_put(alias, &self->err));
	EXPECT_FALSE(is_mounted(self->path, NULL));
	ASSERT_EQ(-1, storage_put(self->path, &self->err));
	EXPECT_EQ(GRPC_NOT_FOUND, self->err.code);
}

TEST_F(st, shared_storage_outlives_last_put_until_put_all)
{
	char inner[512];

	self->s.driver = "ephemeral";
	self->s.fstype = "tmpfs";
	self->s.shared = true;
	self->s.mount_point = (char *)at(self, "outer");
	ASSERT_EQ(0, storage_add(&self->s, 0, &self->err));
	ASSERT_EQ(0, storage_put(self->path, &self->err));
	EXPECT_TRUE(is_mounted(self->path, "tmpfs"));

	/* A later storage inside the first: put_all must go newest first. */
	self->s.shared = false;
	snprintf(inner, sizeof(inner), "%s/inner", self->path);
	self->s.mount_point = inner;
	ASSERT_EQ(0, storage_add(&self->s, 0, &self->err))
	TH_LOG("%s", self->err.msg);
	EXPECT_TRUE(is_mounted(inner, "tmpfs"));

	storage_put_all();
	EXPECT_FALSE(is_mounted(inner, NULL));
	EXPECT_FALSE(is_mounted(at(self, "outer"), NULL));
}

TEST_F(st, bad_requests)
{
	self->s.driver = "scsi";
	self->s.mount_point = (char *)at(self, "x");
	ASSERT_EQ(-1, storage_add(&self->s, 0, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_STREQ("storage driver \"scsi\" is not supported", self->err.msg);

	self->s.driver = "ephemeral";
	self->s.mount_point = "";
	ASSERT_EQ(-1, storage_add(&self->s, 0, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "mount_point"));

	self->s.mount_point = "relative/path";
	ASSERT_EQ(-1, storage_add(&self->s, 0, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);

	self->s.mount_point = "/tmp/../etc";
	ASSERT_EQ(-1, storage_add(&self->s, 0, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);

	self->s.driver = "virtio-fs";
	self->s.source = "";
	self->s.mount_point = (char *)at(self, "y");
	ASSERT_EQ(-1, storage_add(&self->s, 0, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "source is empty"));

	ASSERT_EQ(-1, storage_put(at(self, "never"), &self->err));
	EXPECT_EQ(GRPC_NOT_FOUND, self->err.code);
}

TEST_F(st, every_listed_driver_is_known)
{
	size_t i;

	ASSERT_LT(0u, storage_driver_count);
	for (i = 0; i < storage_driver_count; i++) {
		/* No source: each driver fails its own way, or succeeds. */
		self->s.driver = (char *)storage_driver_names[i];
		self->s.mount_point = (char *)at(self, storage_driver_names[i]);
		herr_clear(&self->err);
		storage_add(&self->s, 0, &self->err);
		EXPECT_EQ(NULL, strstr(self->err.msg, "not supported"))
		TH_LOG("%s: %s", storage_driver_names[i], self->err.msg);
	}
}

TEST_F(st, blk_missing_device_times_out)
{
	long long t0;

	self->s.driver = "blk";
	self->s.source = "/dev/husk-no-such-disk";
	self->s.fstype = "ext4";
	self->s.mount_point = (char *)at(self, "disk");
	t0 = now_ms();
	ASSERT_EQ(-1, storage_add(&self->s, 100, &self->err));
	EXPECT_GE(now_ms() - t0, 90);
	EXPECT_LT(now_ms() - t0, 2000);
	EXPECT_EQ(GRPC_DEADLINE_EXCEEDED, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "/dev/husk-no-such-disk"))
	TH_LOG("%s", self->err.msg);
	EXPECT_NE(NULL, strstr(self->err.msg, "100 ms"));

	/* A PCI path that never shows up (empty fake sysfs). */
	storage_set_roots(self->dir, self->dir);
	self->s.source = "02/01";
	ASSERT_EQ(-1, storage_add(&self->s, 50, &self->err));
	EXPECT_EQ(GRPC_DEADLINE_EXCEEDED, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "PCI path 02/01"))
	TH_LOG("%s", self->err.msg);

	self->s.source = "2/1";
	ASSERT_EQ(-1, storage_add(&self->s, 50, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "\"2/1\""));

	self->s.fstype = "";
	self->s.source = "/dev/null";
	ASSERT_EQ(-1, storage_add(&self->s, 50, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "fstype"));
}

/* A fake sysfs: bridge at 00:02.0 with bus 01 behind it, disk at 01:01.0. */
static int fake_pci_tree(FIXTURE_DATA(st) * self, const char *disk)
{
	char cmd[1024];

	snprintf(
		cmd, sizeof(cmd),
		"mkdir -p %1$s/sys/bus/pci/devices/0000:00:02.0/pci_bus/0000:01"
		" %1$s/sys/bus/pci/devices/0000:01:01.0/virtio3/block/%2$s"
		" %1$s/sys/bus/pci/devices/0000:00:03.0/virtio1/block/vdy"
		" %1$s/dev",
		self->dir, disk);
	return system(cmd);
}

TEST_F(st, pci_path_resolves_behind_bridge)
{
	char sys[512], dev[512], *node = NULL;

	ASSERT_EQ(0, fake_pci_tree(self, "vdz"));
	snprintf(sys, sizeof(sys), "%s/sys", self->dir);
	snprintf(dev, sizeof(dev), "%s/dev", self->dir);
	storage_set_roots(sys, dev);

	/* The sysfs entry is there but devtmpfs has not made the node yet. */
	ASSERT_EQ(-1, storage_pci_blk_dev("02/01", 30, &node, &self->err));
	EXPECT_EQ(GRPC_DEADLINE_EXCEEDED, self->err.code);

	write_file(at(self, "dev/vdz"), "");
	write_file(at(self, "dev/vdy"), "");
	ASSERT_EQ(0, storage_pci_blk_dev("02/01", 30, &node, &self->err))
	TH_LOG("%s", self->err.msg);
	EXPECT_STREQ(at(self, "dev/vdz"), node);
	free(node);
	ASSERT_EQ(0, storage_pci_blk_dev("03", 30, &node, &self->err));
	EXPECT_STREQ(at(self, "dev/vdy"), node);
	free(node);
	ASSERT_EQ(-1, storage_pci_blk_dev("02/02", 30, &node, &self->err));
	ASSERT_EQ(-1, storage_pci_blk_dev("20", 0, &node, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	ASSERT_EQ(-1, storage_pci_blk_dev("02/", 0, &node, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
}

/* A real ext4 disk through a loop device, by node and by PCI path. */
TEST_F(st, blk_mounts_ext4_disk)
{
	char cmd[1024], img[256], sys[512], dev[512], node[512];
	struct stat sb;
	FILE *f;

	snprintf(img, sizeof(img), "%s/disk.img", self->dir);
	snprintf(cmd, sizeof(cmd),
		 "truncate -s 8M %1$s && mkfs.ext4 -q %1$s 2>/dev/null && "
		 "losetup -f --show %1$s",
		 img);
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	if (!fgets(self->loop, sizeof(self->loop), f))
		self->loop[0] = '\0';
	pclose(f);
	self->loop[strcspn(self->loop, "\n")] = '\0';
	if (!self->loop[0])
		SKIP(return, "no loop device (losetup/mkfs.ext4 failed)");

	self->s.driver = "blk";
	self->s.source = self->loop;
	self->s.fstype = "ext4";
	self->s.mount_point = (char *)at(self, "by-node");
	ASSERT_EQ(0, storage_add(&self->s, 1000, &self->err))
	TH_LOG("%s", self->err.msg);
	EXPECT_TRUE(is_mounted(self->path, "ext4"));

	/* The same disk as the runtime names it: a PCI path. */
	ASSERT_EQ(0, fake_pci_tree(self, "vdz"));
	ASSERT_EQ(0, stat(self->loop, &sb));
	snprintf(node, sizeof(node), "%s/dev/vdz", self->dir);
	ASSERT_EQ(0, mknod(node, S_IFBLK | 0600, sb.st_rdev));
	snprintf(sys, sizeof(sys), "%s/sys", self->dir);
	snprintf(dev, sizeof(dev), "%s/dev", self->dir);
	storage_set_roots(sys, dev);
	self->s.source = "02/01";
	self->s.mount_point = (char *)at(self, "by-pci");
	ASSERT_EQ(0, storage_add(&self->s, 1000, &self->err))
	TH_LOG("%s", self->err.msg);
	EXPECT_TRUE(is_mounted(self->path, "ext4"));

	ASSERT_EQ(0, storage_put(self->path, &self->err));
	ASSERT_EQ(0, storage_put(at(self, "by-node"), &self->err));
	EXPECT_FALSE(is_mounted(self->path, NULL));
}

TEST_F(st, fs_group_applied_to_volume)
{
	char src[512], sub[600], file[600];
	Grpc__FSGroup g = GRPC__FSGROUP__INIT;
	struct stat sb;

	snprintf(src, sizeof(src), "%s/vol", self->dir);
	snprintf(sub, sizeof(sub), "%s/vol/sub", self->dir);
	snprintf(file, sizeof(file), "%s/vol/sub/f", self->dir);
	ASSERT_EQ(0, mkdir(src, 0700));
	ASSERT_EQ(0, mkdir(sub, 0700));
	write_file(file, "x");
	ASSERT_EQ(0, chmod(file, 0600));
	ASSERT_EQ(0, symlink("/etc/passwd", at(self, "vol/sub/link")));

	g.group_id = 3456;
	self->s.driver = "bind";
	self->s.source = src;
	self->s.mount_point = (char *)at(self, "pod/vol");
	self->s.fs_group = &g;
	ASSERT_EQ(0, storage_add(&self->s, 0, &self->err))
	TH_LOG("%s", self->err.msg);
	ASSERT_EQ(0, stat(sub, &sb));
	EXPECT_EQ(3456u, sb.st_gid);
	EXPECT_EQ(02770u, sb.st_mode & 07777);
	ASSERT_EQ(0, stat(file, &sb));
	EXPECT_EQ(3456u, sb.st_gid);
	EXPECT_EQ(0660u, sb.st_mode & 07777);
	/* The symlink itself changed group, not its target. */
	ASSERT_EQ(0, lstat(at(self, "vol/sub/link"), &sb));
	EXPECT_EQ(3456u, sb.st_gid);
	ASSERT_EQ(0, stat("/etc/passwd", &sb));
	EXPECT_NE(3456u, sb.st_gid);
}

/*
 * The 9p and virtio-fs drivers mount a tag the VMM exports, and nvdimm a
 * /dev/pmemN: none of these can mount here.  The stand-in mount() above
 * records what the driver asks for and gives it a tmpfs, so each driver
 * runs to the end (mounted, counted, unmounted) and its request is checked
 * exactly.
 */
TEST_F(st, shared_fs_9p_mounts_the_tag_with_its_options)
{
	char *opts[] = { "trans=virtio,version=9p2000.L,cache=mmap", "nodev",
			 "msize=8192" };

	self->s.driver = "9p";
	self->s.source = "kataShared";
	self->s.fstype = "9p";
	self->s.options = opts;
	self->s.n_options = ARRAY_SIZE(opts);
	stand_in_round_trip(
		_metadata, self, "shared9p", "9p", MS_NODEV,
		"trans=virtio,version=9p2000.L,cache=mmap,msize=8192");

	/* No fstype: 9p is the driver's filesystem. */
	self->s.fstype = "";
	self->s.options = NULL;
	self->s.n_options = 0;
	stand_in_round_trip(_metadata, self, "shared9p-default", "9p", 0, NULL);
}

TEST_F(st, virtio_fs_mounts_the_tag)
{
	char *nodev[] = { "nodev" };

	self->s.driver = "virtio-fs";
	self->s.source = "kataShared";
	self->s.fstype = "virtiofs";
	self->s.options = nodev;
	self->s.n_options = 1;
	stand_in_round_trip(_metadata, self, "sharedfs", "virtiofs", MS_NODEV,
			    NULL);

	/* No fstype: virtiofs is the driver's filesystem. */
	self->s.fstype = "";
	self->s.options = NULL;
	self->s.n_options = 0;
	stand_in_round_trip(_metadata, self, "sharedfs-default", "virtiofs", 0,
			    NULL);

	/* For real: no virtio-fs device here, so it fails, leaving nothing. */
	mount_stand_in = false;
	self->s.mount_point = (char *)at(self, "sharedfs-real");
	ASSERT_EQ(-1, storage_add(&self->s, 0, &self->err));
	EXPECT_NE(NULL, strstr(self->err.msg, "mount kataShared (virtiofs)"))
	TH_LOG("%s", self->err.msg);
	EXPECT_FALSE(is_mounted(self->path, NULL));
}

TEST_F(st, nvdimm_mounts_the_pmem_device_with_dax)
{
	char *opts[] = { "dax", "ro" };
	char dev[256];

	/* The device node the driver waits for: any file will do. */
	snprintf(dev, sizeof(dev), "%s/pmem1", self->dir);
	self->s.driver = "nvdimm";
	self->s.source = dev;
	self->s.fstype = "ext4";
	self->s.options = opts;
	self->s.n_options = ARRAY_SIZE(opts);
	self->s.mount_point = (char *)at(self, "pmem");
	mount_stand_in = true;

	/* Not there (yet): the wait is bounded and nothing is mounted. */
	ASSERT_EQ(-1, storage_add(&self->s, 20, &self->err));
	EXPECT_EQ(GRPC_DEADLINE_EXCEEDED, self->err.code);
	EXPECT_EQ(0u, n_mount_calls);

	write_file(dev, "");
	stand_in_round_trip(_metadata, self, "pmem", "ext4", MS_RDONLY, "dax");

	/* A device needs its filesystem named and a path. */
	n_mount_calls = 0;
	self->s.fstype = "";
	ASSERT_EQ(-1, storage_add(&self->s, 0, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "fstype is empty"));
	self->s.fstype = "ext4";
	self->s.source = "pmem1";
	ASSERT_EQ(-1, storage_add(&self->s, 0, &self->err));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, self->err.code);
	EXPECT_NE(NULL, strstr(self->err.msg, "not a device path"));
	EXPECT_EQ(0u, n_mount_calls);

	/* For real: /dev/null is no ext4, so it fails, leaving nothing. */
	mount_stand_in = false;
	self->s.source = "/dev/null";
	ASSERT_EQ(-1, storage_add(&self->s, 0, &self->err));
	EXPECT_NE(NULL, strstr(self->err.msg, "mount /dev/null (ext4, dax)"))
	TH_LOG("%s", self->err.msg);
	EXPECT_FALSE(is_mounted(self->path, NULL));
}

TEST_F(st, mmioblk_missing_device_times_out)
{
	self->s.driver = "mmioblk";
	self->s.source = "/dev/vdq-husk-missing";
	self->s.fstype = "ext4";
	self->s.mount_point = (char *)at(self, "mmio");
	ASSERT_EQ(-1, storage_add(&self->s, 20, &self->err));
	EXPECT_EQ(GRPC_DEADLINE_EXCEEDED, self->err.code);
}

TEST_HARNESS_MAIN
