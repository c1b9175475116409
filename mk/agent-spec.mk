# The agent's container privileges library: cgroups, seccomp, capabilities
# and rlimits (linked into husk-agent through AGENT_SRCS).

AGENT_CGROUP_SRCS := agent/cgroup.c agent/cgroup-file.c agent/cgroup-check.c \
	agent/cgroup-limits.c agent/cgroup-procs.c agent/cgroup-stats.c \
	agent/cgroup-oom.c

AGENT_SRCS += $(AGENT_CGROUP_SRCS) agent/seccomp.c agent/caps.c

UNIT_TESTS += agent_cgroup agent_seccomp agent_caps
TEST_SRCS_agent_cgroup := $(AGENT_CGROUP_SRCS)
TEST_SRCS_agent_seccomp := agent/seccomp.c
TEST_LIBS_agent_seccomp := -lseccomp
TEST_SRCS_agent_caps := agent/caps.c
