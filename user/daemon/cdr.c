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
	int fd = open_append(f->path);
	if (fd < 0) {
		int e = errno;
		log_error("cdr_file %s: cannot reopen, still writing to the old file: %s", f->path,
			  strerror(e));
		return -e;
	}
	close(f->fd);
	f->fd = fd;
	return 0;
}

void cdr_append(struct cdr_file *f, const char *line, size_t len)
{
	static const uint64_t quiet_ms = 1000;
	ssize_t n = f->fd >= 0 ? write(f->fd, line, len) : -1;

	if (n == (ssize_t)len) {
		f->written++;
		return;
	}
	f->errors++;
	uint64_t now = clock_mono_ms();
	if (now - f->last_error_log_ms >= quiet_ms) {
		f->last_error_log_ms = now;
		log_error("cdr_file %s: record lost (%s); %llu lost so far", f->path,
			  n < 0 ? strerror(errno) : "short write", (unsigned long long)f->errors);
	}
}

void cdr_close(struct cdr_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}
