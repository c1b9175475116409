/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IS_ENABLED(CONFIG_FOO) is 1 when the Kconfig symbol is set and 0 when not,
 * so optional code sits in plain C conditions: it is always compiled and
 * type-checked, and the optimiser drops it when off.  scripts/genconfig.py
 * defines IS_ENABLED_CONFIG_* for every bool symbol in husk-config.h, which
 * the build includes into every file.
 */
#ifndef HUSK_KCONFIG_H
#define HUSK_KCONFIG_H

#define IS_ENABLED(option) IS_ENABLED_##option

#endif
