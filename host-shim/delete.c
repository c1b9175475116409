// SPDX-License-Identifier: Apache-2.0
/*
 * A live shim cleans up after itself (its mounts live in its own mount
 * namespace and vanish with it), so this action only acts when the shim
 * recorded in the run directory is gone: it kills the VM process it left
 * (checked against its command line, so a reused pid is never hit),
 * removes the socket and the run directory, and reports exit 137.
 */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "containerd/task/shim.pb-c.h"
#include "delete.h"
#include "log.h"
#include "net.h"
#include "spec.h"
#include "start.h"
#include "util.h"

int delete_response_encode(uint32_t pid, uint32_t exit_status,
			   const struct timespec *at, uint8_t **buf,
			   size_t *len)
{
	Containerd__Task__V2__DeleteResponse resp =
		CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

	resp.pid = pid;
	resp.exit_status = exit_status;
	ts.seconds = at->tv_sec;
	ts.nanos = (int32_t)at->tv_nsec;
	resp.exited_at = &ts;
	*len = containerd__task__v2__delete_response__get_packed_size(&resp);
	*buf = xmalloc(*len);
	containerd__task__v2__delete_response__pack(&resp, *buf);
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP ? rmdir(path) : unlink(path))
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

int remove_tree(const char *path)
{
	int r = nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);

	if (r < 0 && errno == ENOENT)
		return 0;
	return r > 0 ? 0 : r;
}

/* Kill what a dead shim left running, then wait for it to vanish. */
static void kill_leftover(pid_t pid, const char *what)
{
	if (kill(pid, SIGKILL) < 0)
		return;
	log_warn("delete: killed leftover %s (pid %d)", what, (int)pid);
	for (int i = 0; i < 300; i++) {
		const char *any[] = { NULL };

		if (!pid_matches(pid, any))
			return;
		usleep(10000);
	}
}

/* The taps, filters and qdiscs the dead shim made in the pod's namespace. */
static void sweep_netns(const char *netns)
{
	unsigned int found = 0;
	struct herr err;

	if (!netns)
		return;
	if (net_taps_sweep(netns, &found, &err) < 0)
		log_warn("delete: sweep network namespace %s: %s", netns,
			 err.msg);
	else if (found)
		log_warn("delete: removed %u leftover network object%s in %s",
			 found, found == 1 ? "" : "s", netns);
}

static void cleanup_dead_shim(const struct shim_flags *f, const char *sid,
			      const char *run, const char *netns)
{
	const char *shim_needles[] = { "containerd-shim-husk-v2", sid, NULL };
	const char *vm_needles[] = { run, NULL };
	pid_t shim = read_pid_file(run, "shim.pid");
	pid_t vm = read_pid_file(run, "hypervisor.pid");

	if (shim && pid_matches(shim, shim_needles)) {
		/* Alive: it serves the pod and cleans up after itself. */
		return;
	}
	if (vm && pid_matches(vm, vm_needles))
		kill_leftover(vm, "hypervisor");
	if (!strcmp(sid, f->id)) {
		sweep_netns(netns);
		_cleanup_free_ char *addr = NULL;
		struct herr err;

		addr = shim_socket_address(f->address, f->namespace_, sid,
					   &err);
		if (addr)
			unlink(shim_socket_path(addr));
		if (remove_tree(run) < 0)
			log_warn("delete: remove %s: %s", run, strerror(errno));
	} else {
		_cleanup_free_ char *dir = NULL;

		if (asprintf(&dir, "%s/shared/%s", run, f->id) < 0)
			abort();
		remove_tree(dir);
	}
}

int shim_delete(const struct shim_flags *f)
{
	_cleanup_free_ char *text = NULL, *sid = NULL, *run = NULL,
			    *rootfs = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	const char *bundle = *f->bundle ? f->bundle : ".";
	struct spec_result spec = { 0 };
	struct timespec now;
	struct herr err;
	bool member = false;
	size_t len;

	if (!*f->id || !*f->namespace_) {
		fprintf(stderr, "delete needs -id and -namespace\n");
		return 1;
	}
	if (asprintf(&rootfs, "%s/config.json", bundle) < 0)
		abort();
	if (spec_read_file(rootfs, SPEC_JSON_MAX, &text, &len, &err) == 0 &&
	    spec_pod_info(text, len, &sid, &member, &err) < 0)
		log_warn("delete: %s: %s", rootfs, err.msg);
	if (!member || !sid) {
		free(sid);
		sid = xstrdup(f->id);
	}
	run = shim_run_dir(f->namespace_, sid);
	/*
	 * The sandbox's spec names its network namespace.  A shim that
	 * exited cleanly removed its run directory (after its taps): then
	 * there is no netns to sweep, and converting the spec (about 2 ms of
	 * containerd's every "ctr run --rm") is skipped.
	 */
	if (text && !strcmp(sid, f->id) && access(run, F_OK) == 0 &&
	    spec_from_json(text, len, f->id, &spec, &err) < 0)
		log_warn("delete: %s: %s", rootfs, err.msg);
	cleanup_dead_shim(f, sid, run, spec.netns_path);
	spec_result_free(&spec);
	/* In case a rootfs mount escaped into this namespace. */
	free(rootfs);
	if (asprintf(&rootfs, "%s/rootfs", bundle) < 0)
		abort();
	umount2(rootfs, MNT_DETACH);

	clock_gettime(CLOCK_REALTIME, &now);
	delete_response_encode(0, DELETE_EXIT_STATUS, &now, &buf, &len);
	if (write_all(1, buf, len) < 0)
		return 1;
	return 0;
}
