# init/: the PID-1 duties linked into husk-agent (mounts, kernel cmdline,
# loopback, free page reporting, the agent channel, debug console,
# shutdown, the start timeline under agent.log=debug), with unit tests:
# the cmdline table, port discovery against a fake sysfs tree, the serial
# framing, lo in a private network namespace, the page reporting order
# against a stand-in parameter file, and the timeline's debug line.
# Included before mk/agent.mk, which links INIT_SRCS into husk-agent.

INIT_SRCS := init/init.c init/mounts.c init/cmdline.c init/channel.c \
	init/console.c init/shutdown.c init/loopback.c init/reporting.c \
	init/timeline.c

INIT_TESTS := init_cmdline init_channel init_loopback init_reporting \
	init_timeline
UNIT_TESTS += $(INIT_TESTS)

TEST_SRCS_init_cmdline := init/cmdline.c
TEST_SRCS_init_channel := init/channel.c init/shutdown.c init/timeline.c
TEST_SRCS_init_loopback := init/loopback.c
TEST_SRCS_init_reporting := init/reporting.c
TEST_SRCS_init_timeline := init/timeline.c

# init's interface is init/init.h, found by -Iinit (no ../ includes): by
# init's own files, agent/main.c (mk/agent.mk) and the init unit tests.
INIT_CFLAGS := -Iinit
$(foreach v,host san,$(foreach t,$(INIT_TESTS),$(eval \
	$(call objdir,$(v))/tests/$(t): private CFLAGS_$(v) += $(INIT_CFLAGS))))
