// SPDX-License-Identifier: Apache-2.0
/*
 * The kernel command line: Kata's agent.* parameters where they apply to
 * husk, and husk's own husk.*.  The kernel passes dotted parameters to no
 * one, so /proc/cmdline is the only place to find them.  Everything else
 * on the line belongs to the kernel and is ignored here.  Bad values are
 * warned about and skipped: a typo must not keep the guest from booting.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"
#include "log.h"
#include "util.h"

enum kind {
	K_LOG,
	K_FLAG,
	K_U32,
	K_SECONDS,
	K_ADDR,
	K_NAME,
	K_IGNORE, /* Kata's, meaningless for husk: accepted quietly */
};

struct param {
	const char *key;
	enum kind kind;
	size_t off; /* into struct init_config */
};

#define OFF(f) offsetof(struct init_config, f)

static const struct param params[] = {
	{ "agent.log", K_LOG, OFF(log_level) },
	{ "agent.debug_console", K_FLAG, OFF(debug_console) },
	{ "agent.debug_console_vport", K_U32, OFF(debug_console_vport) },
	{ "agent.server_addr", K_ADDR, 0 },
	{ "agent.container_pipe_size", K_U32, OFF(container_pipe_size) },
	{ "agent.hotplug_timeout", K_SECONDS, OFF(hotplug_timeout_s) },
	{ "agent.log_vport", K_IGNORE, 0 },
	{ "agent.launch_process_timeout", K_IGNORE, 0 },
	{ "agent.trace", K_IGNORE, 0 },
	{ "agent.devmode", K_IGNORE, 0 },
	{ "agent.cdh_api_timeout", K_IGNORE, 0 },
	{ "agent.cdi_timeout", K_IGNORE, 0 },
	{ "husk.channel", K_NAME, OFF(channel) },
	{ "husk.channel_timeout", K_SECONDS, OFF(channel_timeout_s) },
};

void init_config_defaults(struct init_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = -1;
	cfg->vsock_port = INIT_VSOCK_PORT;
	cfg->hotplug_timeout_s = 3;
	strcpy(cfg->channel, INIT_CHANNEL_NAME);
	cfg->channel_timeout_s = INIT_CHANNEL_TIMEOUT_S;
}

static int parse_u32(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* vsock://CID:PORT, CID any (Kata writes -1); other schemes do not apply. */
static int parse_addr(const char *s, struct init_config *cfg)
{
	const char *colon;
	uint32_t port;

	if (strncmp(s, "vsock://", 8))
		return -1;
	colon = strrchr(s + 8, ':');
	if (!colon || colon == s + 8 || parse_u32(colon + 1, &port) < 0 ||
	    !port)
		return -1;
	cfg->vsock_only = true;
	cfg->vsock_port = port;
	return 0;
}

/* A port name: what virtio-serial allows, without surprises in a path. */
static int valid_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (!n || n >= max || strchr(s, '/') || !strcmp(s, ".") ||
	    !strcmp(s, ".."))
		return 0;
	for (; *s; s++)
		if (!isgraph((unsigned char)*s))
			return 0;
	return 1;
}

static int apply(const struct param *p, const char *val,
		 struct init_config *cfg)
{
	char *field = (char *)cfg + p->off;
	uint32_t u;
	int lvl;

	switch (p->kind) {
	case K_LOG:
		if (!val || (lvl = log_level_parse(val)) < 0)
			return -1;
		*(int *)field = lvl;
		return 0;
	case K_FLAG:
		/* agent.debug_console, or =true/=1 (=false/=0 turn it off) */
		if (!val || !strcmp(val, "1") || !strcmp(val, "true"))
			*(bool *)field = true;
		else if (!strcmp(val, "0") || !strcmp(val, "false"))
			*(bool *)field = false;
		else
			return -1;
		return 0;
	case K_U32:
	case K_SECONDS:
		if (!val || parse_u32(val, &u) < 0)
			return -1;
		if (p->kind == K_SECONDS && (!u || u > 3600))
			return -1;
		*(uint32_t *)field = u;
		return 0;
	case K_ADDR:
		return val ? parse_addr(val, cfg) : -1;
	case K_NAME:
		if (!val || !valid_name(val, sizeof(cfg->channel)))
			return -1;
		strcpy(field, val);
		return 0;
	case K_IGNORE:
		return 0;
	}
	return -1;
}

/* One word of the line, split at the first '=' (key, NULL: a flag). */
static int parse_word(char *word, struct init_config *cfg)
{
	char *val = strchr(word, '=');
	size_t i;

	if (val)
		*val++ = '\0';
	if (!val && !strcmp(word, "quiet")) {
		cfg->quiet = true;
		return 0;
	}
	if (strncmp(word, "agent.", 6) && strncmp(word, "husk.", 5))
		return 0;
	for (i = 0; i < ARRAY_SIZE(params); i++)
		if (!strcmp(word, params[i].key))
			break;
	if (i == ARRAY_SIZE(params)) {
		log_warn("kernel cmdline: unknown parameter %s: ignored", word);
		return -1;
	}
	if (apply(&params[i], val, cfg) < 0) {
		log_warn("kernel cmdline: %s%s%s: bad value: ignored", word,
			 val ? "=" : "", val ? val : "");
		return -1;
	}
	return 0;
}

int init_log_level(const struct init_config *cfg, int dflt)
{
	if (cfg->log_level >= 0)
		return cfg->log_level;
	if (cfg->quiet && dflt > LOG_WARN)
		return LOG_WARN;
	return dflt;
}

int init_cmdline_parse(const char *cmdline, struct init_config *cfg)
{
	char word[256];
	const char *p = cmdline;
	int skipped = 0;

	while (*p) {
		size_t n = 0;
		bool quoted = false, long_word = false;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		/* The kernel's rule: double quotes group, and are dropped. */
		for (; *p && (quoted || !isspace((unsigned char)*p)); p++) {
			if (*p == '"') {
				quoted = !quoted;
				continue;
			}
			if (n + 1 < sizeof(word))
				word[n++] = *p;
			else
				long_word = true;
		}
		word[n] = '\0';
		if (long_word) {
			if (!strncmp(word, "agent.", 6) ||
			    !strncmp(word, "husk.", 5)) {
				log_warn("kernel cmdline: parameter longer than %zu bytes: ignored",
					 sizeof(word) - 1);
				skipped++;
			}
			continue;
		}
		if (parse_word(word, cfg) < 0)
			skipped++;
	}
	return skipped;
}
