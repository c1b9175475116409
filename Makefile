# husk: one entry point for building, testing and installing.
#
#   make              build everything (binaries, guest assets when enabled)
#   make deps         install build dependencies (Debian packages, musl sysroot)
#   make check        run the whole test suite; ends with "N passed, N failed"
#   make fuzz         run every fuzz target for FUZZ_SECONDS each
#   make install      DESTDIR=... PREFIX=/usr
#   make defconfig | menuconfig | olddefconfig
#
# Pieces live in mk/*.mk, one concern each.

.DEFAULT_GOAL := all
SHELL := /bin/bash
.SUFFIXES:
.DELETE_ON_ERROR:

BUILD ?= build
GEN := $(BUILD)/gen
BIN := $(BUILD)/bin
IMAGES ?= images
# Debian's kconfiglib lives in the system Python, not in a pyenv one.
PY := /usr/bin/python3
CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/husk

PREFIX ?= /usr
DESTDIR ?=

# Every fragment appends to these lists.
LIB_SRCS :=		# sources of libhusk (lib/, protos/ttrpc/), every variant
GEN_SRCS :=		# generated C sources added to libhusk
UNIT_TESTS :=		# tests/unit/<name>.c, built plain and with sanitizers
FUZZERS :=		# tests/fuzz/<name>.c, built with libFuzzer
CHECK_PROGS :=		# extra TAP-printing programs/scripts make check runs
BENCHES :=		# tests/bench/<name> programs
CHECK_DEPS :=		# what CHECK_PROGS need built first
ALL_TARGETS :=		# what plain "make" builds

include mk/deps.mk
include mk/config.mk
include mk/variants.mk
include mk/protos.mk
include mk/ttrpc.mk
-include mk/musl.mk
include mk/lib.mk
-include mk/kernel.mk
include mk/init.mk
include mk/agent.mk
include mk/host.mk
include mk/cli.mk
include mk/shim.mk
include mk/runtime.mk
-include mk/guest.mk
-include mk/boot.mk
-include mk/e2e.mk
include mk/tests.mk
include mk/install.mk
include mk/deb.mk

all: $(ALL_TARGETS)

clean:
	rm -rf $(BUILD)/host $(BUILD)/musl-obj $(BUILD)/san $(BUILD)/fuzz \
		$(BIN) $(GEN)

distclean:
	rm -rf $(BUILD) $(IMAGES) .config .config.old

.PHONY: all clean distclean

# Build everything, then run a container in a VM through containerd.
demo: all
	@BUILD=$(BUILD) IMAGES=$(IMAGES) scripts/demo.sh

.PHONY: demo
