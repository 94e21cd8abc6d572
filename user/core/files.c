/*
 * files.c - directories for the daemon's files (see files.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/files.h"

int files_make_parent(const char *path, mode_t mode, const char *key, char *err, size_t errlen)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (!slash || slash == path)
		return 0; /* "/x" or a relative name: the directory exists */
	if ((size_t)(slash - path) >= sizeof(dir)) {
		snprintf(err, errlen, "%s %s: path too long", key, path);
		return -ENAMETOOLONG;
	}
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		snprintf(err, errlen, "%s %s: %s is not a directory", key, path, dir);
		return -ENOTDIR;
	}
	if (errno != ENOENT || mkdir(dir, mode) != 0) {
		int e = errno;
		snprintf(err, errlen, "%s %s: cannot create %s: %s", key, path, dir, strerror(e));
		return -e;
	}
	return 0;
}

int files_own_dir(const char *dir, const char *key, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "%s %s: cannot create it: %s", key, dir, strerror(e));
		return -e;
	}
	if (lstat(dir, &st) != 0) {
		int e = errno;
		snprintf(err, errlen, "%s %s: %s", key, dir, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a directory", key, dir);
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s %s: owned by uid %u, not by this user (uid %u)", key, dir,
			 (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s %s: writable by others (mode %03o); chmod 700 it", key,
			 dir, (unsigned)(st.st_mode & 0777));
		return -EPERM;
	}
	return 0;
}
