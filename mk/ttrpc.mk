# The ttRPC runtime shared by agent and shim (protos/ttrpc/).

LIB_SRCS += protos/ttrpc/frame.c protos/ttrpc/conn.c protos/ttrpc/server.c \
	protos/ttrpc/client.c

UNIT_TESTS += ttrpc_frame ttrpc_server ttrpc_client
FUZZERS += ttrpc_frame ttrpc_dispatch
BENCHES += ttrpc
