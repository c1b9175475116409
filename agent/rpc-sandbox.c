// SPDX-License-Identifier: Apache-2.0
/* Health and sandbox RPCs. */
#include <string.h>

#include "health.pb-c.h"
#include "rpc.h"
#include "util.h"

void rpc_check(struct ttrpc_call *call, const void *msg, void *ctx)
{
	Grpc__HealthCheckResponse resp = GRPC__HEALTH_CHECK_RESPONSE__INIT;

	resp.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
	ttrpc_call_reply(call, &resp.base);
}

void rpc_version(struct ttrpc_call *call, const void *msg, void *ctx)
{
	Grpc__VersionCheckResponse resp = GRPC__VERSION_CHECK_RESPONSE__INIT;

	resp.grpc_version = (char *)AGENT_GRPC_VERSION;
	resp.agent_version = (char *)HUSK_VERSION;
	ttrpc_call_reply(call, &resp.base);
}

void rpc_create_sandbox(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__CreateSandboxRequest *req = msg;
	struct agent *a = ctx;
	struct herr err;

	if (req->hostname &&
	    (strlen(req->hostname) > 64 || strpbrk(req->hostname, "\n\r/"))) {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
				"hostname: longer than 64 characters or has "
				"'/' or a newline");
		return;
	}
	if (*req->sandbox_id &&
	    validate_id("sandbox_id", req->sandbox_id, &err) < 0)
		goto fail;
	for (size_t i = 0; i < req->n_dns; i++)
		if (!req->dns[i] || strpbrk(req->dns[i], "\n\r") ||
		    strlen(req->dns[i]) > 1024) {
			ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
					"dns[%zu]: must be one line of at most "
					"1024 bytes",
					i);
			return;
		}
	for (size_t i = 0; i < req->n_storages; i++)
		if (validate_path("storages[].mount_point",
				  req->storages[i]->mount_point, true,
				  &err) < 0)
			goto fail;
	if (req->n_kernel_modules) {
		ttrpc_call_fail(
			call, GRPC_INVALID_ARGUMENT,
			"kernel_modules: loading modules is not supported");
		return;
	}
	if (req->guest_hook_path && *req->guest_hook_path) {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
				"guest_hook_path: guest hook directories are "
				"not supported");
		return;
	}
	if (rpc_dry_run(a, call))
		return;
	if (sandbox_create(a, req, &err) < 0)
		goto fail;
	ttrpc_call_reply(call, NULL);
	return;
fail:
	ttrpc_call_fail_err(call, &err);
}

void rpc_destroy_sandbox(struct ttrpc_call *call, const void *msg, void *ctx)
{
	struct agent *a = ctx;

	if (rpc_dry_run(a, call))
		return;
	sandbox_destroy(a, call);
}
