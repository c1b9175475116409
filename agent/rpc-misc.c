// SPDX-License-Identifier: Apache-2.0
/*
 * Guest-wide RPCs: GetGuestDetails, SetGuestDateTime, OnlineCPUMem,
 * ReseedRandomDev, CopyFile.  In host mode the ones that would change the
 * host itself (its clock) are refused.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>

#include "copyfile.h"
#include "rpc.h"
#include "storage.h"
#include "util.h"

void rpc_get_guest_details(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__GuestDetailsRequest *req = msg;
	struct agent *a = ctx;
	Grpc__GuestDetailsResponse resp = GRPC__GUEST_DETAILS_RESPONSE__INIT;
	Grpc__AgentDetails det = GRPC__AGENT_DETAILS__INIT;
	char buf[64];
	int fd;

	if (req->mem_block_size) {
		fd = open("/sys/devices/system/memory/block_size_bytes",
			  O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof(buf) - 1);

			if (n > 0) {
				buf[n] = '\0';
				resp.mem_block_size_bytes =
					strtoull(buf, NULL, 16);
			}
			close(fd);
		}
	}
	resp.support_mem_hotplug_probe = false;
	det.version = (char *)HUSK_VERSION;
	det.init_daemon = a->init_mode;
	det.supports_seccomp = IS_ENABLED_CONFIG_AGENT_SECCOMP;
	det.storage_handlers = (char **)storage_driver_names;
	det.n_storage_handlers = storage_driver_count;
	resp.agent_details = &det;
	ttrpc_call_reply(call, &resp.base);
}

void rpc_set_guest_date_time(struct ttrpc_call *call, const void *msg,
			     void *ctx)
{
	const Grpc__SetGuestDateTimeRequest *req = msg;
	struct agent *a = ctx;
	struct timespec ts;

	if (req->sec < 0 || req->usec < 0 || req->usec >= 1000000) {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
				"sec/usec: %lld.%06lld is not a valid time",
				(long long)req->sec, (long long)req->usec);
		return;
	}
	if (rpc_dry_run(a, call))
		return;
	if (!a->init_mode) {
		ttrpc_call_fail(call, GRPC_FAILED_PRECONDITION,
				"SetGuestDateTime: refused in host mode (it "
				"would set the host's clock)");
		return;
	}
	ts.tv_sec = req->sec;
	ts.tv_nsec = req->usec * 1000;
	if (clock_settime(CLOCK_REALTIME, &ts) < 0) {
		ttrpc_call_fail(call, grpc_code_from_errno(errno),
				"set the clock: %s", strerror(errno));
		return;
	}
	ttrpc_call_reply(call, NULL);
}

/* Write "online" to every offline memory block. */
static void online_memory(void)
{
	const char *dir = "/sys/devices/system/memory";
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[512], cur[32] = "";
		int fd;

		if (strncmp(de->d_name, "memory", 6))
			continue;
		snprintf(path, sizeof(path), "%s/%s/state", dir, de->d_name);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (read(fd, cur, sizeof(cur) - 1) > 0 &&
		    !strncmp(cur, "offline", 7))
			(void)!pwrite(fd, "online", 6, 0);
		close(fd);
	}
	closedir(d);
}

static bool cpu_offline(unsigned int n)
{
	char path[64], cur[8];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u/online", n);
	return read_file_str(path, cur, sizeof(cur)) > 0 && cur[0] == '0';
}

static int cmp_uint(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

/*
 * Online @want offline CPUs, lowest numbers first: a VM may have more
 * offline than were added (under TCG husk's host starts them all, the
 * guest boots with maxcpus=).  Returns how many came online.
 */
static unsigned int online_cpus(unsigned int want, int *err)
{
	static unsigned int ids[4096];
	DIR *d = opendir("/sys/devices/system/cpu");
	struct dirent *de;
	unsigned int n = 0, done = 0;

	*err = 0;
	if (!d) {
		*err = errno;
		return 0;
	}
	while ((de = readdir(d)) && n < ARRAY_SIZE(ids)) {
		char *end;
		unsigned long v;

		if (strncmp(de->d_name, "cpu", 3) ||
		    !isdigit((unsigned char)de->d_name[3]))
			continue;
		v = strtoul(de->d_name + 3, &end, 10);
		if (*end || v >= 1UL << 20 || !cpu_offline((unsigned int)v))
			continue;
		ids[n++] = (unsigned int)v;
	}
	closedir(d);
	qsort(ids, n, sizeof(ids[0]), cmp_uint);
	for (unsigned int i = 0; i < n && done < want; i++) {
		char path[64];
		int fd;

		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%u/online", ids[i]);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "1", 1) != 1)
			*err = errno;
		else
			done++;
		if (fd >= 0)
			close(fd);
	}
	return done;
}

/*
 * Kata's OnlineCPUMem: nb_cpus is how many CPUs were added and are to be
 * onlined (0: none), fewer is an error as in Kata's agent; memory blocks
 * all, unless cpu_only.
 */
void rpc_online_cpu_mem(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__OnlineCPUMemRequest *req = msg;
	unsigned int done;
	int e;

	if (req->nb_cpus > 4096) {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
				"nb_cpus %u: more than 4096", req->nb_cpus);
		return;
	}
	if (rpc_dry_run(ctx, call))
		return;
	if (req->nb_cpus) {
		done = online_cpus(req->nb_cpus, &e);
		if (done < req->nb_cpus) {
			ttrpc_call_fail(
				call, GRPC_INTERNAL,
				"online %u CPUs: only %u came online%s%s",
				req->nb_cpus, done, e ? ": " : "",
				e ? strerror(e) : "");
			return;
		}
	}
	if (!req->cpu_only)
		online_memory();
	ttrpc_call_reply(call, NULL);
}

void rpc_reseed_random_dev(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__ReseedRandomDevRequest *req = msg;
	int fd;

	if (req->data.len == 0) {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
				"data: must not be empty");
		return;
	}
	if (rpc_dry_run(ctx, call))
		return;
	/* Mixed into the pool without crediting entropy: always safe. */
	fd = open("/dev/random", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write_all(fd, req->data.data, req->data.len) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		ttrpc_call_fail(call, grpc_code_from_errno(e),
				"write /dev/random: %s", strerror(e));
		return;
	}
	close(fd);
	ttrpc_call_reply(call, NULL);
}

void rpc_copy_file(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__CopyFileRequest *req = msg;
	struct agent *a = ctx;
	_cleanup_free_ char *root = NULL;
	struct herr err;

	if (validate_path("path", req->path, true, &err) < 0) {
		ttrpc_call_fail_err(call, &err);
		return;
	}
	if (rpc_dry_run(a, call))
		return;
	root = strdupf("%s/shared/containers", a->state_dir);
	if (copy_file(req, root, &err) < 0)
		ttrpc_call_fail_err(call, &err);
	else
		ttrpc_call_reply(call, NULL);
}
