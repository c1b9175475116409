# The guest's static musl build: libraries from the private sysroot
# (scripts/musl-sysroot.sh) and the check that a program linked against them
# is fully static.

# Sysroot libraries beyond libprotobuf-c, for linking the musl variant.
MUSL_EXTRA_LIBS = -lseccomp

# libhusk's rules come later (mk/lib.mk), so name the archive directly.
MUSL_LIBHUSK := $(call objdir,musl)/libhusk.a
MUSL_STATIC_TEST := $(call objdir,musl)/tests/static_link

$(MUSL_STATIC_TEST): tests/musl/static_link.c $(MUSL_LIBHUSK) $(MUSL_STAMP) \
		| $(GEN_STAMP) $(CONFIG_HEADER)
	@mkdir -p $(@D)
	$(CC_musl) $(CFLAGS_musl) -MMD -MP $< -o $@ $(LDFLAGS_musl) \
		$(MUSL_LIBHUSK) -lprotobuf-c $(MUSL_EXTRA_LIBS)

CHECK_PROGS += tests/musl/static_link.sh
CHECK_DEPS += $(MUSL_STATIC_TEST)
