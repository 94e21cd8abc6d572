/*
 * table.c - one shard's dialog and transaction tables (see table.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shard/table.h"

static size_t align_up(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

size_t shard_dialog_bytes(void)
{
	return sizeof(struct shard_dialog);
}

size_t shard_txn_bytes(void)
{
	return sizeof(struct shard_txn);
}

static size_t layout(uint32_t ndialogs, uint32_t ntxns, size_t *dlg_off, size_t *txn_off)
{
	*dlg_off = align_up(sizeof(struct shard_table_hdr));
	*txn_off = *dlg_off + align_up((size_t)ndialogs * sizeof(struct shard_dialog));
	return *txn_off + align_up((size_t)ntxns * sizeof(struct shard_txn));
}

static void init_fresh(struct shard_table *t, uint32_t ndialogs, uint32_t ntxns)
{
	struct shard_table_hdr *h = t->hdr;

	/* the mapping is zero-filled: only the free list needs building */
	h->magic = SHARD_TABLE_MAGIC;
	h->version = SHARD_TABLE_VERSION;
	h->ndialogs = ndialogs;
	h->ntxns = ntxns;
	for (uint32_t i = 0; i < ntxns; i++)
		t->txns[i].next = i + 2 <= ntxns ? i + 2 : 0;
	h->txn_free = ntxns ? 1 : 0;
}

int shard_table_open(struct shard_table *t, const char *path, uint32_t ndialogs, uint32_t ntxns)
{
	size_t dlg_off, txn_off, len = layout(ndialogs, ntxns, &dlg_off, &txn_off);
	bool fresh = true;
	void *mem;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (ndialogs == 0 || ntxns == 0)
		return -EINVAL;
	if (path) {
		struct stat st;
		t->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (t->fd < 0)
			return -errno;
		if (fstat(t->fd, &st) != 0 || (st.st_size && (size_t)st.st_size != len)) {
			close(t->fd);
			return -EINVAL;
		}
		fresh = st.st_size == 0;
		if (fresh && ftruncate(t->fd, (off_t)len) != 0) {
			int e = -errno;
			close(t->fd);
			return e;
		}
		mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
	} else {
		/* pages are touched only as slots are used */
		mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	}
	if (mem == MAP_FAILED) {
		int e = -errno;
		if (t->fd >= 0)
			close(t->fd);
		return e;
	}
	t->map_len = len;
	t->hdr = mem;
	t->dialogs = (struct shard_dialog *)((char *)mem + dlg_off);
	t->txns = (struct shard_txn *)((char *)mem + txn_off);
	if (fresh) {
		init_fresh(t, ndialogs, ntxns);
	} else if (t->hdr->magic != SHARD_TABLE_MAGIC || t->hdr->version != SHARD_TABLE_VERSION ||
		   t->hdr->ndialogs != ndialogs || t->hdr->ntxns != ntxns) {
		shard_table_close(t);
		return -EINVAL;
	}
	return 0;
}

void shard_table_close(struct shard_table *t)
{
	if (t->hdr)
		munmap(t->hdr, t->map_len);
	if (t->fd >= 0)
		close(t->fd);
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}

/* ---- dialogs -------------------------------------------------------------- */

struct shard_dialog *shard_dialog_get(struct shard_table *t, uint32_t slot, uint32_t gen)
{
	if (slot >= t->hdr->ndialogs)
		return NULL;
	struct shard_dialog *d = &t->dialogs[slot];
	return (d->state != SHARD_DLG_FREE && d->gen == gen) ? d : NULL;
}

int shard_dialog_install(struct shard_table *t, const struct shard_dialog *d, uint64_t now_ms)
{
	if (d->slot >= t->hdr->ndialogs || d->state == SHARD_DLG_FREE)
		return -EINVAL;
	struct shard_dialog *slot = &t->dialogs[d->slot];
	bool update = slot->state != SHARD_DLG_FREE;
	if (update && slot->gen != d->gen)
		return -EBUSY;
	uint64_t created = update ? slot->created_ms : now_ms;
	/* an update keeps what the worker learnt since the install (CSeqs,
	 * transactions); the controller only brings the callee's side */
	if (update) {
		struct sip_session a = slot->legs[SHARD_LEG_A];
		*slot = *d;
		slot->legs[SHARD_LEG_A] = a;
	} else {
		*slot = *d;
		t->hdr->dialogs_used++;
	}
	slot->created_ms = created;
	slot->last_activity_ms = now_ms;
	return 0;
}

void shard_dialog_free(struct shard_table *t, uint32_t slot)
{
	if (slot >= t->hdr->ndialogs || t->dialogs[slot].state == SHARD_DLG_FREE)
		return;
	t->dialogs[slot].state = SHARD_DLG_FREE;
	t->hdr->dialogs_used--;
}

int shard_dialog_expire(struct shard_table *t, uint64_t now_ms, uint64_t idle_ms, uint64_t max_ms,
			uint32_t *slot, uint32_t *gen)
{
	/* a bounded slice per call keeps the worker's loop short */
	uint32_t n = t->hdr->ndialogs, budget = n < 256 ? n : 256;

	if (!t->hdr->dialogs_used)
		return -EAGAIN;
	for (uint32_t i = 0; i < budget; i++) {
		uint32_t s = t->hdr->expire_cursor++;
		if (t->hdr->expire_cursor >= n)
			t->hdr->expire_cursor = 0;
		struct shard_dialog *d = &t->dialogs[s];
		if (d->state == SHARD_DLG_FREE)
			continue;
		/* written as additions: a clock read before the record was stamped
		 * must not wrap into "long ago" */
		bool idle = idle_ms && now_ms > d->last_activity_ms + idle_ms;
		bool old = max_ms && now_ms > d->created_ms + max_ms;
		if (idle || old) {
			*slot = s;
			*gen = d->gen;
			shard_dialog_free(t, s);
			return 0;
		}
	}
	return -EAGAIN;
}

/* ---- transactions --------------------------------------------------------- */

int shard_txn_alloc(struct shard_table *t, uint64_t now_ms, uint32_t *gen)
{
	struct shard_table_hdr *h = t->hdr;

	if (!h->txn_free)
		return -ENOSPC;
	uint32_t i = h->txn_free - 1;
	struct shard_txn *x = &t->txns[i];
	h->txn_free = x->next;
	x->gen++;
	x->used = true;
	x->created_ms = now_ms;
	x->head_len = 0;
	/* append to the creation-order list */
	x->prev = h->txn_newest;
	x->next = 0;
	if (h->txn_newest)
		t->txns[h->txn_newest - 1].next = i + 1;
	else
		h->txn_oldest = i + 1;
	h->txn_newest = i + 1;
	h->txns_used++;
	*gen = x->gen;
	return (int)i;
}

struct shard_txn *shard_txn_get(struct shard_table *t, uint32_t slot, uint32_t gen)
{
	if (slot >= t->hdr->ntxns)
		return NULL;
	struct shard_txn *x = &t->txns[slot];
	return (x->used && x->gen == gen) ? x : NULL;
}

void shard_txn_free(struct shard_table *t, uint32_t slot)
{
	struct shard_table_hdr *h = t->hdr;

	if (slot >= h->ntxns || !t->txns[slot].used)
		return;
	struct shard_txn *x = &t->txns[slot];
	if (x->prev)
		t->txns[x->prev - 1].next = x->next;
	else
		h->txn_oldest = x->next;
	if (x->next)
		t->txns[x->next - 1].prev = x->prev;
	else
		h->txn_newest = x->prev;
	x->used = false;
	x->prev = 0;
	x->next = h->txn_free;
	h->txn_free = slot + 1;
	h->txns_used--;
}

int shard_txn_expire(struct shard_table *t, uint64_t now_ms, uint64_t timeout_ms)
{
	uint32_t oldest = t->hdr->txn_oldest;

	if (!oldest || now_ms <= t->txns[oldest - 1].created_ms + timeout_ms)
		return -EAGAIN;
	shard_txn_free(t, oldest - 1);
	return 0;
}

/* ---- tokens ----------------------------------------------------------------- */

static const char hexdig[] = "0123456789abcdef";

static void put_hex(char *out, uint32_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--) {
		out[i] = hexdig[v & 15];
		v >>= 4;
	}
}

/* Strict lower-case hex; false on any other byte. */
static bool get_hex(const char *s, int digits, uint32_t *v)
{
	uint32_t x = 0;
	for (int i = 0; i < digits; i++) {
		char c = s[i];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (uint32_t)(c - 'a' + 10);
		else
			return false;
		x = x << 4 | d;
	}
	*v = x;
	return true;
}

static int encode(char *out, size_t cap, const char *prefix, size_t plen, uint8_t shard,
		  uint32_t slot, uint32_t gen, uint32_t extra)
{
	size_t len = plen + 26;
	if (cap < len + 1)
		return -ENOSPC;
	memcpy(out, prefix, plen);
	put_hex(out + plen, shard, 2);
	put_hex(out + plen + 2, slot, 8);
	put_hex(out + plen + 10, gen, 8);
	put_hex(out + plen + 18, extra, 8);
	out[len] = '\0';
	return (int)len;
}

static int decode(const char *s, size_t len, const char *prefix, size_t plen, uint8_t *shard,
		  uint32_t *slot, uint32_t *gen, uint32_t *extra)
{
	uint32_t sh, x;
	if (len != plen + 26 || memcmp(s, prefix, plen) != 0)
		return -EINVAL;
	s += plen;
	if (!get_hex(s, 2, &sh) || !get_hex(s + 2, 8, slot) || !get_hex(s + 10, 8, gen) ||
	    !get_hex(s + 18, 8, &x))
		return -EINVAL;
	*shard = (uint8_t)sh;
	if (extra)
		*extra = x;
	return 0;
}

int shard_tag_encode(char *out, size_t cap, uint8_t shard, uint32_t slot, uint32_t gen,
		     uint32_t salt)
{
	return encode(out, cap, "k", 1, shard, slot, gen, salt);
}

int shard_tag_decode(const char *s, size_t len, uint8_t *shard, uint32_t *slot, uint32_t *gen)
{
	return decode(s, len, "k", 1, shard, slot, gen, NULL);
}

int shard_branch_encode(char *out, size_t cap, uint8_t shard, uint32_t slot, uint32_t gen,
			uint32_t extra)
{
	return encode(out, cap, "z9hG4bKw", 8, shard, slot, gen, extra);
}

int shard_branch_decode(const char *s, size_t len, uint8_t *shard, uint32_t *slot, uint32_t *gen,
			uint32_t *extra)
{
	return decode(s, len, "z9hG4bKw", 8, shard, slot, gen, extra);
}
