// SPDX-License-Identifier: Apache-2.0
/*
 * The musl sysroot works: this program is linked fully static against the
 * musl libhusk.a and the sysroot's libprotobuf-c and libseccomp, and
 * exercises each once.  Prints TAP.
 * tests/musl/static_link.sh checks the binary itself and runs it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/filter.h>
#include <seccomp.h>

#include "ttrpc.pb-c.h"

#define NTESTS 4

static int test_no;
static int failures;

static void result(int ok, const char *what)
{
	test_no++;
	if (!ok)
		failures++;
	printf("%sok %d - %s\n", ok ? "" : "not ", test_no, what);
}

static void test_protobuf(void)
{
	static uint8_t payload[] = { 0x0a, 0x03, 'a', 'b', 'c' };
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	Ttrpc__KeyValue *md[] = { &kv };
	Ttrpc__Request req = TTRPC__REQUEST__INIT;
	Ttrpc__Request *got;
	uint8_t buf[256];
	size_t len;
	int same;

	req.service = "grpc.Health";
	req.method = "Check";
	req.payload.data = payload;
	req.payload.len = sizeof(payload);
	req.timeout_nano = 30000000000LL;
	kv.key = "k";
	kv.value = "v";
	req.n_metadata = 1;
	req.metadata = md;

	len = ttrpc__request__get_packed_size(&req);
	result(len > 0 && len <= sizeof(buf) &&
	       ttrpc__request__pack(&req, buf) == len,
	       "protobuf-c: pack ttrpc.Request");

	got = ttrpc__request__unpack(NULL, len, buf);
	same = got && !strcmp(got->service, req.service) &&
	       !strcmp(got->method, req.method) &&
	       got->payload.len == sizeof(payload) &&
	       !memcmp(got->payload.data, payload, sizeof(payload)) &&
	       got->timeout_nano == req.timeout_nano &&
	       got->n_metadata == 1 && !strcmp(got->metadata[0]->key, "k") &&
	       !strcmp(got->metadata[0]->value, "v");
	result(same, "protobuf-c: unpack gives back every field");
	if (got)
		ttrpc__request__free_unpacked(got, NULL);
}

static void test_seccomp(void)
{
	scmp_filter_ctx ctx;
	struct stat st;
	int fd, rc = -1;

	/* The syscall table is generated with gperf at build time. */
	result(seccomp_syscall_resolve_name("openat") == __NR_openat,
	       "libseccomp: resolves openat to its syscall number");

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	fd = memfd_create("bpf", MFD_CLOEXEC);
	if (ctx && fd >= 0 &&
	    !seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mkdirat), 0))
		rc = seccomp_export_bpf(ctx, fd);
	result(!rc && !fstat(fd, &st) && st.st_size > 0 &&
	       st.st_size % sizeof(struct sock_filter) == 0,
	       "libseccomp: exports a BPF filter with one rule");
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
}

int main(void)
{
	printf("1..%d\n", NTESTS);
	test_protobuf();
	test_seccomp();
	return failures ? 1 : 0;
}
