/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hypervisor drivers: start a VM for a pod, reach its agent, stop it.
 * One implementation per hypervisor (hv-qemu.c, hv-clh.c), chosen by the
 * configuration, each behind a Kconfig symbol.
 */
#ifndef HUSK_HOST_HV_H
#define HUSK_HOST_HV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "err.h"

struct vm;

/* A NIC for the guest: the tap fd the hypervisor inherits (any flags: the
 * driver passes it on) and the MAC the guest device gets. */
struct vm_nic {
	int fd;
	unsigned char mac[6];
};

#define VM_NICS_MAX 16

struct vm_params {
	const struct husk_config *cfg;
	const char *sandbox_id;
	/* Per-VM directory for sockets and files (created by the caller). */
	const char *run_dir;
	/* Host directory shared with the guest as tag "kataShared". */
	const char *shared_dir;
	/*
	 * Where the hypervisor's console output goes: a pipe or file (QEMU
	 * reopens it as /dev/fd/N in append mode; not a socket), or -1 for
	 * <run_dir>/console.log, which errors then quote.
	 */
	int console_fd;
	/* Network devices, one per pod interface (host/pod-net.c). */
	const struct vm_nic *nics;
	size_t n_nics;
	/*
	 * Size at boot (sizing.h); 0: default_memory / default_vcpus.  The
	 * maxima are what hotplug may grow it to on machines that can
	 * (q35, pc); 0 or below the boot size: no room for growth.
	 */
	unsigned int mem_mib, vcpus;
	unsigned int max_mem_mib, max_vcpus;
};

/*
 * Start the VM (does not wait for the agent).  The hypervisor process is a
 * child of the caller; its pid is vm_pid().  On error nothing is left
 * running and the run_dir holds nothing new.  Missing files (hypervisor,
 * kernel, initrd, image) are named before anything starts; a QEMU that
 * refuses its configuration is quoted ("VM failed to start: qemu exited
 * with status 1: ...").
 */
int vm_start(const struct vm_params *p, struct vm **out, struct herr *err);

/*
 * The same without waiting for the hypervisor to come up: returns once it
 * is spawned; vm_agent_poll() then finishes its start (QMP's greeting and
 * "cont") before it looks for the agent, and a hypervisor that refuses
 * its configuration is reported there.
 */
int vm_spawn(const struct vm_params *p, struct vm **out, struct herr *err);

/*
 * Connect to the agent channel, waiting up to @timeout_ms for it to answer
 * (the caller then sends Health.Check).  Returns a connected fd.
 *
 * virtio-serial: QEMU's chardev socket accepts as soon as QEMU runs, so
 * readiness is the guest opening the port (QMP event VSERPORT_CHANGE);
 * vsock: connect() to port 1024 succeeds once the agent listens.  Fails
 * early, quoting QEMU's log and the console, when the hypervisor exits
 * first.  Blocks the caller (it runs no event loop of its own).  QEMU's
 * socket serves one client at a time: close the fd before calling again.
 */
int vm_connect_agent(struct vm *vm, long long timeout_ms, struct herr *err);

/*
 * The same wait for callers with an event loop, never blocking (and the
 * end of vm_spawn()'s start): vm_agent_poll() takes what the hypervisor
 * said so far and returns a connected fd once the agent's channel is up,
 * -EAGAIN while it is not (call again when vm_agent_wait_fd() is
 * readable or, when that is -1, after a few milliseconds), or -1 with
 * @err when it never will be (the hypervisor exited: @err quotes its exit
 * status and log).  The caller owns the deadline.
 */
int vm_agent_wait_fd(const struct vm *vm);
int vm_agent_poll(struct vm *vm, struct herr *err);

pid_t vm_pid(const struct vm *vm);

/*
 * The hypervisor exited and the owner reaped it (the shim reaps all its
 * children from its SIGCHLD handler): record its status.  The driver never
 * calls waitpid(pid) while the VM runs; it watches a pidfd, which does not
 * consume the exit, and reaps only in vm_stop() (waitid on the pidfd, so a
 * status the owner already took is simply gone, never another child's).
 */
void vm_exited(struct vm *vm, int wait_status);
bool vm_running(const struct vm *vm);

/*
 * Stop the VM: when @graceful, give the guest half of @timeout_ms to power
 * itself off (after DestroySandbox), then ask QEMU to quit over QMP and
 * wait the rest; then SIGKILL.  Reap it (and virtiofsd) and remove every
 * file the driver made in run_dir (sockets, console.log, hypervisor.log).
 * Safe to call twice.
 */
int vm_stop(struct vm *vm, bool graceful, long long timeout_ms,
	    struct herr *err);

/*
 * The guest answered DestroySandbox, whose agent syncs before it answers:
 * stop it the quickest way that loses nothing.  QEMU is killed at once
 * (no wait for the guest's power-off); Cloud Hypervisor gets Kata's
 * vm.shutdown and vmm.shutdown, within @timeout_ms.  Then as vm_stop().
 */
int vm_stop_destroyed(struct vm *vm, long long timeout_ms, struct herr *err);

void vm_free(struct vm *vm);

/*
 * Whether hardware acceleration really works here: runs a tiny guest under
 * KVM with a timeout (opening /dev/kvm is not enough).  Cached per process
 * and, because a broken KVM costs the whole timeout (3 s), for the rest of
 * the boot in /run/husk-probe-kvm (hv_cache_lookup() below); "husk check"
 * always probes afresh.
 */
bool kvm_usable(const char *qemu_path, struct herr *why);

/*
 * virtiofsd (shared_fs = "virtio-fs", virtiofsd.c): a pidfd readable once
 * it exited (-1 without one; watch it for the pod's whole life: QEMU
 * tells nobody when its daemon dies, the guest's next access hangs), and
 * why it is gone, quoting its log.
 */
int vm_fs_pidfd(const struct vm *vm);
int vm_fs_error(struct vm *vm, struct herr *err);
/* 0, or an error naming virtiofsd when it has not accepted QEMU yet. */
int vm_fs_check_started(struct vm *vm, struct herr *err);
/* The daemon serving the guest (its sandboxed child once found), or 0. */
pid_t vm_fs_pid(const struct vm *vm);
/*
 * The owner reaped @pid: true when it was one of the VM's helper
 * processes (virtiofsd's monitor or its sandboxed child), status kept.
 */
bool vm_child_reaped(struct vm *vm, pid_t pid, int wait_status);

/*
 * Grow a running VM to @mem_mib and @vcpus (q35, pc): DIMMs and vCPUs
 * added over QMP, each waited for until the guest's ACPI answer, within
 * @timeout_ms; under TCG the vCPUs are there from the start, offline.
 * Memory needs whole 128 MiB guest blocks to be usable: the caller
 * rounds.  The CPUs are offline: the agent onlines as many as were added
 * (OnlineCPUMem's nb_cpus).  On error nothing QEMU refused stays; a device the
 * guest did not take in time stays plugged (it counts in vm_size()).
 */
int vm_resize(struct vm *vm, unsigned int mem_mib, unsigned int vcpus,
	      long long timeout_ms, struct herr *err);
bool vm_can_hotplug(const struct vm *vm);
/* What the VM has now (boot size plus what was hot-added). */
void vm_size(const struct vm *vm, unsigned int *mem_mib, unsigned int *vcpus);

/* Human-readable description of the VM (machine, accel), for logs. */
const char *vm_describe(const struct vm *vm);

/* Files in run_dir (for tests and "husk env"). */
#define VM_AGENT_SOCK "agent.sock"
#define VM_QMP_SOCK "qmp.sock"
#define VM_FS_SOCK "vhost-fs.sock"
#define VM_CONSOLE_LOG "console.log"
#define VM_QEMU_LOG "hypervisor.log"
#define VM_AGENT_PORT 1024

/* ---- host probes (hv-probe.c), each cached per process ---------------- */

/*
 * The same probe kvm_usable() runs, uncached, with the accelerator named
 * ("kvm" or "tcg") and its time in @ms_out: for "husk check".
 */
bool hv_probe_guest(const char *qemu_path, const char *accel, long long *ms_out,
		    struct herr *why);

/*
 * The probes' answers kept for this boot (hv-cache.c): <prefix>-@what
 * holds one line per binary, at most HV_CACHE_ENTRIES, keyed by the boot
 * and the binary's device, inode, size, mtime and ctime; HUSK_PROBE_CACHE
 * names the prefix (default /run/husk-probe, "" disables the files).
 * lookup: 1 with @ok and @text (one line) when there is an answer for the
 * binary as it is now, else 0.  store: replaces the binary's line.
 */
#define HV_CACHE_ENTRIES 8
#define HV_CACHE_KEY_MAX 192
bool hv_cache_key(const char *binary, char *key, size_t cap);
/* The file for @what in @buf, or NULL when the files are disabled. */
const char *hv_cache_file(const char *what, char *buf, size_t cap);
int hv_cache_lookup(const char *what, const char *binary, bool *ok, char *text,
		    size_t cap);
void hv_cache_store(const char *what, const char *binary, bool ok,
		    const char *text);

/*
 * One line of @text about the program @binary (an answer that is always
 * "ok"): what every shim would otherwise ask the program again.  get:
 * true and @text filled when there is one.
 */
bool hv_cache_get(const char *what, const char *binary, char *text, size_t cap);
void hv_cache_put(const char *what, const char *binary, const char *text);

/* QEMU accepts -sandbox with the options hv-qemu.c passes (seccomp). */
bool qemu_sandbox_usable(const char *qemu_path, struct herr *why);

/* First line of "qemu --version", or NULL with @why. */
const char *qemu_version(const char *qemu_path, struct herr *why);

/* /dev/vhost-vsock can be opened (so QEMU could give the guest vsock). */
bool vhost_vsock_usable(struct herr *why);

/*
 * The guest kernel @path (a vmlinux) carries an ELF note @name of @type:
 * "Xen" 18 is the PVH entry; "husk" ones say what kernel/patches/ added.
 * False for a bzImage, an unreadable file or a malformed one.
 */
bool kernel_has_note(const char *path, const char *name, uint32_t type);
/* virtio_ring.mb_port: virtio's full barriers as port writes (hv-qemu.c). */
#define KERNEL_NOTE_HUSK_MB_PORT 1

/* Host TSC rate in kHz ("cpu MHz" of /proc/cpuinfo), 0 if unknown. */
unsigned long host_tsc_khz(void);
unsigned long tsc_khz_parse(const char *cpuinfo);

/*
 * Run @argv as a child with stdin /dev/null, stdout and stderr on @out_fd
 * (or /dev/null when -1), @fds[i] as fd 3 + i and nothing else open,
 * PR_SET_PDEATHSIG(SIGKILL) so it dies with this thread.  Returns the pid
 * and a pidfd for it in *@pidfd, or -1 with @err.
 */
pid_t hv_spawn(char *const argv[], const int *fds, size_t n_fds, int out_fd,
	       int *pidfd, struct herr *err);
/* hv_spawn() with @envp for the child's environment instead of ours. */
pid_t hv_spawn_env(char *const argv[], char *const envp[], const int *fds,
		   size_t n_fds, int out_fd, int *pidfd, struct herr *err);

/*
 * Wait for the child behind @pidfd to exit, up to @timeout_ms (< 0: no
 * limit), without reaping it.  1 exited, 0 timed out, -1 error.
 */
int hv_pidfd_wait(int pidfd, long long timeout_ms);

/* pidfd_send_signal(2): 0, or -1 with errno. */
int hv_pidfd_kill(int pidfd, int sig);

/* Reap the child behind @pidfd: its wait status, or -1 (ECHILD when its
 * owner reaped it first). */
int hv_pidfd_reap(int pidfd);

/* The wait status of the exited child behind @pidfd without reaping it;
 * -1 while it runs or when it is not known. */
int hv_pidfd_peek(int pidfd);

/* Last @max bytes of a text file as one line (" | " between lines). */
void hv_file_tail(const char *path, size_t max, char *out, size_t cap);

/* @path (a @what the configuration names) is a regular file @mode allows. */
int hv_check_file(const char *what, const char *path, int mode,
		  struct herr *err);

/* unlink(@path), warning on anything but ENOENT; NULL is fine. */
void hv_unlink_quiet(const char *path);

/* How the VMM @name ended, from its wait status (-1: not known). */
void hv_describe_exit(const char *name, int status, char *out, size_t cap);

/* How much of a VMM's log its errors and warnings quote. */
#define HV_TAIL_BYTES 400

/* Warn that the VM of sandbox @id ended by itself, quoting @log_path,
 * unless @status is a clean exit, our SIGKILL or unknown (<= 0). */
void hv_warn_stopped_alone(const char *id, const char *name, int status,
			   const char *log_path);

/* SIGKILL, wait up to @wait_ms, reap (ECHILD when its owner reaped it
 * first), close: *@pidfd becomes -1 and *@pid 0. */
void hv_kill_and_reap(int *pidfd, pid_t *pid, long long wait_ms);

/* ---- QEMU command line (hv-qemu.c), exposed for the unit tests -------- */

/* What vm_start() found out about the host before building the argv. */
struct qemu_host {
	bool kvm; /* -accel kvm (else tcg) */
	bool sandbox; /* -sandbox on,... */
	unsigned long tsc_khz; /* for tsc_early_khz= on microvm under TCG */
	int vsock_fd; /* child's fd number of /dev/vhost-vsock, -1: serial */
	unsigned int vsock_cid;
	int console_fd; /* child's fd number of the console, -1: a file */
	unsigned long long image_size; /* bytes, for the nvdimm */
	int nic_fd0; /* child's fd number of p->nics[0]; the rest follow */
	bool vhost_net; /* /dev/vhost-net opens: vhost=on */
	const char *firmware; /* -bios FILE; NULL: QEMU's default */
	bool mb_port; /* the kernel takes virtio_ring.mb_port (its note) */
};

/*
 * The firmware a VM boots (-bios): the configured one, which must be a
 * readable file (else -1 with an error naming the key and path); unset,
 * qboot on q35/pc when QEMU ships it (qemu_find_qboot), else NULL:
 * QEMU's default (SeaBIOS; microvm's own bios-microvm.bin is qboot).
 * *@out is NULL or a path to free.
 */
int qemu_firmware(const struct husk_config *cfg, char **out, struct herr *err);
/*
 * qboot.rom where QEMU finds its data: <dir of @qemu_path, symlinks
 * resolved>/../share/qemu, else @datadir (QEMU's built-in data dir, for a
 * @qemu_path that is a wrapper script); NULL if neither has it.
 */
char *qemu_find_qboot(const char *qemu_path, const char *datadir);
/* QEMU's data directory of a /usr install (Debian's qemu-system-data). */
#define QEMU_DATADIR "/usr/share/qemu"

/* NULL-terminated argv for QEMU; free with strv_free(). */
char **qemu_build_argv(const struct vm_params *p, const struct qemu_host *h,
		       struct herr *err);
/* QEMU's environment: @base and G_SLICE=always-malloc unless @base sets
 * G_SLICE; free with strv_free(). */
char **qemu_env(char *const base[]);
/* The guest kernel command line alone (part of the argv above). */
char *qemu_kernel_cmdline(const struct husk_config *cfg,
			  const struct qemu_host *h);

/* ---- Cloud Hypervisor (hv-clh.c), CONFIG_HV_CLOUD_HYPERVISOR ----------- */

/*
 * One REST call on the VMM's API socket: @method "GET" or "PUT",
 * @endpoint e.g. "vm.boot" (under /api/v1/), @body JSON or NULL.
 * *@status is the HTTP status; a status >= 300 is an error quoting the
 * VMM's error body.  *@resp_body (may be NULL) gets the body to free.
 */
int clh_api_call(const char *api_sock, const char *method, const char *endpoint,
		 const char *body, long long timeout_ms, int *status,
		 char **resp_body, struct herr *err);
/* The same, with @fds passed as SCM_RIGHTS along with the request. */
int clh_api_call_fds(const char *api_sock, const char *method,
		     const char *endpoint, const char *body, const int *fds,
		     size_t n_fds, long long timeout_ms, int *status,
		     char **resp_body, struct herr *err);
/* GET vmm.ping; *@version (may be NULL) gets the VMM's version to free. */
int clh_ping(const char *api_sock, long long timeout_ms, char **version,
	     struct herr *err);
int clh_vm_create(const char *api_sock, const char *vm_config,
		  long long timeout_ms, struct herr *err);
int clh_vm_boot(const char *api_sock, long long timeout_ms, struct herr *err);
int clh_vm_shutdown(const char *api_sock, long long timeout_ms,
		    struct herr *err);
int clh_vmm_shutdown(const char *api_sock, long long timeout_ms,
		     struct herr *err);
/* PUT vm.add-net: NetConfig{id "net<index>", mac} with @tap_fd attached. */
int clh_vm_add_net(const char *api_sock, unsigned int index,
		   const unsigned char mac[6], int tap_fd, long long timeout_ms,
		   struct herr *err);
/*
 * GET vm.info, checked against the VmInfo schema: *@state is one of the
 * published states ("Created", "Running", ...), a static string.
 */
int clh_vm_info_state(const char *api_sock, long long timeout_ms,
		      const char **state, struct herr *err);
/* The parsers behind the calls, for the fuzz target (tests/fuzz/clh_api.c). */
/*
 * The response head in @buf (@len bytes, NUL-terminated, modified): 1 not
 * complete yet, 0 parsed (*@code, the head's length *@hlen, the body's
 * *@blen), -1 not HTTP, a bad Content-Length, or longer than 8 KiB.
 */
int clh_http_head(char *buf, size_t len, int *code, size_t *hlen, size_t *blen,
		  struct herr *err);
/* A VmInfo body: *@state is one of the published states. */
int clh_vm_info_parse(const char *body, const char **state, struct herr *err);
/* The VmConfig JSON (v26+ "payload" shape) for @p; free it. */
char *clh_vm_config(const struct vm_params *p, const char *cmdline,
		    const char *vsock_sock, const char *console_log);
/*
 * Host side of hybrid vsock: connect to @uds, send "CONNECT <port>\n", read
 * "OK <n>\n" byte by byte (nothing after it is consumed); redial until
 * @timeout_ms while the VMM hangs up (nothing listens in the guest yet).
 * Returns the connected stream.
 */
int hvsock_connect(const char *uds, unsigned int port, long long timeout_ms,
		   struct herr *err);
/*
 * One attempt of the same, by @deadline (now_ms() time): UNAVAILABLE when
 * the VMM hung up or refused (try again), INTERNAL when its answer is no
 * handshake at all, DEADLINE_EXCEEDED when it said nothing in time.
 */
int hvsock_try(const char *uds, unsigned int port, long long deadline,
	       struct herr *err);

/* ---- the Cloud Hypervisor driver (hv-clh-vm.c) ------------------------
 *
 * vm_start() and the other vm_*() calls hand a VM whose configuration
 * says hypervisor "clh" to these, with the same contracts.
 */
struct clh_vm;

#define VM_CLH_API_SOCK "clh-api.sock"
#define VM_CLH_VSOCK "clh.sock"

#if IS_ENABLED_CONFIG_HV_CLOUD_HYPERVISOR
int clh_start(const struct vm_params *p, struct clh_vm **out, struct herr *err);
int clh_connect_agent(struct clh_vm *vm, long long timeout_ms,
		      struct herr *err);
pid_t clh_pid(const struct clh_vm *vm);
void clh_exited(struct clh_vm *vm, int wait_status);
bool clh_running(const struct clh_vm *vm);
int clh_stop(struct clh_vm *vm, bool graceful, long long timeout_ms,
	     struct herr *err);
void clh_free(struct clh_vm *vm);
int clh_fs_pidfd(const struct clh_vm *vm);
int clh_fs_error(struct clh_vm *vm, struct herr *err);
pid_t clh_fs_pid(const struct clh_vm *vm);
bool clh_child_reaped(struct clh_vm *vm, pid_t pid, int wait_status);
const char *clh_describe(const struct clh_vm *vm);
/* The guest's command line: QEMU's for a KVM guest, without microvm's. */
char *clh_kernel_cmdline(const struct husk_config *cfg);
#else
static inline int clh_start(const struct vm_params *p, struct clh_vm **out,
			    struct herr *err)
{
	return herr_set(err, GRPC_UNIMPLEMENTED, 0,
			"built without the Cloud Hypervisor driver "
			"(CONFIG_HV_CLOUD_HYPERVISOR)");
}
/* Never called: clh_start() made no VM. */
static inline int clh_connect_agent(struct clh_vm *vm, long long t,
				    struct herr *err)
{
	return -1;
}
static inline pid_t clh_pid(const struct clh_vm *vm)
{
	return 0;
}
static inline void clh_exited(struct clh_vm *vm, int wait_status)
{
}
static inline bool clh_running(const struct clh_vm *vm)
{
	return false;
}
static inline int clh_stop(struct clh_vm *vm, bool graceful, long long t,
			   struct herr *err)
{
	return 0;
}
static inline void clh_free(struct clh_vm *vm)
{
}
static inline int clh_fs_pidfd(const struct clh_vm *vm)
{
	return -1;
}
static inline int clh_fs_error(struct clh_vm *vm, struct herr *err)
{
	return -1;
}
static inline pid_t clh_fs_pid(const struct clh_vm *vm)
{
	return 0;
}
static inline bool clh_child_reaped(struct clh_vm *vm, pid_t pid, int st)
{
	return false;
}
static inline const char *clh_describe(const struct clh_vm *vm)
{
	return "";
}
#endif

#endif
