# Build dependencies: Debian packages (scripts/deps.sh) and a private musl
# sysroot with protobuf-c and libseccomp built from Debian's source packages
# (scripts/musl-sysroot.sh), so the guest agent links fully static.

DEPS_STAMP := $(BUILD)/.deps-installed
MUSL_SYSROOT := $(BUILD)/musl/sysroot
MUSL_STAMP := $(MUSL_SYSROOT)/.complete

# Targets that must not pull in dependencies or configuration first.
NODEPS_GOALS := clean distclean help

$(DEPS_STAMP): scripts/deps.sh
	sh scripts/deps.sh
	@mkdir -p $(@D) && touch $@

$(MUSL_STAMP): scripts/musl-sysroot.sh | $(DEPS_STAMP)
	sh scripts/musl-sysroot.sh $(MUSL_SYSROOT)

deps:
	sh scripts/deps.sh
	@mkdir -p $(BUILD) && touch $(DEPS_STAMP)
	$(MAKE) --no-print-directory $(MUSL_STAMP)

.PHONY: deps
