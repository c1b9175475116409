// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the host library's JSON converters (host/spec.c, and the VM sizing
 * read from a converted spec, host/sizing.c): config.json, an
 * exec's process, Update's resources and the grouping annotations.  The
 * first byte picks the converter, the rest is the JSON.  A result must be
 * consistent enough to encode as the protobuf the agent receives, and
 * every error must name something.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sizing.h"
#include "spec.h"

static void encode(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		abort();
	if (protobuf_c_message_pack(m, buf) != len)
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;
	struct herr err = { 0 };

	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0: {
		struct spec_result r;

		if (spec_from_json(text, len, "fuzz1", &r, &err) == 0) {
			struct workload own, pod;

			encode(&r.spec->base);
			/* The sizing annotations and limits (sizing.c). */
			if (sizing_workload(r.spec, &own, &pod, &err) < 0 &&
			    !err.msg[0])
				abort();
			for (size_t i = 0; i < r.n_shares; i++)
				if (!r.shares[i].host_path ||
				    r.shares[i].host_path[0] != '/' ||
				    strchr(r.shares[i].name, '/'))
					abort();
			spec_result_free(&r);
		} else if (!err.msg[0]) {
			abort();
		}
		break;
	}
	case 1: {
		Grpc__Process *p;

		if (spec_process_from_json(text, len, &p, &err) == 0) {
			encode(&p->base);
			protobuf_c_message_free_unpacked(&p->base, NULL);
		} else if (!err.msg[0]) {
			abort();
		}
		break;
	}
	case 2: {
		Grpc__LinuxResources *r;

		if (spec_resources_from_json(text, len, &r, &err) == 0) {
			encode(&r->base);
			protobuf_c_message_free_unpacked(&r->base, NULL);
		} else if (!err.msg[0]) {
			abort();
		}
		break;
	}
	default: {
		char *sid = NULL;
		bool member;

		if (spec_pod_info(text, len, &sid, &member, &err) == 0)
			free(sid);
		break;
	}
	}
	return 0;
}
