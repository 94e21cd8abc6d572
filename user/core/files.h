/*
 * files.h - the directories the daemon's own files live in.
 *
 * Owns: creating the one missing directory level above a file the
 * configuration names (a run directory, a log directory) on a fresh machine.
 * Does not own: the files themselves.
 */
#ifndef SIPSHARD_FILES_H
#define SIPSHARD_FILES_H

#include <stddef.h>
#include <sys/types.h>

/* Makes the directory that holds path (with mode) when it is missing; its own
 * parent must exist. 0, or a negative errno with one line in err that starts
 * with "KEY PATH: ". */
int files_make_parent(const char *path, mode_t mode, const char *key, char *err, size_t errlen);

/* Makes dir (mode 0700) when it is missing, and accepts an existing one only
 * when it is a directory that this process's user owns and no one else may
 * write to: the files in it decide which calls the daemon relays. 0, or a
 * negative errno with one line in err that starts with "KEY DIR: ". */
int files_own_dir(const char *dir, const char *key, char *err, size_t errlen);

#endif
