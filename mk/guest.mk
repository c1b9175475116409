# Guest assets from rootfs-builder/: the initramfs (husk-agent as /init)
# and the rootfs image for an NVDIMM DAX or virtio-blk root (husk-agent as
# /sbin/init).  Both are reproducible: SOURCE_DATE_EPOCH (default: the last
# commit's time) fixes every timestamp.  CONFIG_DEBUG_CONSOLE adds busybox.
# HUSK_AGENT_BIN overrides the init put in them (tests use a stand-in);
# by default it is the stripped agent: debug info has no use in a guest.

HUSK_AGENT_BIN ?= $(BIN)/husk-agent-stripped
INITRD_IMAGE := $(IMAGES)/husk-initrd.img
ROOTFS_IMAGE := $(IMAGES)/husk-rootfs.img
GUEST_BUILDER := $(filter-out %.md,$(wildcard rootfs-builder/*))
GUEST_BUSYBOX := $(if $(filter y,$(CONFIG_DEBUG_CONSOLE)),--busybox)

$(INITRD_IMAGE): $(HUSK_AGENT_BIN) $(GUEST_BUILDER) $(GEN)/config.mk | $(DEPS_STAMP)
	@mkdir -p $(@D)
	rootfs-builder/mkinitrd.sh $(GUEST_BUSYBOX) $(HUSK_AGENT_BIN) $@

$(ROOTFS_IMAGE): $(HUSK_AGENT_BIN) $(GUEST_BUILDER) $(GEN)/config.mk | $(DEPS_STAMP)
	@mkdir -p $(@D)
	rootfs-builder/mkimage.sh $(GUEST_BUSYBOX) $(HUSK_AGENT_BIN) $@

initrd: $(INITRD_IMAGE)
image: $(ROOTFS_IMAGE)

.PHONY: initrd image

CHECK_PROGS += tests/guest/reproducible.sh tests/guest/boot-smoke.sh
