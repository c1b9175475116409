# The host library (host/, libhusk-host.a): the configuration, the
# hypervisor drivers and host probes, the agent client and config.json's
# conversion to the agent's spec, the pod, and pod networking (a pod's
# network namespace read and carried to the VM through taps, over
# rtnetlink).  The containerd shim (mk/shim.mk) and the
# husk utility (mk/cli.mk), both included after this file, link it; so will
# the runc-compatible runtime.  Here too: its unit tests, its fuzz targets
# and the integration test that boots real VMs (tests/vm/).

# hv-qemu.c is always built (husk env shows its command line); without
# CONFIG_HV_QEMU its vm_start() refuses to run.
HOST_LIB_SRCS := host/config.c host/toml.c host/hv-probe.c host/hv-cache.c \
	host/hv-qemu.c host/kernel-note.c \
	host/agent-client.c host/spec.c host/pod.c host/pod-console.c \
	host/pod-diag.c \
	host/pod-container.c host/pod-process.c host/pod-net.c host/rootfs.c \
	host/pod-timeline.c \
	host/virtiofsd.c host/sizing.c host/pod-size.c
HOST_NET_SRCS := host/net-ns.c host/net-scan.c host/net-tap.c
HOST_LIB_SRCS += $(HOST_NET_SRCS)
# Cloud Hypervisor: the REST API client and hybrid vsock, and the driver
# on top (not packaged here, so tested against a stand-in VMM that follows
# its published API: tests/vm/clh.sh).
HOST_CLH_SRCS := host/hv-clh.c host/hv-clh-vm.c
HOST_LIB_SRCS += $(if $(filter y,$(CONFIG_HV_CLOUD_HYPERVISOR)),$(HOST_CLH_SRCS))

# Where config.c looks for its files and the guest assets.
HUSK_PREFIX_DEF := -DHUSK_PREFIX='"$(PREFIX)"'
$(call objs,host,host/config.c): CFLAGS_host += $(HUSK_PREFIX_DEF)
$(call objs,san,host/config.c): CFLAGS_san += $(HUSK_PREFIX_DEF)
$(call objs,fuzz,host/config.c): CFLAGS_fuzz += $(HUSK_PREFIX_DEF)

# Libraries its objects need, after libhusk on a link line.
HOST_LIB_LIBS := -ljson-c -lpthread

# host_lib VARIANT -> the archive; front ends link it before libhusk.
host_lib = $(call objdir,$(1))/libhusk-host.a

define host_lib_rules
$(call host_lib,$(1)): $$(call objs,$(1),$$(HOST_LIB_SRCS))
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach v,host san,$(eval $(call host_lib_rules,$(v))))

ALL_TARGETS += $(call host_lib,host)

# The front ends and tests find host/ headers by name: -Ihost.
HOST_INC := -Ihost

# Unit tests: the parser and the layering; the QEMU argv and the probes;
# the Cloud Hypervisor protocol against test servers; config.json to the
# agent's spec; the agent client against an in-process agent.
HOST_TESTS := host_config host_qemu host_spec host_agent host_net \
	host_timeline host_sizing
TEST_SRCS_host_config := host/config.c host/toml.c
TEST_SRCS_host_qemu := host/config.c host/toml.c host/hv-probe.c host/hv-cache.c \
	host/hv-qemu.c host/kernel-note.c \
	host/virtiofsd.c \
	$(filter $(HOST_CLH_SRCS),$(HOST_LIB_SRCS))
TEST_LIBS_host_qemu := -ljson-c
TEST_SRCS_host_spec := host/spec.c
TEST_LIBS_host_spec := -ljson-c
TEST_SRCS_host_sizing := host/sizing.c host/spec.c host/config.c host/toml.c
TEST_LIBS_host_sizing := -ljson-c
TEST_SRCS_host_agent := host/agent-client.c
TEST_SRCS_host_timeline := host/pod-timeline.c
# As root: namespaces, veths, taps, qdiscs and filters of its own.
TEST_SRCS_host_net := $(HOST_NET_SRCS)
TEST_LIBS_host_net := -lpthread
ifeq ($(CONFIG_HV_CLOUD_HYPERVISOR),y)
HOST_TESTS += host_clh
TEST_SRCS_host_clh := host/config.c host/toml.c host/hv-clh.c
TEST_LIBS_host_clh := -ljson-c
# What the host reads from the VMM: HTTP response heads and VmInfo.
FUZZERS += clh_api
CLH_FUZZ_BIN := $(BUILD)/fuzz/bin/clh_api
$(CLH_FUZZ_BIN): $(call objs,fuzz,host/hv-clh.c)
$(CLH_FUZZ_BIN): LDFLAGS_fuzz += $(call objs,fuzz,host/hv-clh.c)
$(CLH_FUZZ_BIN): LIBS_fuzz += -ljson-c
$(CLH_FUZZ_BIN): CFLAGS_fuzz += $(HOST_INC)
endif
UNIT_TESTS += $(HOST_TESTS)
$(foreach t,$(HOST_TESTS),$(call objdir,host)/tests/$(t)): CFLAGS_host += $(HOST_INC)
$(foreach t,$(HOST_TESTS),$(call objdir,san)/tests/$(t)): CFLAGS_san += $(HOST_INC)

# Fuzz targets: config_parse() (config_toml), and config.json, an exec's
# process JSON and Update's resources JSON through the strict converter
# (host_spec).  The generic rule links only libhusk, so each gets its
# objects through target-specific variables.
FUZZERS += config_toml host_spec
# (mk/tests.mk, which defines fuzz_bin, comes later: spell the paths out.)
CONFIG_FUZZ_SRCS := host/config.c host/toml.c
CONFIG_FUZZ_BIN := $(BUILD)/fuzz/bin/config_toml
SPEC_FUZZ_BIN := $(BUILD)/fuzz/bin/host_spec
$(CONFIG_FUZZ_BIN): $(call objs,fuzz,$(CONFIG_FUZZ_SRCS))
$(CONFIG_FUZZ_BIN): LDFLAGS_fuzz += $(call objs,fuzz,$(CONFIG_FUZZ_SRCS))
$(CONFIG_FUZZ_BIN): CFLAGS_fuzz += $(HOST_INC)
$(SPEC_FUZZ_BIN): $(call objs,fuzz,host/spec.c host/sizing.c)
$(SPEC_FUZZ_BIN): LDFLAGS_fuzz += $(call objs,fuzz,host/spec.c host/sizing.c)
$(SPEC_FUZZ_BIN): LIBS_fuzz += -ljson-c
$(SPEC_FUZZ_BIN): CFLAGS_fuzz += $(HOST_INC)

# Integration test: real VMs from images/ through a small driver program.
VM_DRIVER := $(BUILD)/host/tests/vm_driver
$(VM_DRIVER): tests/vm/vm_driver.c $(call host_lib,host) \
		$(call libhusk,host) | $(GEN_STAMP)
	@mkdir -p $(@D)
	$(CC_host) $(CFLAGS_host) $(HOST_INC) -Wno-missing-prototypes -MMD -MP \
		$< -o $@ $(LDFLAGS_host) $(call host_lib,host) \
		$(call libhusk,host) $(LIBS_host) $(HOST_LIB_LIBS)

CHECK_PROGS += tests/vm/qemu.sh
CHECK_DEPS += $(VM_DRIVER) $(BIN)/husk
# The Cloud Hypervisor driver through the same program, against the
# stand-in VMM tests/vm/fake-clh.py relaying to a host-mode agent.
ifeq ($(CONFIG_HV_CLOUD_HYPERVISOR),y)
CHECK_PROGS += tests/vm/clh.sh
CHECK_DEPS += $(BIN)/husk-agent
endif
