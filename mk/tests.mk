# Tests: unit tests on the kselftest harness (taken at build time from
# Debian's kernel source package), fuzz targets, benchmarks, make check.

KSFT_DIR := $(BUILD)/include
KSFT_HDR := $(KSFT_DIR)/kselftest_harness.h
KERNEL_TARBALL := /usr/src/linux-source-6.1.tar.xz

$(KSFT_HDR): | $(DEPS_STAMP)
	@mkdir -p $(@D)
	tar -xJf $(KERNEL_TARBALL) -C $(@D) --strip-components=4 \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h
	@touch $@

TEST_CFLAGS := -I$(KSFT_DIR) -Itests/unit -Iagent -Wno-missing-prototypes

# Unit tests: host (gcc) and san (clang with ASan/UBSan) builds.
# TEST_SRCS_<name>: extra sources (e.g. agent/cgroup.c) linked into one test;
# TEST_LIBS_<name>: extra libraries (e.g. -lseccomp).
unit_bin = $(call objdir,$(1))/tests/$(2)

define unit_rules
$(call unit_bin,$(1),$(2)): tests/unit/$(2).c $(call objs,$(1),$(TEST_SRCS_$(2))) $(call libhusk,$(1)) $(KSFT_HDR) | $(GEN_STAMP)
	@mkdir -p $$(@D)
	$$(CC_$(1)) $$(CFLAGS_$(1)) $(TEST_CFLAGS) -MMD -MP $$< -o $$@ \
		$(call objs,$(1),$(TEST_SRCS_$(2))) \
		$$(LDFLAGS_$(1)) $(call libhusk,$(1)) $$(LIBS_$(1)) $$(TEST_LIBS_$(2))
endef

UNIT_BINS_host = $(foreach t,$(UNIT_TESTS),$(call unit_bin,host,$(t)))
UNIT_BINS_san = $(foreach t,$(UNIT_TESTS),$(call unit_bin,san,$(t)))

# Fuzz targets.
fuzz_bin = $(BUILD)/fuzz/bin/$(1)

define fuzz_rules
$(call fuzz_bin,$(1)): tests/fuzz/$(1).c $(call libhusk,fuzz) | $(GEN_STAMP)
	@mkdir -p $$(@D)
	$$(CC_fuzz) $$(CFLAGS_fuzz) -MMD -MP $$< -o $$@ $$(LDFLAGS_fuzz) \
		$(call libhusk,fuzz) $$(LIBS_fuzz)
endef

FUZZ_SECONDS ?= 300
CHECK_FUZZ_SECONDS ?= 30
FUZZ_BINS = $(foreach f,$(FUZZERS),$(call fuzz_bin,$(f)))

# Benchmarks (host build, optimised).
bench_bin = $(BUILD)/host/bench/$(1)

define bench_rules
$(call bench_bin,$(1)): tests/bench/$(1).c $(call libhusk,host) | $(GEN_STAMP)
	@mkdir -p $$(@D)
	$$(CC_host) $$(CFLAGS_host) -MMD -MP $$< -o $$@ $$(LDFLAGS_host) \
		$(call libhusk,host) $$(LIBS_host)
endef


$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rules,host,$(t))))
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rules,san,$(t))))
$(foreach f,$(FUZZERS),$(eval $(call fuzz_rules,$(f))))
$(foreach b,$(BENCHES),$(eval $(call bench_rules,$(b))))

BENCH_BINS = $(foreach b,$(BENCHES),$(call bench_bin,$(b)))

tests: $(UNIT_BINS_host) $(UNIT_BINS_san) $(FUZZ_BINS) $(CHECK_DEPS)

# The test runner reads TAP from every program and prints the final count.
check: all tests
	BUILD=$(BUILD) CHECK_FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS) \
		tests/run.sh $(UNIT_BINS_host) $(UNIT_BINS_san) \
		$(addprefix fuzz:,$(FUZZ_BINS)) $(CHECK_PROGS)

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
		echo "fuzz: $$f for $(FUZZ_SECONDS)s"; \
		mkdir -p $(BUILD)/fuzz/corpus/$$(basename $$f) $(BUILD)/fuzz/artifacts; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/artifacts/ \
			$(BUILD)/fuzz/corpus/$$(basename $$f) \
			tests/fuzz/corpus/$$(basename $$f) || exit 1; \
	done

bench: $(BENCH_BINS)
	@for b in $(BENCH_BINS); do $$b || exit 1; done

.PHONY: tests check fuzz bench

CHECK_PROGS += tests/build/kconfig.sh
CHECK_PROGS += tests/build/install.sh
