// SPDX-License-Identifier: Apache-2.0
/*
 * init/cmdline.c: the kernel command line as the guest's PID 1 reads it.
 * One table of lines and what they must leave in struct init_config,
 * including the values that must be refused (warned about, default kept).
 */
#include <string.h>

#include "init.h"
#include "log.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

struct want {
	const char *line;
	int skipped;
	int log_level;
	bool quiet;
	bool debug_console;
	uint32_t debug_console_vport;
	bool vsock_only;
	uint32_t vsock_port;
	uint32_t pipe_size;
	uint32_t hotplug_timeout_s;
	const char *channel;
	uint32_t channel_timeout_s;
};

/* Every entry starts from the defaults and overrides what it sets. */
#ifdef __clang__
#pragma clang diagnostic ignored "-Winitializer-overrides"
#else
#pragma GCC diagnostic ignored "-Woverride-init"
#endif

#define D .log_level = -1, .vsock_port = 1024, .hotplug_timeout_s = 3, \
	  .channel = "agent.channel.0", .channel_timeout_s = 10

static const struct want lines[] = {
	{ "", 0, D },
	{ "console=ttyS0 quiet panic=-1 root=/dev/pmem0p1", 0, D,
	  .quiet = true },
	/* Only the bare word is the kernel's quiet. */
	{ "quiet=1 xquiet", 0, D },
	/* What Kata's QEMU runtime passes (protocols.md 6.5). */
	{ "tsc=reliable no_timer_check rcupdate.rcu_expedited=1 reboot=k "
	  "console=hvc0 console=hvc1 quiet panic=1 nr_cpus=1 selinux=0 "
	  "agent.log=debug agent.debug_console agent.debug_console_vport=1026 "
	  "agent.container_pipe_size=1048576 cgroup_no_v1=all "
	  "systemd.unified_cgroup_hierarchy=1",
	  0, D, .log_level = LOG_DEBUG, .quiet = true, .debug_console = true,
	  .debug_console_vport = 1026, .pipe_size = 1048576 },
	{ "agent.log=warn", 0, D, .log_level = LOG_WARN },
	{ "agent.log=trace", 0, D, .log_level = LOG_DEBUG },
	{ "agent.log=loud", 1, D },
	{ "agent.log", 1, D },
	{ "agent.debug_console=false", 0, D },
	{ "agent.debug_console=true", 0, D, .debug_console = true },
	{ "agent.debug_console=maybe", 1, D },
	{ "agent.server_addr=vsock://-1:1024", 0, D, .vsock_only = true },
	{ "agent.server_addr=vsock://3:2048", 0, D, .vsock_only = true,
	  .vsock_port = 2048 },
	{ "agent.server_addr=vsock://-1:0", 1, D },
	{ "agent.server_addr=vsock://-1:", 1, D },
	{ "agent.server_addr=unix:///run/agent.sock", 1, D },
	{ "agent.container_pipe_size=-1", 1, D },
	{ "agent.container_pipe_size=99999999999", 1, D },
	{ "agent.container_pipe_size=12ab", 1, D },
	{ "agent.hotplug_timeout=10", 0, D, .hotplug_timeout_s = 10 },
	{ "agent.hotplug_timeout=0", 1, D },
	{ "agent.hotplug_timeout=3601", 1, D },
	{ "husk.channel=my.port husk.channel_timeout=3", 0, D,
	  .channel = "my.port", .channel_timeout_s = 3 },
	{ "husk.channel=../../etc/passwd", 1, D },
	{ "husk.channel=", 1, D },
	{ "husk.channel=a-name-that-is-far-too-long-for-a-virtio-serial-port-name-buffer",
	  1, D },
	/* Quotes group words and are dropped, as the kernel does. */
	{ "husk.channel=\"agent.channel.1\"", 0, D,
	  .channel = "agent.channel.1" },
	{ "agent.log=\"info\" agent.log=error", 0, D, .log_level = LOG_ERROR },
	/* Known Kata keys husk has no use for: accepted quietly. */
	{ "agent.log_vport=1025 agent.trace=true agent.devmode", 0, D },
	{ "agent.nosuchthing=1 husk.nosuchthing", 2, D },
	/* Later wins; whitespace of any kind separates. */
	{ "\tagent.log=info\n agent.log=debug  ", 0, D, .log_level = LOG_DEBUG },
	/* Not ours: a dot elsewhere, or a prefix that only looks alike. */
	{ "agentlog=debug xhusk.channel=x agent_log=debug", 0, D },
};

TEST(table)
{
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		const struct want *w = &lines[i];
		struct init_config c;
		int skipped;

		init_config_defaults(&c);
		skipped = init_cmdline_parse(w->line, &c);
		TH_LOG("line %zu: \"%s\"", i, w->line);
		EXPECT_EQ(w->skipped, skipped);
		EXPECT_EQ(w->log_level, c.log_level);
		EXPECT_EQ(w->quiet, c.quiet);
		EXPECT_EQ(w->debug_console, c.debug_console);
		EXPECT_EQ(w->debug_console_vport, c.debug_console_vport);
		EXPECT_EQ(w->vsock_only, c.vsock_only);
		EXPECT_EQ(w->vsock_port, c.vsock_port);
		EXPECT_EQ(w->pipe_size, c.container_pipe_size);
		EXPECT_EQ(w->hotplug_timeout_s, c.hotplug_timeout_s);
		EXPECT_STREQ(w->channel, c.channel);
		EXPECT_EQ(w->channel_timeout_s, c.channel_timeout_s);
	}
}

/* agent.log wins; else "quiet" lowers the default to warnings, never raises. */
TEST(log_level)
{
	struct init_config c;

	init_config_defaults(&c);
	EXPECT_EQ(LOG_INFO, init_log_level(&c, LOG_INFO));
	init_cmdline_parse("console=ttyS0 quiet panic=-1", &c);
	EXPECT_EQ(LOG_WARN, init_log_level(&c, LOG_INFO));
	EXPECT_EQ(LOG_WARN, init_log_level(&c, LOG_DEBUG));
	EXPECT_EQ(LOG_ERROR, init_log_level(&c, LOG_ERROR));
	init_cmdline_parse("quiet agent.log=debug", &c);
	EXPECT_EQ(LOG_DEBUG, init_log_level(&c, LOG_INFO));
	init_config_defaults(&c);
	init_cmdline_parse("agent.log=info quiet", &c);
	EXPECT_EQ(LOG_INFO, init_log_level(&c, LOG_WARN));
}

/* A word longer than the parser's buffer is skipped, not cut short. */
TEST(long_word)
{
	char line[2048];
	struct init_config c;

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "husk.channel=", 13);
	init_config_defaults(&c);
	EXPECT_EQ(1, init_cmdline_parse(line, &c));
	EXPECT_STREQ("agent.channel.0", c.channel);

	memcpy(line, "some.kernel=1", 13);
	init_config_defaults(&c);
	EXPECT_EQ(0, init_cmdline_parse(line, &c));
}

/* An unterminated quote runs to the end of the line, as in the kernel. */
TEST(open_quote)
{
	struct init_config c;

	init_config_defaults(&c);
	/* "debug quiet" is no level: refused. */
	EXPECT_EQ(1, init_cmdline_parse("agent.log=\"debug quiet", &c));
	EXPECT_EQ(-1, c.log_level);
	init_config_defaults(&c);
	EXPECT_EQ(0, init_cmdline_parse("quiet \"agent.log=debug", &c));
	EXPECT_EQ(LOG_DEBUG, c.log_level);
}

TEST_HARNESS_MAIN
