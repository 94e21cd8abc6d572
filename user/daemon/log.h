/*
 * log.h - leveled logging for the daemon, to stderr or to syslog.
 *
 * Owns: the log level, where lines go and their format ("sipshardd: LEVEL:
 * text" on stderr; "LEVEL: text" through syslog(3), ident sipshardd with the
 * pid, facility daemon, the level as priority). Does not own: what is worth
 * logging (the caller).
 */
#ifndef SIPSHARD_LOG_H
#define SIPSHARD_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Sets the level; returns -EINVAL for an unknown name. */
int log_set_level_name(const char *name);
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);

/* From now on, lines go to syslog(3) instead of stderr (config log_target). */
void log_use_syslog(void);

/* While on (sipshardd's start, until the daemon runs), error lines that go to
 * syslog are written to stderr too: a start that fails exits 1 with its
 * error printed (sipshardd --help), and with no system logger to read
 * /dev/log the reason would be lost. */
void log_start_errors(bool on);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_get_level() >= LOG_LVL_DEBUG)                                              \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                                       \
	} while (0)

#endif
