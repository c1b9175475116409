// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz what the host reads from Cloud Hypervisor (host/hv-clh.c): the
 * HTTP response head of every API call and the VmInfo body of vm.info.
 * The first byte picks the parser, the rest is the VMM's bytes.  A parsed
 * head must lie inside the bytes given and respect the bounds; a state
 * must be one of the published ones; every error must say something.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct herr err = { 0 };
	size_t len = size ? size - 1 : 0, hlen = 0, blen = 0;
	const char *state = NULL;
	char *buf;
	int code = 0, rc;

	if (size == 0)
		return 0;
	buf = malloc(len + 1);
	if (!buf)
		abort();
	memcpy(buf, data + 1, len);
	buf[len] = '\0';
	if (data[0] % 2 == 0) {
		rc = clh_http_head(buf, len, &code, &hlen, &blen, &err);
		if (rc == 0 && (code < 100 || code > 599 || hlen > len ||
				blen > (1 << 20)))
			abort();
		if (rc < 0 && !err.msg[0])
			abort();
	} else {
		rc = clh_vm_info_parse(buf, &state, &err);
		if (rc == 0 && strcmp(state, "Created") &&
		    strcmp(state, "Running") && strcmp(state, "Shutdown") &&
		    strcmp(state, "Paused") && strcmp(state, "BreakPoint"))
			abort();
		if (rc < 0 && (state || !err.msg[0]))
			abort();
	}
	free(buf);
	return 0;
}
