/*
 * table.h - one shard's dialogs and transactions, and the tokens that lead to them.
 *
 * Owns: a single mapping per shard (anonymous, or a file when a path is given)
 * holding a header, the dialog array and the transaction array; records refer
 * to each other by index, never by pointer. The tags and Via branches sipshard
 * generates encode shard, slot and generation (invariant 5), and decoding is
 * strict on any input. Transactions sit on a list in creation order, which is
 * also expiry order since they share one timeout: that list is the exact,
 * O(1) special case of a timing wheel with one delay. Dialogs expire by a
 * bounded sweep (idle and maximum durations are minutes to hours, so a sweep
 * of a few seconds is precise enough and costs nothing per message, where a
 * per-activity reordering would cost cache misses on every request). Does
 * not own: choosing free
 * dialog slots (the controller hands them out, the worker installs), SIP.
 *
 * Single writer: only the shard's worker calls the mutating functions.
 */
#ifndef SIPSHARD_SHARD_TABLE_H
#define SIPSHARD_SHARD_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sipshard/session.h"

#define SHARD_TABLE_MAGIC   0x73697073686172ULL /* "sipshar" */
#define SHARD_TABLE_VERSION 1
#define SHARD_TXN_HEAD_MAX  1024 /* original Via/From/To/Call-ID/CSeq lines */
#define SHARD_TAG_LEN	    27 /* 'k' + 2 + 8 + 8 + 8 hex */
#define SHARD_TAG_MAX	    (SHARD_TAG_LEN + 1)
#define SHARD_BRANCH_LEN    34 /* "z9hG4bK" 'w' + 2 + 8 + 8 + 8 hex */
#define SHARD_BRANCH_MAX    (SHARD_BRANCH_LEN + 1)

enum shard_dialog_state { SHARD_DLG_FREE = 0, SHARD_DLG_EARLY, SHARD_DLG_CONFIRMED };

enum { SHARD_LEG_A = 0, SHARD_LEG_B = 1 };

struct shard_dialog {
	uint32_t slot, gen;
	uint8_t state; /* enum shard_dialog_state */
	uint64_t created_ms, last_activity_ms;
	struct sip_session legs[2]; /* [SHARD_LEG_A] caller side, [SHARD_LEG_B] callee side */
};

struct shard_txn {
	uint32_t gen;
	bool used;
	uint8_t from_leg; /* the leg the request came from; the response goes back there */
	uint8_t method_id;
	uint32_t dialog, dialog_gen;
	uint32_t in_cseq, out_cseq;
	uint64_t created_ms;
	uint32_t prev, next; /* creation-order list (index + 1), or free list (next) */
	uint16_t head_len;
	char head[SHARD_TXN_HEAD_MAX];
};

struct shard_table_hdr {
	uint64_t magic;
	uint32_t version, ndialogs, ntxns;
	uint32_t txn_free, txn_oldest, txn_newest; /* index + 1, 0 = none */
	uint32_t dialogs_used, txns_used;
	uint32_t expire_cursor;
};

struct shard_table {
	struct shard_table_hdr *hdr;
	struct shard_dialog *dialogs;
	struct shard_txn *txns;
	size_t map_len;
	int fd; /* -1 for an anonymous mapping */
};

/* Maps the tables (a file at path, created or re-attached, or anonymous when
 * path is NULL). Returns 0 or a negative errno (-EINVAL for a file whose layout
 * does not match). */
int shard_table_open(struct shard_table *t, const char *path, uint32_t ndialogs, uint32_t ntxns);
void shard_table_close(struct shard_table *t);

/* Bytes of table memory per dialog and per transaction (for capacity planning). */
size_t shard_dialog_bytes(void);
size_t shard_txn_bytes(void);

/* The dialog at slot if it is in use with this generation, else NULL. */
struct shard_dialog *shard_dialog_get(struct shard_table *t, uint32_t slot, uint32_t gen);
/* Copies d into d->slot (installing or updating it). -EINVAL for a slot out of
 * range, -EBUSY when the slot holds another generation. */
int shard_dialog_install(struct shard_table *t, const struct shard_dialog *d, uint64_t now_ms);
void shard_dialog_free(struct shard_table *t, uint32_t slot);
/* Finds one dialog idle longer than idle_ms or older than max_ms (0 = no
 * limit), frees it and returns 0 with its slot and generation; -EAGAIN after a
 * bounded scan found none (call again on the next tick). */
int shard_dialog_expire(struct shard_table *t, uint64_t now_ms, uint64_t idle_ms,
			uint64_t max_ms, uint32_t *slot, uint32_t *gen);

/* Takes a free transaction: returns its slot (and *gen) or -ENOSPC. */
int shard_txn_alloc(struct shard_table *t, uint64_t now_ms, uint32_t *gen);
struct shard_txn *shard_txn_get(struct shard_table *t, uint32_t slot, uint32_t gen);
void shard_txn_free(struct shard_table *t, uint32_t slot);
/* Frees the oldest transaction if older than timeout_ms: 0 when one was freed. */
int shard_txn_expire(struct shard_table *t, uint64_t now_ms, uint64_t timeout_ms);

/* Tokens. Encoders write a NUL-terminated string and return its length (or
 * -ENOSPC); decoders accept exactly what the encoders write, nothing else. */
int shard_tag_encode(char *out, size_t cap, uint8_t shard, uint32_t slot, uint32_t gen,
		     uint32_t salt);
int shard_tag_decode(const char *s, size_t len, uint8_t *shard, uint32_t *slot, uint32_t *gen);
int shard_branch_encode(char *out, size_t cap, uint8_t shard, uint32_t slot, uint32_t gen,
			uint32_t extra);
int shard_branch_decode(const char *s, size_t len, uint8_t *shard, uint32_t *slot, uint32_t *gen,
			uint32_t *extra);

#endif
