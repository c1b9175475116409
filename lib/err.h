/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One error type for all of husk: a gRPC status code, the errno that caused
 * it (0 if none) and a message that names the object and the cause.  Callers
 * that fail return a negative value and fill the error; their callers only
 * propagate it, and the RPC layer turns it into a ttRPC status.
 */
#ifndef HUSK_ERR_H
#define HUSK_ERR_H

#include <stddef.h>

/* gRPC status codes, as carried in google.rpc.Status.code. */
enum grpc_code {
	GRPC_OK = 0,
	GRPC_CANCELLED = 1,
	GRPC_UNKNOWN = 2,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_ALREADY_EXISTS = 6,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_FAILED_PRECONDITION = 9,
	GRPC_ABORTED = 10,
	GRPC_OUT_OF_RANGE = 11,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_DATA_LOSS = 15,
	GRPC_UNAUTHENTICATED = 16,
};

#define HERR_MSG_MAX 512

struct herr {
	int code; /* enum grpc_code */
	int errnum; /* errno behind it, or 0 */
	char msg[HERR_MSG_MAX];
};

/*
 * Fill @err (which may be NULL) and return -1.  When @errnum is non-zero
 * ": strerror(errnum)" is appended to the message.
 */
int herr_set(struct herr *err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Map an errno to the gRPC code that fits it best. */
int grpc_code_from_errno(int errnum);

/* Like herr_set() with the code derived from @errnum. */
#define herr_errno(err, errnum, ...)                                         \
	herr_set(err, grpc_code_from_errno(errnum), errnum, __VA_ARGS__)

/* Prefix the message already in @err with "prefix: ", keep code. Returns -1. */
int herr_prefix(struct herr *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void herr_clear(struct herr *err);

/* Name of a gRPC code ("INVALID_ARGUMENT"), for logs and the CLI. */
const char *grpc_code_name(int code);

#endif
