/* SPDX-License-Identifier: Apache-2.0 */
/* The shim daemon (no action word on the command line). */
#ifndef HUSK_SHIM_SERVICE_H
#define HUSK_SHIM_SERVICE_H

#include "flags.h"

/* Serve until Shutdown or SIGTERM. Returns the exit code. */
int shim_serve(const struct shim_flags *f);

#endif
