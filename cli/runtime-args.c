// SPDX-License-Identifier: Apache-2.0
/*
 * runc's command line as containerd-shim-runc-v2 (go-runc) and conmon
 * write it: global flags before the verb, the verb's flags before its
 * positional arguments, "--flag value", "--flag=value" and Go's single
 * dash forms alike.  Anything unknown is an error naming it.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "util.h"

static const struct {
	const char *name;
	enum rt_verb verb;
} verbs[] = {
	{ "create", RT_CREATE },   { "start", RT_START },
	{ "run", RT_RUN },	   { "state", RT_STATE },
	{ "kill", RT_KILL },	   { "delete", RT_DELETE },
	{ "exec", RT_EXEC },	   { "pause", RT_PAUSE },
	{ "resume", RT_RESUME },   { "ps", RT_PS },
	{ "update", RT_UPDATE },   { "features", RT_FEATURES },
	{ "version", RT_VERSION }, { "help", RT_HELP },
};

enum flag_kind { F_BOOL, F_STR, F_IGNORED_STR, F_IGNORED_BOOL };

struct flag {
	const char *name; /* without dashes */
	const char *alias; /* one-letter form, or NULL */
	enum flag_kind kind;
	size_t off; /* into struct rt_cmd */
	unsigned verbs; /* bit per enum rt_verb; 0 = global */
};

#define V(x) (1u << (x))
#define OFF(f) offsetof(struct rt_cmd, f)

static const struct flag flags[] = {
	/* global */
	{ "root", NULL, F_STR, OFF(root), 0 },
	{ "log", NULL, F_STR, OFF(log), 0 },
	{ "log-format", NULL, F_STR, OFF(format), 0 },
	{ "debug", NULL, F_BOOL, OFF(debug), 0 },
	{ "systemd-cgroup", NULL, F_BOOL, OFF(systemd_cgroup), 0 },
	{ "version", "v", F_BOOL, 0, 0 },
	{ "help", "h", F_BOOL, 0, 0 },
	/* verbs */
	{ "bundle", "b", F_STR, OFF(bundle), V(RT_CREATE) | V(RT_RUN) },
	{ "pid-file", NULL, F_STR, OFF(pid_file),
	  V(RT_CREATE) | V(RT_RUN) | V(RT_EXEC) },
	{ "console-socket", NULL, F_STR, OFF(console_socket),
	  V(RT_CREATE) | V(RT_RUN) | V(RT_EXEC) },
	{ "no-pivot", NULL, F_IGNORED_BOOL, 0, V(RT_CREATE) | V(RT_RUN) },
	{ "no-new-keyring", NULL, F_IGNORED_BOOL, 0, V(RT_CREATE) | V(RT_RUN) },
	{ "preserve-fds", NULL, F_IGNORED_STR, 0,
	  V(RT_CREATE) | V(RT_RUN) | V(RT_EXEC) },
	{ "detach", "d", F_BOOL, OFF(detach), V(RT_EXEC) | V(RT_RUN) },
	{ "process", "p", F_STR, OFF(process), V(RT_EXEC) },
	{ "tty", "t", F_BOOL, OFF(tty), V(RT_EXEC) },
	{ "all", "a", F_BOOL, OFF(all), V(RT_KILL) },
	{ "force", "f", F_BOOL, OFF(force), V(RT_DELETE) },
	{ "format", "f", F_STR, OFF(format), V(RT_PS) },
	{ "resources", "r", F_STR, OFF(resources), V(RT_UPDATE) },
};

static const struct flag *find_flag(const char *name, size_t len,
				    enum rt_verb verb)
{
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		const struct flag *f = &flags[i];
		bool here = verb == RT_NONE ? f->verbs == 0
					    : (f->verbs & V(verb)) != 0;

		if (!here)
			continue;
		if ((strlen(f->name) == len && !strncmp(f->name, name, len)) ||
		    (f->alias && strlen(f->alias) == len &&
		     !strncmp(f->alias, name, len)))
			return f;
	}
	return NULL;
}

static bool bool_value(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "1")) {
		*out = true;
		return true;
	}
	if (!strcmp(v, "false") || !strcmp(v, "0")) {
		*out = false;
		return true;
	}
	return false;
}

/*
 * One flag at argv[*i]; advances *i past its value.  Global flags record
 * "--version" and "--help" as verbs.
 */
static int take_flag(int argc, char **argv, int *i, struct rt_cmd *cmd,
		     struct herr *err)
{
	const char *a = argv[*i], *name = a + 1, *eq, *value = NULL;
	const char *where = cmd->verb == RT_NONE ? "" : cmd->verb_name;
	const struct flag *f;
	size_t len;

	if (*name == '-')
		name++;
	eq = strchr(name, '=');
	len = eq ? (size_t)(eq - name) : strlen(name);
	f = find_flag(name, len, cmd->verb);
	if (!f)
		return herr_set(err, 0, 0, "%s%sunknown flag %.*s", where,
				*where ? ": " : "", (int)(len + (name - a)), a);
	if (eq)
		value = eq + 1;
	if (f->kind == F_STR || f->kind == F_IGNORED_STR) {
		if (!value) {
			if (*i + 1 >= argc)
				return herr_set(err, 0, 0,
						"%s%sflag %s needs a value",
						where, *where ? ": " : "", a);
			value = argv[++*i];
		}
		if (f->kind == F_STR)
			*(const char **)((char *)cmd + f->off) = value;
		return 0;
	}
	{
		bool b = true;

		if (value && !bool_value(value, &b))
			return herr_set(err, 0, 0,
					"%s%sflag --%s: \"%s\" is not a "
					"boolean",
					where, *where ? ": " : "", f->name,
					value);
		if (!strcmp(f->name, "version"))
			cmd->verb = RT_VERSION;
		else if (!strcmp(f->name, "help"))
			cmd->verb = RT_HELP;
		else if (f->kind == F_BOOL)
			*(bool *)((char *)cmd + f->off) = b;
	}
	return 0;
}

static int positional(struct rt_cmd *cmd, char **rest, int n, struct herr *err)
{
	int want_min = 1, want_max = 1;

	switch (cmd->verb) {
	case RT_FEATURES:
	case RT_VERSION:
	case RT_HELP:
		want_min = 0;
		want_max = 0;
		break;
	case RT_KILL:
		want_max = 2;
		break;
	case RT_EXEC:
		want_max = 1 << 20;
		break;
	default:
		break;
	}
	if (n < want_min)
		return herr_set(err, 0, 0, "%s: missing the container id",
				cmd->verb_name);
	if (n > want_max)
		return herr_set(err, 0, 0, "%s: unexpected argument \"%s\"",
				cmd->verb_name, rest[want_max]);
	if (n == 0)
		return 0;
	cmd->id = rest[0];
	if (!*cmd->id)
		return herr_set(err, 0, 0, "%s: empty container id",
				cmd->verb_name);
	if (cmd->verb == RT_KILL)
		cmd->signal = n > 1 ? rest[1] : "TERM";
	if (cmd->verb == RT_EXEC) {
		cmd->args = rest + 1;
		cmd->n_args = n - 1;
		if (!cmd->process && !cmd->n_args)
			return herr_set(err, 0, 0,
					"exec: give --process FILE or a "
					"command");
		if (cmd->process && cmd->n_args)
			return herr_set(err, 0, 0,
					"exec: --process and a command "
					"exclude each other");
	}
	return 0;
}

int rt_parse(int argc, char **argv, struct rt_cmd *cmd, struct herr *err)
{
	int i = 0;

	memset(cmd, 0, sizeof(*cmd));
	herr_clear(err);
	cmd->root = RT_DEFAULT_ROOT;
	/* Global flags, then the verb. */
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++)
		if (take_flag(argc, argv, &i, cmd, err) < 0)
			return -1;
	if (cmd->format) {
		if (strcmp(cmd->format, "json") && strcmp(cmd->format, "text"))
			return herr_set(err, 0, 0,
					"--log-format %s: only text and json",
					cmd->format);
		cmd->log_json = !strcmp(cmd->format, "json");
		cmd->format = NULL;
	}
	if (cmd->verb == RT_VERSION || cmd->verb == RT_HELP)
		return 0;
	if (i >= argc)
		return herr_set(err, 0, 0, "no command given (try --help)");
	cmd->verb_name = argv[i];
	for (size_t k = 0; k < ARRAY_SIZE(verbs); k++)
		if (!strcmp(verbs[k].name, argv[i]))
			cmd->verb = verbs[k].verb;
	if (cmd->verb == RT_NONE)
		return herr_set(err, 0, 0, "unknown command \"%s\"", argv[i]);
	if (cmd->verb == RT_VERSION || cmd->verb == RT_HELP)
		return 0;
	for (i++; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (argv[i][0] != '-' || !argv[i][1])
			break;
		if (take_flag(argc, argv, &i, cmd, err) < 0)
			return -1;
	}
	if (cmd->verb == RT_PS && cmd->format && strcmp(cmd->format, "json") &&
	    strcmp(cmd->format, "table"))
		return herr_set(err, 0, 0,
				"ps: --format %s: only table and json",
				cmd->format);
	if ((cmd->verb == RT_CREATE || cmd->verb == RT_RUN) && !cmd->bundle)
		cmd->bundle = ".";
	if (cmd->verb == RT_UPDATE && !cmd->resources)
		return herr_set(err, 0, 0,
				"update: only --resources FILE is supported");
	return positional(cmd, argv + i, argc - i, err);
}

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "HUP", SIGHUP },	 { "INT", SIGINT },   { "QUIT", SIGQUIT },
	{ "ILL", SIGILL },	 { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
	{ "BUS", SIGBUS },	 { "FPE", SIGFPE },   { "KILL", SIGKILL },
	{ "USR1", SIGUSR1 },	 { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
	{ "PIPE", SIGPIPE },	 { "ALRM", SIGALRM }, { "TERM", SIGTERM },
	{ "CHLD", SIGCHLD },	 { "CONT", SIGCONT }, { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP },	 { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },
	{ "URG", SIGURG },	 { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
	{ "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
	{ "IO", SIGIO },	 { "PWR", SIGPWR },   { "SYS", SIGSYS },
};

int rt_signal_parse(const char *s)
{
	char *end;
	long n;

	if (!s || !*s)
		return -1;
	if (s[0] >= '0' && s[0] <= '9') {
		n = strtol(s, &end, 10);
		return *end || n < 1 || n > 64 ? -1 : (int)n;
	}
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
		if (!strcmp(signals[i].name, s))
			return signals[i].sig;
	return -1;
}
