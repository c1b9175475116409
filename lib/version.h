/* SPDX-License-Identifier: Apache-2.0 */
/* husk's version: the agent reports it, the shim and the CLI print it. */
#ifndef HUSK_VERSION_H
#define HUSK_VERSION_H

#define HUSK_VERSION "0.1.0"

#endif
