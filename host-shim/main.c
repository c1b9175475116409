// SPDX-License-Identifier: Apache-2.0
/*
 * containerd-shim-husk-v2: the containerd runtime v2 shim of husk
 * (runtime type io.containerd.husk.v2).  containerd runs it three ways:
 *   ... start    print the socket address (starting the daemon if needed)
 *   ... delete   clean up after a shim that is gone; print DeleteResponse
 *   ...          (no action) the daemon itself, serving the Task API
 */
#include <stdio.h>

#include "delete.h"
#include "flags.h"
#include "service.h"
#include "start.h"

int main(int argc, char *argv[])
{
	struct shim_flags f;
	struct herr err;

	if (shim_flags_parse(argc, argv, &f, &err) < 0) {
		fprintf(stderr, "containerd-shim-husk-v2: %s\n", err.msg);
		return 2;
	}
	if (f.version) {
		printf("containerd-shim-husk-v2 (husk)\n");
		return 0;
	}
	switch (f.action) {
	case SHIM_ACTION_START:
		return shim_start(&f, argc, argv);
	case SHIM_ACTION_DELETE:
		return shim_delete(&f);
	case SHIM_ACTION_DAEMON:
		break;
	}
	return shim_serve(&f);
}
