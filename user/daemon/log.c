/*
 * log.c - leveled logging to stderr or syslog (see log.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "daemon/log.h"

/* The process's one logging setting; atomic because every thread reads it. */
static _Atomic int log_level_setting = LOG_LVL_INFO;

static _Atomic bool log_to_syslog;
/* log_start_errors: error lines to stderr as well as to syslog */
static _Atomic bool log_errors_both;

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const int syslog_priority[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

int log_set_level_name(const char *name)
{
	for (int i = 0; i <= LOG_LVL_DEBUG; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			log_set_level((enum log_level)i);
			return 0;
		}
	}
	return -EINVAL;
}

void log_set_level(enum log_level lvl)
{
	atomic_store(&log_level_setting, (int)lvl);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&log_level_setting);
}

void log_use_syslog(void)
{
	/* connect now, while the process can still open /dev/log */
	openlog("sipshardd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	atomic_store(&log_to_syslog, true);
}

void log_start_errors(bool on)
{
	atomic_store(&log_errors_both, on);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if ((int)lvl > atomic_load(&log_level_setting))
		return;
	n = snprintf(line, sizeof(line), "sipshardd: %s: ", level_names[lvl]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (atomic_load(&log_to_syslog)) {
		/* syslog names the program itself */
		syslog(syslog_priority[lvl], "%s", line + strlen("sipshardd: "));
		if (lvl != LOG_LVL_ERROR || !atomic_load(&log_errors_both))
			return;
	}
	/* one write per line so that lines from several threads do not interleave */
	fprintf(stderr, "%s\n", line);
}
