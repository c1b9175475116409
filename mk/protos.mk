# Schemas in protos/ compiled to C with protoc-c into $(GEN)/protos.
# The well-known types (empty, any, timestamp) come from Debian's
# protobuf-compiler (/usr/include/google/protobuf).

WKT_PROTOS := google/protobuf/empty.proto google/protobuf/any.proto \
	google/protobuf/timestamp.proto
# Paths relative to protos/.  Keep in dependency order only for reading.
PROTOS := ttrpc.proto google/rpc/status.proto

-include mk/protos-list.mk

# oci.proto has a field named Linux, which protoc-c turns into the member
# `linux`; GNU C predefines that name as 1.  Any file may include the
# generated headers, so undefine it for every build variant.
$(foreach v,$(VARIANTS),$(eval CFLAGS_$(v) += -Ulinux))

PROTO_FILES = $(addprefix protos/,$(PROTOS))
GEN_SRCS += $(patsubst %.proto,$(GEN)/protos/%.pb-c.c,$(WKT_PROTOS) $(PROTOS))

$(GEN_STAMP): $(PROTO_FILES) mk/protos.mk $(wildcard mk/protos-list.mk) | $(DEPS_STAMP)
	rm -rf $(GEN)/protos && mkdir -p $(GEN)/protos
	protoc-c --proto_path=protos --proto_path=/usr/include \
		--c_out=$(GEN)/protos $(addprefix /usr/include/,$(WKT_PROTOS)) \
		$(PROTO_FILES)
	@touch $@

$(patsubst %.proto,$(GEN)/protos/%.pb-c.c,$(WKT_PROTOS) $(PROTOS)): $(GEN_STAMP)
