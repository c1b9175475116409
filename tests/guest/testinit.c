// SPDX-License-Identifier: Apache-2.0
/*
 * A stand-in PID 1 for testing guest images without husk-agent: mounts
 * /proc, prints one marker line with the root mount from /proc/mounts,
 * then powers the VM off.  Built static with musl-gcc.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	char line[512], root[512] = "none";
	FILE *f;

	mkdir("/proc", 0555);
	if (mount("proc", "/proc", "proc", 0, NULL) && access("/proc/mounts", F_OK))
		perror("testinit: mount /proc");
	f = fopen("/proc/mounts", "r");
	while (f && fgets(line, sizeof(line), f)) {
		char dev[256], dir[256];

		/* The last mount on "/" is the one in effect. */
		if (sscanf(line, "%255s %255s", dev, dir) == 2 && !strcmp(dir, "/"))
			snprintf(root, sizeof(root), "%s", line);
	}
	root[strcspn(root, "\n")] = '\0';
	printf("HUSK-TESTINIT pid=%d root: %s\n", (int)getpid(), root);
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	return 1;
}
