/*
 * cdr.h - the call detail record file: one JSON object per line, appended.
 *
 * Owns: the file (its directory made when missing; opened O_APPEND, mode
 * 0640, so that each record is one
 * write(2) that lands whole even beside another writer) and reopening it for
 * log rotation. Does not own: what a record holds (controller.c formats it).
 * Used by the controller thread only.
 */
#ifndef SIPSHARD_CDR_H
#define SIPSHARD_CDR_H

#include <stddef.h>
#include <stdint.h>

struct cdr_file {
	int fd; /* -1: closed */
	char path[256];
	uint64_t written, errors;
	uint64_t last_error_log_ms;
};

/* Opens (creating) path for appending. 0, or a negative errno with one line in
 * err naming the path. */
int cdr_open(struct cdr_file *f, const char *path, char *err, size_t errlen);
/* Opens the path again (after a rotation moved the file away); on failure the
 * old descriptor stays in use. 0 or a negative errno. */
int cdr_reopen(struct cdr_file *f);
/* Appends one record (a line ending in "\n"); a short or failed write is
 * counted in errors and logged once per second at most. */
void cdr_append(struct cdr_file *f, const char *line, size_t len);
void cdr_close(struct cdr_file *f);

#endif
