/*
 * test_cdr.c - the call detail record file (daemon/cdr.c): records are queued
 * and written together by cdr_flush, whole and in order; a rotation's reopen
 * sends what is queued to the old file; a full device counts each record lost
 * and none written; close flushes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/cdr.h"

struct fixture {
	char dir[64], path[128];
	struct cdr_file f;
};

static int setup(void **state)
{
	struct fixture *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	snprintf(x->dir, sizeof(x->dir), "/tmp/test_cdr.XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->path, sizeof(x->path), "%s/logs/cdr.jsonl", x->dir);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *x = *state;
	char cmd[128];
	cdr_close(&x->f);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

/* The file's whole content ("" when missing), in a static buffer. */
static const char *file_text(const char *path)
{
	static char text[256 * 1024];
	FILE *fp = fopen(path, "r");
	size_t n = 0;
	if (fp) {
		n = fread(text, 1, sizeof(text) - 1, fp);
		fclose(fp);
	}
	text[n] = '\0';
	return text;
}

static void append(struct cdr_file *f, const char *line)
{
	cdr_append(f, line, strlen(line));
}

static void test_records_wait_for_the_flush(void **state)
{
	struct fixture *x = *state;
	char err[256];
	assert_int_equal(cdr_open(&x->f, x->path, err, sizeof(err)), 0);
	append(&x->f, "{\"n\":1}\n");
	append(&x->f, "{\"n\":2}\n");
	assert_string_equal(file_text(x->path), "");
	assert_int_equal(x->f.written, 0);
	cdr_flush(&x->f);
	assert_string_equal(file_text(x->path), "{\"n\":1}\n{\"n\":2}\n");
	assert_int_equal(x->f.written, 2);
	cdr_flush(&x->f); /* nothing queued: nothing written again */
	append(&x->f, "{\"n\":3}\n");
	cdr_close(&x->f);
	assert_string_equal(file_text(x->path), "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
	assert_int_equal(x->f.written, 3);
	assert_int_equal(x->f.errors, 0);
	struct stat st;
	assert_int_equal(stat(x->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
}

/* More than the buffer holds in one pass: written in the middle, none lost,
 * in order. */
static void test_a_full_buffer_is_written_first(void **state)
{
	struct fixture *x = *state;
	char err[256], line[512];
	assert_int_equal(cdr_open(&x->f, x->path, err, sizeof(err)), 0);
	unsigned n = 3 * CDR_BUF_SIZE / 400;
	for (unsigned i = 0; i < n; i++) {
		int len = snprintf(line, sizeof(line), "{\"n\":%u,\"pad\":\"%0380u\"}\n", i, i);
		cdr_append(&x->f, line, (size_t)len);
	}
	assert_true(x->f.written > 0 && x->f.written < n); /* some already out */
	cdr_flush(&x->f);
	assert_int_equal(x->f.written, n);
	const char *t = file_text(x->path);
	for (unsigned i = 0; i < n; i++) {
		int len = snprintf(line, sizeof(line), "{\"n\":%u,\"pad\":\"%0380u\"}\n", i, i);
		assert_memory_equal(t, line, (size_t)len);
		t += len;
	}
	assert_string_equal(t, "");
}

/* mv then reopen (what SIGHUP does): what was queued belongs to the old file. */
static void test_reopen_sends_the_queue_to_the_old_file(void **state)
{
	struct fixture *x = *state;
	char err[256], moved[160];
	assert_int_equal(cdr_open(&x->f, x->path, err, sizeof(err)), 0);
	append(&x->f, "{\"n\":1}\n");
	snprintf(moved, sizeof(moved), "%s.1", x->path);
	assert_int_equal(rename(x->path, moved), 0);
	assert_int_equal(cdr_reopen(&x->f), 0);
	append(&x->f, "{\"n\":2}\n");
	cdr_flush(&x->f);
	assert_string_equal(file_text(moved), "{\"n\":1}\n");
	assert_string_equal(file_text(x->path), "{\"n\":2}\n");
}

/* A device with no space: every queued record counts as lost, none written. */
static void test_a_failed_write_counts_each_record_lost(void **state)
{
	struct fixture *x = *state;
	char err[256];
	assert_int_equal(cdr_open(&x->f, "/dev/full", err, sizeof(err)), 0);
	append(&x->f, "{\"n\":1}\n");
	append(&x->f, "{\"n\":2}\n");
	append(&x->f, "{\"n\":3}\n");
	cdr_flush(&x->f);
	assert_int_equal(x->f.written, 0);
	assert_int_equal(x->f.errors, 3);
	cdr_flush(&x->f); /* the lost records are not tried again */
	assert_int_equal(x->f.errors, 3);
}

/* A write cut short (the file size limit here; a disk that fills up in the
 * middle of a record does the same): the part of the record that went out
 * stays in the file without its newline. Once writes succeed again, the next
 * record must start a line of its own, not be glued to that part (a line no
 * reader can parse, counted as written). */
static void test_a_record_after_a_cut_one_starts_its_own_line(void **state)
{
	struct fixture *x = *state;
	char err[256];
	struct rlimit old, lim;
	assert_int_equal(cdr_open(&x->f, x->path, err, sizeof(err)), 0);
	append(&x->f, "{\"n\":1}\n");
	cdr_flush(&x->f);
	assert_int_equal(x->f.written, 1);

	void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 8 + 5; /* record 1, then 5 bytes of record 2 */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	append(&x->f, "{\"n\":2,\"pad\":\"xxxxxxxxxxxxxxxx\"}\n");
	cdr_flush(&x->f);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, was);
	assert_int_equal(x->f.written, 1);
	assert_int_equal(x->f.errors, 1);

	append(&x->f, "{\"n\":3}\n");
	cdr_flush(&x->f);
	assert_int_equal(x->f.written, 2);
	const char *t = file_text(x->path);
	/* every line of the file but the cut one is a record whole */
	const char *last = strrchr(t, '\n');
	assert_non_null(last);
	const char *line = last;
	while (line > t && line[-1] != '\n')
		line--;
	assert_memory_equal(line, "{\"n\":3}\n", 8);
	assert_int_equal(last - line, 7);
	assert_memory_equal(t, "{\"n\":1}\n", 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_records_wait_for_the_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_full_buffer_is_written_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_sends_the_queue_to_the_old_file, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_a_failed_write_counts_each_record_lost, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_a_record_after_a_cut_one_starts_its_own_line,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
