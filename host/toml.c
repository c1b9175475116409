// SPDX-License-Identifier: Apache-2.0
/*
 * A strict parser for the subset of TOML that Kata's configuration.toml
 * uses; the schema it fills lives in config.c.
 *
 * Why our own parser: Debian 12 packages no C TOML library (only C++
 * libcpptoml), and libconfig's syntax is not TOML, so a Kata file could not
 * be read with it.  The subset is what Kata writes: [tables] with bare
 * keys, bare keys, "basic" and 'literal' strings, integers, booleans, and
 * arrays (one line or several) of those.  Everything else TOML has
 * (floats, dates, inline tables, [[arrays of tables]], dotted or quoted
 * keys, multi-line strings) is refused with file:line, so a file never
 * means one thing to us and another to a TOML reader.  TOML's rule that a
 * table or key is defined once is enforced here too.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml.h"
#include "util.h"

/* Bounds that keep a hostile or broken file cheap to refuse. */
#define TOML_MAX_KEY 64
#define TOML_MAX_DEPTH 8
#define TOML_MAX_ENTRIES 2048
#define TOML_MAX_ARRAY 1024

/* ---- values ------------------------------------------------------------ */

const char *toml_type_name(enum toml_type t)
{
	switch (t) {
	case TOML_STR:
		return "a string";
	case TOML_INT:
		return "an integer";
	case TOML_BOOL:
		return "a boolean";
	case TOML_ARRAY:
		return "an array";
	}
	return "?";
}

static void toml_value_free(struct toml_value *v)
{
	free(v->s);
	for (size_t i = 0; i < v->n; i++)
		toml_value_free(&v->items[i]);
	free(v->items);
	memset(v, 0, sizeof(*v));
}

/* ---- parser state -------------------------------------------------------- */

/* A table or key defined in this file, for TOML's "define once" rule. */
struct seen {
	char *name; /* "table" or "table.key" */
	bool is_table;
};

struct toml_parser {
	const char *p, *end;
	const char *file;
	unsigned int line;
	char table[TOML_MAX_KEY * TOML_MAX_DEPTH + TOML_MAX_DEPTH];
	/* The key being parsed ("table.key"), named in errors. */
	const char *key;
	struct seen *seen;
	size_t n_seen, cap_seen;
	const struct toml_handler *h;
	void *data;
	struct herr *err;
};

int toml_error(struct toml_parser *ps, const char *fmt, ...)
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

unsigned int toml_line(const struct toml_parser *ps)
{
	return ps->line;
}

const char *toml_key(const struct toml_parser *ps)
{
	return ps->key;
}

static bool at_end(const struct toml_parser *ps)
{
	return ps->p >= ps->end;
}

static int peek(const struct toml_parser *ps)
{
	return at_end(ps) ? -1 : (unsigned char)*ps->p;
}

static bool is_bare(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static void skip_ws(struct toml_parser *ps)
{
	while (!at_end(ps) && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

/* A comment runs to the end of the line; control characters are refused. */
static int skip_comment(struct toml_parser *ps)
{
	if (peek(ps) != '#')
		return 0;
	for (; !at_end(ps) && *ps->p != '\n'; ps->p++) {
		unsigned char c = (unsigned char)*ps->p;

		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
			return toml_error(
				ps, "control character 0x%02x in a comment", c);
	}
	return 0;
}

/* End of line: optional spaces and comment, then "\n", "\r\n" or EOF. */
static int expect_eol(struct toml_parser *ps, const char *after)
{
	skip_ws(ps);
	if (skip_comment(ps) < 0)
		return -1;
	if (at_end(ps))
		return 0;
	if (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
		ps->p++;
	if (*ps->p != '\n')
		return toml_error(ps, "unexpected '%c' after %s",
				  (*ps->p >= 0x20 && *ps->p < 0x7f) ? *ps->p
								    : '?',
				  after);
	ps->p++;
	ps->line++;
	return 0;
}

/* Spaces, newlines and comments, as allowed inside an array. */
static int skip_ws_nl(struct toml_parser *ps)
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

static int parse_bare_key(struct toml_parser *ps, char *out, size_t cap)
{
	size_t n = 0;

	if (peek(ps) == '"' || peek(ps) == '\'')
		return toml_error(ps, "quoted keys are not supported");
	while (!at_end(ps) && is_bare(*ps->p)) {
		if (n + 1 >= cap || n >= TOML_MAX_KEY)
			return toml_error(ps, "key too long");
		out[n++] = *ps->p++;
	}
	out[n] = '\0';
	if (!n)
		return toml_error(ps, "expected a key");
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

static int put_utf8(struct toml_parser *ps, struct sbuf *b, uint32_t cp)
{
	if (cp == 0)
		return toml_error(ps, "\\u0000 cannot be stored in a C string");
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return toml_error(ps, "invalid unicode escape U+%04" PRIX32,
				  cp);
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

static int parse_escape(struct toml_parser *ps, struct sbuf *b)
{
	int c = peek(ps);
	int digits;
	uint32_t cp = 0;

	if (c < 0)
		return toml_error(ps, "unterminated string");
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
		return toml_error(ps, "unknown escape '\\%c' in a string",
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
			return toml_error(
				ps, "bad \\%c escape: needs %d hex digits", c,
				digits);
		cp = cp << 4 | (uint32_t)h;
		ps->p++;
	}
	return put_utf8(ps, b, cp);
}

/* "basic" (with escapes) or 'literal'; single line only. */
static int parse_string(struct toml_parser *ps, char **out)
{
	char quote = *ps->p;
	struct sbuf b = { 0 };

	if (ps->end - ps->p >= 3 && ps->p[1] == quote && ps->p[2] == quote)
		return toml_error(ps, "multi-line strings are not supported");
	ps->p++;
	sb_putc(&b, 'x'); /* never NULL, even when empty */
	b.len = 0;
	b.s[0] = '\0';
	for (;;) {
		unsigned char c;

		if (at_end(ps) || *ps->p == '\n') {
			free(b.s);
			return toml_error(ps, "unterminated string");
		}
		c = (unsigned char)*ps->p;
		if (c == (unsigned char)quote) {
			ps->p++;
			break;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			free(b.s);
			return toml_error(
				ps, "control character 0x%02x in a string", c);
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
static int parse_int(struct toml_parser *ps, long long *out)
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
			return toml_error(
				ps, "a sign is not allowed on 0%c numbers",
				ps->p[1]);
		base = ps->p[1] == 'x' ? 16 : ps->p[1] == 'o' ? 8 : 2;
		ps->p += 2;
	} else if (peek(ps) == '0' && ps->p + 1 < ps->end &&
		   (is_bare(ps->p[1]) || ps->p[1] == '.')) {
		return toml_error(ps, "leading zeros are not allowed");
	}
	limit = neg ? (unsigned long long)LLONG_MAX + 1
		    : (unsigned long long)LLONG_MAX;
	while (!at_end(ps)) {
		int c = *ps->p, d;

		if (c == '_') {
			if (!last_digit)
				return toml_error(ps,
						  "misplaced '_' in a number");
			last_digit = false;
			ps->p++;
			continue;
		}
		d = digit_value(c, base);
		if (d < 0)
			break;
		if (v > (limit - (unsigned long long)d) / (unsigned)base)
			return toml_error(ps, "integer out of range");
		v = v * (unsigned)base + (unsigned long long)d;
		last_digit = any = true;
		ps->p++;
	}
	if (!any || !last_digit)
		return toml_error(ps, "malformed integer");
	if (!at_end(ps) && (is_bare(*ps->p) || *ps->p == '.' || *ps->p == ':' ||
			    *ps->p == '+'))
		return toml_error(
			ps,
			"malformed number (floats and dates are not supported)");
	if (neg)
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN
							      : -(long long)v;
	else
		*out = (long long)v;
	return 0;
}

static bool match_word(struct toml_parser *ps, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n))
		return false;
	if (ps->p + n < ps->end && is_bare(ps->p[n]))
		return false;
	ps->p += n;
	return true;
}

static int parse_value(struct toml_parser *ps, struct toml_value *v,
		       bool in_array);

static int parse_array(struct toml_parser *ps, struct toml_value *v)
{
	size_t cap = 0;

	ps->p++; /* '[' */
	v->type = TOML_ARRAY;
	for (;;) {
		struct toml_value item = { 0 };

		if (skip_ws_nl(ps) < 0)
			return -1;
		if (peek(ps) == ']') {
			ps->p++;
			return 0;
		}
		if (at_end(ps))
			return toml_error(ps, "unterminated array");
		if (v->n >= TOML_MAX_ARRAY)
			return toml_error(ps, "array too long");
		if (parse_value(ps, &item, true) < 0)
			return -1;
		if (v->n && item.type != v->items[0].type) {
			toml_value_free(&item);
			return toml_error(ps, "mixed types in an array");
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
		return toml_error(
			ps, at_end(ps) ? "unterminated array"
				       : "expected ',' or ']' in an array");
	}
}

static int parse_value(struct toml_parser *ps, struct toml_value *v,
		       bool in_array)
{
	int c = peek(ps);

	memset(v, 0, sizeof(*v));
	if (c == '"' || c == '\'') {
		v->type = TOML_STR;
		return parse_string(ps, &v->s);
	}
	if (c == '[') {
		if (in_array)
			return toml_error(ps,
					  "nested arrays are not supported");
		if (parse_array(ps, v) < 0) {
			toml_value_free(v);
			return -1;
		}
		return 0;
	}
	if (c == '{')
		return toml_error(ps, "inline tables are not supported");
	if (match_word(ps, "true")) {
		v->type = TOML_BOOL;
		v->b = true;
		return 0;
	}
	if (match_word(ps, "false")) {
		v->type = TOML_BOOL;
		return 0;
	}
	if (match_word(ps, "inf") || match_word(ps, "nan") ||
	    match_word(ps, "+inf") || match_word(ps, "-inf") ||
	    match_word(ps, "+nan") || match_word(ps, "-nan"))
		return toml_error(ps, "floats are not supported");
	if ((c >= '0' && c <= '9') || c == '+' || c == '-') {
		v->type = TOML_INT;
		return parse_int(ps, &v->i);
	}
	if (c < 0 || c == '\n' || c == '\r' || c == '#')
		return toml_error(ps, "missing value");
	return toml_error(ps, "unexpected '%c' at the start of a value",
			  (c >= 0x20 && c < 0x7f) ? c : '?');
}

/* ---- define-once bookkeeping --------------------------------------------- */

static const struct seen *find_seen(const struct toml_parser *ps,
				    const char *name)
{
	for (size_t i = 0; i < ps->n_seen; i++)
		if (!strcmp(ps->seen[i].name, name))
			return &ps->seen[i];
	return NULL;
}

static int add_seen(struct toml_parser *ps, const char *name, bool is_table)
{
	if (ps->n_seen >= TOML_MAX_ENTRIES)
		return toml_error(ps, "too many keys and tables");
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

/* [a.b.c] */
static int parse_table(struct toml_parser *ps)
{
	char part[TOML_MAX_KEY + 1], name[sizeof(ps->table)];
	const struct seen *s;
	int depth = 0;
	size_t len = 0;

	ps->p++;
	if (peek(ps) == '[')
		return toml_error(
			ps, "arrays of tables ([[...]]) are not supported");
	name[0] = '\0';
	for (;;) {
		skip_ws(ps);
		if (parse_bare_key(ps, part, sizeof(part)) < 0)
			return -1;
		if (++depth > TOML_MAX_DEPTH)
			return toml_error(ps, "table name nested too deeply");
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
		return toml_error(ps, "expected '.' or ']' in a table header");
	}
	s = find_seen(ps, name);
	if (s)
		return toml_error(ps,
				  s->is_table ? "table [%s] defined twice"
					      : "[%s] is already a key",
				  name);
	if (add_seen(ps, name, true) < 0)
		return -1;
	if (ps->h->table && ps->h->table(ps, name, ps->data) < 0)
		return -1;
	memcpy(ps->table, name, len + 1);
	return expect_eol(ps, "a table header");
}

static int parse_keyval(struct toml_parser *ps)
{
	char key[TOML_MAX_KEY + 1], full[sizeof(ps->table) + TOML_MAX_KEY + 2];
	const struct seen *s;
	struct toml_value v;
	int rc;

	if (parse_bare_key(ps, key, sizeof(key)) < 0)
		return -1;
	skip_ws(ps);
	if (peek(ps) == '.')
		return toml_error(ps, "dotted keys are not supported");
	if (peek(ps) != '=')
		return toml_error(ps, "expected '=' after key '%s'", key);
	ps->p++;
	skip_ws(ps);
	snprintf(full, sizeof(full), "%s%s%s", ps->table, *ps->table ? "." : "",
		 key);
	s = find_seen(ps, full);
	if (s)
		return toml_error(ps,
				  s->is_table ? "key '%s' is already a table"
					      : "key '%s' defined twice",
				  full);
	if (add_seen(ps, full, false) < 0)
		return -1;
	ps->key = full;
	rc = parse_value(ps, &v, false);
	if (!rc) {
		rc = ps->h->keyval(ps, ps->table, key, &v, ps->data);
		toml_value_free(&v);
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

static void parser_free(struct toml_parser *ps)
{
	for (size_t i = 0; i < ps->n_seen; i++)
		free(ps->seen[i].name);
	free(ps->seen);
	ps->seen = NULL;
	ps->n_seen = 0;
}

int toml_parse(const char *text, size_t len, const char *filename,
	       const struct toml_handler *h, void *data, struct herr *err)
{
	struct toml_parser ps = { .p = text,
				  .end = text + len,
				  .file = filename,
				  .line = 1,
				  .h = h,
				  .data = data,
				  .err = err };
	size_t bad;
	int rc = -1;

	if (len > TOML_MAX_FILE)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s: larger than %d bytes", filename,
				TOML_MAX_FILE);
	bad = utf8_check((const unsigned char *)text, len);
	if (bad < len) {
		for (const char *q = text; q < text + bad; q++)
			ps.line += *q == '\n';
		return toml_error(&ps, "not valid UTF-8 (byte 0x%02x)",
				  (unsigned char)text[bad]);
	}
	if (memchr(text, '\0', len)) {
		for (const char *q = text; *q; q++)
			ps.line += *q == '\n';
		return toml_error(&ps, "NUL byte in a text file");
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
			toml_error(&ps, "expected a key or a [table], not '%c'",
				   (*ps.p >= 0x20 && *ps.p < 0x7f) ? *ps.p
								   : '?');
			goto out;
		}
	}
	rc = 0;
out:
	parser_free(&ps);
	return rc;
}
