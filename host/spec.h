/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bundle's config.json (OCI runtime spec, JSON) turned into the agent's
 * oci.Spec protobuf, constrained the way a VM runtime must: hooks, the
 * network/cgroup/time namespaces and namespace paths dropped, host-only
 * cgroup settings cleared, root.path and bind-mount sources rewritten to
 * guest paths under the shared directory.  The parser is strict about types
 * (a string where a number belongs is an error naming the field) and
 * ignores fields it does not know, as the runtime spec allows.
 */
#ifndef HUSK_HOST_SPEC_H
#define HUSK_HOST_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "oci.pb-c.h"

/* Where the shared filesystem appears in the guest (Kata's path). */
#define GUEST_SHARED_DIR "/run/kata-containers/shared/containers"

/* config.json larger than this is refused. */
#define SPEC_JSON_MAX (4u << 20)

/* A host path a bind mount needs: bound into the shared dir as @name. */
struct spec_share {
	char *host_path;
	char *name; /* "<cid>-<n>-<basename>", a file name in the shared dir */
	bool readonly;
};

struct spec_result {
	Grpc__Spec *spec; /* free with protobuf_c_message_free_unpacked() */
	bool sandbox_pidns; /* the pid namespace had a path: share the pod's */
	struct spec_share *shares;
	size_t n_shares;
	char *root_path; /* root.path as written in config.json */
	char *sandbox_id; /* pod this container belongs to, or NULL */
	bool pod_member; /* container-type annotation says "container" */
	char *netns_path; /* linux.namespaces' network path, or NULL */
	bool host_netns; /* no network namespace at all: the host's */
};

/*
 * Convert config.json text for container @cid.  Returns 0, or -1 with @err
 * naming the field and the problem (INVALID_ARGUMENT).
 */
int spec_from_json(const char *text, size_t len, const char *cid,
		   struct spec_result *out, struct herr *err);

/* Read <bundle>/config.json and convert it. */
int spec_read_bundle(const char *bundle, const char *cid,
		     struct spec_result *out, struct herr *err);

void spec_result_free(struct spec_result *r);

/* Only the grouping annotations (for start and delete; no conversion). */
int spec_pod_info(const char *text, size_t len, char **sandbox_id,
		  bool *pod_member, struct herr *err);

/* Read a whole small file (config.json) into a NUL-terminated buffer. */
int spec_read_file(const char *path, size_t max, char **text, size_t *len,
		   struct herr *err);

/* An exec's process (the JSON runtime-spec Process of ExecProcessRequest). */
int spec_process_from_json(const char *text, size_t len, Grpc__Process **out,
			   struct herr *err);

/* Update's resources (JSON runtime-spec LinuxResources), constrained. */
int spec_resources_from_json(const char *text, size_t len,
			     Grpc__LinuxResources **out, struct herr *err);

#endif
