/*
 * cdr.c - the call detail record file (see cdr.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/files.h"
#include "daemon/cdr.h"
#include "daemon/log.h"

static int open_append(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

int cdr_open(struct cdr_file *f, const char *path, char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (strlen(path) >= sizeof(f->path)) {
		snprintf(err, errlen, "cdr_file %s: path too long", path);
		return -ENAMETOOLONG;
	}
	memcpy(f->path, path, strlen(path) + 1);
	int rc = files_make_parent(path, 0750, "cdr_file", err, errlen);
	if (rc)
		return rc;
	f->fd = open_append(path);
	if (f->fd < 0) {
		int e = errno;
		snprintf(err, errlen, "cdr_file %s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

int cdr_reopen(struct cdr_file *f)
{
	if (f->fd < 0)
		return 0;
	cdr_flush(f); /* what the last pass queued belongs to the old file */
	int fd = open_append(f->path);
	if (fd < 0) {
		int e = errno;
		log_error("cdr_file %s: cannot reopen, still writing to the old file: %s", f->path,
			  strerror(e));
		return -e;
	}
	close(f->fd);
	f->fd = fd;
	f->torn = false; /* a new file: whatever was cut is in the old one */
	return 0;
}

/* Counts the records from p on as lost and says so, once a second at most. */
static void count_lost(struct cdr_file *f, const char *p, const char *end, const char *why)
{
	static const uint64_t quiet_ms = 1000;

	for (; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		f->errors++;
	uint64_t now = clock_mono_ms();
	if (now - f->last_error_log_ms >= quiet_ms) {
		f->last_error_log_ms = now;
		log_error("cdr_file %s: records lost (%s); %llu lost so far", f->path, why,
			  (unsigned long long)f->errors);
	}
}

void cdr_flush(struct cdr_file *f)
{
	const char *p = f->buf, *end = f->buf + f->used;

	/* an earlier write left part of a record in the file: end that line
	 * first, or the next record would be glued to it (a line no reader can
	 * parse, though counted written) */
	while (f->torn && p < end) {
		errno = EBADF;
		ssize_t n = f->fd >= 0 ? write(f->fd, "\n", 1) : -1;
		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1) {
			count_lost(f, p, end, n < 0 ? strerror(errno) : "short write");
			f->used = 0;
			return;
		}
		f->torn = false;
	}
	while (p < end) {
		errno = EBADF; /* when closed */
		ssize_t n = f->fd >= 0 ? write(f->fd, p, (size_t)(end - p)) : -1;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* a record cut by an earlier short write is lost too */
			const char *from = p;
			while (from > f->buf && from[-1] != '\n')
				from--;
			if (from < p)
				f->torn = true; /* part of that record went out */
			count_lost(f, from, end, n < 0 ? strerror(errno) : "short write");
			break;
		}
		p += n;
	}
	/* what went out whole: every record before the first one cut */
	const char *from = f->buf;
	for (const char *nl; (nl = memchr(from, '\n', (size_t)(p - from))) != NULL; from = nl + 1)
		f->written++;
	f->used = 0;
}

void cdr_append(struct cdr_file *f, const char *line, size_t len)
{
	if (len > sizeof(f->buf) - f->used)
		cdr_flush(f);
	if (len > sizeof(f->buf)) {
		/* cannot happen with the controller's records (a few KiB at most) */
		count_lost(f, line, line + len, "record larger than the buffer");
		return;
	}
	memcpy(f->buf + f->used, line, len);
	f->used += len;
}

void cdr_close(struct cdr_file *f)
{
	cdr_flush(f);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}
