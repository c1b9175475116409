// SPDX-License-Identifier: Apache-2.0
/*
 * The floor: a static /init that says it is there and powers off at
 * once.  The boot benchmark compares husk-agent's boot against it, and
 * the boot tests boot it under KVM to see whether KVM really runs guests.
 */
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
	static const char msg[] = "HUSK-TRIVIAL-INIT\n";

	if (write(1, msg, sizeof(msg) - 1) < 0)
		return 1;
	reboot(RB_POWER_OFF);
	for (;;)
		pause(); /* PID 1 must not exit */
}
