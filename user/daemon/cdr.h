/*
 * cdr.h - the call detail record file: one JSON object per line, appended.
 *
 * Owns: the file (its directory made when missing; opened O_APPEND, mode
 * 0640), the buffer of records not yet written, and reopening the file for
 * log rotation. Records are queued whole and written together by
 * cdr_flush, which the controller calls once per pass: one write(2) per
 * pass instead of one per call (a record waits at most one pass, and a
 * write of whole lines to an O_APPEND file lands whole even beside another
 * writer). Does not own: what a record holds (controller_cdr.c formats it).
 * Used by the controller thread only.
 */
#ifndef SIPSHARD_CDR_H
#define SIPSHARD_CDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of records queued before they are written in the middle of a pass:
 * some 150 records of ~400 bytes. */
#define CDR_BUF_SIZE 65536

struct cdr_file {
	int fd; /* -1: closed */
	char path[256];
	uint64_t written, errors; /* records written, records lost */
	uint64_t last_error_log_ms;
	size_t used; /* bytes queued in buf: whole records */
	/* the file ends in part of a record (a write cut short): the next
	 * write starts a new line first, so that records stay one per line */
	bool torn;
	char buf[CDR_BUF_SIZE];
};

/* Opens (creating) path for appending. 0, or a negative errno with one line in
 * err naming the path. */
int cdr_open(struct cdr_file *f, const char *path, char *err, size_t errlen);
/* Opens the path again (after a rotation moved the file away), once what is
 * queued went to the old one; on failure the old descriptor stays in use. 0
 * or a negative errno. */
int cdr_reopen(struct cdr_file *f);
/* Queues one record (a line ending in "\n"), writing what is queued first
 * when the buffer cannot hold it. */
void cdr_append(struct cdr_file *f, const char *line, size_t len);
/* Writes what is queued. A record not written whole (a failed or short
 * write) is counted in errors, logged once per second at most. */
void cdr_flush(struct cdr_file *f);
/* Flushes, then closes. */
void cdr_close(struct cdr_file *f);

#endif
