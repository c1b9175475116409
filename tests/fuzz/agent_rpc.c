// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz every RPC's decode-and-validate path: the first byte picks a method
 * of the agent's real table (grpc.AgentService and grpc.Health), the rest
 * is its payload.  The agent runs in dry-run mode, so handlers validate
 * and answer without creating anything.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>

#include "agent.h"
#include "log.h"
#include "ttrpc.pb-c.h"
#include "util.h"

static struct agent agent;
static struct evloop *loop;

static void sink(const uint8_t *resp, size_t len, void *data)
{
	Ttrpc__Response *r = ttrpc__response__unpack(NULL, len, resp);

	/* Every call must be answered with a well-formed response. */
	if (!r)
		abort();
	ttrpc__response__free_unpacked(r, NULL);
	(*(int *)data)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Ttrpc__Request rq = TTRPC__REQUEST__INIT;
	const struct ttrpc_method *m;
	uint8_t *buf;
	size_t n, len;
	int answered = 0;

	if (!loop) {
		log_init(open("/dev/null", O_WRONLY | O_CLOEXEC), LOG_ERROR);
		loop = evloop_new();
		if (agent_init(&agent, loop, NULL, NULL) < 0)
			abort();
	}
	if (size < 1)
		return 0;
	m = agent_methods(&n);
	m += data[0] % n;
	rq.service = (char *)m->service;
	rq.method = (char *)m->method;
	rq.payload.data = (uint8_t *)data + 1;
	rq.payload.len = size - 1;
	len = ttrpc__request__get_packed_size(&rq);
	buf = xmalloc(len);
	ttrpc__request__pack(&rq, buf);
	ttrpc_server_dispatch_raw(agent.srv, 1, buf, len, sink, &answered);
	free(buf);
	/* Dry run: nothing may be left parked. */
	if (answered != 1)
		abort();
	return 0;
}
