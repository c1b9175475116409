// SPDX-License-Identifier: Apache-2.0
/*
 * The Cloud Hypervisor driver: one cloud-hypervisor per pod, configured
 * over its REST API (hv-clh.c) in the order Kata's runtime uses
 * (reference/protocols.md 5.5):
 *
 *   spawn     cloud-hypervisor --api-socket path=<run_dir>/clh-api.sock
 *   ping      GET vmm.ping every 10 ms until it answers (10 s), watching
 *             the process so that an early exit is reported at once
 *   create    PUT vm.create: payload (kernel, initramfs, cmdline), cpus,
 *             memory (shared for virtio-fs), fs on virtiofsd's socket,
 *             pmem for an image, vsock (CID 3, hybrid vsock socket
 *             <run_dir>/clh.sock), serial to the pod's console
 *             GET vm.info: state must be "Created"
 *   net       PUT vm.add-net per NIC, the tap fd attached (SCM_RIGHTS)
 *   boot      PUT vm.boot; GET vm.info: state must be "Running"
 *   agent     hybrid vsock: "CONNECT 1024\n", "OK <port>\n", then ttRPC
 *   stop      PUT vm.shutdown, PUT vmm.shutdown, a bounded wait, SIGKILL
 *
 * Its stdout and stderr go to <run_dir>/hypervisor.log, quoted in every
 * error.  Nothing here has run against the real Cloud Hypervisor (not
 * packaged, and it needs KVM): tests/vm/clh.sh proves it against a
 * stand-in that follows the published API strictly.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv.h"
#include "log.h"
#include "path.h"
#include "util.h"
#include "virtiofsd.h"

/* Kata's clhTimeout (API up after exec) and clhAPITimeout (per call). */
#define CLH_START_TIMEOUT_MS 10000
#define CLH_API_TIMEOUT_MS 1000
/* vm.create and vm.boot do the real work: clhCreateAndBootVMMinimumTimeout. */
#define CLH_BOOT_TIMEOUT_MS 10000
#define CLH_PING_EVERY_MS 10
#define CLH_KILL_WAIT_MS 5000
/* The child's fd number of the pod's console (hv_spawn: 3 + index). */
#define CLH_CONSOLE_FD 3

struct clh_vm {
	char *id;
	char *api_sock, *vsock_sock, *console_log, *log_path;
	bool console_ours; /* console.log is ours to read and remove */
	pid_t pid;
	int pidfd;
	struct virtiofsd *fsd;
	bool exited; /* the owner reaped it (clh_exited) */
	int wait_status;
	bool stopped;
	char version[64];
	char desc[200];
};

static int peek_status(const struct clh_vm *vm)
{
	if (vm->exited)
		return vm->wait_status;
	return hv_pidfd_peek(vm->pidfd);
}

static bool has_exited(const struct clh_vm *vm)
{
	return vm->exited ||
	       (vm->pidfd >= 0 && hv_pidfd_wait(vm->pidfd, 0) > 0);
}

/*
 * Why the VM is gone or stuck, with the evidence: the VMM's exit, its log
 * and the console when it is ours.  @cause (may be NULL) is the API error.
 */
static int clh_error(struct clh_vm *vm, struct herr *err, int code,
		     const char *what, const struct herr *cause)
{
	char st[96] = "", vlog[HV_TAIL_BYTES + 64], con[HV_TAIL_BYTES + 64];

	if (has_exited(vm))
		hv_describe_exit("cloud-hypervisor", peek_status(vm), st,
				 sizeof(st));
	hv_file_tail(vm->log_path, 240, vlog, sizeof(vlog));
	con[0] = '\0';
	if (vm->console_ours)
		hv_file_tail(vm->console_log, 240, con, sizeof(con));
	return herr_set(err, code, 0, "%s%s%s%s%s%s%s%s%s", what,
			cause ? ": " : "", cause ? cause->msg : "",
			*st ? ": " : "", st, *vlog ? ": " : "", vlog,
			*con ? "; console: " : "", con);
}

char *clh_kernel_cmdline(const struct husk_config *cfg)
{
	struct husk_config c = *cfg;
	struct qemu_host h = { .kvm = true, .vsock_fd = -1, .console_fd = -1 };

	/* Cloud Hypervisor boots x86 with ACPI: no microvm quirks. */
	c.machine_type = (char *)"q35";
	return qemu_kernel_cmdline(&c, &h);
}

/* GET vmm.ping until it answers, the VMM exits or the time is up. */
static int wait_api(struct clh_vm *vm, struct herr *err)
{
	long long deadline = now_ms() + CLH_START_TIMEOUT_MS;
	struct herr last;

	herr_set(&last, GRPC_UNAVAILABLE, 0, "no API socket yet");
	for (;;) {
		_cleanup_free_ char *version = NULL;
		long long left = deadline - now_ms();

		if (has_exited(vm))
			return clh_error(vm, err, GRPC_UNAVAILABLE,
					 "VM failed to start", NULL);
		if (left <= 0)
			return clh_error(vm, err, GRPC_DEADLINE_EXCEEDED,
					 "VM failed to start: the API did not "
					 "answer vmm.ping within 10 s",
					 &last);
		if (!access(vm->api_sock, F_OK) &&
		    !clh_ping(vm->api_sock,
			      left < CLH_API_TIMEOUT_MS ? left
							: CLH_API_TIMEOUT_MS,
			      &version, &last)) {
			snprintf(vm->version, sizeof(vm->version), "%s",
				 version ? version : "?");
			/* The version is the VMM's: keep it printable. */
			for (char *c = vm->version; *c; c++)
				if (*c < 0x20 || *c > 0x7e)
					*c = '?';
			return 0;
		}
		hv_pidfd_wait(vm->pidfd, CLH_PING_EVERY_MS);
	}
}

/* GET vm.info; the state must be @want. */
static int expect_state(struct clh_vm *vm, const char *want, struct herr *err)
{
	const char *state;
	struct herr why;
	char what[96];

	if (clh_vm_info_state(vm->api_sock, CLH_API_TIMEOUT_MS, &state, &why) <
	    0)
		return clh_error(vm, err, GRPC_UNAVAILABLE,
				 "VM failed to start", &why);
	if (strcmp(state, want)) {
		snprintf(what, sizeof(what),
			 "VM failed to start: vm.info says \"%s\", not \"%s\"",
			 state, want);
		return clh_error(vm, err, GRPC_INTERNAL, what, NULL);
	}
	return 0;
}

/* An API step failed: quote the VMM (it may have died in the call). */
static int api_failed(struct clh_vm *vm, struct herr *why, struct herr *err)
{
	return clh_error(vm, err,
			 why->code == GRPC_DEADLINE_EXCEEDED
				 ? GRPC_DEADLINE_EXCEEDED
				 : GRPC_UNAVAILABLE,
			 "VM failed to start", why);
}

static int configure_and_boot(struct clh_vm *vm, const struct vm_params *p,
			      struct herr *err)
{
	_cleanup_free_ char *cmdline = clh_kernel_cmdline(p->cfg),
			    *config = NULL;
	char serial[32];
	struct herr why;

	snprintf(serial, sizeof(serial), "/dev/fd/%d", CLH_CONSOLE_FD);
	config = clh_vm_config(p, cmdline, vm->vsock_sock,
			       vm->console_ours ? vm->console_log : serial);
	log_debug("sandbox %s: vm.create %s", vm->id, config);
	if (clh_vm_create(vm->api_sock, config, CLH_BOOT_TIMEOUT_MS, &why) < 0)
		return api_failed(vm, &why, err);
	if (expect_state(vm, "Created", err) < 0)
		return -1;
	/* Cold-plugged before boot, as Kata does. */
	for (size_t i = 0; i < p->n_nics; i++)
		if (clh_vm_add_net(vm->api_sock, (unsigned int)i,
				   p->nics[i].mac, p->nics[i].fd,
				   CLH_API_TIMEOUT_MS, &why) < 0)
			return api_failed(vm, &why, err);
	if (clh_vm_boot(vm->api_sock, CLH_BOOT_TIMEOUT_MS, &why) < 0)
		return api_failed(vm, &why, err);
	return expect_state(vm, "Running", err);
}

static void remove_files(struct clh_vm *vm)
{
	hv_unlink_quiet(vm->api_sock);
	hv_unlink_quiet(vm->vsock_sock);
	if (vm->console_ours)
		hv_unlink_quiet(vm->console_log);
	hv_unlink_quiet(vm->log_path);
}

static void release(struct clh_vm *vm)
{
	/* The VMM first: its hang-up ends virtiofsd's sandboxed child. */
	/* ECHILD when the owner reaped it first (clh_exited). */
	hv_kill_and_reap(&vm->pidfd, &vm->pid, CLH_KILL_WAIT_MS);
	virtiofsd_stop(vm->fsd);
	vm->fsd = NULL;
	remove_files(vm);
}

static void destroy(struct clh_vm *vm)
{
	free(vm->id);
	free(vm->api_sock);
	free(vm->vsock_sock);
	free(vm->console_log);
	free(vm->log_path);
	free(vm);
}

static int check_params(const struct vm_params *p, struct herr *err)
{
	const struct husk_config *cfg = p->cfg;
	struct stat st;

	if (config_validate(cfg, err) < 0)
		return -1;
	if (cfg->shared_fs == SHARED_FS_9P)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0, "%s",
				CONFIG_CLH_NO_9P);
	/* Fail fast and by name, before the VMM says it less clearly. */
	if (hv_check_file("hypervisor", cfg->hypervisor_path, X_OK, err) < 0 ||
	    hv_check_file("kernel", cfg->kernel, R_OK, err) < 0 ||
	    (cfg->initrd &&
	     hv_check_file("initrd", cfg->initrd, R_OK, err) < 0) ||
	    (cfg->image && hv_check_file("image", cfg->image, R_OK, err) < 0))
		return -1;
	if (p->n_nics > VM_NICS_MAX)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%zu network interfaces: at most %d", p->n_nics,
				VM_NICS_MAX);
	if (cfg->shared_fs == SHARED_FS_VIRTIO_FS) {
		if (!p->shared_dir)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"shared_fs virtio-fs needs a shared "
					"directory");
		if (stat(p->shared_dir, &st) < 0)
			return herr_errno(err, errno, "shared directory %s",
					  p->shared_dir);
		if (!S_ISDIR(st.st_mode))
			return herr_errno(err, ENOTDIR, "shared directory %s",
					  p->shared_dir);
	}
	return 0;
}

int clh_start(const struct vm_params *p, struct clh_vm **out, struct herr *err)
{
	const struct husk_config *cfg = p->cfg;
	_cleanup_free_ char *api_arg = NULL;
	_cleanup_close_ int log = -1;
	struct clh_vm *vm;
	char *argv[6];
	int argc = 0;

	if (check_params(p, err) < 0)
		return -1;
	vm = xcalloc(1, sizeof(*vm));
	vm->id = xstrdup(p->sandbox_id ? p->sandbox_id : "vm");
	vm->api_sock = path_join(p->run_dir, VM_CLH_API_SOCK);
	vm->vsock_sock = path_join(p->run_dir, VM_CLH_VSOCK);
	vm->console_log = path_join(p->run_dir, VM_CONSOLE_LOG);
	vm->log_path = path_join(p->run_dir, VM_QEMU_LOG);
	vm->console_ours = p->console_fd < 0;
	vm->pidfd = -1;
	/* Leftovers of a crashed shim would make the VMM's bind() fail. */
	remove_files(vm);
	log = open(vm->log_path,
		   O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC |
			   O_NOCTTY,
		   0600);
	if (log < 0) {
		herr_errno(err, errno, "create %s", vm->log_path);
		goto fail;
	}
	if (cfg->shared_fs == SHARED_FS_VIRTIO_FS &&
	    virtiofsd_start(cfg, p->run_dir, p->shared_dir, &vm->fsd, err) < 0)
		goto fail;
	if (asprintf(&api_arg, "path=%s", vm->api_sock) < 0)
		abort();
	argv[argc++] = cfg->hypervisor_path;
	argv[argc++] = (char *)"--api-socket";
	argv[argc++] = api_arg;
	if (cfg->enable_debug)
		argv[argc++] = (char *)"-vv";
	argv[argc] = NULL;
	log_debug("sandbox %s: starting %s --api-socket %s", vm->id,
		  cfg->hypervisor_path, api_arg);
	vm->pid = hv_spawn(argv, p->console_fd >= 0 ? &p->console_fd : NULL,
			   p->console_fd >= 0 ? 1 : 0, log, &vm->pidfd, err);
	if (vm->pid < 0) {
		vm->pid = 0;
		goto fail;
	}
	if (wait_api(vm, err) < 0 || configure_and_boot(vm, p, err) < 0) {
		/* The VMM may have failed because the daemon did. */
		if (virtiofsd_failed(vm->fsd)) {
			virtiofsd_error(vm->fsd, err);
			herr_prefix(err, "VM failed to start");
		}
		goto fail;
	}
	/* vm.boot made the vhost-user connection: the child exists. */
	virtiofsd_connected(vm->fsd);
	snprintf(vm->desc, sizeof(vm->desc),
		 "cloud-hypervisor %s kvm %u vCPU %u MiB %s hybrid-vsock %s",
		 vm->version, p->vcpus ? p->vcpus : cfg->default_vcpus,
		 p->mem_mib ? p->mem_mib : cfg->default_memory,
		 cfg->image ? "pmem-image" : "initrd",
		 config_shared_fs_name(cfg->shared_fs));
	*out = vm;
	return 0;
fail:
	release(vm);
	destroy(vm);
	return -1;
}

int clh_connect_agent(struct clh_vm *vm, long long timeout_ms, struct herr *err)
{
	long long deadline = now_ms() + timeout_ms;
	struct herr last;
	char what[200];

	if (vm->stopped || vm->pidfd < 0)
		return herr_set(err, GRPC_FAILED_PRECONDITION, 0,
				"VM %s is stopped", vm->id);
	herr_set(&last, GRPC_UNAVAILABLE, 0, "not tried");
	/*
	 * One handshake per round, the VMM checked between rounds, so that
	 * one dying while the guest boots is noticed at once.
	 */
	for (;;) {
		long long left = deadline - now_ms();
		int fd;

		if (has_exited(vm))
			return clh_error(vm, err, GRPC_UNAVAILABLE,
					 "VM exited before the agent answered",
					 NULL);
		if (left <= 0)
			break;
		fd = hvsock_try(vm->vsock_sock, VM_AGENT_PORT,
				now_ms() + (left < 1000 ? left : 1000), &last);
		if (fd >= 0)
			return fd;
		/* An answer that is no handshake: the VMM is broken. */
		if (last.code == GRPC_INTERNAL)
			return clh_error(vm, err, GRPC_INTERNAL,
					 "agent over hybrid vsock", &last);
		/* Nothing listens yet: the guest is booting. */
		hv_pidfd_wait(vm->pidfd, 20);
	}
	snprintf(what, sizeof(what),
		 "agent did not answer on hybrid vsock port %d within %lld ms "
		 "(the VM is running)",
		 VM_AGENT_PORT, timeout_ms);
	return clh_error(vm, err, GRPC_DEADLINE_EXCEEDED, what, &last);
}

pid_t clh_pid(const struct clh_vm *vm)
{
	return vm->pid;
}

void clh_exited(struct clh_vm *vm, int wait_status)
{
	vm->exited = true;
	vm->wait_status = wait_status;
}

bool clh_running(const struct clh_vm *vm)
{
	return !vm->stopped && !vm->exited && vm->pidfd >= 0 &&
	       hv_pidfd_wait(vm->pidfd, 0) == 0;
}

int clh_stop(struct clh_vm *vm, bool graceful, long long timeout_ms,
	     struct herr *err)
{
	if (vm->stopped)
		return 0;
	vm->stopped = true;
	if (vm->pidfd >= 0 && graceful && hv_pidfd_wait(vm->pidfd, 0) == 0) {
		long long deadline = now_ms() + timeout_ms;
		struct herr why;

		/* Kata stops it the same way: the guest has nothing to save. */
		if (clh_vm_shutdown(vm->api_sock, CLH_API_TIMEOUT_MS, &why) < 0)
			log_debug("sandbox %s: %s", vm->id, why.msg);
		/* A VMM that left with its powered-off guest is no news. */
		if (clh_vmm_shutdown(vm->api_sock, CLH_API_TIMEOUT_MS, &why) <
			    0 &&
		    hv_pidfd_wait(vm->pidfd, 0) == 0)
			log_warn("sandbox %s: %s", vm->id, why.msg);
		if (hv_pidfd_wait(vm->pidfd, deadline - now_ms()) == 0)
			log_warn("sandbox %s: cloud-hypervisor still runs "
				 "after vmm.shutdown: killing it",
				 vm->id);
	}
	/* vmm.shutdown exits 0: anything else but our SIGKILL is news. */
	hv_warn_stopped_alone(vm->id, "cloud-hypervisor", peek_status(vm),
			      vm->log_path);
	release(vm);
	return 0;
}

void clh_free(struct clh_vm *vm)
{
	if (!vm)
		return;
	if (!vm->stopped)
		clh_stop(vm, false, 0, NULL);
	destroy(vm);
}

int clh_fs_pidfd(const struct clh_vm *vm)
{
	return virtiofsd_pidfd(vm->fsd);
}

pid_t clh_fs_pid(const struct clh_vm *vm)
{
	pid_t child = virtiofsd_child_pid(vm->fsd);

	return child ? child : virtiofsd_pid(vm->fsd);
}

int clh_fs_error(struct clh_vm *vm, struct herr *err)
{
	if (!vm->fsd)
		return herr_set(err, GRPC_UNAVAILABLE, 0, "no virtiofsd");
	return virtiofsd_error(vm->fsd, err);
}

bool clh_child_reaped(struct clh_vm *vm, pid_t pid, int wait_status)
{
	return vm && virtiofsd_reaped(vm->fsd, pid, wait_status);
}

const char *clh_describe(const struct clh_vm *vm)
{
	return vm->desc;
}
