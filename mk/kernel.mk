# Guest kernel: Debian's linux-source-6.1 + kernel/fragments/*.config.
# kernel/build.sh caches the result by a hash of its inputs, so running it
# every time costs about a second once built.

# What "make kernel" produces, for rules that need the guest kernel.
KERNEL_IMAGES := $(IMAGES)/vmlinux-husk $(IMAGES)/vmlinuz-husk $(IMAGES)/config-husk
KERNEL_ENV = HUSK_CACHE_DIR="$${HUSK_CACHE_DIR:-$(CACHE_DIR)}"

kernel: | $(DEPS_STAMP)
	@$(KERNEL_ENV) kernel/build.sh $(IMAGES)

# Only the verified .config (to $(BUILD)/config-husk), in seconds: for
# editing fragments.
kernel-config: | $(DEPS_STAMP)
	@$(KERNEL_ENV) kernel/build.sh --config-only $(BUILD)

# Boot the images under QEMU/TCG (microvm + PVH vmlinux, q35 + bzImage).
kernel-smoke: kernel
	@kernel/smoke-boot.sh $(IMAGES)

.PHONY: kernel kernel-config kernel-smoke

# The config verifier's own tests (no kernel build needed).
CHECK_PROGS += kernel/test-check-config.sh
# build.sh's kernel/patches/ handling, on a stand-in source (no kernel build).
CHECK_PROGS += kernel/test-build-patches.sh
