# containerd-shim-husk-v2: the containerd runtime v2 shim (host build),
# its unit tests (spec conversion, socket address, flags, DeleteResponse,
# event forwarding, the agent client) and the fuzz target for the
# config.json parser.
# Included after mk/vm.mk, which provides the hypervisor drivers
# (SHIM_VM_SRCS: hv-qemu.c, config.c, ...).

SHIM_BIN := $(BIN)/containerd-shim-husk-v2
SHIM_LIBS := -ljson-c -lnettle

# The pieces without a VM in them: also linked into the unit tests.
SHIM_CORE_SRCS := host-shim/flags.c host-shim/start.c host-shim/delete.c \
	host-shim/spec.c

SHIM_SRCS := host-shim/main.c $(SHIM_CORE_SRCS) host-shim/service.c \
	host-shim/sandbox.c host-shim/container.c host-shim/process.c \
	host-shim/stdio.c host-shim/events.c host-shim/agent-client.c \
	host-shim/rootfs.c host-shim/metrics.c host-shim/task.c \
	host-shim/task-create.c host-shim/task-start.c \
	host-shim/task-delete.c host-shim/task-exec.c host-shim/task-kill.c \
	host-shim/task-io.c host-shim/task-state.c host-shim/task-control.c

SHIM_ALL_SRCS = $(SHIM_SRCS) $(SHIM_VM_SRCS)

$(SHIM_BIN): $(call objs,host,$(SHIM_ALL_SRCS)) $(call libhusk,host)
	@mkdir -p $(@D)
	$(CC_host) $(LDFLAGS_host) -o $@ $(call objs,host,$(SHIM_ALL_SRCS)) \
		$(call libhusk,host) $(LIBS_host) $(SHIM_LIBS)

# The daemon needs the hypervisor drivers; until mk/vm.mk lists them only
# the objects and the unit tests are built.
ifneq ($(strip $(SHIM_VM_SRCS)),)
ALL_TARGETS += $(SHIM_BIN)
else
ALL_TARGETS += $(call objs,host,$(SHIM_SRCS))
endif

# Unit tests of the pure parts.
UNIT_TESTS += shim_spec shim_start shim_delete shim_events shim_agent
TEST_SRCS_shim_spec := host-shim/spec.c
TEST_LIBS_shim_spec := -ljson-c
TEST_SRCS_shim_start := host-shim/start.c host-shim/flags.c host-shim/spec.c
TEST_LIBS_shim_start := -ljson-c -lnettle
TEST_SRCS_shim_delete := $(SHIM_CORE_SRCS)
TEST_LIBS_shim_delete := -ljson-c -lnettle
TEST_SRCS_shim_events := host-shim/events.c
TEST_LIBS_shim_events :=
TEST_SRCS_shim_agent := host-shim/agent-client.c
SHIM_TESTS := shim_spec shim_start shim_delete shim_events shim_agent
$(foreach t,$(SHIM_TESTS),$(call objdir,host)/tests/$(t)): CFLAGS_host += -Ihost-shim
$(foreach t,$(SHIM_TESTS),$(call objdir,san)/tests/$(t)): CFLAGS_san += -Ihost-shim

# Fuzz target: config.json, an exec's process JSON and Update's
# resources JSON through the strict converter.
FUZZERS += shim_spec
SHIM_FUZZ_BIN := $(BUILD)/fuzz/bin/shim_spec
SHIM_FUZZ_OBJS = $(call objs,fuzz,host-shim/spec.c)
$(SHIM_FUZZ_BIN): $(call objs,fuzz,host-shim/spec.c)
$(SHIM_FUZZ_BIN): LDFLAGS_fuzz += $(SHIM_FUZZ_OBJS)
$(SHIM_FUZZ_BIN): LIBS_fuzz += -ljson-c
$(SHIM_FUZZ_BIN): CFLAGS_fuzz += -Ihost-shim

# The shim with ASan/UBSan, for running the end-to-end tests under the
# sanitizers by hand: make shim-san; HUSK_E2E_SHIM=$(BUILD)/san/bin/... .
SHIM_SAN_BIN := $(BUILD)/san/bin/containerd-shim-husk-v2
$(SHIM_SAN_BIN): $(call objs,san,$(SHIM_ALL_SRCS)) $(call libhusk,san)
	@mkdir -p $(@D)
	$(CC_san) $(LDFLAGS_san) -o $@ $(call objs,san,$(SHIM_ALL_SRCS)) \
		$(call libhusk,san) $(LIBS_san) $(SHIM_LIBS)

shim-san: $(SHIM_SAN_BIN)

.PHONY: shim-san
