# husk: the administrative utility (host build).  "husk ctl" drives any
# agent by hand and from the integration tests.

CLI_SRCS += cli/main.c cli/ctl.c cli/ctl-spec.c

$(BIN)/husk: $(call objs,host,$(CLI_SRCS)) $(call libhusk,host)
	@mkdir -p $(@D)
	$(CC_host) $(LDFLAGS_host) -o $@ $(call objs,host,$(CLI_SRCS)) \
		$(call libhusk,host) $(LIBS_host)

ALL_TARGETS += $(BIN)/husk
