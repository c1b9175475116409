# Kconfig via Debian's kconfiglib: .config -> $(GEN)/husk-config.h (C) and
# $(GEN)/config.mk (make).  A missing .config starts from the defconfig.

KCONFIG := Kconfig
DEFCONFIG ?= configs/husk_defconfig
KCONFIG_RUN := KCONFIG_CONFIG=.config srctree=$(CURDIR) $(PY) -m
KCONFIG_SRCS := $(KCONFIG) $(shell find . -name Kconfig -not -path './build/*' -not -path './$(IMAGES)/*' 2>/dev/null)
CONFIG_HEADER := $(GEN)/husk-config.h

.config: | $(DEPS_STAMP)
	$(KCONFIG_RUN) defconfig --kconfig $(KCONFIG) $(DEFCONFIG)

$(GEN)/config.mk: .config $(KCONFIG_SRCS) scripts/genconfig.py | $(DEPS_STAMP)
	@mkdir -p $(@D)
	srctree=$(CURDIR) $(PY) scripts/genconfig.py $(KCONFIG) .config \
		$(CONFIG_HEADER) $@

$(CONFIG_HEADER): $(GEN)/config.mk

ifeq ($(filter $(NODEPS_GOALS) defconfig menuconfig olddefconfig savedefconfig,$(MAKECMDGOALS)),)
include $(GEN)/config.mk
endif

defconfig: | $(DEPS_STAMP)
	$(KCONFIG_RUN) defconfig --kconfig $(KCONFIG) $(DEFCONFIG)

olddefconfig: | $(DEPS_STAMP)
	$(KCONFIG_RUN) olddefconfig $(KCONFIG)

menuconfig: | $(DEPS_STAMP)
	$(KCONFIG_RUN) menuconfig $(KCONFIG)

savedefconfig: | $(DEPS_STAMP)
	$(KCONFIG_RUN) savedefconfig --kconfig $(KCONFIG) --out $(DEFCONFIG)

.PHONY: defconfig olddefconfig menuconfig savedefconfig
