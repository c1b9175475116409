/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "start" action and the names a shim is known by: its socket address
 * (what containerd dials), its per-sandbox run directory (VM sockets,
 * shared directory, pid files) and the files it leaves in the bundle.
 */
#ifndef HUSK_SHIM_START_H
#define HUSK_SHIM_START_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "flags.h"

/* containerd 1.6 looks for shim sockets here, whatever its own root. */
#define SHIM_SOCKET_DIR "/run/containerd/s"
#define SHIM_RUN_ROOT "/run/husk"

/* Go's path.Clean: "a//b/./c/.." -> "a/b", "" -> ".". */
char *go_path_clean(const char *path);

/*
 * "unix:///run/containerd/s/" + hex(sha256(filepath.Join(address, ns, id))),
 * exactly as containerd's shim library computes it.  Returns a malloc'd
 * string, or NULL with @err set.
 */
char *shim_socket_address(const char *address, const char *ns, const char *id,
			  struct herr *err);

/* The filesystem path inside a "unix://" address (points into @address). */
const char *shim_socket_path(const char *address);

/* <run root>/<ns>/<sandbox id>; the root is $HUSK_RUN_ROOT or /run/husk. */
char *shim_run_dir(const char *ns, const char *sandbox_id);

/*
 * Whether @pid is a live (not zombie) process whose command line contains
 * every string in @needles (NULL-terminated).  Guards against pid reuse
 * when acting on a recorded pid.
 */
int pid_matches(pid_t pid, const char *const *needles);

/* Read a decimal pid from <dir>/<name>; 0 if absent or unreadable. */
pid_t read_pid_file(const char *dir, const char *name);

/*
 * The start command's monotonic time (now_ms()), which it hands the daemon
 * it spawns in this environment variable: the start timeline's "start".
 */
#define SHIM_START_ENV "HUSK_SHIM_START_MS"

/* The start action: prints the address on stdout. Returns the exit code. */
int shim_start(const struct shim_flags *f, int argc, char *const argv[]);

#endif
