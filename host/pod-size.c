// SPDX-License-Identifier: Apache-2.0
/*
 * The pod's VM sized for its containers (rules in sizing.h): at boot from
 * the first container and the sandbox annotations, later grown for each
 * container whose limits do not fit.  The containers' limits are counted
 * in pod->sum while they exist; the guest cgroup of each container gets
 * its own limits unchanged (the agent applies linux.resources), so the
 * VM's default_memory stays on top for the kernel and the agent.
 */
#include <string.h>

#include "hv.h"
#include "log.h"
#include "pod.h"
#include "util.h"

int pod_size_boot(struct pod_container *c, const struct husk_config *cfg,
		  struct herr *err)
{
	struct pod *pod = c->pod;
	struct workload own, budget;
	char who[160];

	snprintf(who, sizeof(who), "container %s", c->id);
	if (sizing_workload(c->spec.spec, &own, &budget, err) < 0)
		return herr_prefix(err, "%s", who);
	if (sizing_vm(cfg, &own, &budget, who, &pod->size, err) < 0)
		return -1;
	pod->budget = budget;
	pod->sum = own;
	c->workload = own;
	c->counted = true;
	if (own.mem_mib || own.mcpus || budget.mem_mib || budget.mcpus)
		log_msg(LOG_INFO, "VM sized",
			"sandbox=%s container=%s "
			"memory_mib=%u vcpus=%u",
			pod->id, c->id, pod->size.mem_mib, pod->size.vcpus);
	return 0;
}

void pod_size_release(struct pod_container *c)
{
	struct pod *pod = c->pod;

	if (!c->counted)
		return;
	c->counted = false;
	pod->sum.mem_mib -= c->workload.mem_mib;
	pod->sum.mcpus -= c->workload.mcpus;
}

/* Hot-added devices the guest did not take within this are an error. */
#define HOTPLUG_TIMEOUT_MS 20000

struct grow_op {
	struct pod_container *c;
	pod_booted_cb done;
	void *data;
	struct workload old; /* @c's limits before, restored on failure */
	bool old_counted;
	long long started;
	struct herr err;
	bool failed;
};

static void grow_finish(struct evloop *loop, void *data)
{
	struct grow_op *op = data;
	struct pod_container *c = op->c;

	(void)loop;
	if (op->failed && c->counted) {
		pod_size_release(c);
		c->workload = op->old;
		if (op->old_counted) {
			sizing_add(&c->pod->sum, &op->old);
			c->counted = true;
		}
	}
	op->done(op->failed ? &op->err : NULL, op->data);
	pod_container_unref(c);
	free(op);
}

static void grow_later(struct grow_op *op)
{
	evloop_timer(op->c->pod->loop, 0, grow_finish, op);
}

/*
 * The size the pod needs with @w as @c's limits (the other containers as
 * they are): 0 and @want, or -1 above a cap.
 */
static int wanted(struct pod_container *c, const struct workload *w,
		  struct vm_size *want, struct herr *err)
{
	struct pod *pod = c->pod;
	struct workload sum = pod->sum;
	char who[160];

	if (c->counted) {
		sum.mem_mib -= c->workload.mem_mib;
		sum.mcpus -= c->workload.mcpus;
	}
	sizing_add(&sum, w);
	snprintf(who, sizeof(who), "container %s", c->id);
	return sizing_vm(pod->cfg, &sum, &pod->budget, who, want, err);
}

static void on_onlined(void *resp, const struct herr *err, void *data)
{
	struct grow_op *op = data;
	struct pod *pod = op->c->pod;

	(void)resp;
	if (err) {
		op->failed = true;
		herr_set(&op->err, err->code, 0,
			 "container %s: the agent did not online the hot-added "
			 "CPUs/memory: %s",
			 op->c->id, err->msg);
	} else {
		log_msg(LOG_INFO, "VM grown",
			"sandbox=%s container=%s memory_mib=%u vcpus=%u "
			"ms=%lld",
			pod->id, op->c->id, pod->size.mem_mib, pod->size.vcpus,
			now_ms() - op->started);
	}
	grow_finish(NULL, op);
}

/* Hot-add what @want needs beyond the VM's size, then online it. */
static void hotplug(struct grow_op *op, const struct vm_size *want)
{
	struct pod *pod = op->c->pod;
	unsigned int mem = pod->size.mem_mib, cpus = pod->size.vcpus;
	unsigned int old_cpus = cpus;
	unsigned int max = sizing_max_memory(pod->cfg);

	/* Whole guest memory blocks: a partial one could not be onlined. */
	if (want->mem_mib > mem) {
		mem += (want->mem_mib - mem + SIZING_HOTPLUG_BLOCK_MIB - 1) /
		       SIZING_HOTPLUG_BLOCK_MIB * SIZING_HOTPLUG_BLOCK_MIB;
		if (mem > max)
			mem = max;
	}
	if (want->vcpus > cpus)
		cpus = want->vcpus;
	op->started = now_ms();
	if (vm_resize(pod->vm, mem, cpus, HOTPLUG_TIMEOUT_MS, &op->err) < 0) {
		op->failed = true;
		herr_prefix(&op->err, "container %s", op->c->id);
	}
	/* What the VM really has, also after a partial failure. */
	vm_size(pod->vm, &pod->size.mem_mib, &pod->size.vcpus);
	if (op->failed) {
		grow_later(op);
		return;
	}
	/* Kata's nb_cpus: how many were added, for the agent to online (the
	 * VM may have more offline: hv.h, vm_resize). */
	agent_online_cpu_mem(pod->agent, pod->size.vcpus - old_cpus, on_onlined,
			     op);
}

static void grow(struct pod_container *c, const struct workload *w,
		 pod_booted_cb done, void *data)
{
	struct pod *pod = c->pod;
	struct grow_op *op = xcalloc(1, sizeof(*op));
	struct vm_size want;

	op->c = c;
	op->done = done;
	op->data = data;
	op->old = c->workload;
	op->old_counted = c->counted;
	pod_container_ref(c);
	if (wanted(c, w, &want, &op->err) < 0) {
		op->failed = true;
		grow_later(op);
		return;
	}
	/* Counted now, so that a container created meanwhile sees it. */
	pod_size_release(c);
	c->workload = *w;
	sizing_add(&pod->sum, w);
	c->counted = true;
	if (want.mem_mib <= pod->size.mem_mib &&
	    want.vcpus <= pod->size.vcpus) {
		grow_later(op);
		return;
	}
	if (!pod->vm || !pod_usable(pod)) {
		op->failed = true;
		herr_set(&op->err, GRPC_UNAVAILABLE, 0,
			 "container %s: the sandbox is not running", c->id);
		grow_later(op);
		return;
	}
	if (!vm_can_hotplug(pod->vm)) {
		log_msg(LOG_WARN, "VM keeps its boot size",
			"sandbox=%s container=%s memory_mib=%u vcpus=%u "
			"wanted_memory_mib=%u wanted_vcpus=%u reason=\"%s\"",
			pod->id, c->id, pod->size.mem_mib, pod->size.vcpus,
			want.mem_mib, want.vcpus,
			"microvm cannot hotplug: machine_type q35 can");
		grow_later(op);
		return;
	}
	hotplug(op, &want);
}

void pod_size_grow(struct pod_container *c, pod_booted_cb done)
{
	struct workload own, budget;
	struct grow_op *op;
	struct herr err;

	/* pod_container_create() checked the spec: an error cannot come. */
	if (sizing_workload(c->spec.spec, &own, &budget, &err) < 0)
		own = (struct workload){ 0 };
	if (c->counted) {
		/* Sized the VM at boot: nothing to grow. */
		op = xcalloc(1, sizeof(*op));
		op->c = c;
		op->done = done;
		op->data = c;
		pod_container_ref(c);
		grow_later(op);
		return;
	}
	grow(c, &own, done, c);
}

void pod_size_update(struct pod_container *c, const Grpc__LinuxResources *res,
		     pod_booted_cb done, void *data)
{
	struct workload w = c->workload;

	if (res && res->memory && res->memory->limit > 0)
		w.mem_mib = ((unsigned long long)res->memory->limit +
			     (1ULL << 20) - 1) >>
			    20;
	if (res && res->cpu && res->cpu->quota > 0 && res->cpu->period > 0)
		w.mcpus = ((unsigned long long)res->cpu->quota * 1000 +
			   res->cpu->period - 1) /
			  res->cpu->period;
	grow(c, &w, done, data);
}
