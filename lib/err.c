// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

/* Append @s to the string in @buf (capacity @cap), truncating quietly. */
static void append(char *buf, size_t cap, const char *s)
{
	size_t have = strnlen(buf, cap - 1), n = strlen(s);

	if (n > cap - 1 - have)
		n = cap - 1 - have;
	memcpy(buf + have, s, n);
	buf[have + n] = '\0';
}

int herr_set(struct herr *err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->code = code;
	err->errnum = errnum;
	va_start(ap, fmt);
	if (vsnprintf(err->msg, sizeof(err->msg), fmt, ap) < 0)
		err->msg[0] = '\0';
	va_end(ap);
	if (errnum) {
		append(err->msg, sizeof(err->msg), ": ");
		append(err->msg, sizeof(err->msg), strerror(errnum));
	}
	return -1;
}

int herr_prefix(struct herr *err, const char *fmt, ...)
{
	char old[HERR_MSG_MAX];
	va_list ap;

	if (!err)
		return -1;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	if (vsnprintf(err->msg, sizeof(err->msg), fmt, ap) < 0)
		err->msg[0] = '\0';
	va_end(ap);
	append(err->msg, sizeof(err->msg), ": ");
	append(err->msg, sizeof(err->msg), old);
	return -1;
}

void herr_clear(struct herr *err)
{
	if (!err)
		return;
	err->code = GRPC_OK;
	err->errnum = 0;
	err->msg[0] = '\0';
}

int grpc_code_from_errno(int errnum)
{
	switch (errnum) {
	case 0:
		return GRPC_OK;
	case ENOENT:
	case ESRCH:
	case ENODEV:
	case ENXIO:
		return GRPC_NOT_FOUND;
	case EEXIST:
		return GRPC_ALREADY_EXISTS;
	case EPERM:
	case EACCES:
		return GRPC_PERMISSION_DENIED;
	case EINVAL:
	case ENAMETOOLONG:
	case E2BIG:
		return GRPC_INVALID_ARGUMENT;
	case ETIMEDOUT:
		return GRPC_DEADLINE_EXCEEDED;
	case ENOMEM:
	case ENOSPC:
	case EMFILE:
	case ENFILE:
	case EMSGSIZE:
		return GRPC_RESOURCE_EXHAUSTED;
	case EBUSY:
	case ENOTEMPTY:
		return GRPC_FAILED_PRECONDITION;
	case ENOSYS:
	case EOPNOTSUPP:
		return GRPC_UNIMPLEMENTED;
	case ECANCELED:
		return GRPC_CANCELLED;
	case EPIPE:
	case ECONNRESET:
	case ENOTCONN:
	case ECONNREFUSED:
		return GRPC_UNAVAILABLE;
	default:
		return GRPC_INTERNAL;
	}
}

const char *grpc_code_name(int code)
{
	static const char *const names[] = {
		"OK",
		"CANCELLED",
		"UNKNOWN",
		"INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED",
		"NOT_FOUND",
		"ALREADY_EXISTS",
		"PERMISSION_DENIED",
		"RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION",
		"ABORTED",
		"OUT_OF_RANGE",
		"UNIMPLEMENTED",
		"INTERNAL",
		"UNAVAILABLE",
		"DATA_LOSS",
		"UNAUTHENTICATED",
	};

	if (code < 0 || (size_t)code >= sizeof(names) / sizeof(names[0]))
		return "UNKNOWN";
	return names[code];
}
