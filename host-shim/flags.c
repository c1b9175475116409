// SPDX-License-Identifier: Apache-2.0
#include <stddef.h>
#include <string.h>

#include "flags.h"
#include "util.h"

struct flag_def {
	const char *name;
	size_t off_str; /* offset of a const char * member, or ... */
	size_t off_bool; /* ... of a bool member; the other is SIZE_MAX */
};

#define STR_FLAG(n, m)                                        \
	{                                                     \
		n, offsetof(struct shim_flags, m), (size_t)-1 \
	}
#define BOOL_FLAG(n, m)                                       \
	{                                                     \
		n, (size_t)-1, offsetof(struct shim_flags, m) \
	}

static const struct flag_def flag_defs[] = {
	BOOL_FLAG("debug", debug),
	BOOL_FLAG("v", version),
	STR_FLAG("namespace", namespace_),
	STR_FLAG("id", id),
	STR_FLAG("socket", socket),
	STR_FLAG("bundle", bundle),
	STR_FLAG("address", address),
	STR_FLAG("publish-binary", publish_binary),
};

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {
		"1", "t", "T", "true", "TRUE", "True"
	};
	static const char *const no[] = { "0",	   "f",	    "F",
					  "false", "FALSE", "False" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcmp(v, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(v, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

int shim_flags_parse(int argc, char *const argv[], struct shim_flags *f,
		     struct herr *err)
{
	int i;

	memset(f, 0, sizeof(*f));
	f->namespace_ = "";
	f->id = "";
	f->socket = "";
	f->bundle = "";
	f->address = "";
	f->publish_binary = "containerd";
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq;
		const struct flag_def *d = NULL;
		size_t len;

		if (a[0] != '-' || a[1] == '\0')
			break;
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		name = a + 1 + (a[1] == '-');
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		for (size_t k = 0; k < ARRAY_SIZE(flag_defs); k++)
			if (strlen(flag_defs[k].name) == len &&
			    !strncmp(flag_defs[k].name, name, len))
				d = &flag_defs[k];
		if (!d)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"flag provided but not defined: %s", a);
		if (d->off_bool != (size_t)-1) {
			bool *b = (bool *)((char *)f + d->off_bool);

			*b = true;
			if (eq && parse_bool(eq + 1, b) < 0)
				return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
						"invalid boolean value \"%s\" "
						"for -%.*s",
						eq + 1, (int)len, name);
			continue;
		}
		if (!eq && i + 1 >= argc)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"flag needs an argument: -%s", name);
		*(const char **)((char *)f + d->off_str) =
			eq ? eq + 1 : argv[++i];
	}
	if (i < argc) {
		if (!strcmp(argv[i], "start"))
			f->action = SHIM_ACTION_START;
		else if (!strcmp(argv[i], "delete"))
			f->action = SHIM_ACTION_DELETE;
		else
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"unknown action \"%s\" (want start or delete)",
				argv[i]);
		if (i + 1 < argc)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"unexpected argument \"%s\" after the action",
				argv[i + 1]);
	}
	return 0;
}
