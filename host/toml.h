/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TOML subset configuration files are written in (toml.c): the parser
 * knows no schema.  It hands each [table] header and each "key = value" to
 * the caller's callbacks, which may refuse one with toml_error(): the
 * message then names file:line and the key, as every syntax error does.
 */
#ifndef HUSK_HOST_TOML_H
#define HUSK_HOST_TOML_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

enum toml_type { TOML_STR, TOML_INT, TOML_BOOL, TOML_ARRAY };

/* A file larger than this is refused. */
#define TOML_MAX_FILE (1 << 20)

struct toml_value {
	enum toml_type type;
	char *s;
	long long i;
	bool b;
	struct toml_value *items; /* TOML_ARRAY: scalars of one type */
	size_t n;
};

struct toml_parser;

struct toml_handler {
	/* A table header [a.b]: @name is "a.b".  May be NULL. */
	int (*table)(struct toml_parser *ps, const char *name, void *data);
	/* "key = value" inside table @table ("" before the first header). */
	int (*keyval)(struct toml_parser *ps, const char *table,
		      const char *key, const struct toml_value *v, void *data);
};

/*
 * Parse one file's text (at most 1 MiB of UTF-8): 0, or -1 with @err set
 * ("file:line: ..."), by the parser or by a callback that refused.
 */
int toml_parse(const char *text, size_t len, const char *filename,
	       const struct toml_handler *h, void *data, struct herr *err);

/* From a callback: fail the parse at the current line (and key); -1. */
__attribute__((format(printf, 2, 3))) int toml_error(struct toml_parser *ps,
						     const char *fmt, ...);

/* The line being parsed, and the key ("table.key") inside a value. */
unsigned int toml_line(const struct toml_parser *ps);
const char *toml_key(const struct toml_parser *ps);

/* "a string", "an integer", ... for error messages. */
const char *toml_type_name(enum toml_type t);

#endif
