# husk-runtime: the runc-compatible front end (cli/runtime-*.c) for Docker
# and Podman, linking the host library (mk/host.mk, included before this
# file).  Its unit test covers the command line and the state JSON; the
# integration tests drive it on OCI bundles (tests/runtime/cli.sh) and
# under private dockerd and podman instances (tests/runtime/docker.sh,
# podman.sh).

RUNTIME_SRCS := cli/runtime-main.c cli/runtime-args.c cli/runtime-state.c \
	cli/runtime-ctl.c cli/runtime-monitor.c cli/runtime-cgroup.c \
	cli/runtime-hooks.c

$(BIN)/husk-runtime: $(call objs,host,$(RUNTIME_SRCS)) $(call host_lib,host) \
		$(call libhusk,host)
	@mkdir -p $(@D)
	$(CC_host) $(LDFLAGS_host) -o $@ $(call objs,host,$(RUNTIME_SRCS)) \
		$(call host_lib,host) $(call libhusk,host) $(LIBS_host) \
		$(HOST_LIB_LIBS) -lutil

ALL_TARGETS += $(BIN)/husk-runtime

UNIT_TESTS += runtime_args
TEST_SRCS_runtime_args := cli/runtime-args.c cli/runtime-state.c \
	cli/runtime-cgroup.c
TEST_LIBS_runtime_args := -ljson-c
$(call objdir,host)/tests/runtime_args: CFLAGS_host += $(HOST_INC) -Icli
$(call objdir,san)/tests/runtime_args: CFLAGS_san += $(HOST_INC) -Icli

CHECK_PROGS += tests/runtime/cli.sh tests/runtime/hooks.sh tests/runtime/docker.sh \
	tests/runtime/podman.sh
CHECK_DEPS += $(BIN)/husk-runtime

# make bench-oci: docker run --rm ... true and podman run --rm ... true,
# husk-runtime against runc.
bench-oci: $(BIN)/husk-runtime $(BOOT_KERNEL) $(INITRD_IMAGE)
	BUILD=$(BUILD) IMAGES=$(IMAGES) tests/bench/oci.sh

bench: bench-oci

.PHONY: bench-oci
