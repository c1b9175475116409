# Guest agent: networking over plain rtnetlink, storage handlers and
# CopyFile, with their unit tests.  Included before mk/agent.mk, which links
# AGENT_SRCS into husk-agent.  No extra libraries: network.c speaks netlink
# itself.

AGENT_SRCS += agent/network.c agent/storage.c agent/mount-options.c \
	agent/copyfile.c

UNIT_TESTS += agent_network agent_storage agent_copyfile

TEST_SRCS_agent_network := agent/network.c
TEST_SRCS_agent_storage := agent/storage.c agent/mount-options.c

TEST_SRCS_agent_copyfile := agent/copyfile.c
