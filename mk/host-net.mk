# Pod networking in the host library (host/net*.c): a pod's network
# namespace read and its interfaces carried to the VM through taps, over
# rtnetlink (lib/netlink.c).  The lead folds HOST_NET_SRCS into mk/host.mk's
# HOST_LIB_SRCS; until then only the unit test links them.

HOST_NET_SRCS := host/net-ns.c host/net-scan.c host/net-tap.c
HOST_NET_LIBS := -lpthread

# As root: namespaces, veths, taps, qdiscs and filters of its own.
UNIT_TESTS += host_net
TEST_SRCS_host_net := $(HOST_NET_SRCS)
TEST_LIBS_host_net := $(HOST_NET_LIBS)
$(call objdir,host)/tests/host_net: CFLAGS_host += -Ihost
$(call objdir,san)/tests/host_net: CFLAGS_san += -Ihost

# CRI pods on a CNI bridge, in a network namespace of the test's own
# (the husk checks of issue 9 only with HUSK_NET_E2E=1).
CHECK_PROGS += tests/e2e/cri-net.sh
