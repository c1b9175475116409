# Schemas of the agent API and of containerd's shim v2 interface, relative
# to protos/.  mk/protos.mk compiles them with protoc-c into libhusk.

# Kata agent API: grpc.AgentService, grpc.Health (packages grpc, types).
PROTOS += types.proto oci.proto csi.proto mem_agent.proto health.proto \
	agent.proto

# containerd 1.6 shim v2: task service, events, runtime options, metrics.
PROTOS += containerd/types/mount.proto containerd/types/task.proto \
	containerd/task/shim.proto containerd/events/task.proto \
	containerd/events/events.proto containerd/runtimeoptions.proto \
	containerd/cgroups/metrics_v1.proto

UNIT_TESTS += proto_oci
