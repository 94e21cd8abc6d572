/*
 * mem.c - anonymous and file-backed pools and the huge-page advice (see mem.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

static size_t page_size(void)
{
	long page = sysconf(_SC_PAGESIZE);
	return page > 0 ? (size_t)page : 4096;
}

bool mem_advise_huge(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
	/* EINVAL: a kernel built without transparent huge pages; the pool then
	 * works the same on small pages, so the advice is all there is to lose */
	return len >= MEM_HUGE_MIN && madvise(p, len, MADV_HUGEPAGE) == 0;
#else
	(void)p;
	(void)len;
	return false;
#endif
}

void *mem_pool_alloc(size_t len)
{
	if (len == 0) {
		errno = EINVAL;
		return NULL;
	}
	/* NORESERVE: a pool sized for the worst case (a dialog table) is not
	 * charged against the overcommit limit before it is used */
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	mem_advise_huge(p, len);
	return p;
}

int mem_file_map(const char *path, size_t len, void **mem, int *fd, bool *fresh)
{
	struct stat st;
	int rc;

	*mem = NULL;
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return -errno;
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto fail;
	}
	if (fstat(*fd, &st) != 0) {
		rc = -errno;
		goto fail;
	}
	if (st.st_size && (size_t)st.st_size != len) {
		rc = -EINVAL;
		goto fail;
	}
	*fresh = st.st_size == 0;
	if (*fresh && ftruncate(*fd, (off_t)len) != 0) {
		rc = -errno;
		goto fail;
	}
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (p == MAP_FAILED) {
		rc = -errno;
		goto fail;
	}
	mem_advise_huge(p, len);
	*mem = p;
	return 0;

fail:
	close(*fd); /* also drops the lock */
	*fd = -1;
	return rc;
}

int mem_file_remove(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = 0;
	/* held until after the unlink, so that no open can take the file between */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0)
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
	else if (unlink(path) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

void mem_file_release(int fd, size_t off, size_t len)
{
	size_t pg = page_size();
	size_t from = (off + pg - 1) / pg * pg, to = (off + len) / pg * pg;

	/* EOPNOTSUPP (a file system without holes): the pages stay, no harm */
	if (to > from)
		(void)fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)from,
				(off_t)(to - from));
}

void mem_pool_populate(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
	/* EINVAL: a kernel before 5.14; any other failure (ENOMEM) is left to
	 * the faults of first use rather than forced here */
	if (madvise(p, len, MADV_POPULATE_WRITE) == 0 || errno != EINVAL)
		return;
#endif
	/* a write to each page does the same; writing back the byte read keeps
	 * what the pool holds */
	volatile char *b = p;
	for (size_t off = 0, pg = page_size(); off < len; off += pg)
		b[off] = b[off];
}

void mem_pool_free(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

int mem_huge_eligible(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	bool in = false;
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		int n = 0, v;
		/* a mapping's first line: "lo-hi perms ...", lo and hi in hex */
		if (sscanf(line, "%lx-%lx %n", &lo, &hi, &n) == 2 && n > 0) {
			if (in)
				break; /* its fields ended without THPeligible */
			in = lo <= (uintptr_t)p && (uintptr_t)p < hi;
			continue;
		}
		if (in && sscanf(line, "THPeligible: %d", &v) == 1) {
			rc = v != 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

const char *mem_thp_mode(char *buf, size_t cap)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char line[128] = "";
	char *open, *close;

	/* "always [madvise] never": the bracketed word is the mode */
	if (f && fgets(line, sizeof(line), f) && (open = strchr(line, '[')) &&
	    (close = strchr(open, ']'))) {
		*close = '\0';
		snprintf(buf, cap, "%s", open + 1);
	} else {
		snprintf(buf, cap, "absent");
	}
	if (f)
		fclose(f);
	return buf;
}
