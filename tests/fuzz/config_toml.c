// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz the configuration parser: arbitrary bytes as a configuration file.
 * A refusal must name the file first ("fuzz.toml:LINE: ..."); an accepted
 * file must survive config_dump() and parse back to the same values, so
 * what "husk env" prints is exactly what the shim runs with.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

static void same_str(const char *a, const char *b)
{
	if ((a && *a) || (b && *b))
		if (!a || !b || strcmp(a, b))
			abort();
}

static void round_trip(const struct husk_config *a)
{
	struct husk_config b;
	struct herr err;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		abort();
	config_dump(a, f);
	fclose(f);
	config_defaults(&b);
	if (config_parse(text, len, "dump", &b, &err) < 0) {
		fprintf(stderr, "dump does not parse back: %s\n%s\n", err.msg,
			text);
		abort();
	}
	same_str(a->hypervisor, b.hypervisor);
	same_str(a->hypervisor_path, b.hypervisor_path);
	same_str(a->kernel, b.kernel);
	same_str(a->initrd, b.initrd);
	same_str(a->image, b.image);
	same_str(a->firmware, b.firmware);
	same_str(a->machine_type, b.machine_type);
	same_str(a->kernel_params, b.kernel_params);
	same_str(a->virtio_fs_daemon, b.virtio_fs_daemon);
	same_str(a->accel, b.accel);
	same_str(a->virtio_fs_cache, b.virtio_fs_cache);
	for (size_t i = 0;
	     a->virtio_fs_extra_args && a->virtio_fs_extra_args[i]; i++)
		if (!b.virtio_fs_extra_args || !b.virtio_fs_extra_args[i] ||
		    strcmp(a->virtio_fs_extra_args[i],
			   b.virtio_fs_extra_args[i]))
			abort();
	if (a->virtio_fs_cache_size != b.virtio_fs_cache_size)
		abort();
	if (a->default_vcpus != b.default_vcpus ||
	    a->default_memory != b.default_memory ||
	    a->shared_fs != b.shared_fs || a->msize_9p != b.msize_9p ||
	    a->enable_debug != b.enable_debug ||
	    a->dial_timeout != b.dial_timeout ||
	    a->agent_debug != b.agent_debug ||
	    a->runtime_debug != b.runtime_debug)
		abort();
	config_free(&b);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet = -1;
	struct husk_config cfg;
	struct herr err;

	if (quiet < 0) {
		/* Unknown-key warnings would flood the fuzzer's output. */
		quiet = open("/dev/null", O_WRONLY | O_CLOEXEC);
		log_init(quiet, LOG_ERROR);
	}
	config_defaults(&cfg);
	if (config_parse((const char *)data, size, "fuzz.toml", &cfg, &err) <
	    0) {
		if (strncmp(err.msg, "fuzz.toml", 9))
			abort();
	} else {
		config_validate(&cfg, &err);
		round_trip(&cfg);
	}
	config_free(&cfg);
	return 0;
}
