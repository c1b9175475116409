# End-to-end tests of the shim under a private containerd (tests/e2e/),
# and the shim benchmark (tests/bench/shim.sh).  Each test starts its own
# containerd, builds a busybox image with tar/gzip/sha256sum, boots real
# VMs from images/ and checks that nothing is left behind.

E2E_DEPS := $(BIN)/containerd-shim-husk-v2 $(BOOT_KERNEL) $(INITRD_IMAGE)

CHECK_PROGS += tests/e2e/run.sh tests/e2e/lifecycle.sh tests/e2e/failures.sh \
	tests/e2e/cri.sh tests/e2e/cri-net.sh
CHECK_DEPS += $(E2E_DEPS)

bench-shim: $(E2E_DEPS)
	BUILD=$(BUILD) IMAGES=$(IMAGES) tests/bench/shim.sh

# Pod networking: husk pod vs runc pod on one CNI bridge (iperf3, ping).
bench-net: $(E2E_DEPS)
	BUILD=$(BUILD) IMAGES=$(IMAGES) tests/bench/net.sh

bench: bench-shim bench-net

.PHONY: bench-shim bench-net
