# husk-agent: the guest agent (agent/), one static (musl) binary with
# init/ linked in (mk/init.mk, included first, adds INIT_SRCS), plus a
# sanitizer build for the host-mode integration tests, the unit tests of
# the agent's libraries, the agent_rpc fuzz target and the agent
# benchmark.

# The RPC layer and the container library: everything but main(), so also
# linked into the fuzz target.
AGENT_CORE_SRCS := agent/agent-core.c agent/helpers.c agent/validate.c \
	agent/rpc.c agent/rpc-sandbox.c agent/rpc-container.c \
	agent/rpc-process.c agent/rpc-net.c agent/rpc-misc.c \
	agent/sandbox.c agent/container.c agent/spawn.c agent/process.c \
	agent/stdio.c agent/mounts.c agent/hooks.c agent/oom.c \
	agent/setup-diag.c agent/loop-watchdog.c

# Container privileges: cgroups, seccomp, capabilities and rlimits.
AGENT_CGROUP_SRCS := agent/cgroup.c agent/cgroup-file.c agent/cgroup-check.c \
	agent/cgroup-limits.c agent/cgroup-procs.c agent/cgroup-stats.c \
	agent/cgroup-oom.c
AGENT_PRIV_SRCS := $(AGENT_CGROUP_SRCS) agent/seccomp.c agent/caps.c

# Networking over rtnetlink (lib/netlink), storage handlers, CopyFile.
AGENT_NET_SRCS := agent/net-ip.c agent/net-link.c agent/net-addr.c \
	agent/net-interface.c agent/net-route.c agent/net-neigh.c
AGENT_STORAGE_SRCS := agent/storage.c agent/mount-options.c
AGENT_SRCS := $(AGENT_PRIV_SRCS) $(AGENT_NET_SRCS) $(AGENT_STORAGE_SRCS) \
	agent/copyfile.c

AGENT_LIB_SRCS = $(AGENT_CORE_SRCS) $(AGENT_SRCS) $(INIT_SRCS)
AGENT_ALL_SRCS = agent/main.c $(AGENT_LIB_SRCS)

# agent/main.c runs PID 1 through init's interface (init/init.h); init
# never includes the agent's headers.
$(foreach v,$(VARIANTS),$(eval \
	$(call objs,$(v),agent/main.c): private CFLAGS_$(v) += $(INIT_CFLAGS)))

AGENT_BIN := $(BIN)/husk-agent
AGENT_SAN_BIN := $(BUILD)/san/bin/husk-agent
AGENT_HOST_LIBS := -lseccomp

$(AGENT_BIN): $(call objs,musl,$(AGENT_ALL_SRCS)) $(call libhusk,musl) $(MUSL_STAMP)
	@mkdir -p $(@D)
	$(CC_musl) $(LDFLAGS_musl) -o $@ $(call objs,musl,$(AGENT_ALL_SRCS)) \
		$(call libhusk,musl) $(LIBS_musl) $(MUSL_EXTRA_LIBS)

# What goes into the guest image when size matters.
$(AGENT_BIN)-stripped: $(AGENT_BIN)
	strip -o $@ $<

$(AGENT_SAN_BIN): $(call objs,san,$(AGENT_ALL_SRCS)) $(call libhusk,san)
	@mkdir -p $(@D)
	$(CC_san) $(LDFLAGS_san) -o $@ $(call objs,san,$(AGENT_ALL_SRCS)) \
		$(call libhusk,san) $(LIBS_san) $(AGENT_HOST_LIBS)

ALL_TARGETS += $(AGENT_BIN) $(AGENT_BIN)-stripped

# Unit tests of the agent's libraries (mk/tests.mk builds them plain and
# with sanitizers); each links only the sources it tests.
UNIT_TESTS += agent_cgroup agent_seccomp agent_caps agent_network \
	agent_storage agent_copyfile
TEST_SRCS_agent_cgroup := $(AGENT_CGROUP_SRCS)
TEST_SRCS_agent_seccomp := agent/seccomp.c
TEST_LIBS_agent_seccomp := -lseccomp
TEST_SRCS_agent_caps := agent/caps.c
TEST_SRCS_agent_network := $(AGENT_NET_SRCS)
TEST_SRCS_agent_storage := $(AGENT_STORAGE_SRCS)
TEST_SRCS_agent_copyfile := agent/copyfile.c

# The fuzz target dispatches into the real method table in dry-run mode;
# the generic fuzz rule (mk/tests.mk) links only libhusk, so hand it the
# agent's objects and libraries through target-specific variables.
FUZZERS += agent_rpc
AGENT_FUZZ_BIN := $(BUILD)/fuzz/bin/agent_rpc
AGENT_FUZZ_OBJS = $(call objs,fuzz,$(AGENT_LIB_SRCS))
$(AGENT_FUZZ_BIN): $(call objs,fuzz,$(AGENT_LIB_SRCS))
$(AGENT_FUZZ_BIN): LDFLAGS_fuzz += $(AGENT_FUZZ_OBJS)
$(AGENT_FUZZ_BIN): LIBS_fuzz += $(AGENT_HOST_LIBS)
# private: not for the agent objects built as its prerequisites, where
# agent/seccomp.h would hide libseccomp's <seccomp.h>.
$(AGENT_FUZZ_BIN): private CFLAGS_fuzz += -Iagent

# Host-mode integration tests (root; each in private mount+pid namespaces).
AGENT_TEST_HELPER := $(BUILD)/host/tests/agent_malformed
$(AGENT_TEST_HELPER): tests/agent/malformed.c $(call libhusk,host) | $(GEN_STAMP)
	@mkdir -p $(@D)
	$(CC_host) $(CFLAGS_host) -Wno-missing-prototypes -MMD -MP $< -o $@ \
		$(LDFLAGS_host) $(call libhusk,host) $(LIBS_host)

CHECK_PROGS += tests/agent/lifecycle.sh tests/agent/process.sh \
	tests/agent/security.sh tests/agent/resources.sh \
	tests/agent/malformed.sh tests/agent/cycles.sh \
	tests/agent/sanitized.sh tests/agent/propagation.sh \
	tests/agent/setup-diag.sh
CHECK_DEPS += $(AGENT_BIN) $(AGENT_SAN_BIN) $(BIN)/husk $(AGENT_TEST_HELPER)

# Benchmark: size, idle RSS, lifecycle rate, ReadStdout throughput.
bench-agent: $(AGENT_BIN) $(AGENT_BIN)-stripped $(BIN)/husk
	tests/bench/agent.sh

bench: bench-agent

.PHONY: bench-agent
