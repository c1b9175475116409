/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Process identity and privileges from the OCI process spec: capabilities
 * (all five sets), rlimits, user/group/additional groups, no_new_privileges.
 * Parsing (in the agent, before fork) is separate from applying (in the
 * child), so a bad name is reported as INVALID_ARGUMENT with the field.
 */
#ifndef HUSK_AGENT_CAPS_H
#define HUSK_AGENT_CAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

#include "err.h"
#include "oci.pb-c.h"

struct caps {
	uint64_t bounding, effective, inheritable, permitted, ambient;
};

/* Parse "CAP_CHOWN"-style names; unknown names are an error. */
int caps_parse(const Grpc__LinuxCapabilities *spec, struct caps *out,
	       struct herr *err);

/* Map "RLIMIT_NOFILE" to its resource number, or -1. */
int rlimit_resource(const char *name);

/* Validate every rlimit (known type, soft <= hard). */
int rlimits_check(const Grpc__Process *proc, struct herr *err);

/* In the child: set every rlimit of @proc. */
int rlimits_apply(const Grpc__Process *proc, struct herr *err);

/*
 * In the child: switch to the spec's uid/gid/additional gids keeping the
 * capabilities the spec asks for, then set all five sets (the bounding set
 * is reduced first, ambient last) and no_new_privileges.  Capabilities the
 * running kernel does not know are left out.  With @caps NULL (no
 * capabilities in the spec) no set is touched: the kernel's setuid rules
 * apply, so uid 0 keeps everything and other uids end with nothing.
 */
int identity_apply(const Grpc__Process *proc, const struct caps *caps,
		   struct herr *err);

/* Name of capability number @cap ("CAP_CHOWN"), or NULL. */
const char *cap_name(int cap);

/* Number of capability @name ("CAP_CHOWN" -> 0), or -1 if unknown. */
int cap_from_name(const char *name);

#endif
