// SPDX-License-Identifier: Apache-2.0
/*
 * mount(8)-style options split into mount(2) flags, propagation flags and
 * the data string the filesystem parses.  Shared by storages and the OCI
 * spec's mounts.
 */
#include <stdbool.h>
#include <string.h>
#include <sys/mount.h>

#include "storage.h"
#include "util.h"

/* Older C libraries lack the newest flags; the kernel values are fixed. */
#ifndef MS_LAZYTIME
#define MS_LAZYTIME (1UL << 25)
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256UL
#endif

struct mount_opt {
	const char *name;
	unsigned long flag;
	bool clear; /* the option turns @flag off ("rw", "dev", ...) */
	bool propagation;
};

static const struct mount_opt mount_opts[] = {
	{ "defaults", 0, false, false },
	{ "ro", MS_RDONLY, false, false },
	{ "rw", MS_RDONLY, true, false },
	{ "nosuid", MS_NOSUID, false, false },
	{ "suid", MS_NOSUID, true, false },
	{ "nodev", MS_NODEV, false, false },
	{ "dev", MS_NODEV, true, false },
	{ "noexec", MS_NOEXEC, false, false },
	{ "exec", MS_NOEXEC, true, false },
	{ "sync", MS_SYNCHRONOUS, false, false },
	{ "async", MS_SYNCHRONOUS, true, false },
	{ "dirsync", MS_DIRSYNC, false, false },
	{ "remount", MS_REMOUNT, false, false },
	{ "mand", MS_MANDLOCK, false, false },
	{ "nomand", MS_MANDLOCK, true, false },
	{ "noatime", MS_NOATIME, false, false },
	{ "atime", MS_NOATIME, true, false },
	{ "nodiratime", MS_NODIRATIME, false, false },
	{ "diratime", MS_NODIRATIME, true, false },
	{ "relatime", MS_RELATIME, false, false },
	{ "norelatime", MS_RELATIME, true, false },
	{ "strictatime", MS_STRICTATIME, false, false },
	{ "nostrictatime", MS_STRICTATIME, true, false },
	{ "lazytime", MS_LAZYTIME, false, false },
	{ "nolazytime", MS_LAZYTIME, true, false },
	{ "silent", MS_SILENT, false, false },
	{ "loud", MS_SILENT, true, false },
	{ "iversion", MS_I_VERSION, false, false },
	{ "noiversion", MS_I_VERSION, true, false },
	{ "nosymfollow", MS_NOSYMFOLLOW, false, false },
	{ "bind", MS_BIND, false, false },
	{ "rbind", MS_BIND | MS_REC, false, false },
	{ "private", MS_PRIVATE, false, true },
	{ "rprivate", MS_PRIVATE | MS_REC, false, true },
	{ "shared", MS_SHARED, false, true },
	{ "rshared", MS_SHARED | MS_REC, false, true },
	{ "slave", MS_SLAVE, false, true },
	{ "rslave", MS_SLAVE | MS_REC, false, true },
	{ "unbindable", MS_UNBINDABLE, false, true },
	{ "runbindable", MS_UNBINDABLE | MS_REC, false, true },
};

static const struct mount_opt *mount_opt_find(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(mount_opts); i++)
		if (strlen(mount_opts[i].name) == len &&
		    !memcmp(mount_opts[i].name, s, len))
			return &mount_opts[i];
	return NULL;
}

/*
 * End of the option starting at @s: the next comma outside double quotes
 * (SELinux contexts quote their commas).
 */
static const char *opt_end(const char *s)
{
	bool quoted = false;

	for (; *s; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (*s == ',' && !quoted)
			break;
	}
	return s;
}

int mount_options_parse(char *const *opts, size_t n, unsigned long *flags,
			unsigned long *propagation, char **data,
			struct herr *err)
{
	const struct mount_opt *o;
	const char *s, *end;
	size_t i, len, total = 0, used = 0;
	char *buf;

	if (n && !opts)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"mount options: %zu options but no array", n);
	for (i = 0; i < n; i++)
		total += opts[i] ? strlen(opts[i]) + 1 : 0;
	buf = xmalloc(total + 1);
	*flags = 0;
	if (propagation)
		*propagation = 0;

	/* An entry may itself be a comma list ("trans=virtio,version=..."). */
	for (i = 0; i < n; i++) {
		for (s = opts[i]; s && *s; s = *end ? end + 1 : end) {
			end = opt_end(s);
			len = (size_t)(end - s);
			if (!len)
				continue;
			o = mount_opt_find(s, len);
			if (o && o->propagation) {
				if (propagation)
					*propagation |= o->flag;
			} else if (o && o->clear) {
				*flags &= ~o->flag;
			} else if (o) {
				*flags |= o->flag;
			} else {
				if (used)
					buf[used++] = ',';
				memcpy(buf + used, s, len);
				used += len;
			}
		}
	}
	buf[used] = '\0';
	if (!used) {
		free(buf);
		buf = NULL;
	}
	*data = buf;
	return 0;
}
