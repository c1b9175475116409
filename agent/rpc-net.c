// SPDX-License-Identifier: Apache-2.0
/*
 * Network RPCs, served by agent/network.c in the agent's own network
 * namespace (the pod's: containers join it unless their spec asks for a
 * new one).
 */
#include "network.h"
#include "rpc.h"

void rpc_update_interface(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__UpdateInterfaceRequest *req = msg;
	Types__Interface *out = NULL;
	struct herr err;

	if (!req->interface) {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
				"interface: missing");
		return;
	}
	if (rpc_dry_run(ctx, call))
		return;
	if (net_update_interface(req->interface, &out, &err) < 0) {
		ttrpc_call_fail_err(call, &err);
		return;
	}
	ttrpc_call_reply(call, &out->base);
	net_interface_free(out);
}

void rpc_update_routes(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__UpdateRoutesRequest *req = msg;
	Grpc__Routes *out = NULL;
	struct herr err;

	if (!req->routes) {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT, "routes: missing");
		return;
	}
	if (rpc_dry_run(ctx, call))
		return;
	if (net_update_routes(req->routes, &out, &err) < 0) {
		ttrpc_call_fail_err(call, &err);
		return;
	}
	ttrpc_call_reply(call, &out->base);
	net_routes_free(out);
}

void rpc_list_interfaces(struct ttrpc_call *call, const void *msg, void *ctx)
{
	Grpc__Interfaces *out = NULL;
	struct herr err;

	if (rpc_dry_run(ctx, call))
		return;
	if (net_list_interfaces(&out, &err) < 0) {
		ttrpc_call_fail_err(call, &err);
		return;
	}
	ttrpc_call_reply(call, &out->base);
	net_interfaces_free(out);
}

void rpc_list_routes(struct ttrpc_call *call, const void *msg, void *ctx)
{
	Grpc__Routes *out = NULL;
	struct herr err;

	if (rpc_dry_run(ctx, call))
		return;
	if (net_list_routes(&out, &err) < 0) {
		ttrpc_call_fail_err(call, &err);
		return;
	}
	ttrpc_call_reply(call, &out->base);
	net_routes_free(out);
}

void rpc_add_arp_neighbors(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__AddARPNeighborsRequest *req = msg;
	struct herr err;

	if (!req->neighbors) {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
				"neighbors: missing");
		return;
	}
	if (rpc_dry_run(ctx, call))
		return;
	if (net_add_arp_neighbors(req->neighbors, &err) < 0)
		ttrpc_call_fail_err(call, &err);
	else
		ttrpc_call_reply(call, NULL);
}
