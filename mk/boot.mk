# Boot tests and the boot benchmark: husk's kernel with the initrd, the
# DAX image on an nvdimm and the image on virtio-blk, each driven end to
# end over virtio-serial with husk ctl (tests/boot/), the initrd again
# with virtio-fs through Debian's virtiofsd, and the bad boots.
# Plain "make" builds the guest assets too; the kernel is cached by
# kernel/build.sh, so that is cheap after the first build.

TRIVIAL_INIT := $(BUILD)/tests/boot/trivial-init
TRIVIAL_INITRD := $(BUILD)/tests/boot/trivial-initrd.img

# The floor of the benchmark and the KVM probe: static, powers off at once.
$(TRIVIAL_INIT): tests/boot/trivial-init.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	musl-gcc -static -Os -Wall -Wextra -Werror -o $@ $<

# File operations busybox lacks (mmap, fsync), run in the virtio-fs test's
# container.
FSOPS := $(BUILD)/tests/boot/fsops
$(FSOPS): tests/boot/fsops.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	musl-gcc -static -Os -Wall -Wextra -Werror -o $@ $<

$(TRIVIAL_INITRD): $(TRIVIAL_INIT) $(GUEST_BUILDER) | $(DEPS_STAMP)
	rootfs-builder/mkinitrd.sh $(TRIVIAL_INIT) $@

# mk/kernel.mk's "kernel" is phony (build.sh decides what is stale).
BOOT_KERNEL := $(if $(KERNEL_IMAGES),kernel)
BOOT_ASSETS := $(BOOT_KERNEL) $(INITRD_IMAGE) $(ROOTFS_IMAGE)

ALL_TARGETS += $(BOOT_ASSETS)

CHECK_PROGS += tests/boot/initrd.sh tests/boot/dax.sh \
	tests/boot/virtio-blk.sh tests/boot/bad-cases.sh \
	tests/boot/reproducible.sh tests/boot/virtiofs.sh tests/boot/smp.sh
CHECK_DEPS += $(BOOT_ASSETS) $(BIN)/husk $(BIN)/husk-agent-stripped \
	$(TRIVIAL_INITRD) $(FSOPS)

# Boot to agent ready against the floor and Debian's kernel, sizes, memory.
bench-boot: $(BOOT_ASSETS) $(BIN)/husk $(TRIVIAL_INITRD)
	BUILD=$(BUILD) IMAGES=$(IMAGES) CACHE_DIR=$(CACHE_DIR) tests/bench/boot.sh

bench: bench-boot

.PHONY: bench-boot
