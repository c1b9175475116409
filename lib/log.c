// SPDX-License-Identifier: Apache-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int log_fd = 2;
static enum log_level log_level = LOG_INFO;

static const char *const level_names[] = { "error", "warning", "info",
					   "debug" };

void log_init(int fd, enum log_level level)
{
	log_fd = fd;
	log_level = level;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

int log_level_parse(const char *name)
{
	if (!strcasecmp(name, "error") || !strcasecmp(name, "fatal") ||
	    !strcasecmp(name, "panic") || !strcasecmp(name, "critical"))
		return LOG_ERROR;
	if (!strcasecmp(name, "warn") || !strcasecmp(name, "warning"))
		return LOG_WARN;
	if (!strcasecmp(name, "info"))
		return LOG_INFO;
	if (!strcasecmp(name, "debug") || !strcasecmp(name, "trace"))
		return LOG_DEBUG;
	return -1;
}

/* Append @s quoted, escaping quotes, backslashes and control bytes. */
static size_t append_quoted(char *out, size_t pos, size_t cap, const char *s)
{
	if (pos < cap)
		out[pos++] = '"';
	for (; *s && pos + 4 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[pos++] = '\\';
			out[pos++] = (char)c;
		} else if (c == '\n') {
			out[pos++] = '\\';
			out[pos++] = 'n';
		} else if (c < 0x20) {
			pos += (size_t)snprintf(out + pos, cap - pos, "\\x%02x",
						c);
		} else {
			out[pos++] = (char)c;
		}
	}
	if (pos < cap)
		out[pos++] = '"';
	return pos;
}

static void log_emit(enum log_level level, const char *msg, const char *kv_fmt,
		     va_list ap)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t pos;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
		     "time=\"%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ\" level=%s msg=",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec, level_names[level]);
	pos = append_quoted(line, (size_t)n, sizeof(line) - 2, msg);
	if (kv_fmt && pos < sizeof(line) - 2) {
		line[pos++] = ' ';
		n = vsnprintf(line + pos, sizeof(line) - 2 - pos, kv_fmt, ap);
		if (n > 0)
			pos += (size_t)n;
		if (pos > sizeof(line) - 2)
			pos = sizeof(line) - 2;
	}
	line[pos++] = '\n';
	/* Logging must never fail the caller. */
	if (write(log_fd, line, pos) < 0)
		return;
}

void log_msg(enum log_level level, const char *msg, const char *kv_fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, kv_fmt);
	log_emit(level, msg, kv_fmt, ap);
	va_end(ap);
}

void log_printf(enum log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(level, msg, NULL);
}
