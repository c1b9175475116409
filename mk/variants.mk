# Build variants.  Each compiles the same sources into its own tree:
#   host  gcc + glibc: the shim, the CLI, tests          $(BUILD)/host
#   musl  musl-gcc, fully static: the guest agent         $(BUILD)/musl-obj
#   san   clang, AddressSanitizer + UBSan: tests          $(BUILD)/san
#   fuzz  clang, libFuzzer + ASan + UBSan: fuzz targets   $(BUILD)/fuzz

VARIANTS := host musl san fuzz

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
	-Wmissing-prototypes -Wstrict-prototypes
COMMON_CFLAGS := -std=gnu11 -g -D_GNU_SOURCE -Ilib -Iprotos -I$(GEN) \
	-I$(GEN)/protos -include $(CONFIG_HEADER) $(WARN)

CC_host := gcc
CFLAGS_host := $(COMMON_CFLAGS) -O2 -fstack-protector-strong \
	-D_FORTIFY_SOURCE=2
LDFLAGS_host :=

CC_musl := musl-gcc
CFLAGS_musl := $(COMMON_CFLAGS) -Os -isystem $(MUSL_SYSROOT)/include \
	-ffunction-sections -fdata-sections
LDFLAGS_musl := -static -L$(MUSL_SYSROOT)/lib -Wl,--gc-sections

SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
CC_san := clang
CFLAGS_san := $(COMMON_CFLAGS) -O1 $(SAN)
LDFLAGS_san := $(SAN)

FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer
CC_fuzz := clang
CFLAGS_fuzz := $(COMMON_CFLAGS) -O1 $(FUZZ_SAN) -DHUSK_FUZZING
LDFLAGS_fuzz := -fsanitize=fuzzer,address,undefined

objdir = $(BUILD)/$(if $(filter musl,$(1)),musl-obj,$(1))
# objs VARIANT, SOURCES -> object paths
objs = $(patsubst %.c,$(call objdir,$(1))/%.o,$(2))

GEN_STAMP := $(GEN)/protos/.stamp

define variant_rules
$(call objdir,$(1))/%.o: %.c | $(GEN_STAMP) $(CONFIG_HEADER) $(if $(filter musl,$(1)),$(MUSL_STAMP))
	@mkdir -p $$(@D)
	$$(CC_$(1)) $$(CFLAGS_$(1)) -MMD -MP -c $$< -o $$@
endef
$(foreach v,$(VARIANTS),$(eval $(call variant_rules,$(v))))

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
