/*
 * files.c - directories for the daemon's files (see files.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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
