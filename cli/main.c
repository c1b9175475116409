// SPDX-License-Identifier: Apache-2.0
/*
 * husk: the administrative utility, a thin table of verbs.  "ctl" drives
 * an agent by hand; "check" says whether this host can run husk and "env"
 * prints the effective configuration (both in cli/, on the host library's
 * configuration and hypervisor probes, host/).
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "log.h"

/* cli/check.c, cli/env.c */
int check_main(int argc, char **argv);
int env_main(int argc, char **argv);

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} verbs[] = {
	{ "ctl", ctl_main, "drive a husk (or Kata) agent over ttRPC" },
	{ "check", check_main, "can this host run husk? (exits 1 if not)" },
	{ "env", env_main, "print the effective configuration and versions" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: husk <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-8s %s\n", verbs[i].name, verbs[i].help);
}

int main(int argc, char **argv)
{
	log_init(2, LOG_WARN);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "husk: unknown command %s\n", argv[1]);
	usage(stderr);
	return 2;
}
