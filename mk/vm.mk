# The shim's VM layer: the configuration file, the QEMU driver and the host
# probes (KVM that really runs guests, -sandbox, vhost-vsock, TSC).  Linked
# into the shim (mk/shim.mk) and into "husk check" / "husk env" (mk/cli.mk),
# both included after this file.

# hv-qemu.c is always built (husk env shows its command line); without
# CONFIG_HV_QEMU its vm_start() refuses to run.
SHIM_VM_SRCS := host-shim/config.c host-shim/hv-probe.c host-shim/hv-qemu.c
# Cloud Hypervisor: the REST API client and hybrid vsock (not packaged
# here, so tested against servers that follow its published API).
SHIM_VM_SRCS += $(if $(filter y,$(CONFIG_HV_CLOUD_HYPERVISOR)),host-shim/hv-clh.c)

# Where config.c looks for its files and the guest assets.
HUSK_PREFIX_DEF := -DHUSK_PREFIX='"$(PREFIX)"'
$(call objs,host,host-shim/config.c): CFLAGS_host += $(HUSK_PREFIX_DEF)
$(call objs,san,host-shim/config.c): CFLAGS_san += $(HUSK_PREFIX_DEF)
$(call objs,fuzz,host-shim/config.c): CFLAGS_fuzz += $(HUSK_PREFIX_DEF)

CLI_SRCS += cli/check.c cli/env.c $(SHIM_VM_SRCS)

# Unit tests: the parser and the layering; the QEMU argv and the probes;
# the Cloud Hypervisor protocol against test servers.
UNIT_TESTS += shim_config shim_qemu
TEST_SRCS_shim_config := host-shim/config.c
TEST_SRCS_shim_qemu := $(SHIM_VM_SRCS)
ifeq ($(CONFIG_HV_CLOUD_HYPERVISOR),y)
UNIT_TESTS += shim_clh
TEST_SRCS_shim_clh := host-shim/config.c host-shim/hv-clh.c
endif

# Fuzz config_parse(); the generic rule links only libhusk, so hand it the
# parser's object through target-specific variables.
FUZZERS += config_toml
CONFIG_FUZZ_BIN := $(BUILD)/fuzz/bin/config_toml
CONFIG_FUZZ_OBJS = $(call objs,fuzz,host-shim/config.c)
$(CONFIG_FUZZ_BIN): $(call objs,fuzz,host-shim/config.c)
$(CONFIG_FUZZ_BIN): LDFLAGS_fuzz += $(CONFIG_FUZZ_OBJS)

# Integration test: real VMs from images/ through a small driver program.
VM_DRIVER := $(BUILD)/host/tests/vm_driver
$(VM_DRIVER): tests/vm/vm_driver.c $(call objs,host,$(SHIM_VM_SRCS)) \
		$(call libhusk,host) | $(GEN_STAMP)
	@mkdir -p $(@D)
	$(CC_host) $(CFLAGS_host) -Wno-missing-prototypes -MMD -MP $< -o $@ \
		$(call objs,host,$(SHIM_VM_SRCS)) $(LDFLAGS_host) \
		$(call libhusk,host) $(LIBS_host)

CHECK_PROGS += tests/vm/qemu.sh
CHECK_DEPS += $(VM_DRIVER) $(BIN)/husk
