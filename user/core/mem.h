/*
 * mem.h - the daemon's large pools: mappings that fill as traffic comes (set-up
 * records, rings, receive and send buffers, dialog tables), anonymous or, for
 * what must outlive the process, in a file of run_dir.
 *
 * Owns: mapping and unmapping them, and asking the kernel to back the large
 * ones with transparent huge pages. Does not own: what lives in them.
 *
 * Why huge pages: a fresh daemon touches each page of these pools for the
 * first time while calls arrive, and on a virtual machine a fault per 4 KiB
 * made a 10000/s burst of new calls lose about half of them to 503s. With
 * 2 MiB pages a pool takes one fault per 2 MiB instead of one per 4 KiB
 * (bench/setup_burst.sh measures bursts with and without). The request is
 * madvise(MADV_HUGEPAGE): the host's /sys/kernel/mm/transparent_hugepage/enabled
 * decides ("never" turns it off, "madvise" or "always" lets it work), and where
 * the kernel has no huge pages the pools are ordinary memory. A file in run_dir
 * gets them only on a tmpfs mounted huge=advise (or within_size).
 */
#ifndef SIPSHARD_MEM_H
#define SIPSHARD_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Pools at least this large are advised to use huge pages. */
#define MEM_HUGE_MIN ((size_t)2 << 20)

/* len zeroed bytes, page-aligned, not yet backed by memory; NULL (errno set)
 * when len is 0 or the mapping fails. Free with mem_pool_free. */
void *mem_pool_alloc(size_t len);
void mem_pool_free(void *p, size_t len);

/*
 * A pool kept in the file at path, so that a later process finds what this
 * one left (the dialog tables, the set-up records). The file is created with
 * mode 0600 when absent and locked (flock, released when *fd is closed) so
 * that two processes never write it at once. On success *mem is the shared
 * mapping of len bytes, advised huge (mem_advise_huge), *fd its descriptor,
 * and *fresh true when the file was new (then it reads as zeros). Returns
 * -EBUSY when another process holds the lock, -EINVAL when the file exists
 * with another size, or another negative errno.
 */
int mem_file_map(const char *path, size_t len, void **mem, int *fd, bool *fresh);

/* Gives back the memory of the whole pages within [off, off + len) of a
 * mem_file_map file: they read as zeros again, and the file keeps its size.
 * A file on tmpfs holds its pages until it is removed, also after the process
 * that filled them has stopped. */
void mem_file_release(int fd, size_t off, size_t len);

/* Removes the file at path unless a process has it mapped (the lock
 * mem_file_map takes): 0, -EBUSY, or another negative errno. */
int mem_file_remove(const char *path);

/* Whether len bytes at p are all zero. A mem_file_map file is made at its
 * full size before its header is written: one whose header reads as zeros
 * was left by a start that stopped (failed to map it, was killed) in
 * between, and as its records are written only after the header, it never
 * held any: it is as new as one mem_file_map has just made. */
static inline bool mem_zero(const void *p, size_t len)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* Whether a bool in such a file holds 0 or 1: another process, perhaps
 * killed mid-write or of another build, wrote it, and any other byte read
 * as a bool is undefined behaviour. */
static inline bool mem_bool_ok(const bool *b)
{
	unsigned char raw;
	memcpy(&raw, b, 1);
	return raw <= 1;
}

/* Backs [p, p + len) of a pool with memory now, so that its first use does
 * not wait for page faults: for pools sized to a burst rather than to what
 * is usually in use. */
void mem_pool_populate(void *p, size_t len);

/* Asks for huge pages on an existing mapping [p, p + len) when len is at
 * least MEM_HUGE_MIN. A file on tmpfs gets them only when its mount allows
 * (huge=advise or within_size); a file on disk never does. Returns true when
 * the kernel accepted the advice, which does not promise a huge page. */
bool mem_advise_huge(void *p, size_t len);

/* Whether the kernel may back the mapping that holds p with huge pages
 * (THPeligible in /proc/self/smaps): 1 or 0, or a negative errno when it
 * cannot tell (no such mapping, no such field: kernels before 5.8). */
int mem_huge_eligible(const void *p);

/* The host's transparent huge page mode (always, madvise or never), or
 * "absent" when the kernel has none. */
const char *mem_thp_mode(char *buf, size_t cap);

#endif
