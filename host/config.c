// SPDX-License-Identifier: Apache-2.0
/*
 * The host configuration: Kata's configuration.toml keys mapped onto
 * struct husk_config (the schema), the defaults, and the layering of files
 * and drop-ins.  The text is read by the TOML subset parser in toml.c.
 * Unknown keys only warn, so Kata's own files load; a known key of the
 * wrong type is an error.  tests/fuzz/config_toml.c fuzzes config_parse().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "toml.h"
#include "util.h"

/* Bound that keeps a hostile or broken config.d cheap to refuse. */
#define CONF_MAX_DROPINS 256

/* What one file's parse keeps besides the values it sets. */
struct conf_parse {
	struct husk_config *cfg;
	/* initrd/image set (non-empty) in this file, and where. */
	unsigned int initrd_line, image_line;
	/* Unknown keys, for one warning per file. */
	char unknown[256];
	size_t n_unknown;
	bool unknown_cut;
};

/* ---- the schema ---------------------------------------------------------- */

enum key_kind {
	K_PATH, /* absolute path, "" = unset where optional */
	K_STR,
	K_CHOICE, /* one of choices[] */
	K_UINT, /* min..max */
	K_BOOL,
	K_SHARED_FS,
	K_STRV, /* array of strings, replaces the previous value */
};

struct keydef {
	const char *name;
	enum key_kind kind;
	size_t off;
	bool optional; /* K_PATH: "" clears it */
	long long min, max;
	const char *const *choices;
};

#define F(field) offsetof(struct husk_config, field)

static const char *const machines[] = { "microvm", "q35", "pc", NULL };
static const char *const accels[] = { "auto", "kvm", "tcg", NULL };
/* Kata's Rust daemon spells "none" "never": taken as "none". */
static const char *const fs_caches[] = { "auto", "always", "none", "never",
					 NULL };
static const char *const net_models[] = { "tcfilter", "macvtap", "none", NULL };

static const struct keydef hv_keys[] = {
	{ "path", K_PATH, F(hypervisor_path), false, 0, 0, NULL },
	{ "kernel", K_PATH, F(kernel), false, 0, 0, NULL },
	{ "initrd", K_PATH, F(initrd), true, 0, 0, NULL },
	{ "image", K_PATH, F(image), true, 0, 0, NULL },
	{ "firmware", K_PATH, F(firmware), true, 0, 0, NULL },
	{ "machine_type", K_CHOICE, F(machine_type), false, 0, 0, machines },
	{ "kernel_params", K_STR, F(kernel_params), false, 0, 0, NULL },
	{ "default_vcpus", K_UINT, F(default_vcpus), false, 1, 255, NULL },
	{ "default_memory", K_UINT, F(default_memory), false, 64, 1 << 20,
	  NULL },
	{ "default_maxvcpus", K_UINT, F(default_maxvcpus), false, 0, 255,
	  NULL },
	{ "default_maxmemory", K_UINT, F(default_maxmemory), false, 0, 1 << 22,
	  NULL },
	{ "shared_fs", K_SHARED_FS, F(shared_fs), false, 0, 0, NULL },
	{ "virtio_fs_daemon", K_PATH, F(virtio_fs_daemon), true, 0, 0, NULL },
	{ "virtio_fs_cache", K_CHOICE, F(virtio_fs_cache), false, 0, 0,
	  fs_caches },
	{ "virtio_fs_cache_size", K_UINT, F(virtio_fs_cache_size), false, 0,
	  1 << 20, NULL },
	{ "virtio_fs_extra_args", K_STRV, F(virtio_fs_extra_args), false, 0, 0,
	  NULL },
	{ "msize_9p", K_UINT, F(msize_9p), false, 4096, 1 << 20, NULL },
	{ "enable_debug", K_BOOL, F(enable_debug), false, 0, 0, NULL },
	{ "accel", K_CHOICE, F(accel), false, 0, 0, accels },
	{ "tcg_tb_size", K_UINT, F(tcg_tb_size), false, 0, 1 << 20, NULL },
	{ "reclaim_guest_freed_memory", K_BOOL, F(reclaim_guest_freed_memory),
	  false, 0, 0, NULL },
};

static const struct keydef agent_keys[] = {
	{ "dial_timeout", K_UINT, F(dial_timeout), false, 1, 3600, NULL },
	{ "enable_debug", K_BOOL, F(agent_debug), false, 0, 0, NULL },
};

static const struct keydef runtime_keys[] = {
	{ "enable_debug", K_BOOL, F(runtime_debug), false, 0, 0, NULL },
	{ "internetworking_model", K_CHOICE, F(internetworking_model), false, 0,
	  0, net_models },
};

static const char *const shared_fs_names[] = {
	[SHARED_FS_9P] = "virtio-9p",
	[SHARED_FS_VIRTIO_FS] = "virtio-fs",
	[SHARED_FS_NONE] = "none",
};

const char *config_shared_fs_name(enum shared_fs fs)
{
	if ((size_t)fs < ARRAY_SIZE(shared_fs_names))
		return shared_fs_names[fs];
	return "?";
}

static void set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? xstrdup(v) : NULL;
}

static int apply_key(struct toml_parser *ps, struct husk_config *cfg,
		     const struct keydef *k, const struct toml_value *v)
{
	char *base = (char *)cfg;
	enum toml_type want = k->kind == K_UINT	  ? TOML_INT
			      : k->kind == K_BOOL ? TOML_BOOL
			      : k->kind == K_STRV ? TOML_ARRAY
						  : TOML_STR;

	if (v->type != want)
		return toml_error(ps, "expected %s, got %s",
				  toml_type_name(want),
				  toml_type_name(v->type));
	switch (k->kind) {
	case K_PATH:
		if (!*v->s && k->optional) {
			set_str((char **)(base + k->off), NULL);
			return 0;
		}
		if (v->s[0] != '/')
			return toml_error(ps, "\"%s\" is not an absolute path",
					  v->s);
		set_str((char **)(base + k->off), v->s);
		return 0;
	case K_STR:
		set_str((char **)(base + k->off), v->s);
		return 0;
	case K_CHOICE:
		for (const char *const *c = k->choices; *c; c++)
			if (!strcmp(*c, v->s)) {
				set_str((char **)(base + k->off), v->s);
				return 0;
			}
		return toml_error(ps, "\"%s\" is not one of %s%s%s%s%s", v->s,
				  k->choices[0], k->choices[1] ? ", " : "",
				  k->choices[1] ? k->choices[1] : "",
				  k->choices[1] && k->choices[2] ? ", " : "",
				  k->choices[1] && k->choices[2] ? k->choices[2]
								 : "");
	case K_UINT:
		if (v->i < k->min || v->i > k->max)
			return toml_error(ps,
					  "%lld is out of range (%lld..%lld)",
					  v->i, k->min, k->max);
		*(unsigned int *)(base + k->off) = (unsigned int)v->i;
		return 0;
	case K_BOOL:
		*(bool *)(base + k->off) = v->b;
		return 0;
	case K_STRV: {
		char ***slot = (char ***)(base + k->off);
		char **sv = xcalloc(v->n + 1, sizeof(*sv));

		for (size_t i = 0; i < v->n; i++) {
			if (v->items[i].type != TOML_STR) {
				strv_free(sv);
				return toml_error(
					ps,
					"expected an array of strings, got %s",
					toml_type_name(v->items[i].type));
			}
			sv[i] = xstrdup(v->items[i].s);
		}
		strv_free(*slot);
		*slot = sv;
		return 0;
	}
	case K_SHARED_FS:
		for (size_t i = 0; i < ARRAY_SIZE(shared_fs_names); i++)
			if (!strcmp(shared_fs_names[i], v->s)) {
				*(enum shared_fs *)(base + k->off) = i;
				cfg->shared_fs_explicit = true;
				return 0;
			}
		return toml_error(
			ps, "\"%s\" is not one of virtio-9p, virtio-fs, none",
			v->s);
	}
	return 0;
}

static void note_unknown(struct conf_parse *cp, const char *name)
{
	size_t have = strlen(cp->unknown), n = strlen(name);

	cp->n_unknown++;
	if (cp->unknown_cut || have + n + 2 >= sizeof(cp->unknown)) {
		cp->unknown_cut = true;
		return;
	}
	if (have)
		cp->unknown[have++] = ',';
	memcpy(cp->unknown + have, name, n + 1);
}

static bool key_in(const struct keydef *keys, size_t n, const char *key,
		   const struct keydef **out)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(keys[i].name, key)) {
			*out = &keys[i];
			return true;
		}
	return false;
}

/* One "key = value" in table @t. */
static int on_keyval(struct toml_parser *ps, const char *t, const char *key,
		     const struct toml_value *v, void *data)
{
	struct conf_parse *cp = data;
	const struct keydef *k = NULL;

	if (!strncmp(t, "hypervisor.", 11) &&
	    key_in(hv_keys, ARRAY_SIZE(hv_keys), key, &k)) {
		if (apply_key(ps, cp->cfg, k, v) < 0)
			return -1;
		if (!strcmp(key, "initrd") && cp->cfg->initrd)
			cp->initrd_line = toml_line(ps);
		if (!strcmp(key, "image") && cp->cfg->image)
			cp->image_line = toml_line(ps);
		return 0;
	}
	if ((!strcmp(t, "agent.husk") || !strcmp(t, "agent.kata")) &&
	    key_in(agent_keys, ARRAY_SIZE(agent_keys), key, &k))
		return apply_key(ps, cp->cfg, k, v);
	if (!strcmp(t, "runtime") &&
	    key_in(runtime_keys, ARRAY_SIZE(runtime_keys), key, &k))
		return apply_key(ps, cp->cfg, k, v);
	note_unknown(cp, toml_key(ps));
	return 0;
}

/* [hypervisor.NAME] chooses the hypervisor. */
static int on_table(struct toml_parser *ps, const char *name, void *data)
{
	struct conf_parse *cp = data;
	const char *hv;

	if (strncmp(name, "hypervisor.", 11))
		return 0;
	hv = name + 11;
	/* A hypervisor we do not drive is an error, not a silent default. */
	if (strcmp(hv, "qemu") && strcmp(hv, "clh"))
		return toml_error(
			ps,
			"[%s]: hypervisor \"%s\" is not supported (qemu, clh)",
			name, hv);
	/* Another hypervisor: its own default path until "path" says. */
	if (!cp->cfg->hypervisor || strcmp(cp->cfg->hypervisor, hv))
		set_str(&cp->cfg->hypervisor_path,
			strcmp(hv, "clh") ? CONFIG_QEMU_PATH : CONFIG_CLH_PATH);
	set_str(&cp->cfg->hypervisor, hv);
	return 0;
}

int config_parse(const char *text, size_t len, const char *filename,
		 struct husk_config *cfg, struct herr *err)
{
	static const struct toml_handler handler = {
		.table = on_table,
		.keyval = on_keyval,
	};
	struct conf_parse cp = { .cfg = cfg };

	if (toml_parse(text, len, filename, &handler, &cp, err) < 0)
		return -1;
	/* One file choosing both is a mistake; across files the later wins. */
	if (cp.initrd_line && cp.image_line)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"%s:%u: both initrd and image are set (lines "
				"%u and %u): choose one",
				filename,
				cp.initrd_line > cp.image_line ? cp.initrd_line
							       : cp.image_line,
				cp.initrd_line, cp.image_line);
	if (cp.image_line)
		set_str(&cfg->initrd, NULL);
	if (cp.initrd_line)
		set_str(&cfg->image, NULL);
	if (cp.n_unknown)
		log_warn("configuration %s: %zu unknown key%s ignored: %s%s",
			 filename, cp.n_unknown, cp.n_unknown == 1 ? "" : "s",
			 cp.unknown, cp.unknown_cut ? ",..." : "");
	return 0;
}

/* ---- defaults, files, layering ------------------------------------------- */

void config_defaults(struct husk_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->hypervisor = xstrdup("qemu");
	cfg->hypervisor_path = xstrdup(CONFIG_QEMU_PATH);
	cfg->kernel = xstrdup(HUSK_PREFIX "/share/husk/vmlinux-husk");
	cfg->initrd = xstrdup(HUSK_PREFIX "/share/husk/husk-initrd.img");
	cfg->machine_type = xstrdup("microvm");
	cfg->kernel_params = xstrdup("");
	cfg->default_vcpus = 1;
	cfg->default_memory = 256;
	cfg->shared_fs = SHARED_FS_9P;
	/* Debian 12's (qemu-system-common): QEMU 7.2's C virtiofsd. */
	cfg->virtio_fs_daemon = xstrdup("/usr/lib/qemu/virtiofsd");
	cfg->virtio_fs_cache = xstrdup("auto");
	cfg->msize_9p = 8192;
	cfg->accel = xstrdup("auto");
	/*
	 * An idle pod's biggest host cost after its RAM is TCG's code cache:
	 * every page of it the guest's code ever filled stays resident
	 * (32 MiB after one container at QEMU's default).  Each time it
	 * fills, TCG flushes it and translates the hot code again: 8 MiB
	 * flushed 8 times in one start (175 ms slower than 12); 12 MiB
	 * flushed once in DestroySandbox (teardown 50 ms, 21 at 16), and 16
	 * starts 40-120 ms faster than 12 while an idle pod stays under 64
	 * MiB (tests/bench/start.sh, README "Host memory per pod").
	 */
	cfg->tcg_tb_size = 20;
	cfg->reclaim_guest_freed_memory = true;
	cfg->dial_timeout = 30;
	cfg->internetworking_model = xstrdup("tcfilter");
	cfg->sources = xstrdup("");
}

void config_free(struct husk_config *cfg)
{
	free(cfg->hypervisor);
	free(cfg->hypervisor_path);
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->image);
	free(cfg->firmware);
	free(cfg->machine_type);
	free(cfg->kernel_params);
	free(cfg->internetworking_model);
	free(cfg->virtio_fs_daemon);
	free(cfg->virtio_fs_cache);
	strv_free(cfg->virtio_fs_extra_args);
	free(cfg->shared_fs_why);
	free(cfg->accel);
	free(cfg->sources);
	memset(cfg, 0, sizeof(*cfg));
}

static void add_source(struct husk_config *cfg, const char *path)
{
	size_t have = cfg->sources ? strlen(cfg->sources) : 0;
	char *s = xmalloc(have + strlen(path) + 2);

	sprintf(s, "%s%s%s", have ? cfg->sources : "", have ? "\n" : "", path);
	free(cfg->sources);
	cfg->sources = s;
}

/* Read a whole (small) file; ENOENT is reported as 1, not an error. */
static int read_file(const char *path, char **out, size_t *len,
		     struct herr *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t have = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		return herr_errno(err, errno, "configuration %s", path);
	}
	if (fstat(fd, &st) < 0)
		return herr_errno(err, errno, "configuration %s", path);
	if (!S_ISREG(st.st_mode))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"configuration %s: not a regular file", path);
	if (st.st_size > TOML_MAX_FILE)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"configuration %s: larger than %d bytes", path,
				TOML_MAX_FILE);
	buf = xmalloc((size_t)st.st_size + 1);
	while (have < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + have, (size_t)st.st_size - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return herr_errno(err, errno, "configuration %s", path);
		if (n == 0)
			break;
		have += (size_t)n;
	}
	buf[have] = '\0';
	*len = have;
	*out = steal_pointer(&buf);
	return 0;
}

/* Parse @path if it exists: 0 parsed, 1 absent, -1 error. */
static int parse_file(const char *path, struct husk_config *cfg,
		      struct herr *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int rc = read_file(path, &text, &len, err);

	if (rc)
		return rc;
	if (config_parse(text, len, path, cfg, err) < 0)
		return -1;
	add_source(cfg, path);
	return 0;
}

struct dropin {
	char *name;
	char *path;
};

static int cmp_dropin(const void *a, const void *b)
{
	return strcmp(((const struct dropin *)a)->name,
		      ((const struct dropin *)b)->name);
}

/* Add DIR/config.d/\*.toml to @list; a later dir replaces equal names. */
static int collect_dropins(const char *dir, struct dropin **list, size_t *n,
			   struct herr *err)
{
	_cleanup_free_ char *d = NULL;
	struct dirent *de;
	DIR *dp;

	if (asprintf(&d, "%s/config.d", dir) < 0)
		abort();
	dp = opendir(d);
	if (!dp) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return herr_errno(err, errno, "configuration %s", d);
	}
	while ((de = readdir(dp))) {
		size_t len = strlen(de->d_name), i;
		char *path;

		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".toml"))
			continue;
		if (asprintf(&path, "%s/%s", d, de->d_name) < 0)
			abort();
		for (i = 0; i < *n; i++)
			if (!strcmp((*list)[i].name, de->d_name))
				break;
		if (i < *n) {
			free((*list)[i].path);
			(*list)[i].path = path;
			continue;
		}
		if (*n >= CONF_MAX_DROPINS) {
			free(path);
			closedir(dp);
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"configuration %s: more than %d drop-ins", d,
				CONF_MAX_DROPINS);
		}
		*list = realloc(*list, (*n + 1) * sizeof(**list));
		if (!*list)
			abort();
		(*list)[*n].name = xstrdup(de->d_name);
		(*list)[*n].path = path;
		(*n)++;
	}
	closedir(dp);
	return 0;
}

static int load_dropins(const char *const *dirs, size_t n_dirs,
			struct husk_config *cfg, struct herr *err)
{
	struct dropin *list = NULL;
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < n_dirs && !rc; i++)
		if (dirs[i])
			rc = collect_dropins(dirs[i], &list, &n, err);
	if (!rc && n)
		qsort(list, n, sizeof(*list), cmp_dropin);
	for (size_t i = 0; i < n && !rc; i++)
		if (parse_file(list[i].path, cfg, err) < 0)
			rc = -1;
	for (size_t i = 0; i < n; i++) {
		free(list[i].name);
		free(list[i].path);
	}
	free(list);
	return rc;
}

int config_validate(const struct husk_config *cfg, struct herr *err)
{
	const char *m = cfg->machine_type ? cfg->machine_type : "microvm";

	if (!cfg->kernel || !*cfg->kernel)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"configuration: no kernel");
	if (!cfg->initrd && !cfg->image)
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"configuration: neither initrd nor image is set");
	if (cfg->initrd && cfg->image)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"configuration: both initrd and image are set");
	/* Cloud Hypervisor has no machine types: the image is virtio-pmem. */
	if (cfg->image && !config_is_clh(cfg) && !strcmp(m, "microvm"))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"configuration: image %s needs machine_type "
				"q35 or pc (microvm has no nvdimm)",
				cfg->image);
	if (!cfg->hypervisor_path || !*cfg->hypervisor_path)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"configuration: no hypervisor path");
	if (cfg->virtio_fs_cache_size)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"configuration: virtio_fs_cache_size = %u: %s",
				cfg->virtio_fs_cache_size, CONFIG_NO_DAX);
	if (config_is_clh(cfg) && cfg->shared_fs == SHARED_FS_9P)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"configuration: [hypervisor.clh]: %s",
				CONFIG_CLH_NO_9P);
	/* Said, not ignored: the operator expects that file to boot. */
	if (config_is_clh(cfg) && cfg->firmware)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"configuration: [hypervisor.clh]: firmware %s: "
				"not supported (the kernel boots directly)",
				cfg->firmware);
	return 0;
}

int config_resolve_shared_fs(struct husk_config *cfg, struct herr *err)
{
	const char *d = cfg->virtio_fs_daemon;
	bool have = d && access(d, X_OK) == 0;
	int e = errno;
	char *why;

	/* Kata's Rust daemon says "never" where the C one says "none". */
	if (cfg->virtio_fs_cache && !strcmp(cfg->virtio_fs_cache, "never"))
		set_str(&cfg->virtio_fs_cache, "none");
	if (cfg->shared_fs_explicit) {
		if (cfg->shared_fs == SHARED_FS_VIRTIO_FS && !have)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"configuration: shared_fs = \"virtio-fs\" "
				"needs virtiofsd: virtio_fs_daemon %s: %s "
				"(install qemu-system-common, or set shared_fs "
				"= \"virtio-9p\")",
				d ? d : "(unset)",
				d ? strerror(e) : "not configured");
		if (asprintf(&why, "set in the configuration%s%s",
			     cfg->shared_fs == SHARED_FS_VIRTIO_FS ? " via "
								   : "",
			     cfg->shared_fs == SHARED_FS_VIRTIO_FS ? d : "") <
		    0)
			abort();
	} else if (have) {
		cfg->shared_fs = SHARED_FS_VIRTIO_FS;
		if (asprintf(&why, "default: virtiofsd %s is executable", d) <
		    0)
			abort();
	} else if (config_is_clh(cfg)) {
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"configuration: [hypervisor.clh] needs "
				"virtiofsd for its shared directory (no 9p): "
				"virtio_fs_daemon %s: %s (install "
				"qemu-system-common, or set shared_fs = "
				"\"none\")",
				d ? d : "(unset)",
				d ? strerror(e) : "not configured");
	} else {
		cfg->shared_fs = SHARED_FS_9P;
		if (asprintf(&why, "default: no virtiofsd at %s (%s)",
			     d ? d : "(unset)",
			     d ? strerror(e) : "virtio_fs_daemon unset") < 0)
			abort();
	}
	free(cfg->shared_fs_why);
	cfg->shared_fs_why = why;
	return 0;
}

int config_load_dirs(const char *share_dir, const char *etc_dir,
		     struct husk_config *cfg, struct herr *err)
{
	const char *dirs[] = { share_dir, etc_dir };

	config_defaults(cfg);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *path = NULL;

		if (!dirs[i])
			continue;
		if (asprintf(&path, "%s/" HUSK_CONF_NAME, dirs[i]) < 0)
			abort();
		if (parse_file(path, cfg, err) < 0)
			return -1;
	}
	if (load_dropins(dirs, ARRAY_SIZE(dirs), cfg, err) < 0)
		return -1;
	if (config_resolve_shared_fs(cfg, err) < 0)
		return -1;
	return config_validate(cfg, err);
}

int config_load_file(const char *path, struct husk_config *cfg,
		     struct herr *err)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	const char *dirs[1];
	int rc = parse_file(path, cfg, err);

	if (rc < 0)
		return -1;
	if (rc > 0)
		return herr_set(err, GRPC_NOT_FOUND, ENOENT, "configuration %s",
				path);
	if (slash)
		*slash = '\0';
	dirs[0] = slash ? (*dir ? dir : "/") : ".";
	return load_dropins(dirs, 1, cfg, err);
}

int config_load(const char *explicit_path, struct husk_config *cfg,
		struct herr *err)
{
	const char *path = explicit_path;

	if (!path || !*path)
		path = getenv("HUSK_CONF_FILE");
	if (!path || !*path)
		return config_load_dirs(HUSK_CONF_SHARE_DIR, HUSK_CONF_ETC_DIR,
					cfg, err);
	config_defaults(cfg);
	if (config_load_file(path, cfg, err) < 0 ||
	    config_resolve_shared_fs(cfg, err) < 0)
		return -1;
	return config_validate(cfg, err);
}

/* ---- husk env ------------------------------------------------------------ */

static void dump_strval(FILE *f, const char *v)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(v ? v : ""); *p;
	     p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void dump_str(FILE *f, const char *key, const char *v)
{
	fprintf(f, "%s = ", key);
	dump_strval(f, v);
	fputc('\n', f);
}

void config_dump(const struct husk_config *cfg, FILE *f)
{
	const char *src = cfg->sources ? cfg->sources : "";

	fputs("# files read, in order:\n", f);
	if (!*src)
		fputs("#   (none: built-in defaults)\n", f);
	while (*src) {
		size_t n = strcspn(src, "\n");

		fprintf(f, "#   %.*s\n", (int)n, src);
		src += n + (src[n] == '\n');
	}
	fprintf(f, "\n[hypervisor.%s]\n",
		cfg->hypervisor ? cfg->hypervisor : "qemu");
	dump_str(f, "path", cfg->hypervisor_path);
	dump_str(f, "kernel", cfg->kernel);
	dump_str(f, "initrd", cfg->initrd);
	dump_str(f, "image", cfg->image);
	dump_str(f, "firmware", cfg->firmware);
	dump_str(f, "machine_type", cfg->machine_type);
	dump_str(f, "kernel_params", cfg->kernel_params);
	fprintf(f, "default_vcpus = %u\n", cfg->default_vcpus);
	fprintf(f, "default_memory = %u\n", cfg->default_memory);
	fprintf(f, "default_maxvcpus = %u\n", cfg->default_maxvcpus);
	fprintf(f, "default_maxmemory = %u\n", cfg->default_maxmemory);
	dump_str(f, "shared_fs", config_shared_fs_name(cfg->shared_fs));
	if (cfg->shared_fs_why)
		fprintf(f, "# shared_fs: %s\n", cfg->shared_fs_why);
	dump_str(f, "virtio_fs_daemon", cfg->virtio_fs_daemon);
	dump_str(f, "virtio_fs_cache", cfg->virtio_fs_cache);
	fprintf(f, "virtio_fs_cache_size = %u\n", cfg->virtio_fs_cache_size);
	fputs("virtio_fs_extra_args = [", f);
	for (char **a = cfg->virtio_fs_extra_args; a && *a; a++) {
		fputs(a == cfg->virtio_fs_extra_args ? "" : ", ", f);
		dump_strval(f, *a);
	}
	fputs("]\n", f);
	fprintf(f, "msize_9p = %u\n", cfg->msize_9p);
	fprintf(f, "enable_debug = %s\n", cfg->enable_debug ? "true" : "false");
	dump_str(f, "accel", cfg->accel);
	fprintf(f, "tcg_tb_size = %u\n", cfg->tcg_tb_size);
	fprintf(f, "reclaim_guest_freed_memory = %s\n",
		cfg->reclaim_guest_freed_memory ? "true" : "false");
	fputs("\n[agent.husk]\n", f);
	fprintf(f, "dial_timeout = %u\n", cfg->dial_timeout);
	fprintf(f, "enable_debug = %s\n", cfg->agent_debug ? "true" : "false");
	fputs("\n[runtime]\n", f);
	fprintf(f, "enable_debug = %s\n",
		cfg->runtime_debug ? "true" : "false");
	dump_str(f, "internetworking_model", cfg->internetworking_model);
}
