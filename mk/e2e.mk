# End-to-end tests of the shim under a private containerd (tests/e2e/),
# and the benchmarks (tests/bench/shim.sh, tests/bench/fs.sh).  Each test starts its own
# containerd, builds a busybox image with tar/gzip/sha256sum, boots real
# VMs from images/ and checks that nothing is left behind.

E2E_DEPS := $(BIN)/containerd-shim-husk-v2 $(BOOT_KERNEL) $(INITRD_IMAGE)

# boot-async.sh talks to the shim directly while containerd's Create
# waits (containerd lists a task only once Create returned).
SHIM_CALL := $(BUILD)/host/tests/shim_call
$(SHIM_CALL): tests/e2e/shim_call.c $(call libhusk,host) | $(GEN_STAMP)
	@mkdir -p $(@D)
	$(CC_host) $(CFLAGS_host) -Wno-missing-prototypes -MMD -MP $< -o $@ \
		$(LDFLAGS_host) $(call libhusk,host) $(LIBS_host)

# Every test runs with virtio-fs (the default); run-9p.sh runs run.sh again
# with 9p; fs.sh is virtio-fs's files, propagation and faults on microvm,
# fs-q35.sh the same on q35 (their mmap and fsync helper is the boot
# test's fsops).
CHECK_PROGS += tests/e2e/run.sh tests/e2e/lifecycle.sh tests/e2e/failures.sh \
	tests/e2e/cri.sh tests/e2e/cri-net.sh tests/e2e/run-9p.sh tests/e2e/fs.sh \
	tests/e2e/fs-q35.sh tests/e2e/boot-async.sh
# A CreateContainer hung on a stopped virtiofsd explains itself (2 min).
CHECK_PROGS += tests/e2e/hang-diag.sh
# A 1-vCPU guest's barriers order against host threads (virtqueues): a
# store-buffering litmus test between a container and the VM's RAM.
SBGUEST := $(BUILD)/tests/e2e/sbguest
SBHOST := $(BUILD)/tests/e2e/sbhost
$(SBGUEST): tests/e2e/sbguest.c tests/e2e/sb-page.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	musl-gcc -static -O2 -Wall -Wextra -Werror -o $@ $<
$(SBHOST): tests/e2e/sbhost.c tests/e2e/sb-page.h
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $<
CHECK_PROGS += tests/e2e/mb-order.sh
CHECK_DEPS += $(SBGUEST) $(SBHOST)
CHECK_DEPS += $(E2E_DEPS) $(FSOPS) $(SHIM_CALL)
# The shim with hypervisor "clh" against the stand-in VMM (no guest assets:
# its guest is husk-agent in host mode).
ifeq ($(CONFIG_HV_CLOUD_HYPERVISOR),y)
CHECK_PROGS += tests/e2e/clh.sh
CHECK_DEPS += $(BIN)/husk-agent
endif

bench-shim: $(E2E_DEPS)
	BUILD=$(BUILD) IMAGES=$(IMAGES) tests/bench/shim.sh

# virtio-fs against 9p against runc on overlayfs (tests/bench/fs.sh).
bench-fs: $(E2E_DEPS) $(FSOPS)
	BUILD=$(BUILD) IMAGES=$(IMAGES) tests/bench/fs.sh

# Pod networking: husk pod vs runc pod on one CNI bridge (iperf3, ping).
bench-net: $(E2E_DEPS)
	BUILD=$(BUILD) IMAGES=$(IMAGES) tests/bench/net.sh

# Start phases (the shim's start timeline), 1/5/10 pods at once, host
# memory per idle pod (tests/bench/start.sh).
bench-start: $(E2E_DEPS) $(BIN)/husk $(ROOTFS_IMAGE) $(TRIVIAL_INIT) $(TRIVIAL_INITRD)
	BUILD=$(BUILD) IMAGES=$(IMAGES) tests/bench/start.sh

# Not in make check: SOAK_RUNS ctr run --rm cycles and SOAK_PODS CRI pod
# cycles, failures, p50/p99, growth of fds, mounts, taps, cgroups, processes.
soak: $(E2E_DEPS)
	BUILD=$(BUILD) IMAGES=$(IMAGES) tests/bench/soak.sh

# The timeline parser of bench-start on sample lines (no VM).
CHECK_PROGS += tests/bench/start-lib-test.sh

bench: bench-shim bench-fs bench-net bench-start

.PHONY: bench-shim bench-fs bench-net bench-start soak

# VM sizing from the containers' limits at boot (tests/e2e/resources.sh)
# and grown by hotplug on q35 through CRI (tests/e2e/resize.sh); memhog
# allocates and touches memory in a container (busybox has no such tool).
MEMHOG := $(BUILD)/tests/e2e/memhog
$(MEMHOG): tests/e2e/memhog.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	musl-gcc -static -Os -Wall -Wextra -Werror -o $@ $<
CHECK_PROGS += tests/e2e/resources.sh tests/e2e/resize.sh
CHECK_DEPS += $(MEMHOG)

# Growing a running q35 VM by 512 MiB and by one vCPU (tests/bench/resources.sh).
bench-resources: $(E2E_DEPS) $(MEMHOG)
	BUILD=$(BUILD) IMAGES=$(IMAGES) tests/bench/resources.sh

.PHONY: bench-resources
