/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command line containerd gives a shim, parsed the way Go's flag
 * package does: "-name value", "--name value", "-name=value", booleans as
 * "-debug" or "-debug=true", flags first, then one action word.
 */
#ifndef HUSK_SHIM_FLAGS_H
#define HUSK_SHIM_FLAGS_H

#include <stdbool.h>

#include "err.h"

enum shim_action {
	SHIM_ACTION_DAEMON, /* no action word: serve the task API */
	SHIM_ACTION_START,
	SHIM_ACTION_DELETE,
};

/* Values point into argv. */
struct shim_flags {
	bool debug;
	bool version;
	const char *namespace_;
	const char *id;
	const char *socket;
	const char *bundle;
	const char *address;
	const char *publish_binary;
	enum shim_action action;
};

/* Returns 0, or -1 with @err saying which argument is wrong. */
int shim_flags_parse(int argc, char *const argv[], struct shim_flags *f,
		     struct herr *err);

#endif
