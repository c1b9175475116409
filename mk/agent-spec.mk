# The agent's container privileges library: cgroups, seccomp, capabilities
# and rlimits (linked into husk-agent through AGENT_SRCS).

AGENT_SRCS += agent/cgroup.c agent/seccomp.c agent/caps.c

UNIT_TESTS += agent_cgroup agent_seccomp agent_caps
TEST_SRCS_agent_cgroup := agent/cgroup.c
TEST_SRCS_agent_seccomp := agent/seccomp.c
TEST_LIBS_agent_seccomp := -lseccomp
TEST_SRCS_agent_caps := agent/caps.c
