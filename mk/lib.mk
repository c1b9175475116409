# libhusk: the code both tiers share (error type, logging, event loop,
# ttRPC runtime, rtnetlink plumbing) plus the generated protobuf-c code.

LIB_SRCS += lib/err.c lib/log.c lib/util.c lib/evloop.c lib/path.c lib/pb.c \
	lib/netlink.c lib/proc-task.c lib/unix-sock.c

libhusk = $(call objdir,$(1))/libhusk.a

define lib_rules
$(call libhusk,$(1)): $$(call objs,$(1),$$(LIB_SRCS) $$(GEN_SRCS))
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach v,$(VARIANTS),$(eval $(call lib_rules,$(v))))

# Libraries every program links after libhusk.
LIBS_host := -lprotobuf-c
LIBS_san := -lprotobuf-c
LIBS_fuzz := -lprotobuf-c
LIBS_musl = -lprotobuf-c $(MUSL_EXTRA_LIBS)

# rtnetlink against a private network namespace (root).
UNIT_TESTS += lib_netlink

# /proc task state for the diagnostics of a hang.
UNIT_TESTS += lib_proc_task

# Listening unix sockets (shim, agent, virtiofsd, husk-runtime).
UNIT_TESTS += lib_unix_sock

ALL_TARGETS += $(call libhusk,host) $(call libhusk,musl)
