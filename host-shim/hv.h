/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hypervisor drivers: start a VM for a pod, reach its agent, stop it.
 * One implementation per hypervisor (hv-qemu.c, hv-clh.c), chosen by the
 * configuration, each behind a Kconfig symbol.
 */
#ifndef HUSK_SHIM_HV_H
#define HUSK_SHIM_HV_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "err.h"

struct vm;

struct vm_params {
	const struct husk_config *cfg;
	const char *sandbox_id;
	/* Per-VM directory for sockets and files (created by the caller). */
	const char *run_dir;
	/* Host directory shared with the guest as tag "kataShared". */
	const char *shared_dir;
	/* Where the hypervisor's console output goes (fd, or -1). */
	int console_fd;
};

/*
 * Start the VM (does not wait for the agent).  The hypervisor process is a
 * child of the caller; its pid is vm_pid().  On error nothing is left
 * running and the run_dir holds nothing new.
 */
int vm_start(const struct vm_params *p, struct vm **out, struct herr *err);

/*
 * Connect to the agent channel, waiting up to @timeout_ms for it to answer
 * (the caller then sends Health.Check).  Returns a connected fd.
 */
int vm_connect_agent(struct vm *vm, long long timeout_ms, struct herr *err);

pid_t vm_pid(const struct vm *vm);

/* The hypervisor exited (reaped by the caller): record its status. */
void vm_exited(struct vm *vm, int wait_status);
bool vm_running(const struct vm *vm);

/*
 * Stop the VM: ask politely when @graceful (the guest powered itself off
 * after DestroySandbox, or QMP quit), then SIGKILL after @timeout_ms; reap
 * it and remove the sockets in run_dir.  Safe to call twice.
 */
int vm_stop(struct vm *vm, bool graceful, long long timeout_ms,
	    struct herr *err);

void vm_free(struct vm *vm);

/*
 * Whether hardware acceleration really works here: runs a tiny guest under
 * KVM with a timeout (opening /dev/kvm is not enough).  Cached per process.
 */
bool kvm_usable(const char *qemu_path, struct herr *why);

/* Human-readable description of the VM (machine, accel), for logs. */
const char *vm_describe(const struct vm *vm);

#endif
