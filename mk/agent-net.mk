# Guest agent: networking over plain rtnetlink, storage handlers and
# CopyFile, with their unit tests.  Included before mk/agent.mk, which links
# AGENT_SRCS into husk-agent.  No extra libraries: agent/net-*.c speak
# netlink through lib/netlink.

AGENT_NET_SRCS := agent/net-ip.c agent/net-link.c agent/net-addr.c \
	agent/net-interface.c agent/net-route.c agent/net-neigh.c

AGENT_SRCS += $(AGENT_NET_SRCS) agent/storage.c agent/mount-options.c \
	agent/copyfile.c

UNIT_TESTS += agent_network agent_storage agent_copyfile

TEST_SRCS_agent_network := $(AGENT_NET_SRCS)
TEST_SRCS_agent_storage := agent/storage.c agent/mount-options.c

TEST_SRCS_agent_copyfile := agent/copyfile.c
