# husk: the administrative utility (host build).  "husk check" and "husk
# env" use the host library's configuration and hypervisor probes (mk/host.mk,
# included before this file); "husk ctl" drives any agent by hand and from
# the integration tests.

CLI_SRCS := cli/main.c cli/ctl.c cli/ctl-spec.c cli/check.c cli/env.c

$(call objdir,host)/cli/%.o: CFLAGS_host += $(HOST_INC)

$(BIN)/husk: $(call objs,host,$(CLI_SRCS)) $(call host_lib,host) \
		$(call libhusk,host)
	@mkdir -p $(@D)
	$(CC_host) $(LDFLAGS_host) -o $@ $(call objs,host,$(CLI_SRCS)) \
		$(call host_lib,host) $(call libhusk,host) $(LIBS_host) \
		$(HOST_LIB_LIBS)

ALL_TARGETS += $(BIN)/husk
