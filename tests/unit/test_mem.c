/*
 * test_mem.c - the daemon's large pools (core/mem.h), checked against what
 * the kernel reports for the mapping in /proc/self/smaps: zeroed and
 * page-aligned; advised huge pages (VmFlags "hg") from MEM_HUGE_MIN up and
 * not below; populated (its Rss the whole pool) without losing its bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/mem.h"

struct vma {
	char flags[512]; /* the VmFlags line's value */
	size_t rss_kb;
};

/* The smaps entry of the mapping that holds p. */
static bool vma_of(const void *p, struct vma *out)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, found = false;
	uintptr_t a = (uintptr_t)p;

	if (!f)
		return false;
	memset(out, 0, sizeof(*out));
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		int n = 0;
		/* a mapping's first line: "lo-hi perms ...", lo and hi in hex (no
		 * field name is hex digits followed by '-') */
		if (sscanf(line, "%lx-%lx %n", &lo, &hi, &n) == 2 && n > 0) {
			if (found)
				break;
			in = a >= lo && a < hi;
			found = in;
			continue;
		}
		if (!in)
			continue;
		if (!strncmp(line, "Rss:", 4))
			sscanf(line + 4, "%zu", &out->rss_kb);
		else if (!strncmp(line, "VmFlags:", 8))
			snprintf(out->flags, sizeof(out->flags), "%s", line + 8);
	}
	fclose(f);
	return found;
}

static bool has_flag(const struct vma *v, const char *flag)
{
	char padded[8];
	char flags[sizeof(v->flags) + 2];

	snprintf(padded, sizeof(padded), " %s ", flag);
	snprintf(flags, sizeof(flags), " %s", v->flags);
	flags[strcspn(flags, "\n")] = ' ';
	return strstr(flags, padded) != NULL;
}

static bool kernel_has_thp(void)
{
	return access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0;
}

static void test_pool_is_zeroed_and_page_aligned(void **state)
{
	(void)state;
	size_t len = 3u << 20;
	unsigned char *p = mem_pool_alloc(len);

	assert_non_null(p);
	assert_int_equal((uintptr_t)p % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
	for (size_t i = 0; i < len; i += 4093)
		assert_int_equal(p[i], 0);
	assert_int_equal(p[len - 1], 0);
	memset(p, 0xab, len);
	assert_int_equal(p[len - 1], 0xab);
	mem_pool_free(p, len);
	assert_null(mem_pool_alloc(0));
}

static void test_large_pool_asks_for_huge_pages(void **state)
{
	(void)state;
	if (!kernel_has_thp())
		skip(); /* no transparent huge pages in this kernel: nothing to ask */
	size_t len = 4u << 20;
	void *p = mem_pool_alloc(len);
	struct vma v;

	assert_non_null(p);
	assert_true(vma_of(p, &v));
	assert_true(has_flag(&v, "hg"));
	/* the advice alone backs nothing: pools fill as they are used */
	assert_true(v.rss_kb < 4096);
	mem_pool_free(p, len);
}

static void test_small_pool_keeps_small_pages(void **state)
{
	(void)state;
	size_t len = 64u << 10;
	void *p = mem_pool_alloc(len);
	struct vma v;

	assert_non_null(p);
	assert_false(mem_advise_huge(p, len));
	assert_true(vma_of(p, &v));
	assert_false(has_flag(&v, "hg"));
	mem_pool_free(p, len);
}

static void test_populate_backs_the_pool_and_keeps_its_bytes(void **state)
{
	(void)state;
	size_t len = 4u << 20;
	unsigned char *p = mem_pool_alloc(len);
	struct vma v;

	assert_non_null(p);
	p[0] = 1;
	p[len / 2 + 17] = 2;
	p[len - 1] = 3;
	mem_pool_populate(p, len);
	assert_true(vma_of(p, &v));
	assert_true(v.rss_kb >= len / 1024);
	assert_int_equal(p[0], 1);
	assert_int_equal(p[len / 2 + 17], 2);
	assert_int_equal(p[len - 1], 3);
	assert_int_equal(p[len / 4], 0);
	mem_pool_free(p, len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pool_is_zeroed_and_page_aligned),
	    cmocka_unit_test(test_large_pool_asks_for_huge_pages),
	    cmocka_unit_test(test_small_pool_keeps_small_pages),
	    cmocka_unit_test(test_populate_backs_the_pool_and_keeps_its_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
