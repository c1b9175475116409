// SPDX-License-Identifier: Apache-2.0
/*
 * The shim's configuration: a strict parser for the subset of TOML that
 * Kata's configuration.toml uses, and its mapping onto struct husk_config.
 *
 * Why our own parser: Debian 12 packages no C TOML library (only C++
 * libcpptoml), and libconfig's syntax is not TOML, so a Kata file could not
 * be read with it.  The subset is what Kata writes: [tables] with bare
 * keys, bare keys, "basic" and 'literal' strings, integers, booleans, and
 * arrays (one line or several) of those.  Everything else TOML has
 * (floats, dates, inline tables, [[arrays of tables]], dotted or quoted
 * keys, multi-line strings) is refused with file:line, so a file never
 * means one thing to us and another to a TOML reader.  Unknown keys only
 * warn, so Kata's own files load; a known key of the wrong type is an
 * error.  tests/fuzz/config_toml.c fuzzes config_parse().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "util.h"

/* Bounds that keep a hostile or broken file cheap to refuse. */
#define CONF_MAX_FILE (1 << 20)
#define CONF_MAX_KEY 64
#define CONF_MAX_DEPTH 8
#define CONF_MAX_ENTRIES 2048
#define CONF_MAX_ARRAY 1024
#define CONF_MAX_DROPINS 256

/* ---- values ------------------------------------------------------------ */

enum tval_type { TV_STR, TV_INT, TV_BOOL, TV_ARRAY };

struct tval {
	enum tval_type type;
	char *s;
	long long i;
	bool b;
	struct tval *items; /* TV_ARRAY: scalars of one type */
	size_t n;
};

static const char *type_name(enum tval_type t)
{
	switch (t) {
	case TV_STR:
		return "a string";
	case TV_INT:
		return "an integer";
	case TV_BOOL:
		return "a boolean";
	case TV_ARRAY:
		return "an array";
	}
	return "?";
}

static void tval_free(struct tval *v)
{
	free(v->s);
	for (size_t i = 0; i < v->n; i++)
		tval_free(&v->items[i]);
	free(v->items);
	memset(v, 0, sizeof(*v));
}

/* ---- parser state -------------------------------------------------------- */

/* A table or key defined in this file, for TOML's "define once" rule. */
struct seen {
	char *name; /* "table" or "table.key" */
	bool is_table;
};

struct parser {
	const char *p, *end;
	const char *file;
	unsigned int line;
	char table[CONF_MAX_KEY * CONF_MAX_DEPTH + CONF_MAX_DEPTH];
	/* The key being parsed ("table.key"), named in errors. */
	const char *key;
	struct seen *seen;
	size_t n_seen, cap_seen;
	struct husk_config *cfg;
	/* initrd/image set (non-empty) in this file, and where. */
	unsigned int initrd_line, image_line;
	/* Unknown keys, for one warning per file. */
	char unknown[256];
	size_t n_unknown;
	bool unknown_cut;
	struct herr *err;
};

__attribute__((format(printf, 2, 3))) static int perr(struct parser *ps,
						      const char *fmt, ...)
{
	char msg[HERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->key)
		return herr_set(ps->err, GRPC_INVALID_ARGUMENT, 0,
				"%s:%u: key '%s': %s", ps->file, ps->line,
				ps->key, msg);
	return herr_set(ps->err, GRPC_INVALID_ARGUMENT, 0, "%s:%u: %s",
			ps->file, ps->line, msg);
}

static bool at_end(const struct parser *ps)
{
	return ps->p >= ps->end;
}

static int peek(const struct parser *ps)
{
	return at_end(ps) ? -1 : (unsigned char)*ps->p;
}

static bool is_bare(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static void skip_ws(struct parser *ps)
{
	while (!at_end(ps) && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

/* A comment runs to the end of the line; control characters are refused. */
static int skip_comment(struct parser *ps)
{
	if (peek(ps) != '#')
		return 0;
	for (; !at_end(ps) && *ps->p != '\n'; ps->p++) {
		unsigned char c = (unsigned char)*ps->p;

		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
			return perr(ps, "control character 0x%02x in a comment",
				    c);
	}
	return 0;
}

/* End of line: optional spaces and comment, then "\n", "\r\n" or EOF. */
static int expect_eol(struct parser *ps, const char *after)
{
	skip_ws(ps);
	if (skip_comment(ps) < 0)
		return -1;
	if (at_end(ps))
		return 0;
	if (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
		ps->p++;
	if (*ps->p != '\n')
		return perr(ps, "unexpected '%c' after %s",
			    (*ps->p >= 0x20 && *ps->p < 0x7f) ? *ps->p : '?',
			    after);
	ps->p++;
	ps->line++;
	return 0;
}

/* Spaces, newlines and comments, as allowed inside an array. */
static int skip_ws_nl(struct parser *ps)
{
	for (;;) {
		skip_ws(ps);
		if (skip_comment(ps) < 0)
			return -1;
		if (at_end(ps))
			return 0;
		if (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
			ps->p++;
		if (*ps->p != '\n')
			return 0;
		ps->p++;
		ps->line++;
	}
}

static int parse_bare_key(struct parser *ps, char *out, size_t cap)
{
	size_t n = 0;

	if (peek(ps) == '"' || peek(ps) == '\'')
		return perr(ps, "quoted keys are not supported");
	while (!at_end(ps) && is_bare(*ps->p)) {
		if (n + 1 >= cap || n >= CONF_MAX_KEY)
			return perr(ps, "key too long");
		out[n++] = *ps->p++;
	}
	out[n] = '\0';
	if (!n)
		return perr(ps, "expected a key");
	return 0;
}

/* ---- strings ------------------------------------------------------------- */

struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_putc(struct sbuf *b, char c)
{
	if (b->len + 2 > b->cap) {
		b->cap = b->cap ? b->cap * 2 : 32;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
}

static int put_utf8(struct parser *ps, struct sbuf *b, uint32_t cp)
{
	if (cp == 0)
		return perr(ps, "\\u0000 cannot be stored in a C string");
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return perr(ps, "invalid unicode escape U+%04" PRIX32, cp);
	if (cp < 0x80) {
		sb_putc(b, (char)cp);
	} else if (cp < 0x800) {
		sb_putc(b, (char)(0xc0 | (cp >> 6)));
		sb_putc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		sb_putc(b, (char)(0xe0 | (cp >> 12)));
		sb_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		sb_putc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		sb_putc(b, (char)(0xf0 | (cp >> 18)));
		sb_putc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		sb_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		sb_putc(b, (char)(0x80 | (cp & 0x3f)));
	}
	return 0;
}

static int parse_escape(struct parser *ps, struct sbuf *b)
{
	int c = peek(ps);
	int digits;
	uint32_t cp = 0;

	if (c < 0)
		return perr(ps, "unterminated string");
	ps->p++;
	switch (c) {
	case 'b':
		sb_putc(b, '\b');
		return 0;
	case 't':
		sb_putc(b, '\t');
		return 0;
	case 'n':
		sb_putc(b, '\n');
		return 0;
	case 'f':
		sb_putc(b, '\f');
		return 0;
	case 'r':
		sb_putc(b, '\r');
		return 0;
	case '"':
		sb_putc(b, '"');
		return 0;
	case '\\':
		sb_putc(b, '\\');
		return 0;
	case 'u':
		digits = 4;
		break;
	case 'U':
		digits = 8;
		break;
	default:
		return perr(ps, "unknown escape '\\%c' in a string",
			    (c >= 0x20 && c < 0x7f) ? c : '?');
	}
	for (int i = 0; i < digits; i++) {
		int h = peek(ps);

		if (h >= '0' && h <= '9')
			h -= '0';
		else if (h >= 'a' && h <= 'f')
			h -= 'a' - 10;
		else if (h >= 'A' && h <= 'F')
			h -= 'A' - 10;
		else
			return perr(ps, "bad \\%c escape: needs %d hex digits",
				    c, digits);
		cp = cp << 4 | (uint32_t)h;
		ps->p++;
	}
	return put_utf8(ps, b, cp);
}

/* "basic" (with escapes) or 'literal'; single line only. */
static int parse_string(struct parser *ps, char **out)
{
	char quote = *ps->p;
	struct sbuf b = { 0 };

	if (ps->end - ps->p >= 3 && ps->p[1] == quote && ps->p[2] == quote)
		return perr(ps, "multi-line strings are not supported");
	ps->p++;
	sb_putc(&b, 'x'); /* never NULL, even when empty */
	b.len = 0;
	b.s[0] = '\0';
	for (;;) {
		unsigned char c;

		if (at_end(ps) || *ps->p == '\n') {
			free(b.s);
			return perr(ps, "unterminated string");
		}
		c = (unsigned char)*ps->p;
		if (c == (unsigned char)quote) {
			ps->p++;
			break;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			free(b.s);
			return perr(ps, "control character 0x%02x in a string",
				    c);
		}
		ps->p++;
		if (c == '\\' && quote == '"') {
			if (parse_escape(ps, &b) < 0) {
				free(b.s);
				return -1;
			}
			continue;
		}
		sb_putc(&b, (char)c);
	}
	*out = b.s;
	return 0;
}

/* ---- numbers and booleans ------------------------------------------------ */

static int digit_value(int c, int base)
{
	int d;

	if (c >= '0' && c <= '9')
		d = c - '0';
	else if (c >= 'a' && c <= 'f')
		d = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		d = c - 'A' + 10;
	else
		return -1;
	return d < base ? d : -1;
}

/*
 * TOML integers: [+-]decimal without leading zeros, or 0x/0o/0b without
 * sign; '_' only between digits.  Overflow of int64 is an error.
 */
static int parse_int(struct parser *ps, long long *out)
{
	const char *start = ps->p;
	bool neg = false, last_digit = false, any = false;
	unsigned long long v = 0, limit;
	int base = 10;

	if (peek(ps) == '+' || peek(ps) == '-') {
		neg = *ps->p == '-';
		ps->p++;
	}
	if (ps->end - ps->p >= 2 && ps->p[0] == '0' &&
	    (ps->p[1] == 'x' || ps->p[1] == 'o' || ps->p[1] == 'b')) {
		if (ps->p != start)
			return perr(ps, "a sign is not allowed on 0%c numbers",
				    ps->p[1]);
		base = ps->p[1] == 'x' ? 16 : ps->p[1] == 'o' ? 8 : 2;
		ps->p += 2;
	} else if (peek(ps) == '0' && ps->p + 1 < ps->end &&
		   (is_bare(ps->p[1]) || ps->p[1] == '.')) {
		return perr(ps, "leading zeros are not allowed");
	}
	limit = neg ? (unsigned long long)LLONG_MAX + 1
		    : (unsigned long long)LLONG_MAX;
	while (!at_end(ps)) {
		int c = *ps->p, d;

		if (c == '_') {
			if (!last_digit)
				return perr(ps, "misplaced '_' in a number");
			last_digit = false;
			ps->p++;
			continue;
		}
		d = digit_value(c, base);
		if (d < 0)
			break;
		if (v > (limit - (unsigned long long)d) / (unsigned)base)
			return perr(ps, "integer out of range");
		v = v * (unsigned)base + (unsigned long long)d;
		last_digit = any = true;
		ps->p++;
	}
	if (!any || !last_digit)
		return perr(ps, "malformed integer");
	if (!at_end(ps) && (is_bare(*ps->p) || *ps->p == '.' || *ps->p == ':' ||
			    *ps->p == '+'))
		return perr(
			ps,
			"malformed number (floats and dates are not supported)");
	if (neg)
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN
							      : -(long long)v;
	else
		*out = (long long)v;
	return 0;
}

static bool match_word(struct parser *ps, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n))
		return false;
	if (ps->p + n < ps->end && is_bare(ps->p[n]))
		return false;
	ps->p += n;
	return true;
}

static int parse_value(struct parser *ps, struct tval *v, bool in_array);

static int parse_array(struct parser *ps, struct tval *v)
{
	size_t cap = 0;

	ps->p++; /* '[' */
	v->type = TV_ARRAY;
	for (;;) {
		struct tval item = { 0 };

		if (skip_ws_nl(ps) < 0)
			return -1;
		if (peek(ps) == ']') {
			ps->p++;
			return 0;
		}
		if (at_end(ps))
			return perr(ps, "unterminated array");
		if (v->n >= CONF_MAX_ARRAY)
			return perr(ps, "array too long");
		if (parse_value(ps, &item, true) < 0)
			return -1;
		if (v->n && item.type != v->items[0].type) {
			tval_free(&item);
			return perr(ps, "mixed types in an array");
		}
		if (v->n == cap) {
			cap = cap ? cap * 2 : 4;
			v->items = realloc(v->items, cap * sizeof(*v->items));
			if (!v->items)
				abort();
		}
		v->items[v->n++] = item;
		if (skip_ws_nl(ps) < 0)
			return -1;
		if (peek(ps) == ',') {
			ps->p++;
			continue;
		}
		if (peek(ps) == ']') {
			ps->p++;
			return 0;
		}
		return perr(ps, at_end(ps) ? "unterminated array"
					   : "expected ',' or ']' in an array");
	}
}

static int parse_value(struct parser *ps, struct tval *v, bool in_array)
{
	int c = peek(ps);

	memset(v, 0, sizeof(*v));
	if (c == '"' || c == '\'') {
		v->type = TV_STR;
		return parse_string(ps, &v->s);
	}
	if (c == '[') {
		if (in_array)
			return perr(ps, "nested arrays are not supported");
		if (parse_array(ps, v) < 0) {
			tval_free(v);
			return -1;
		}
		return 0;
	}
	if (c == '{')
		return perr(ps, "inline tables are not supported");
	if (match_word(ps, "true")) {
		v->type = TV_BOOL;
		v->b = true;
		return 0;
	}
	if (match_word(ps, "false")) {
		v->type = TV_BOOL;
		return 0;
	}
	if (match_word(ps, "inf") || match_word(ps, "nan") ||
	    match_word(ps, "+inf") || match_word(ps, "-inf") ||
	    match_word(ps, "+nan") || match_word(ps, "-nan"))
		return perr(ps, "floats are not supported");
	if ((c >= '0' && c <= '9') || c == '+' || c == '-') {
		v->type = TV_INT;
		return parse_int(ps, &v->i);
	}
	if (c < 0 || c == '\n' || c == '\r' || c == '#')
		return perr(ps, "missing value");
	return perr(ps, "unexpected '%c' at the start of a value",
		    (c >= 0x20 && c < 0x7f) ? c : '?');
}

/* ---- define-once bookkeeping --------------------------------------------- */

static const struct seen *find_seen(const struct parser *ps, const char *name)
{
	for (size_t i = 0; i < ps->n_seen; i++)
		if (!strcmp(ps->seen[i].name, name))
			return &ps->seen[i];
	return NULL;
}

static int add_seen(struct parser *ps, const char *name, bool is_table)
{
	if (ps->n_seen >= CONF_MAX_ENTRIES)
		return perr(ps, "too many keys and tables");
	if (ps->n_seen == ps->cap_seen) {
		ps->cap_seen = ps->cap_seen ? ps->cap_seen * 2 : 32;
		ps->seen = realloc(ps->seen, ps->cap_seen * sizeof(*ps->seen));
		if (!ps->seen)
			abort();
	}
	ps->seen[ps->n_seen].name = xstrdup(name);
	ps->seen[ps->n_seen].is_table = is_table;
	ps->n_seen++;
	return 0;
}

/* ---- the schema ---------------------------------------------------------- */

enum key_kind {
	K_PATH, /* absolute path, "" = unset where optional */
	K_STR,
	K_CHOICE, /* one of choices[] */
	K_UINT, /* min..max */
	K_BOOL,
	K_SHARED_FS,
};

struct keydef {
	const char *name;
	enum key_kind kind;
	size_t off;
	bool optional; /* K_PATH: "" clears it */
	long long min, max;
	const char *const *choices;
};

#define F(field) offsetof(struct husk_config, field)

static const char *const machines[] = { "microvm", "q35", "pc", NULL };
static const char *const accels[] = { "auto", "kvm", "tcg", NULL };

static const struct keydef hv_keys[] = {
	{ "path", K_PATH, F(hypervisor_path), false, 0, 0, NULL },
	{ "kernel", K_PATH, F(kernel), false, 0, 0, NULL },
	{ "initrd", K_PATH, F(initrd), true, 0, 0, NULL },
	{ "image", K_PATH, F(image), true, 0, 0, NULL },
	{ "machine_type", K_CHOICE, F(machine_type), false, 0, 0, machines },
	{ "kernel_params", K_STR, F(kernel_params), false, 0, 0, NULL },
	{ "default_vcpus", K_UINT, F(default_vcpus), false, 1, 255, NULL },
	{ "default_memory", K_UINT, F(default_memory), false, 64, 1 << 20,
	  NULL },
	{ "shared_fs", K_SHARED_FS, F(shared_fs), false, 0, 0, NULL },
	{ "virtio_fs_daemon", K_PATH, F(virtio_fs_daemon), true, 0, 0, NULL },
	{ "msize_9p", K_UINT, F(msize_9p), false, 4096, 1 << 20, NULL },
	{ "enable_debug", K_BOOL, F(enable_debug), false, 0, 0, NULL },
	{ "accel", K_CHOICE, F(accel), false, 0, 0, accels },
};

static const struct keydef agent_keys[] = {
	{ "dial_timeout", K_UINT, F(dial_timeout), false, 1, 3600, NULL },
	{ "enable_debug", K_BOOL, F(agent_debug), false, 0, 0, NULL },
};

static const struct keydef runtime_keys[] = {
	{ "enable_debug", K_BOOL, F(runtime_debug), false, 0, 0, NULL },
};

static const char *const shared_fs_names[] = {
	[SHARED_FS_9P] = "virtio-9p",
	[SHARED_FS_VIRTIO_FS] = "virtio-fs",
	[SHARED_FS_NONE] = "none",
};

const char *config_shared_fs_name(enum shared_fs fs)
{
	if ((size_t)fs < ARRAY_SIZE(shared_fs_names))
		return shared_fs_names[fs];
	return "?";
}

static void set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? xstrdup(v) : NULL;
}

static int apply_key(struct parser *ps, const struct keydef *k,
		     const struct tval *v)
{
	char *base = (char *)ps->cfg;
	enum tval_type want = k->kind == K_UINT	  ? TV_INT
			      : k->kind == K_BOOL ? TV_BOOL
						  : TV_STR;

	if (v->type != want)
		return perr(ps, "expected %s, got %s", type_name(want),
			    type_name(v->type));
	switch (k->kind) {
	case K_PATH:
		if (!*v->s && k->optional) {
			set_str((char **)(base + k->off), NULL);
			return 0;
		}
		if (v->s[0] != '/')
			return perr(ps, "\"%s\" is not an absolute path", v->s);
		set_str((char **)(base + k->off), v->s);
		return 0;
	case K_STR:
		set_str((char **)(base + k->off), v->s);
		return 0;
	case K_CHOICE:
		for (const char *const *c = k->choices; *c; c++)
			if (!strcmp(*c, v->s)) {
				set_str((char **)(base + k->off), v->s);
				return 0;
			}
		return perr(ps, "\"%s\" is not one of %s%s%s%s%s", v->s,
			    k->choices[0], k->choices[1] ? ", " : "",
			    k->choices[1] ? k->choices[1] : "",
			    k->choices[1] && k->choices[2] ? ", " : "",
			    k->choices[1] && k->choices[2] ? k->choices[2]
							   : "");
	case K_UINT:
		if (v->i < k->min || v->i > k->max)
			return perr(ps, "%lld is out of range (%lld..%lld)",
				    v->i, k->min, k->max);
		*(unsigned int *)(base + k->off) = (unsigned int)v->i;
		return 0;
	case K_BOOL:
		*(bool *)(base + k->off) = v->b;
		return 0;
	case K_SHARED_FS:
		for (size_t i = 0; i < ARRAY_SIZE(shared_fs_names); i++)
			if (!strcmp(shared_fs_names[i], v->s)) {
				*(enum shared_fs *)(base + k->off) = i;
				return 0;
			}
		return perr(ps,
			    "\"%s\" is not one of virtio-9p, virtio-fs, none",
			    v->s);
	}
	return 0;
}

static void note_unknown(struct parser *ps, const char *name)
{
	size_t have = strlen(ps->unknown), n = strlen(name);

	ps->n_unknown++;
	if (ps->unknown_cut || have + n + 2 >= sizeof(ps->unknown)) {
		ps->unknown_cut = true;
		return;
	}
	if (have)
		ps->unknown[have++] = ',';
	memcpy(ps->unknown + have, name, n + 1);
}

static bool key_in(const struct keydef *keys, size_t n, const char *key,
		   const struct keydef **out)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(keys[i].name, key)) {
			*out = &keys[i];
			return true;
		}
	return false;
}

/* One "key = value" in the current table. */
static int apply(struct parser *ps, const char *key, const struct tval *v)
{
	const char *t = ps->table;
	const struct keydef *k = NULL;

	if (!strncmp(t, "hypervisor.", 11) &&
	    key_in(hv_keys, ARRAY_SIZE(hv_keys), key, &k)) {
		if (apply_key(ps, k, v) < 0)
			return -1;
		if (!strcmp(key, "initrd") && ps->cfg->initrd)
			ps->initrd_line = ps->line;
		if (!strcmp(key, "image") && ps->cfg->image)
			ps->image_line = ps->line;
		return 0;
	}
	if ((!strcmp(t, "agent.husk") || !strcmp(t, "agent.kata")) &&
	    key_in(agent_keys, ARRAY_SIZE(agent_keys), key, &k))
		return apply_key(ps, k, v);
	if (!strcmp(t, "runtime") &&
	    key_in(runtime_keys, ARRAY_SIZE(runtime_keys), key, &k))
		return apply_key(ps, k, v);
	note_unknown(ps, ps->key);
	return 0;
}

/* [a.b.c] */
static int parse_table(struct parser *ps)
{
	char part[CONF_MAX_KEY + 1], name[sizeof(ps->table)];
	const struct seen *s;
	int depth = 0;
	size_t len = 0;

	ps->p++;
	if (peek(ps) == '[')
		return perr(ps, "arrays of tables ([[...]]) are not supported");
	name[0] = '\0';
	for (;;) {
		skip_ws(ps);
		if (parse_bare_key(ps, part, sizeof(part)) < 0)
			return -1;
		if (++depth > CONF_MAX_DEPTH)
			return perr(ps, "table name nested too deeply");
		len += (size_t)snprintf(name + len, sizeof(name) - len, "%s%s",
					len ? "." : "", part);
		skip_ws(ps);
		if (peek(ps) == '.') {
			ps->p++;
			continue;
		}
		if (peek(ps) == ']') {
			ps->p++;
			break;
		}
		return perr(ps, "expected '.' or ']' in a table header");
	}
	s = find_seen(ps, name);
	if (s)
		return perr(ps,
			    s->is_table ? "table [%s] defined twice"
					: "[%s] is already a key",
			    name);
	if (add_seen(ps, name, true) < 0)
		return -1;
	/* A hypervisor we do not drive is an error, not a silent default. */
	if (!strncmp(name, "hypervisor.", 11)) {
		const char *hv = name + 11;

		if (strcmp(hv, "qemu") && strcmp(hv, "clh"))
			return perr(
				ps,
				"[%s]: hypervisor \"%s\" is not supported (qemu, clh)",
				name, hv);
		set_str(&ps->cfg->hypervisor, hv);
	}
	memcpy(ps->table, name, len + 1);
	return expect_eol(ps, "a table header");
}

static int parse_keyval(struct parser *ps)
{
	char key[CONF_MAX_KEY + 1], full[sizeof(ps->table) + CONF_MAX_KEY + 2];
	const struct seen *s;
	struct tval v;
	int rc;

	if (parse_bare_key(ps, key, sizeof(key)) < 0)
		return -1;
	skip_ws(ps);
	if (peek(ps) == '.')
		return perr(ps, "dotted keys are not supported");
	if (peek(ps) != '=')
		return perr(ps, "expected '=' after key '%s'", key);
	ps->p++;
	skip_ws(ps);
	snprintf(full, sizeof(full), "%s%s%s", ps->table, *ps->table ? "." : "",
		 key);
	s = find_seen(ps, full);
	if (s)
		return perr(ps,
			    s->is_table ? "key '%s' is already a table"
					: "key '%s' defined twice",
			    full);
	if (add_seen(ps, full, false) < 0)
		return -1;
	ps->key = full;
	rc = parse_value(ps, &v, false);
	if (!rc) {
		rc = apply(ps, key, &v);
		tval_free(&v);
	}
	if (!rc)
		rc = expect_eol(ps, "the value");
	ps->key = NULL;
	return rc;
}

/* Offset of the first byte that is not valid UTF-8, or @len. */
static size_t utf8_check(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			return i;
		if (len - i <= n)
			return i;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n + 1;
	}
	return len;
}

static void parser_free(struct parser *ps)
{
	for (size_t i = 0; i < ps->n_seen; i++)
		free(ps->seen[i].name);
	free(ps->seen);
	ps->seen = NULL;
	ps->n_seen = 0;
}

int config_parse(const char *text, size_t len, const char *filename,
		 struct husk_config *cfg, struct herr *err)
{
	struct parser ps = { .p = text,
			     .end = text + len,
			     .file = filename,
			     .line = 1,
			     .cfg = cfg,
			     .err = err };
	size_t bad;
	int rc = -1;

	if (len > CONF_MAX_FILE)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s: larger than %d bytes", filename,
				CONF_MAX_FILE);
	bad = utf8_check((const unsigned char *)text, len);
	if (bad < len) {
		for (const char *q = text; q < text + bad; q++)
			ps.line += *q == '\n';
		return perr(&ps, "not valid UTF-8 (byte 0x%02x)",
			    (unsigned char)text[bad]);
	}
	if (memchr(text, '\0', len)) {
		for (const char *q = text; *q; q++)
			ps.line += *q == '\n';
		return perr(&ps, "NUL byte in a text file");
	}
	/* A UTF-8 byte order mark is allowed at the very start. */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		ps.p += 3;
	while (!at_end(&ps)) {
		skip_ws(&ps);
		if (at_end(&ps))
			break;
		if (*ps.p == '[') {
			if (parse_table(&ps) < 0)
				goto out;
		} else if (is_bare(*ps.p) || *ps.p == '"' || *ps.p == '\'') {
			if (parse_keyval(&ps) < 0)
				goto out;
		} else if (*ps.p == '#' || *ps.p == '\n' || *ps.p == '\r') {
			if (expect_eol(&ps, "a comment") < 0)
				goto out;
		} else {
			perr(&ps, "expected a key or a [table], not '%c'",
			     (*ps.p >= 0x20 && *ps.p < 0x7f) ? *ps.p : '?');
			goto out;
		}
	}
	/* One file choosing both is a mistake; across files the later wins. */
	if (ps.initrd_line && ps.image_line) {
		ps.line = ps.initrd_line > ps.image_line ? ps.initrd_line
							 : ps.image_line;
		perr(&ps,
		     "both initrd and image are set (lines %u and %u): choose one",
		     ps.initrd_line, ps.image_line);
		goto out;
	}
	if (ps.image_line)
		set_str(&cfg->initrd, NULL);
	if (ps.initrd_line)
		set_str(&cfg->image, NULL);
	if (ps.n_unknown)
		log_warn("configuration %s: %zu unknown key%s ignored: %s%s",
			 filename, ps.n_unknown, ps.n_unknown == 1 ? "" : "s",
			 ps.unknown, ps.unknown_cut ? ",..." : "");
	rc = 0;
out:
	parser_free(&ps);
	return rc;
}

/* ---- defaults, files, layering ------------------------------------------- */

void config_defaults(struct husk_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->hypervisor = xstrdup("qemu");
	cfg->hypervisor_path = xstrdup("/usr/bin/qemu-system-x86_64");
	cfg->kernel = xstrdup(HUSK_PREFIX "/share/husk/vmlinux-husk");
	cfg->initrd = xstrdup(HUSK_PREFIX "/share/husk/husk-initrd.img");
	cfg->machine_type = xstrdup("microvm");
	cfg->kernel_params = xstrdup("");
	cfg->default_vcpus = 1;
	cfg->default_memory = 256;
	cfg->shared_fs = SHARED_FS_9P;
	cfg->virtio_fs_daemon = xstrdup("/usr/libexec/virtiofsd");
	cfg->msize_9p = 8192;
	cfg->accel = xstrdup("auto");
	cfg->dial_timeout = 30;
	cfg->sources = xstrdup("");
}

void config_free(struct husk_config *cfg)
{
	free(cfg->hypervisor);
	free(cfg->hypervisor_path);
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->image);
	free(cfg->machine_type);
	free(cfg->kernel_params);
	free(cfg->virtio_fs_daemon);
	free(cfg->accel);
	free(cfg->sources);
	memset(cfg, 0, sizeof(*cfg));
}

static void add_source(struct husk_config *cfg, const char *path)
{
	size_t have = cfg->sources ? strlen(cfg->sources) : 0;
	char *s = xmalloc(have + strlen(path) + 2);

	sprintf(s, "%s%s%s", have ? cfg->sources : "", have ? "\n" : "", path);
	free(cfg->sources);
	cfg->sources = s;
}

/* Read a whole (small) file; ENOENT is reported as 1, not an error. */
static int read_file(const char *path, char **out, size_t *len,
		     struct herr *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t have = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return herr_errno(err, errno, "configuration %s", path);
	}
	if (fstat(fd, &st) < 0)
		return herr_errno(err, errno, "configuration %s", path);
	if (!S_ISREG(st.st_mode))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"configuration %s: not a regular file", path);
	if (st.st_size > CONF_MAX_FILE)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"configuration %s: larger than %d bytes", path,
				CONF_MAX_FILE);
	buf = xmalloc((size_t)st.st_size + 1);
	while (have < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + have, (size_t)st.st_size - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return herr_errno(err, errno, "configuration %s", path);
		if (n == 0)
			break;
		have += (size_t)n;
	}
	buf[have] = '\0';
	*len = have;
	*out = steal_pointer(&buf);
	return 0;
}

/* Parse @path if it exists: 0 parsed, 1 absent, -1 error. */
static int parse_file(const char *path, struct husk_config *cfg,
		      struct herr *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int rc = read_file(path, &text, &len, err);

	if (rc)
		return rc;
	if (config_parse(text, len, path, cfg, err) < 0)
		return -1;
	add_source(cfg, path);
	return 0;
}

struct dropin {
	char *name;
	char *path;
};

static int cmp_dropin(const void *a, const void *b)
{
	return strcmp(((const struct dropin *)a)->name,
		      ((const struct dropin *)b)->name);
}

/* Add DIR/config.d/\*.toml to @list; a later dir replaces equal names. */
static int collect_dropins(const char *dir, struct dropin **list, size_t *n,
			   struct herr *err)
{
	_cleanup_free_ char *d = NULL;
	struct dirent *de;
	DIR *dp;

	if (asprintf(&d, "%s/config.d", dir) < 0)
		abort();
	dp = opendir(d);
	if (!dp) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return herr_errno(err, errno, "configuration %s", d);
	}
	while ((de = readdir(dp))) {
		size_t len = strlen(de->d_name), i;
		char *path;

		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".toml"))
			continue;
		if (asprintf(&path, "%s/%s", d, de->d_name) < 0)
			abort();
		for (i = 0; i < *n; i++)
			if (!strcmp((*list)[i].name, de->d_name))
				break;
		if (i < *n) {
			free((*list)[i].path);
			(*list)[i].path = path;
			continue;
		}
		if (*n >= CONF_MAX_DROPINS) {
			free(path);
			closedir(dp);
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"configuration %s: more than %d drop-ins", d,
				CONF_MAX_DROPINS);
		}
		*list = realloc(*list, (*n + 1) * sizeof(**list));
		if (!*list)
			abort();
		(*list)[*n].name = xstrdup(de->d_name);
		(*list)[*n].path = path;
		(*n)++;
	}
	closedir(dp);
	return 0;
}

static int load_dropins(const char *const *dirs, size_t n_dirs,
			struct husk_config *cfg, struct herr *err)
{
	struct dropin *list = NULL;
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < n_dirs && !rc; i++)
		if (dirs[i])
			rc = collect_dropins(dirs[i], &list, &n, err);
	if (!rc && n)
		qsort(list, n, sizeof(*list), cmp_dropin);
	for (size_t i = 0; i < n && !rc; i++)
		if (parse_file(list[i].path, cfg, err) < 0)
			rc = -1;
	for (size_t i = 0; i < n; i++) {
		free(list[i].name);
		free(list[i].path);
	}
	free(list);
	return rc;
}

int config_validate(const struct husk_config *cfg, struct herr *err)
{
	const char *m = cfg->machine_type ? cfg->machine_type : "microvm";

	if (!cfg->kernel || !*cfg->kernel)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"configuration: no kernel");
	if (!cfg->initrd && !cfg->image)
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"configuration: neither initrd nor image is set");
	if (cfg->initrd && cfg->image)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"configuration: both initrd and image are set");
	if (cfg->image && !strcmp(m, "microvm"))
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"configuration: image %s needs machine_type q35 or pc (microvm has no nvdimm)",
			cfg->image);
	if (!cfg->hypervisor_path || !*cfg->hypervisor_path)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"configuration: no hypervisor path");
	return 0;
}

int config_load_dirs(const char *share_dir, const char *etc_dir,
		     struct husk_config *cfg, struct herr *err)
{
	const char *dirs[] = { share_dir, etc_dir };

	config_defaults(cfg);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *path = NULL;

		if (!dirs[i])
			continue;
		if (asprintf(&path, "%s/" HUSK_CONF_NAME, dirs[i]) < 0)
			abort();
		if (parse_file(path, cfg, err) < 0)
			return -1;
	}
	if (load_dropins(dirs, ARRAY_SIZE(dirs), cfg, err) < 0)
		return -1;
	return config_validate(cfg, err);
}

int config_load_file(const char *path, struct husk_config *cfg,
		     struct herr *err)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	const char *dirs[1];
	int rc = parse_file(path, cfg, err);

	if (rc < 0)
		return -1;
	if (rc > 0)
		return herr_set(err, GRPC_NOT_FOUND, ENOENT, "configuration %s",
				path);
	if (slash)
		*slash = '\0';
	dirs[0] = slash ? (*dir ? dir : "/") : ".";
	return load_dropins(dirs, 1, cfg, err);
}

int config_load(const char *explicit_path, struct husk_config *cfg,
		struct herr *err)
{
	const char *path = explicit_path;

	if (!path || !*path)
		path = getenv("HUSK_CONF_FILE");
	if (!path || !*path)
		return config_load_dirs(HUSK_CONF_SHARE_DIR, HUSK_CONF_ETC_DIR,
					cfg, err);
	config_defaults(cfg);
	if (config_load_file(path, cfg, err) < 0)
		return -1;
	return config_validate(cfg, err);
}

/* ---- husk env ------------------------------------------------------------ */

static void dump_str(FILE *f, const char *key, const char *v)
{
	fprintf(f, "%s = \"", key);
	for (const unsigned char *p = (const unsigned char *)(v ? v : ""); *p;
	     p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputs("\"\n", f);
}

void config_dump(const struct husk_config *cfg, FILE *f)
{
	const char *src = cfg->sources ? cfg->sources : "";

	fputs("# files read, in order:\n", f);
	if (!*src)
		fputs("#   (none: built-in defaults)\n", f);
	while (*src) {
		size_t n = strcspn(src, "\n");

		fprintf(f, "#   %.*s\n", (int)n, src);
		src += n + (src[n] == '\n');
	}
	fprintf(f, "\n[hypervisor.%s]\n",
		cfg->hypervisor ? cfg->hypervisor : "qemu");
	dump_str(f, "path", cfg->hypervisor_path);
	dump_str(f, "kernel", cfg->kernel);
	dump_str(f, "initrd", cfg->initrd);
	dump_str(f, "image", cfg->image);
	dump_str(f, "machine_type", cfg->machine_type);
	dump_str(f, "kernel_params", cfg->kernel_params);
	fprintf(f, "default_vcpus = %u\n", cfg->default_vcpus);
	fprintf(f, "default_memory = %u\n", cfg->default_memory);
	dump_str(f, "shared_fs", config_shared_fs_name(cfg->shared_fs));
	dump_str(f, "virtio_fs_daemon", cfg->virtio_fs_daemon);
	fprintf(f, "msize_9p = %u\n", cfg->msize_9p);
	fprintf(f, "enable_debug = %s\n", cfg->enable_debug ? "true" : "false");
	dump_str(f, "accel", cfg->accel);
	fputs("\n[agent.husk]\n", f);
	fprintf(f, "dial_timeout = %u\n", cfg->dial_timeout);
	fprintf(f, "enable_debug = %s\n", cfg->agent_debug ? "true" : "false");
	fputs("\n[runtime]\n", f);
	fprintf(f, "enable_debug = %s\n",
		cfg->runtime_debug ? "true" : "false");
}
