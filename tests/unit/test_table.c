/*
 * test_table.c - shard tables: bounds, generations, expiry, re-attaching a
 * file-backed table, and strict token decoding.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "shard/table.h"

static void test_txn_bounds_and_generations(void **state)
{
	struct shard_table t;
	uint32_t gen, gens[16];
	int slots[16];
	(void)state;

	assert_int_equal(shard_table_open(&t, NULL, 16, 16), 0);
	for (int i = 0; i < 16; i++) {
		slots[i] = shard_txn_alloc(&t, 100, &gens[i]);
		assert_true(slots[i] >= 0);
	}
	assert_int_equal(shard_txn_alloc(&t, 100, &gen), -ENOSPC);
	shard_txn_free(&t, (uint32_t)slots[3]);
	assert_null(shard_txn_get(&t, (uint32_t)slots[3], gens[3]));
	int again = shard_txn_alloc(&t, 100, &gen);
	assert_int_equal(again, slots[3]);
	assert_int_not_equal(gen, gens[3]); /* the old branch no longer matches */
	assert_non_null(shard_txn_get(&t, (uint32_t)again, gen));
	assert_null(shard_txn_get(&t, 16, gen));
	assert_null(shard_txn_get(&t, UINT32_MAX, gen));
	shard_table_close(&t);
}

static void test_txn_expiry_in_creation_order(void **state)
{
	struct shard_table t;
	uint32_t g[4];
	int s[4];
	(void)state;

	assert_int_equal(shard_table_open(&t, NULL, 16, 16), 0);
	for (int i = 0; i < 4; i++)
		s[i] = shard_txn_alloc(&t, 1000 + (uint64_t)i * 1000, &g[i]);
	shard_txn_free(&t, (uint32_t)s[1]); /* finished normally */
	assert_int_equal(shard_txn_expire(&t, 2500, 1000), 0); /* s[0], created 1000 */
	assert_null(shard_txn_get(&t, (uint32_t)s[0], g[0]));
	assert_int_equal(shard_txn_expire(&t, 2500, 1000), -EAGAIN); /* s[2] is young */
	assert_non_null(shard_txn_get(&t, (uint32_t)s[2], g[2]));
	assert_int_equal(shard_txn_expire(&t, 10000, 1000), 0);
	assert_int_equal(shard_txn_expire(&t, 10000, 1000), 0);
	assert_int_equal(shard_txn_expire(&t, 10000, 1000), -EAGAIN);
	assert_int_equal(t.hdr->txns_used, 0);
	shard_table_close(&t);
}

static void install(struct shard_table *t, uint32_t slot, uint32_t gen, uint64_t now)
{
	struct shard_dialog d;
	memset(&d, 0, sizeof(d));
	d.slot = slot;
	d.gen = gen;
	d.state = SHARD_DLG_CONFIRMED;
	SESSION_SET(&d.legs[0], call_id, "abc@h", 5);
	assert_int_equal(shard_dialog_install(t, &d, now), 0);
}

static void test_dialogs(void **state)
{
	struct shard_table t;
	struct shard_dialog d;
	uint32_t slot, gen;
	(void)state;

	assert_int_equal(shard_table_open(&t, NULL, 32, 16), 0);
	install(&t, 5, 9, 1000);
	assert_non_null(shard_dialog_get(&t, 5, 9));
	assert_null(shard_dialog_get(&t, 5, 8));
	assert_null(shard_dialog_get(&t, 6, 9));
	assert_null(shard_dialog_get(&t, 32, 9));
	/* another generation cannot take an occupied slot */
	memset(&d, 0, sizeof(d));
	d.slot = 5;
	d.gen = 10;
	d.state = SHARD_DLG_EARLY;
	assert_int_equal(shard_dialog_install(&t, &d, 1000), -EBUSY);
	d.slot = 32;
	assert_int_equal(shard_dialog_install(&t, &d, 1000), -EINVAL);
	/* idle expiry finds it and frees it */
	assert_int_equal(shard_dialog_expire(&t, 1500, 1000, 0, &slot, &gen), -EAGAIN);
	assert_int_equal(shard_dialog_expire(&t, 2500, 1000, 0, &slot, &gen), 0);
	assert_int_equal(slot, 5);
	assert_int_equal(gen, 9);
	assert_null(shard_dialog_get(&t, 5, 9));
	/* maximum duration */
	install(&t, 7, 1, 1000);
	assert_int_equal(shard_dialog_expire(&t, 1000 + 4000, 0, 3000, &slot, &gen), 0);
	assert_int_equal(slot, 7);
	shard_table_close(&t);
}

static void test_file_backed_reattach(void **state)
{
	struct shard_table t;
	char path[] = "/tmp/sipshard-table-XXXXXX";
	(void)state;

	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	assert_int_equal(shard_table_open(&t, path, 64, 16), 0);
	install(&t, 42, 3, 1000);
	shard_table_close(&t);
	/* a new process (here: a new open) finds the dialog where it was */
	assert_int_equal(shard_table_open(&t, path, 64, 16), 0);
	struct shard_dialog *d = shard_dialog_get(&t, 42, 3);
	assert_non_null(d);
	assert_string_equal(d->legs[0].call_id, "abc@h");
	shard_table_close(&t);
	/* a layout that does not match is refused, not misread */
	assert_int_equal(shard_table_open(&t, path, 128, 16), -EINVAL);
	unlink(path);
}

static void test_tokens_round_trip_and_strict(void **state)
{
	char tok[64], bad[64];
	uint8_t sh;
	uint32_t slot, gen, extra;
	(void)state;

	for (uint32_t i = 0; i < 2000; i++) {
		uint32_t s = i * 2654435761u, g = i ^ 0xdeadbeef;
		assert_int_equal(shard_tag_encode(tok, sizeof(tok), (uint8_t)i, s, g, i),
				 SHARD_TAG_LEN);
		assert_int_equal(shard_tag_decode(tok, strlen(tok), &sh, &slot, &gen), 0);
		assert_int_equal(sh, (uint8_t)i);
		assert_int_equal(slot, s);
		assert_int_equal(gen, g);
		assert_int_equal(shard_branch_encode(tok, sizeof(tok), (uint8_t)i, s, g, i),
				 SHARD_BRANCH_LEN);
		assert_memory_equal(tok, "z9hG4bK", 7);
		assert_int_equal(shard_branch_decode(tok, strlen(tok), &sh, &slot, &gen, &extra),
				 0);
		assert_int_equal(extra, i);
	}
	assert_int_equal(shard_tag_encode(tok, SHARD_TAG_LEN, 1, 2, 3, 4), -ENOSPC);
	/* every single-byte change to a valid tag is either rejected or decodes to
	 * other values: never silently the same slot with garbage accepted */
	shard_tag_encode(tok, sizeof(tok), 3, 77, 5, 0x1234);
	for (size_t i = 0; i < SHARD_TAG_LEN; i++) {
		for (int c = 0; c < 256; c++) {
			memcpy(bad, tok, sizeof(tok));
			if (bad[i] == (char)c)
				continue;
			bad[i] = (char)c;
			int rc = shard_tag_decode(bad, SHARD_TAG_LEN, &sh, &slot, &gen);
			if (rc == 0)
				assert_true(sh != 3 || slot != 77 || gen != 5 || i >= 19);
			else
				assert_int_equal(rc, -EINVAL);
		}
	}
	assert_int_equal(shard_tag_decode(tok, SHARD_TAG_LEN - 1, &sh, &slot, &gen), -EINVAL);
	assert_int_equal(shard_tag_decode(tok, 0, &sh, &slot, &gen), -EINVAL);
	assert_int_equal(shard_tag_decode("K0300000000000000000000000", SHARD_TAG_LEN, &sh, &slot,
					  &gen),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txn_bounds_and_generations),
		cmocka_unit_test(test_txn_expiry_in_creation_order),
		cmocka_unit_test(test_dialogs),
		cmocka_unit_test(test_file_backed_reattach),
		cmocka_unit_test(test_tokens_round_trip_and_strict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
