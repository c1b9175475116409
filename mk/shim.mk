# containerd-shim-husk-v2: the containerd runtime v2 shim (host build), a
# front end of the host library (mk/host.mk, included before this file):
# containerd's Task service, events, start/delete, flags, metrics and the
# stdio FIFOs.  Its unit tests (socket address, flags, DeleteResponse,
# event forwarding) are here too.

SHIM_BIN := $(BIN)/containerd-shim-husk-v2
SHIM_LIBS := $(HOST_LIB_LIBS) -lnettle

# The pieces without a VM in them: also linked into the unit tests.
SHIM_CORE_SRCS := host-shim/flags.c host-shim/start.c host-shim/delete.c

SHIM_SRCS := host-shim/main.c $(SHIM_CORE_SRCS) host-shim/service.c \
	host-shim/shim-process.c \
	host-shim/stdio.c host-shim/events.c \
	host-shim/metrics.c host-shim/task.c host-shim/task-create.c \
	host-shim/task-start.c host-shim/task-delete.c host-shim/task-exec.c \
	host-shim/task-kill.c host-shim/task-io.c host-shim/task-state.c \
	host-shim/task-control.c

$(call objdir,host)/host-shim/%.o: CFLAGS_host += $(HOST_INC)
$(call objdir,san)/host-shim/%.o: CFLAGS_san += $(HOST_INC)

$(SHIM_BIN): $(call objs,host,$(SHIM_SRCS)) $(call host_lib,host) \
		$(call libhusk,host)
	@mkdir -p $(@D)
	$(CC_host) $(LDFLAGS_host) -o $@ $(call objs,host,$(SHIM_SRCS)) \
		$(call host_lib,host) $(call libhusk,host) $(LIBS_host) \
		$(SHIM_LIBS)

ALL_TARGETS += $(SHIM_BIN)

# Unit tests of the pure parts.
SHIM_TESTS := shim_start shim_delete shim_events
UNIT_TESTS += $(SHIM_TESTS)
TEST_SRCS_shim_start := host-shim/start.c host-shim/flags.c host/spec.c
TEST_LIBS_shim_start := -ljson-c -lnettle
TEST_SRCS_shim_delete := $(SHIM_CORE_SRCS) host/spec.c $(HOST_NET_SRCS)
TEST_LIBS_shim_delete := -ljson-c -lnettle -lpthread
TEST_SRCS_shim_events := host-shim/events.c
TEST_LIBS_shim_events :=
$(foreach t,$(SHIM_TESTS),$(call objdir,host)/tests/$(t)): CFLAGS_host += -Ihost-shim $(HOST_INC)
$(foreach t,$(SHIM_TESTS),$(call objdir,san)/tests/$(t)): CFLAGS_san += -Ihost-shim $(HOST_INC)

# The shim with ASan/UBSan, for running the end-to-end tests under the
# sanitizers by hand: make shim-san; HUSK_E2E_SHIM=$(BUILD)/san/bin/... .
SHIM_SAN_BIN := $(BUILD)/san/bin/containerd-shim-husk-v2
$(SHIM_SAN_BIN): $(call objs,san,$(SHIM_SRCS)) $(call host_lib,san) \
		$(call libhusk,san)
	@mkdir -p $(@D)
	$(CC_san) $(LDFLAGS_san) -o $@ $(call objs,san,$(SHIM_SRCS)) \
		$(call host_lib,san) $(call libhusk,san) $(LIBS_san) \
		$(SHIM_LIBS)

shim-san: $(SHIM_SAN_BIN)

.PHONY: shim-san

# The start action's socket: private, never stolen from a live daemon,
# replaced when stale, removed on SIGTERM (no containerd, no VM).
CHECK_PROGS += tests/e2e/shim-start.sh
CHECK_DEPS += $(SHIM_BIN)
