/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Structured logging in the logrus text format containerd uses:
 *   time="2026-11-24T13:40:00.123456789Z" level=info msg="..." key=value
 * One line per call, written with a single write(2) so lines never interleave.
 */
#ifndef HUSK_LOG_H
#define HUSK_LOG_H

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

/* Where lines go (default stderr) and the most verbose level written. */
void log_init(int fd, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Parse "error", "warn"/"warning", "info", "debug"/"trace"; -1 if unknown. */
int log_level_parse(const char *name);

/*
 * @msg is quoted; @kv_fmt (may be NULL) is appended after it verbatim, for
 * extra key=value pairs: log_msg(LOG_INFO, "container created", "id=%s", id).
 */
void log_msg(enum log_level level, const char *msg, const char *kv_fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* printf-style message with no extra keys. */
void log_printf(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_printf(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_printf(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_printf(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                       \
	do {                                                                 \
		if (log_get_level() >= LOG_DEBUG)                            \
			log_printf(LOG_DEBUG, __VA_ARGS__);                  \
	} while (0)

#endif
