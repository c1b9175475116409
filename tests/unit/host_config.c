// SPDX-License-Identifier: Apache-2.0
/*
 * The host configuration (host/config.c) and its TOML subset parser
 * (host/toml.c): every value form it takes, every form it refuses, each
 * error naming file:line and the key,
 * the mapping onto struct husk_config with its ranges and choices, a
 * Kata-style file, the layering of defaults < share < etc < config.d
 * drop-ins on temp dirs, and config_dump() read back by the parser.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

static int parse(const char *text, struct husk_config *cfg, struct herr *err)
{
	return config_parse(text, strlen(text), "t.toml", cfg, err);
}

/* ---- good files ------------------------------------------------------- */

TEST(every_key)
{
	static const char text[] =
		"# comment line\n"
		"\n"
		"[hypervisor.qemu]\n"
		"path = \"/opt/qemu/bin/qemu-system-x86_64\"   # trailing\n"
		"kernel = '/k/vmlinux'\n"
		"image = \"/k/rootfs.img\"\n"
		"firmware = \"/usr/share/seabios/bios-256k.bin\"\n"
		"machine_type = \"q35\"\n"
		"kernel_params = \"a=1 b\\t\\\"c\\\" \\u00e9\\U0001F600\"\n"
		"default_vcpus = 4\n"
		"default_memory = 2_048\n"
		"default_maxvcpus = 8\n"
		"default_maxmemory = 8192\n"
		"shared_fs = \"virtio-fs\"\n"
		"virtio_fs_daemon = \"/usr/libexec/virtiofsd\"\n"
		"virtio_fs_cache = \"always\"\n"
		"virtio_fs_extra_args = [\"-o\", \"flock\"]\n"
		"msize_9p = 0x2000\n"
		"enable_debug = true\n"
		"accel = \"tcg\"\n"
		"tcg_tb_size = 32\n"
		"reclaim_guest_freed_memory = false\n"
		"\n"
		"[agent.kata]\n"
		"dial_timeout = 45\n"
		"enable_debug = true\n"
		"[runtime]\r\n"
		"enable_debug = true\r\n"
		"internetworking_model = \"macvtap\"\n";
	struct husk_config cfg;
	struct herr err;

	config_defaults(&cfg);
	ASSERT_EQ(0, parse(text, &cfg, &err)) TH_LOG("%s", err.msg);
	EXPECT_STREQ("qemu", cfg.hypervisor);
	EXPECT_STREQ("/opt/qemu/bin/qemu-system-x86_64", cfg.hypervisor_path);
	EXPECT_STREQ("/k/vmlinux", cfg.kernel);
	EXPECT_STREQ("/k/rootfs.img", cfg.image);
	/* Choosing the image in a file drops the default initrd. */
	EXPECT_EQ(NULL, cfg.initrd);
	EXPECT_STREQ("/usr/share/seabios/bios-256k.bin", cfg.firmware);
	EXPECT_STREQ("q35", cfg.machine_type);
	EXPECT_STREQ("a=1 b\t\"c\" \xc3\xa9\xf0\x9f\x98\x80",
		     cfg.kernel_params);
	EXPECT_EQ(4U, cfg.default_vcpus);
	EXPECT_EQ(2048U, cfg.default_memory);
	EXPECT_EQ(8U, cfg.default_maxvcpus);
	EXPECT_EQ(8192U, cfg.default_maxmemory);
	EXPECT_EQ(SHARED_FS_VIRTIO_FS, (int)cfg.shared_fs);
	EXPECT_STREQ("/usr/libexec/virtiofsd", cfg.virtio_fs_daemon);
	EXPECT_TRUE(cfg.shared_fs_explicit);
	EXPECT_STREQ("always", cfg.virtio_fs_cache);
	ASSERT_NE(NULL, cfg.virtio_fs_extra_args);
	EXPECT_STREQ("-o", cfg.virtio_fs_extra_args[0]);
	EXPECT_STREQ("flock", cfg.virtio_fs_extra_args[1]);
	EXPECT_EQ(NULL, cfg.virtio_fs_extra_args[2]);
	EXPECT_EQ(8192U, cfg.msize_9p);
	EXPECT_TRUE(cfg.enable_debug);
	EXPECT_STREQ("tcg", cfg.accel);
	EXPECT_EQ(32U, cfg.tcg_tb_size);
	EXPECT_FALSE(cfg.reclaim_guest_freed_memory);
	EXPECT_EQ(45U, cfg.dial_timeout);
	EXPECT_TRUE(cfg.agent_debug);
	EXPECT_TRUE(cfg.runtime_debug);
	EXPECT_STREQ("macvtap", cfg.internetworking_model);
	EXPECT_EQ(0, config_validate(&cfg, &err)) TH_LOG("%s", err.msg);
	config_free(&cfg);
}

TEST(defaults)
{
	struct husk_config cfg;
	struct herr err;

	config_defaults(&cfg);
	EXPECT_STREQ("qemu", cfg.hypervisor);
	EXPECT_STREQ("/usr/bin/qemu-system-x86_64", cfg.hypervisor_path);
	EXPECT_STREQ(HUSK_PREFIX "/share/husk/vmlinux-husk", cfg.kernel);
	EXPECT_STREQ(HUSK_PREFIX "/share/husk/husk-initrd.img", cfg.initrd);
	EXPECT_EQ(NULL, cfg.image);
	/* Unset: hv-qemu.c picks qboot on q35/pc where QEMU ships it. */
	EXPECT_EQ(NULL, cfg.firmware);
	EXPECT_STREQ("microvm", cfg.machine_type);
	EXPECT_STREQ("auto", cfg.accel);
	EXPECT_EQ(SHARED_FS_9P, (int)cfg.shared_fs);
	EXPECT_FALSE(cfg.shared_fs_explicit);
	EXPECT_STREQ("/usr/lib/qemu/virtiofsd", cfg.virtio_fs_daemon);
	EXPECT_STREQ("auto", cfg.virtio_fs_cache);
	EXPECT_EQ(0U, cfg.virtio_fs_cache_size);
	EXPECT_EQ(NULL, cfg.virtio_fs_extra_args);
	EXPECT_EQ(1U, cfg.default_vcpus);
	EXPECT_EQ(256U, cfg.default_memory);
	EXPECT_EQ(20U, cfg.tcg_tb_size);
	EXPECT_TRUE(cfg.reclaim_guest_freed_memory);
	EXPECT_EQ(30U, cfg.dial_timeout);
	EXPECT_STREQ("tcfilter", cfg.internetworking_model);
	EXPECT_FALSE(cfg.enable_debug);
	EXPECT_EQ(0, config_validate(&cfg, &err)) TH_LOG("%s", err.msg);
	config_free(&cfg);
	config_free(&cfg); /* twice is harmless */
}

/*
 * [hypervisor.clh]: Kata's keys, cloud-hypervisor's own default path, the
 * image needs no machine type (virtio-pmem), and no 9p (not even as the
 * fallback when virtiofsd is missing).
 */
TEST(clh)
{
	char dir[] = "/tmp/husk-cfg-XXXXXX", exe[64], text[512];
	struct husk_config cfg;
	struct herr err;
	int fd;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(exe, sizeof(exe), "%s/virtiofsd", dir);
	fd = open(exe, O_CREAT | O_WRONLY, 0755);
	ASSERT_LE(0, fd);
	close(fd);

	config_defaults(&cfg);
	snprintf(text, sizeof(text),
		 "[hypervisor.clh]\nkernel = \"/k\"\nimage = \"/img\"\n"
		 "default_vcpus = 2\ndefault_memory = 512\n"
		 "virtio_fs_daemon = \"%s\"\n",
		 exe);
	ASSERT_EQ(0, parse(text, &cfg, &err)) TH_LOG("%s", err.msg);
	EXPECT_STREQ("clh", cfg.hypervisor);
	EXPECT_TRUE(config_is_clh(&cfg));
	EXPECT_STREQ(CONFIG_CLH_PATH, cfg.hypervisor_path);
	EXPECT_EQ(2U, cfg.default_vcpus);
	ASSERT_EQ(0, config_resolve_shared_fs(&cfg, &err))
	TH_LOG("%s", err.msg);
	EXPECT_EQ(SHARED_FS_VIRTIO_FS, (int)cfg.shared_fs);
	EXPECT_EQ(0, config_validate(&cfg, &err)) TH_LOG("%s", err.msg);
	config_free(&cfg);

	/* "path" wins over the default. */
	config_defaults(&cfg);
	ASSERT_EQ(0,
		  parse("[hypervisor.clh]\npath = \"/opt/ch\"\n", &cfg, &err));
	EXPECT_STREQ("/opt/ch", cfg.hypervisor_path);
	config_free(&cfg);

	/* virtio-9p is refused by name, explicit or as the fallback. */
	config_defaults(&cfg);
	ASSERT_EQ(0, parse("[hypervisor.clh]\nshared_fs = \"virtio-9p\"\n",
			   &cfg, &err));
	ASSERT_EQ(0, config_resolve_shared_fs(&cfg, &err));
	EXPECT_EQ(-1, config_validate(&cfg, &err));
	EXPECT_NE(NULL, strstr(err.msg, "no virtio-9p")) TH_LOG("%s", err.msg);
	config_free(&cfg);

	chmod(exe, 0644);
	config_defaults(&cfg);
	ASSERT_EQ(0, parse(text, &cfg, &err));
	EXPECT_EQ(-1, config_resolve_shared_fs(&cfg, &err));
	EXPECT_NE(NULL, strstr(err.msg, "needs virtiofsd"))
	TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, exe)) TH_LOG("%s", err.msg);
	config_free(&cfg);

	/* A firmware is refused by name, not silently unused. */
	config_defaults(&cfg);
	ASSERT_EQ(0, parse("[hypervisor.clh]\nshared_fs = \"none\"\n"
			   "firmware = \"/fw/hypervisor-fw\"\n",
			   &cfg, &err));
	EXPECT_EQ(-1, config_validate(&cfg, &err));
	EXPECT_STREQ("configuration: [hypervisor.clh]: firmware "
		     "/fw/hypervisor-fw: not supported (the kernel boots "
		     "directly)",
		     err.msg);
	config_free(&cfg);

	/* shared_fs = "none" needs no daemon. */
	config_defaults(&cfg);
	ASSERT_EQ(0, parse("[hypervisor.clh]\nshared_fs = \"none\"\n", &cfg,
			   &err));
	ASSERT_EQ(0, config_resolve_shared_fs(&cfg, &err));
	EXPECT_EQ(0, config_validate(&cfg, &err)) TH_LOG("%s", err.msg);
	config_free(&cfg);

	unlink(exe);
	rmdir(dir);
}

/*
 * shared_fs: virtio-fs when the daemon is executable, else 9p; an explicit
 * choice stays; explicit virtio-fs without the daemon names the path.
 */
TEST(shared_fs_choice)
{
	char dir[] = "/tmp/husk-cfg-XXXXXX", exe[64], text[256];
	struct husk_config cfg;
	struct herr err;
	int fd;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(exe, sizeof(exe), "%s/virtiofsd", dir);
	fd = open(exe, O_CREAT | O_WRONLY, 0755);
	ASSERT_LE(0, fd);
	close(fd);

	config_defaults(&cfg);
	snprintf(text, sizeof(text),
		 "[hypervisor.qemu]\nvirtio_fs_daemon = \"%s\"\n", exe);
	ASSERT_EQ(0, parse(text, &cfg, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, config_resolve_shared_fs(&cfg, &err))
	TH_LOG("%s", err.msg);
	EXPECT_EQ(SHARED_FS_VIRTIO_FS, (int)cfg.shared_fs);
	EXPECT_NE(NULL, strstr(cfg.shared_fs_why, exe));
	config_free(&cfg);

	/* Not executable: 9p, and the reason names the path. */
	chmod(exe, 0644);
	config_defaults(&cfg);
	ASSERT_EQ(0, parse(text, &cfg, &err));
	ASSERT_EQ(0, config_resolve_shared_fs(&cfg, &err));
	EXPECT_EQ(SHARED_FS_9P, (int)cfg.shared_fs);
	EXPECT_NE(NULL, strstr(cfg.shared_fs_why, "no virtiofsd at"));
	EXPECT_NE(NULL, strstr(cfg.shared_fs_why, exe));
	config_free(&cfg);

	/* Explicit virtio-fs without it: an error naming the path. */
	config_defaults(&cfg);
	snprintf(text, sizeof(text),
		 "[hypervisor.qemu]\nshared_fs = "
		 "\"virtio-fs\"\nvirtio_fs_daemon = \"%s/none\"\n",
		 dir);
	ASSERT_EQ(0, parse(text, &cfg, &err));
	EXPECT_EQ(-1, config_resolve_shared_fs(&cfg, &err));
	EXPECT_NE(NULL, strstr(err.msg, "virtiofsd")) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "/none: No such file"))
	TH_LOG("%s", err.msg);
	config_free(&cfg);

	/* Explicit 9p with a daemon present stays 9p. */
	chmod(exe, 0755);
	config_defaults(&cfg);
	snprintf(text, sizeof(text),
		 "[hypervisor.qemu]\nshared_fs = "
		 "\"virtio-9p\"\nvirtio_fs_daemon = \"%s\"\n",
		 exe);
	ASSERT_EQ(0, parse(text, &cfg, &err));
	ASSERT_EQ(0, config_resolve_shared_fs(&cfg, &err));
	EXPECT_EQ(SHARED_FS_9P, (int)cfg.shared_fs);
	config_free(&cfg);

	/* Kata's "never" is the C daemon's "none". */
	config_defaults(&cfg);
	ASSERT_EQ(0, parse("[hypervisor.qemu]\nvirtio_fs_cache = \"never\"\n",
			   &cfg, &err));
	ASSERT_EQ(0, config_resolve_shared_fs(&cfg, &err));
	EXPECT_STREQ("none", cfg.virtio_fs_cache);
	config_free(&cfg);

	/* A DAX window is refused with the reason. */
	config_defaults(&cfg);
	ASSERT_EQ(0, parse("[hypervisor.qemu]\nvirtio_fs_cache_size = 1024\n",
			   &cfg, &err));
	EXPECT_EQ(-1, config_validate(&cfg, &err));
	EXPECT_NE(NULL, strstr(err.msg, "no DAX window")) TH_LOG("%s", err.msg);
	config_free(&cfg);

	unlink(exe);
	rmdir(dir);
}

TEST(empty_and_comment_only)
{
	static const char *const texts[] = {
		"",
		"\n\n",
		"# only a comment",
		"   \t\n# x\n\r\n",
		"\xef\xbb\xbf# byte order mark\n",
	};
	struct husk_config cfg;
	struct herr err;

	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		config_defaults(&cfg);
		EXPECT_EQ(0, parse(texts[i], &cfg, &err))
		TH_LOG("%zu: %s", i, err.msg);
		EXPECT_STREQ("microvm", cfg.machine_type);
		config_free(&cfg);
	}
}

/* A Kata configuration-qemu.toml in miniature: husk takes what it knows. */
TEST(kata_style_file)
{
	static const char text[] =
		"# Copyright notice\n"
		"[hypervisor.qemu]\n"
		"path = \"/usr/bin/qemu-system-x86_64\"\n"
		"kernel = \"/usr/share/kata-containers/vmlinux.container\"\n"
		"image = \"/usr/share/kata-containers/kata-containers.img\"\n"
		"machine_type = \"q35\"\n"
		"firmware = \"\"\n"
		"confidential_guest = false\n"
		"enable_annotations = [\"enable_iommu\", "
		"\"virtio_fs_extra_args\", \"kernel_params\"]\n"
		"valid_hypervisor_paths = [\n"
		"  \"/usr/bin/qemu-system-x86_64\",   # the distro one\n"
		"  \"/opt/kata/bin/qemu\",\n"
		"]\n"
		"kernel_params = \"cgroup_no_v1=all\"\n"
		"default_vcpus = 1\n"
		"default_maxvcpus = 0\n"
		"default_memory = 2048\n"
		"memory_offset = 0\n"
		"shared_fs = \"virtio-9p\"\n"
		"virtio_fs_extra_args = [\"--thread-pool-size=1\", "
		"\"--announce-submounts\"]\n"
		"msize_9p = 8192\n"
		"valid_entropy_sources = "
		"[\"/dev/urandom\",\"/dev/random\",\"\"]\n"
		"pflashes = []\n"
		"sandbox_cgroup_only=true\n"
		"\n"
		"[factory]\n"
		"enable_template = false\n"
		"\n"
		"[agent.kata]\n"
		"dial_timeout = 45\n"
		"kernel_modules=[]\n"
		"\n"
		"[runtime]\n"
		"internetworking_model=\"tcfilter\"\n"
		"experimental=[]\n";
	struct husk_config cfg;
	struct herr err;

	log_init(2, LOG_ERROR); /* the unknown-keys warning is expected */
	config_defaults(&cfg);
	ASSERT_EQ(0, parse(text, &cfg, &err)) TH_LOG("%s", err.msg);
	EXPECT_STREQ("/usr/share/kata-containers/kata-containers.img",
		     cfg.image);
	EXPECT_EQ(NULL, cfg.initrd);
	EXPECT_STREQ("cgroup_no_v1=all", cfg.kernel_params);
	/* Kata's firmware = "": QEMU's choice, as unset. */
	EXPECT_EQ(NULL, cfg.firmware);
	EXPECT_EQ(2048U, cfg.default_memory);
	EXPECT_EQ(45U, cfg.dial_timeout);
	EXPECT_EQ(0, config_validate(&cfg, &err)) TH_LOG("%s", err.msg);
	config_free(&cfg);
}

TEST(values_of_every_form)
{
	static const struct {
		const char *text;
		long long vcpus;
	} ints[] = {
		{ "default_vcpus = 7", 7 },
		{ "default_vcpus = +7", 7 },
		{ "default_vcpus = 1_0", 10 },
		{ "default_vcpus = 0x1f", 31 },
		{ "default_vcpus = 0o17", 15 },
		{ "default_vcpus = 0b101", 5 },
		{ "default_vcpus=3#no space", 3 },
	};
	struct husk_config cfg;
	struct herr err;
	char text[128];

	for (size_t i = 0; i < ARRAY_SIZE(ints); i++) {
		config_defaults(&cfg);
		snprintf(text, sizeof(text), "[hypervisor.qemu]\n%s\n",
			 ints[i].text);
		EXPECT_EQ(0, parse(text, &cfg, &err))
		TH_LOG("%s: %s", ints[i].text, err.msg);
		EXPECT_EQ(ints[i].vcpus, (long long)cfg.default_vcpus);
		config_free(&cfg);
	}
	/* "" clears an optional path. */
	config_defaults(&cfg);
	ASSERT_EQ(0, parse("[hypervisor.qemu]\ninitrd = \"\"\n"
			   "virtio_fs_daemon = ''\n",
			   &cfg, &err));
	EXPECT_EQ(NULL, cfg.initrd);
	EXPECT_EQ(NULL, cfg.virtio_fs_daemon);
	config_free(&cfg);
	/* Literal strings keep backslashes. */
	config_defaults(&cfg);
	ASSERT_EQ(0, parse("[hypervisor.qemu]\nkernel_params = 'a\\b'\n", &cfg,
			   &err));
	EXPECT_STREQ("a\\b", cfg.kernel_params);
	config_free(&cfg);
}

/* ---- errors ------------------------------------------------------------ */

struct bad_case {
	const char *text;
	const char *msg; /* expected substring, with "t.toml:LINE:" */
};

static const struct bad_case bad_cases[] = {
	/* syntax */
	{ "x", "t.toml:1: expected '=' after key 'x'" },
	{ "a b = 1", "t.toml:1: expected '=' after key 'a'" },
	{ "= 1", "t.toml:1: expected a key or a [table], not '='" },
	{ "[runtime]\na = ", "t.toml:2: key 'runtime.a': missing value" },
	{ "a = 1 2", "t.toml:1: key 'a': unexpected '2' after the value" },
	{ "[a\n", "t.toml:1: expected '.' or ']' in a table header" },
	{ "[a.]\n", "t.toml:1: expected a key" },
	{ "[]\n", "t.toml:1: expected a key" },
	{ "[[a]]\n", "t.toml:1: arrays of tables ([[...]]) are not supported" },
	{ "[a] x\n", "t.toml:1: unexpected 'x' after a table header" },
	{ "\"q\" = 1", "t.toml:1: quoted keys are not supported" },
	{ "a.b = 1", "t.toml:1: dotted keys are not supported" },
	{ "\n\na = \"x", "t.toml:3: key 'a': unterminated string" },
	{ "a = \"x\ny\"", "t.toml:1: key 'a': unterminated string" },
	{ "a = \"\"\"x\"\"\"",
	  "t.toml:1: key 'a': multi-line strings are not supported" },
	{ "a = \"\\q\"", "t.toml:1: key 'a': unknown escape '\\q'" },
	{ "a = \"\\u12\"",
	  "t.toml:1: key 'a': bad \\u escape: needs 4 hex digits" },
	{ "a = \"\\ud800\"",
	  "t.toml:1: key 'a': invalid unicode escape U+D800" },
	{ "a = \"\\u0000\"", "t.toml:1: key 'a': \\u0000 cannot be stored" },
	{ "a = \"\x01\"",
	  "t.toml:1: key 'a': control character 0x01 in a string" },
	{ "# \x01", "t.toml:1: control character 0x01 in a comment" },
	{ "a = 1.5", "t.toml:1: key 'a': malformed number (floats and dates "
		     "are not supported)" },
	{ "a = 1e3", "t.toml:1: key 'a': malformed number" },
	{ "a = 1979-05-27", "t.toml:1: key 'a': malformed number" },
	{ "a = inf", "t.toml:1: key 'a': floats are not supported" },
	{ "a = 012", "t.toml:1: key 'a': leading zeros are not allowed" },
	{ "a = 1__2", "t.toml:1: key 'a': misplaced '_' in a number" },
	{ "a = 1_", "t.toml:1: key 'a': malformed integer" },
	{ "a = -", "t.toml:1: key 'a': malformed integer" },
	{ "a = -0x1",
	  "t.toml:1: key 'a': a sign is not allowed on 0x numbers" },
	{ "a = 9223372036854775808",
	  "t.toml:1: key 'a': integer out of range" },
	{ "a = {b = 1}", "t.toml:1: key 'a': inline tables are not supported" },
	{ "a = [[1]]", "t.toml:1: key 'a': nested arrays are not supported" },
	{ "a = [1, \"x\"]", "t.toml:1: key 'a': mixed types in an array" },
	{ "a = [1 2]", "t.toml:1: key 'a': expected ',' or ']' in an array" },
	{ "a = [1,\n2,\n", "t.toml:3: key 'a': unterminated array" },
	{ "a = tru",
	  "t.toml:1: key 'a': unexpected 't' at the start of a value" },
	{ "a = 1\na = 2", "t.toml:2: key 'a' defined twice" },
	{ "[x]\n[x]", "t.toml:2: table [x] defined twice" },
	{ "[x]\ny = 1\n[x.y]", "t.toml:3: [x.y] is already a key" },
	{ "[x.y]\n[x]\ny = 1", "t.toml:3: key 'x.y' is already a table" },
	{ "a = \"\xff\"", "t.toml:1: not valid UTF-8 (byte 0xff)" },
	{ "\n\na = \"\xc0\xaf\"", "t.toml:3: not valid UTF-8 (byte 0xc0)" },
	{ "[hypervisor.firecracker]",
	  "t.toml:1: [hypervisor.firecracker]: hypervisor \"firecracker\" is "
	  "not supported (qemu, clh)" },
	/* types and ranges of known keys */
	{ "[hypervisor.qemu]\ndefault_vcpus = \"2\"",
	  "t.toml:2: key 'hypervisor.qemu.default_vcpus': expected an integer, "
	  "got a string" },
	{ "[hypervisor.qemu]\nenable_debug = 1",
	  "t.toml:2: key 'hypervisor.qemu.enable_debug': expected a boolean, "
	  "got an integer" },
	{ "[hypervisor.qemu]\nkernel = [\"/a\"]",
	  "t.toml:2: key 'hypervisor.qemu.kernel': expected a string, got an "
	  "array" },
	{ "[hypervisor.qemu]\nkernel = \"vmlinux\"",
	  "t.toml:2: key 'hypervisor.qemu.kernel': \"vmlinux\" is not an "
	  "absolute path" },
	{ "[hypervisor.qemu]\nfirmware = \"qboot.rom\"",
	  "t.toml:2: key 'hypervisor.qemu.firmware': \"qboot.rom\" is not an "
	  "absolute path" },
	{ "[hypervisor.qemu]\npath = \"\"",
	  "t.toml:2: key 'hypervisor.qemu.path': \"\" is not an absolute "
	  "path" },
	{ "[hypervisor.qemu]\ndefault_vcpus = 0",
	  "t.toml:2: key 'hypervisor.qemu.default_vcpus': 0 is out of range "
	  "(1..255)" },
	{ "[hypervisor.qemu]\ndefault_memory = 16",
	  "t.toml:2: key 'hypervisor.qemu.default_memory': 16 is out of range "
	  "(64..1048576)" },
	{ "[hypervisor.qemu]\nmsize_9p = -1",
	  "t.toml:2: key 'hypervisor.qemu.msize_9p': -1 is out of range "
	  "(4096..1048576)" },
	{ "[hypervisor.qemu]\nmachine_type = \"virt\"",
	  "t.toml:2: key 'hypervisor.qemu.machine_type': \"virt\" is not one "
	  "of microvm, q35, pc" },
	{ "[hypervisor.qemu]\naccel = \"hvf\"",
	  "t.toml:2: key 'hypervisor.qemu.accel': \"hvf\" is not one of auto, "
	  "kvm, tcg" },
	{ "[hypervisor.qemu]\nshared_fs = \"virtio-fs-nydus\"",
	  "t.toml:2: key 'hypervisor.qemu.shared_fs': \"virtio-fs-nydus\" is "
	  "not one of virtio-9p, virtio-fs, none" },
	{ "[hypervisor.qemu]\nvirtio_fs_cache = \"metadata\"",
	  "t.toml:2: key 'hypervisor.qemu.virtio_fs_cache': \"metadata\" is "
	  "not one of auto, always, none" },
	{ "[hypervisor.qemu]\nvirtio_fs_extra_args = [1, 2]",
	  "t.toml:2: key 'hypervisor.qemu.virtio_fs_extra_args': expected an "
	  "array of strings, got an integer" },
	{ "[hypervisor.qemu]\nvirtio_fs_extra_args = \"-o flock\"",
	  "t.toml:2: key 'hypervisor.qemu.virtio_fs_extra_args': expected an "
	  "array, got a string" },
	{ "[agent.husk]\ndial_timeout = 0",
	  "t.toml:2: key 'agent.husk.dial_timeout': 0 is out of range "
	  "(1..3600)" },
	{ "[runtime]\ninternetworking_model = \"bridged\"",
	  "t.toml:2: key 'runtime.internetworking_model': \"bridged\" is not "
	  "one of tcfilter, macvtap, none" },
	{ "[runtime]\nenable_debug = \"yes\"",
	  "t.toml:2: key 'runtime.enable_debug': expected a boolean, got a "
	  "string" },
	{ "[hypervisor.qemu]\ninitrd = \"/i\"\n\nimage = \"/m\"",
	  "t.toml:4: both initrd and image are set (lines 2 and 4): choose "
	  "one" },
};

TEST(errors_name_file_line_and_key)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		struct husk_config cfg;
		struct herr err = { 0 };

		config_defaults(&cfg);
		EXPECT_EQ(-1, parse(bad_cases[i].text, &cfg, &err))
		TH_LOG("case %zu (%s) parsed", i, bad_cases[i].text);
		EXPECT_EQ(GRPC_INVALID_ARGUMENT, err.code);
		EXPECT_NE(NULL, strstr(err.msg, bad_cases[i].msg))
		TH_LOG("case %zu: want \"%s\", got \"%s\"", i, bad_cases[i].msg,
		       err.msg);
		config_free(&cfg);
	}
}

TEST(nul_byte_and_size)
{
	static const char text[] = "a = 1\nb = \"x\0y\"\n";
	struct husk_config cfg;
	struct herr err;
	char *big;

	config_defaults(&cfg);
	EXPECT_EQ(-1,
		  config_parse(text, sizeof(text) - 1, "t.toml", &cfg, &err));
	EXPECT_STREQ("t.toml:2: NUL byte in a text file", err.msg);
	big = xcalloc(1, (2 << 20) + 1);
	memset(big, '#', 2 << 20);
	EXPECT_EQ(-1, config_parse(big, 2 << 20, "big.toml", &cfg, &err));
	EXPECT_NE(NULL, strstr(err.msg, "big.toml: larger than"));
	free(big);
	config_free(&cfg);
}

TEST(validate)
{
	struct husk_config cfg;
	struct herr err;

	config_defaults(&cfg);
	free(cfg.initrd);
	cfg.initrd = NULL;
	EXPECT_EQ(-1, config_validate(&cfg, &err));
	EXPECT_STREQ("configuration: neither initrd nor image is set", err.msg);
	cfg.image = xstrdup("/x.img");
	EXPECT_EQ(-1, config_validate(&cfg, &err));
	EXPECT_STREQ("configuration: image /x.img needs machine_type q35 or pc "
		     "(microvm has no nvdimm)",
		     err.msg);
	free(cfg.machine_type);
	cfg.machine_type = xstrdup("pc");
	EXPECT_EQ(0, config_validate(&cfg, &err));
	config_free(&cfg);
}

/* ---- layering ------------------------------------------------------------ */

FIXTURE(dirs)
{
	char root[64];
	char share[96], etc[96];
};

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, text, strlen(text)) < 0)
		abort();
	close(fd);
}

FIXTURE_SETUP(dirs)
{
	char d[128];

	snprintf(self->root, sizeof(self->root), "/tmp/husk-conf-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->root));
	snprintf(self->share, sizeof(self->share), "%s/share", self->root);
	snprintf(self->etc, sizeof(self->etc), "%s/etc", self->root);
	ASSERT_EQ(0, mkdir(self->share, 0755));
	ASSERT_EQ(0, mkdir(self->etc, 0755));
	snprintf(d, sizeof(d), "%s/config.d", self->share);
	ASSERT_EQ(0, mkdir(d, 0755));
	snprintf(d, sizeof(d), "%s/config.d", self->etc);
	ASSERT_EQ(0, mkdir(d, 0755));
	log_init(2, LOG_ERROR);
}

FIXTURE_TEARDOWN(dirs)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->root);
	if (system(cmd))
		TH_LOG("could not remove %s", self->root);
}

TEST_F(dirs, nothing_there_gives_defaults)
{
	struct husk_config cfg;
	struct herr err;

	ASSERT_EQ(0, config_load_dirs(self->share, self->etc, &cfg, &err))
	TH_LOG("%s", err.msg);
	EXPECT_STREQ("", cfg.sources);
	EXPECT_EQ(256U, cfg.default_memory);
	config_free(&cfg);
}

TEST_F(dirs, precedence)
{
	struct husk_config cfg;
	struct herr err;
	char want[1024];

	put_file(self->share, "configuration.toml",
		 "[hypervisor.qemu]\ndefault_memory = 512\ndefault_vcpus = 2\n"
		 "msize_9p = 4096\nkernel_params = \"share\"\n");
	put_file(self->etc, "configuration.toml",
		 "[hypervisor.qemu]\ndefault_vcpus = 3\nkernel_params = "
		 "\"etc\"\n");
	/* Sorted by name across both dirs; etc's 20-x hides share's. */
	put_file(self->share, "config.d/20-x.toml",
		 "[hypervisor.qemu]\nkernel_params = \"share-20\"\n");
	put_file(self->etc, "config.d/20-x.toml",
		 "[hypervisor.qemu]\nmsize_9p = 16384\n");
	put_file(self->share, "config.d/10-a.toml",
		 "[hypervisor.qemu]\nkernel_params = \"share-10\"\n");
	put_file(self->etc, "config.d/30-z.toml",
		 "[agent.husk]\ndial_timeout = 9\n");
	put_file(self->etc, "config.d/README", "not toml: ignored");
	put_file(self->etc, "config.d/.hidden.toml", "garbage = ");
	ASSERT_EQ(0, config_load_dirs(self->share, self->etc, &cfg, &err))
	TH_LOG("%s", err.msg);
	EXPECT_EQ(512U, cfg.default_memory); /* share only */
	EXPECT_EQ(3U, cfg.default_vcpus); /* etc beats share */
	EXPECT_STREQ("share-10", cfg.kernel_params); /* 10-a is the last */
	EXPECT_EQ(16384U, cfg.msize_9p); /* etc/20-x, not share/20-x */
	EXPECT_EQ(9U, cfg.dial_timeout);
	snprintf(want, sizeof(want),
		 "%s/configuration.toml\n%s/configuration.toml\n"
		 "%s/config.d/10-a.toml\n%s/config.d/20-x.toml\n"
		 "%s/config.d/30-z.toml",
		 self->share, self->etc, self->share, self->etc, self->etc);
	EXPECT_STREQ(want, cfg.sources);
	config_free(&cfg);
}

TEST_F(dirs, later_file_switches_initrd_to_image)
{
	struct husk_config cfg;
	struct herr err;

	put_file(self->share, "configuration.toml",
		 "[hypervisor.qemu]\ninitrd = \"/a/initrd\"\n");
	put_file(self->etc, "configuration.toml",
		 "[hypervisor.qemu]\nimage = \"/a/image\"\nmachine_type = "
		 "\"q35\"\n");
	ASSERT_EQ(0, config_load_dirs(self->share, self->etc, &cfg, &err))
	TH_LOG("%s", err.msg);
	EXPECT_EQ(NULL, cfg.initrd);
	EXPECT_STREQ("/a/image", cfg.image);
	config_free(&cfg);
}

TEST_F(dirs, error_in_a_dropin_names_it)
{
	struct husk_config cfg;
	struct herr err;
	char want[256];

	put_file(self->etc, "config.d/50-bad.toml",
		 "[hypervisor.qemu]\n\ndefault_vcpus = true\n");
	ASSERT_EQ(-1, config_load_dirs(self->share, self->etc, &cfg, &err));
	snprintf(want, sizeof(want),
		 "%s/config.d/50-bad.toml:3: key "
		 "'hypervisor.qemu.default_vcpus': expected an integer, got a "
		 "boolean",
		 self->etc);
	EXPECT_STREQ(want, err.msg);
	config_free(&cfg);
}

TEST_F(dirs, invalid_merge_is_refused)
{
	struct husk_config cfg;
	struct herr err;

	put_file(self->etc, "configuration.toml",
		 "[hypervisor.qemu]\nimage = \"/a/image\"\n");
	ASSERT_EQ(-1, config_load_dirs(self->share, self->etc, &cfg, &err));
	EXPECT_STREQ("configuration: image /a/image needs machine_type q35 or "
		     "pc (microvm has no nvdimm)",
		     err.msg);
	config_free(&cfg);
}

TEST_F(dirs, explicit_file_and_env)
{
	struct husk_config cfg;
	struct herr err;
	char path[160], want[512];

	put_file(self->root, "mine.toml",
		 "[hypervisor.qemu]\ndefault_memory = 128\n");
	/* Drop-ins next to an explicit file apply too. */
	ASSERT_EQ(0,
		  mkdir(strcat(strcpy(path, self->root), "/config.d"), 0755));
	put_file(self->root, "config.d/1.toml",
		 "[hypervisor.qemu]\ndefault_vcpus = 2\n");
	snprintf(path, sizeof(path), "%s/mine.toml", self->root);
	ASSERT_EQ(0, config_load(path, &cfg, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(128U, cfg.default_memory);
	EXPECT_EQ(2U, cfg.default_vcpus);
	snprintf(want, sizeof(want), "%s\n%s/config.d/1.toml", path,
		 self->root);
	EXPECT_STREQ(want, cfg.sources);
	config_free(&cfg);

	setenv("HUSK_CONF_FILE", path, 1);
	ASSERT_EQ(0, config_load(NULL, &cfg, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(128U, cfg.default_memory);
	config_free(&cfg);

	snprintf(path, sizeof(path), "%s/missing.toml", self->root);
	setenv("HUSK_CONF_FILE", path, 1);
	ASSERT_EQ(-1, config_load(NULL, &cfg, &err));
	snprintf(want, sizeof(want),
		 "configuration %s: No such file or directory", path);
	EXPECT_STREQ(want, err.msg);
	config_free(&cfg);
	unsetenv("HUSK_CONF_FILE");
}

TEST_F(dirs, unreadable_is_an_error)
{
	struct husk_config cfg;
	struct herr err;
	char path[160];

	/* A directory where the file should be. */
	snprintf(path, sizeof(path), "%s/configuration.toml", self->etc);
	ASSERT_EQ(0, mkdir(path, 0755));
	ASSERT_EQ(-1, config_load_dirs(self->share, self->etc, &cfg, &err));
	EXPECT_NE(NULL, strstr(err.msg, "not a regular file"))
	TH_LOG("%s", err.msg);
	config_free(&cfg);
}

/* ---- dump ---------------------------------------------------------------- */

TEST(dump_reads_back)
{
	struct husk_config a, b;
	struct herr err;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	config_defaults(&a);
	ASSERT_EQ(0,
		  parse("[hypervisor.qemu]\nkernel_params = \"x=\\\"1\\\" \\\\ "
			"\\u0007\"\n"
			"image = \"/i\"\nmachine_type = \"pc\"\n"
			"firmware = \"/fw/bios.bin\"\n"
			"enable_debug = true\ntcg_tb_size = 0\n"
			"reclaim_guest_freed_memory = false\n"
			"[agent.husk]\ndial_timeout = 7\n"
			"[runtime]\ninternetworking_model = \"none\"\n",
			&a, &err))
	TH_LOG("%s", err.msg);
	f = open_memstream(&text, &len);
	ASSERT_NE(NULL, f);
	config_dump(&a, f);
	fclose(f);
	config_defaults(&b);
	ASSERT_EQ(0, config_parse(text, len, "dump", &b, &err))
	TH_LOG("%s\n%s", err.msg, text);
	EXPECT_STREQ(a.kernel_params, b.kernel_params);
	EXPECT_STREQ(a.image, b.image);
	EXPECT_STREQ("/fw/bios.bin", b.firmware);
	EXPECT_EQ(NULL, b.initrd);
	EXPECT_STREQ(a.machine_type, b.machine_type);
	EXPECT_EQ(a.enable_debug, b.enable_debug);
	EXPECT_EQ(7U, b.dial_timeout);
	EXPECT_STREQ("none", b.internetworking_model);
	EXPECT_EQ(a.msize_9p, b.msize_9p);
	EXPECT_EQ(0U, b.tcg_tb_size);
	EXPECT_FALSE(b.reclaim_guest_freed_memory);
	free(text);
	config_free(&a);
	config_free(&b);
}

TEST_HARNESS_MAIN
