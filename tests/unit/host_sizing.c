// SPDX-License-Identifier: Apache-2.0
/*
 * VM sizing (host/sizing.c) from converted config.json: a container's
 * memory limit and CPU quota, the sandbox annotations of containerd and
 * CRI-O, default_memory/default_vcpus on top, the caps with errors that
 * name them, and malformed annotations refused by name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sizing.h"
#include "spec.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

/* config.json with @annotations (JSON members) and @resources. */
static int convert(const char *annotations, const char *resources,
		   struct spec_result *r, struct herr *err)
{
	char *text;
	int rc;

	if (asprintf(&text,
		     "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],"
		     "\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"},"
		     "\"annotations\":{%s},\"linux\":{\"resources\":{%s}}}",
		     annotations, resources) < 0)
		abort();
	memset(r, 0, sizeof(*r));
	rc = spec_from_json(text, strlen(text), "c1", r, err);
	free(text);
	return rc;
}

static void cfg_init(struct husk_config *cfg)
{
	config_defaults(cfg);
	cfg->default_maxmemory = 2048;
	cfg->default_maxvcpus = 4;
}

TEST(no_limits_default_size)
{
	struct husk_config cfg;
	struct spec_result r;
	struct workload own, pod;
	struct vm_size sz;
	struct herr err;

	cfg_init(&cfg);
	ASSERT_EQ(0, convert("", "", &r, &err));
	ASSERT_EQ(0, sizing_workload(r.spec, &own, &pod, &err));
	EXPECT_EQ(0ULL, own.mem_mib);
	EXPECT_EQ(0ULL, own.mcpus);
	ASSERT_EQ(0, sizing_vm(&cfg, &own, &pod, "c1", &sz, &err));
	EXPECT_EQ(256U, sz.mem_mib);
	EXPECT_EQ(1U, sz.vcpus);
	spec_result_free(&r);
	config_free(&cfg);
}

TEST(container_limits_on_top)
{
	struct husk_config cfg;
	struct spec_result r;
	struct workload own, pod;
	struct vm_size sz;
	struct herr err;

	cfg_init(&cfg);
	/* 512 MiB + 1 byte rounds up; 150000/100000 is 1.5 CPUs: 2. */
	ASSERT_EQ(0, convert("",
			     "\"memory\":{\"limit\":536870913},"
			     "\"cpu\":{\"quota\":150000,\"period\":100000}",
			     &r, &err));
	ASSERT_EQ(0, sizing_workload(r.spec, &own, &pod, &err));
	EXPECT_EQ(513ULL, own.mem_mib);
	EXPECT_EQ(1500ULL, own.mcpus);
	EXPECT_EQ(0ULL, pod.mem_mib);
	ASSERT_EQ(0, sizing_vm(&cfg, &own, &pod, "c1", &sz, &err));
	EXPECT_EQ(256U + 513U, sz.mem_mib);
	EXPECT_EQ(2U, sz.vcpus);
	spec_result_free(&r);
	config_free(&cfg);
}

TEST(quota_without_period_or_negative_is_no_quota)
{
	struct spec_result r;
	struct workload own, pod;
	struct herr err;

	ASSERT_EQ(0, convert("",
			     "\"memory\":{\"limit\":-1},"
			     "\"cpu\":{\"quota\":-1,\"period\":100000}",
			     &r, &err));
	ASSERT_EQ(0, sizing_workload(r.spec, &own, &pod, &err));
	EXPECT_EQ(0ULL, own.mem_mib);
	EXPECT_EQ(0ULL, own.mcpus);
	spec_result_free(&r);
}

TEST(containerd_sandbox_annotations)
{
	struct husk_config cfg;
	struct spec_result r;
	struct workload own, pod, sum = { 0 };
	struct vm_size sz;
	struct herr err;

	cfg_init(&cfg);
	ASSERT_EQ(0,
		  convert("\"io.kubernetes.cri.container-type\":\"sandbox\","
			  "\"io.kubernetes.cri.sandbox-memory\":\"1073741824\","
			  "\"io.kubernetes.cri.sandbox-cpu-quota\":\"250000\","
			  "\"io.kubernetes.cri.sandbox-cpu-period\":\"100000\"",
			  "\"cpu\":{\"shares\":2}", &r, &err));
	ASSERT_EQ(0, sizing_workload(r.spec, &own, &pod, &err));
	EXPECT_EQ(0ULL, own.mem_mib);
	EXPECT_EQ(1024ULL, pod.mem_mib);
	EXPECT_EQ(2500ULL, pod.mcpus);
	ASSERT_EQ(0, sizing_vm(&cfg, &own, &pod, "c1", &sz, &err));
	EXPECT_EQ(1280U, sz.mem_mib);
	EXPECT_EQ(3U, sz.vcpus);
	/* App containers within the budget do not add to it... */
	sum.mem_mib = 1000;
	ASSERT_EQ(0, sizing_vm(&cfg, &sum, &pod, "c2", &sz, &err));
	EXPECT_EQ(1280U, sz.mem_mib);
	/* ... beyond it they count. */
	sum.mem_mib = 1500;
	ASSERT_EQ(0, sizing_vm(&cfg, &sum, &pod, "c2", &sz, &err));
	EXPECT_EQ(1756U, sz.mem_mib);
	spec_result_free(&r);
	config_free(&cfg);
}

TEST(annotations_of_an_app_container_are_ignored)
{
	struct spec_result r;
	struct workload own, pod;
	struct herr err;

	ASSERT_EQ(0,
		  convert("\"io.kubernetes.cri.container-type\":\"container\","
			  "\"io.kubernetes.cri.sandbox-memory\":\"1073741824\"",
			  "", &r, &err));
	ASSERT_EQ(0, sizing_workload(r.spec, &own, &pod, &err));
	EXPECT_EQ(0ULL, pod.mem_mib);
	spec_result_free(&r);
}

TEST(crio_pod_linux_resources)
{
	struct spec_result r;
	struct workload own, pod;
	struct herr err;

	ASSERT_EQ(0,
		  convert("\"io.kubernetes.cri-o.ContainerType\":\"sandbox\","
			  "\"io.kubernetes.cri-o.PodLinuxResources\":"
			  "\"{\\\"cpu_period\\\":100000,\\\"cpu_quota\\\":"
			  "200000,\\\"memory_limit_in_bytes\\\":"
			  "268435456}\"",
			  "", &r, &err));
	ASSERT_EQ(0, sizing_workload(r.spec, &own, &pod, &err));
	EXPECT_EQ(256ULL, pod.mem_mib);
	EXPECT_EQ(2000ULL, pod.mcpus);
	spec_result_free(&r);
}

TEST(malformed_annotations_name_themselves)
{
	struct spec_result r;
	struct workload own, pod;
	struct herr err;

	ASSERT_EQ(0, convert("\"io.kubernetes.cri.container-type\":\"sandbox\","
			     "\"io.kubernetes.cri.sandbox-memory\":\"1G\"",
			     "", &r, &err));
	ASSERT_EQ(-1, sizing_workload(r.spec, &own, &pod, &err));
	EXPECT_NE(NULL, strstr(err.msg, "io.kubernetes.cri.sandbox-memory"));
	spec_result_free(&r);
	ASSERT_EQ(0,
		  convert("\"io.kubernetes.cri-o.ContainerType\":\"sandbox\","
			  "\"io.kubernetes.cri-o.PodLinuxResources\":\"[1]\"",
			  "", &r, &err));
	ASSERT_EQ(-1, sizing_workload(r.spec, &own, &pod, &err));
	EXPECT_NE(NULL, strstr(err.msg, "PodLinuxResources"));
	spec_result_free(&r);
}

TEST(caps_are_errors_naming_them)
{
	struct husk_config cfg;
	struct workload w = { .mem_mib = 2048 }, none = { 0 };
	struct vm_size sz = { 0 };
	struct herr err;

	cfg_init(&cfg);
	ASSERT_EQ(-1, sizing_vm(&cfg, &w, &none, "container big", &sz, &err));
	EXPECT_EQ(GRPC_RESOURCE_EXHAUSTED, err.code);
	EXPECT_NE(NULL, strstr(err.msg, "container big"));
	EXPECT_NE(NULL, strstr(err.msg, "default_maxmemory (2048 MiB)"));
	EXPECT_NE(NULL, strstr(err.msg, "2304 MiB"));
	EXPECT_EQ(0U, sz.mem_mib);
	w.mem_mib = 1792; /* exactly the cap with default_memory */
	ASSERT_EQ(0, sizing_vm(&cfg, &w, &none, "c", &sz, &err));
	EXPECT_EQ(2048U, sz.mem_mib);
	w = (struct workload){ .mcpus = 4001 };
	ASSERT_EQ(-1, sizing_vm(&cfg, &w, &none, "container cpu", &sz, &err));
	EXPECT_NE(NULL, strstr(err.msg, "default_maxvcpus (4)"));
	config_free(&cfg);
}

TEST(zero_caps_mean_the_host)
{
	struct husk_config cfg;

	config_defaults(&cfg);
	EXPECT_GE(sizing_max_memory(&cfg), 256U);
	EXPECT_GE(sizing_max_vcpus(&cfg), 1U);
	/* Never below the defaults. */
	cfg.default_maxmemory = 64;
	EXPECT_EQ(256U, sizing_max_memory(&cfg));
	config_free(&cfg);
}

TEST_HARNESS_MAIN
