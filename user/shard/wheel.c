/*
 * wheel.c - hierarchical timing wheel with a preallocated node pool (see wheel.h).
 *
 * Owns the slot lists, the node pool and the walk from tick to tick. Level L
 * slot s holds timers whose expiry tick e has (e >> 6L) & 63 == s and that
 * were more than 64^L ticks away when placed; when the wheel reaches the start
 * of that slot's span, its timers move down (cascade) and, on level 0, fire.
 * Does not own clocks or what timers mean.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shard/wheel.h"

#define LEVEL_SHIFT(l) ((unsigned)(l)*WHEEL_SLOT_BITS)
#define SLOT_MASK      (WHEEL_SLOTS - 1)
/* ticks the top level reaches */
#define WHEEL_SPAN (UINT64_C(1) << LEVEL_SHIFT(WHEEL_LEVELS))

_Static_assert(WHEEL_SLOTS == 64, "occupied[] holds one bit per slot in a uint64_t");
_Static_assert(WHEEL_LEVELS *WHEEL_SLOTS < WHEEL_BUCKET_FREE, "bucket ids fit in 16 bits");

size_t wheel_bytes(uint32_t nnodes)
{
	return sizeof(struct wheel) + (size_t)nnodes * sizeof(struct wheel_node);
}

int wheel_init(struct wheel *w, uint32_t nnodes, uint32_t tick_ms, uint64_t now_ms)
{
	memset(w, 0, sizeof(*w));
	w->free_head = WHEEL_NIL;
	if (nnodes == 0 || nnodes > WHEEL_MAX_NODES || tick_ms == 0)
		return -EINVAL;
	w->nodes = calloc(nnodes, sizeof(*w->nodes));
	if (!w->nodes)
		return -ENOMEM;
	w->nnodes = nnodes;
	w->tick_ms = tick_ms;
	w->base_ms = now_ms;
	for (unsigned b = 0; b < WHEEL_LEVELS * WHEEL_SLOTS; b++)
		w->head[b] = WHEEL_NIL;
	for (uint32_t i = 0; i < nnodes; i++) {
		w->nodes[i].bucket = WHEEL_BUCKET_FREE;
		w->nodes[i].prev = WHEEL_NIL;
		w->nodes[i].next = i + 1 < nnodes ? i + 1 : WHEEL_NIL;
	}
	w->free_head = 0;
	return 0;
}

void wheel_destroy(struct wheel *w)
{
	free(w->nodes);
	memset(w, 0, sizeof(*w));
	w->free_head = WHEEL_NIL;
}

/* Rounded up: a timer never fires before its time. */
static uint64_t ms_to_tick(const struct wheel *w, uint64_t ms)
{
	if (ms <= w->base_ms)
		return 0;
	uint64_t d = ms - w->base_ms;
	return d / w->tick_ms + (d % w->tick_ms != 0);
}

static uint64_t tick_to_ms(const struct wheel *w, uint64_t tick)
{
	if (tick > (UINT64_MAX - w->base_ms) / w->tick_ms)
		return UINT64_MAX;
	return w->base_ms + tick * w->tick_ms;
}

static void bucket_push(struct wheel *w, uint32_t i, unsigned b)
{
	struct wheel_node *n = &w->nodes[i];
	n->bucket = (uint16_t)b;
	n->prev = WHEEL_NIL;
	n->next = w->head[b];
	if (n->next != WHEEL_NIL)
		w->nodes[n->next].prev = i;
	w->head[b] = i;
	w->occupied[b / WHEEL_SLOTS] |= UINT64_C(1) << (b % WHEEL_SLOTS);
}

static void bucket_unlink(struct wheel *w, uint32_t i)
{
	struct wheel_node *n = &w->nodes[i];
	unsigned b = n->bucket;

	if (n->prev != WHEEL_NIL)
		w->nodes[n->prev].next = n->next;
	else
		w->head[b] = n->next;
	if (n->next != WHEEL_NIL)
		w->nodes[n->next].prev = n->prev;
	if (w->head[b] == WHEEL_NIL)
		w->occupied[b / WHEEL_SLOTS] &= ~(UINT64_C(1) << (b % WHEEL_SLOTS));
	n->prev = n->next = WHEEL_NIL;
	n->bucket = WHEEL_BUCKET_FREE;
}

/* Puts an armed node in the slot its expiry calls for. f is the first tick
 * still to run (w->cur + 1, or w->cur itself while run_tick is cascading,
 * before level 0 fires). A slot on level L runs at the start of its span;
 * choosing L by distance (64^L <= e - f < 64^(L+1)) makes the first run of
 * that slot fall in (f, e], so a timer is never late by a turn nor early. */
static void place(struct wheel *w, uint32_t i, uint64_t f)
{
	uint64_t e = w->nodes[i].expires;
	unsigned level = 0;

	if (e < f)
		e = f; /* already due: the first tick still to run */
	/* The level by the distance from the tick run last, not from f: added
	 * while tick cur runs (from a callback), a timer due 64 ticks on would
	 * go to level 0's slot for cur, the one being emptied, and fire at once,
	 * 64 ticks early; a callback that re-arms it for the same time would
	 * then never let the tick end. */
	uint64_t delta = e - w->cur;
	if (delta >= WHEEL_SPAN) {
		/* beyond the top level: park it at the far end; when that slot turns,
		 * place() runs again with the real expiry */
		level = WHEEL_LEVELS - 1;
		e = f + WHEEL_SPAN - 1;
	} else {
		while (level + 1 < WHEEL_LEVELS && delta >= UINT64_C(1) << LEVEL_SHIFT(level + 1))
			level++;
	}
	unsigned slot = (unsigned)(e >> LEVEL_SHIFT(level)) & SLOT_MASK;
	bucket_push(w, i, level * WHEEL_SLOTS + slot);
}

static wheel_handle handle_of(const struct wheel *w, uint32_t i)
{
	return (uint64_t)w->nodes[i].gen << 32 | (i + 1);
}

/* The node an armed handle names, or WHEEL_NIL. */
static uint32_t node_of(const struct wheel *w, wheel_handle h)
{
	uint32_t lo = (uint32_t)h;
	if (lo == 0 || lo > w->nnodes)
		return WHEEL_NIL;
	uint32_t i = lo - 1;
	const struct wheel_node *n = &w->nodes[i];
	if (n->bucket == WHEEL_BUCKET_FREE || n->gen != (uint32_t)(h >> 32))
		return WHEEL_NIL;
	return i;
}

static void release(struct wheel *w, uint32_t i)
{
	struct wheel_node *n = &w->nodes[i];
	n->gen++; /* every handle to this node goes stale */
	n->next = w->free_head;
	w->free_head = i;
	w->armed--;
}

int wheel_add(struct wheel *w, uint64_t expires_ms, uint64_t cookie, wheel_handle *h)
{
	uint32_t i = w->free_head;

	if (i == WHEEL_NIL) {
		w->full++;
		return -ENOSPC;
	}
	struct wheel_node *n = &w->nodes[i];
	w->free_head = n->next;
	n->expires = ms_to_tick(w, expires_ms);
	n->cookie = cookie;
	w->armed++;
	place(w, i, w->cur + 1);
	*h = handle_of(w, i);
	return 0;
}

int wheel_cancel(struct wheel *w, wheel_handle h)
{
	uint32_t i = node_of(w, h);
	if (i == WHEEL_NIL)
		return -ENOENT;
	bucket_unlink(w, i);
	release(w, i);
	w->cancelled++;
	return 0;
}

int wheel_rearm(struct wheel *w, wheel_handle h, uint64_t expires_ms)
{
	uint32_t i = node_of(w, h);
	if (i == WHEEL_NIL)
		return -ENOENT;
	bucket_unlink(w, i);
	w->nodes[i].expires = ms_to_tick(w, expires_ms);
	place(w, i, w->cur + 1);
	return 0;
}

/* Moves every timer of one slot down to where it now belongs, seen from the
 * tick being run. None can land back in the slot being emptied (its span
 * starts now), so the list is taken whole first. */
static void cascade(struct wheel *w, unsigned level, unsigned slot)
{
	unsigned b = level * WHEEL_SLOTS + slot;
	uint32_t i = w->head[b];

	w->head[b] = WHEEL_NIL;
	w->occupied[level] &= ~(UINT64_C(1) << slot);
	while (i != WHEEL_NIL) {
		uint32_t next = w->nodes[i].next;
		place(w, i, w->cur);
		i = next;
	}
}

/* The first tick after cur at which some level has work: a level's next
 * occupied slot in the current turn of that level, or the start of its next
 * turn when it holds timers for that turn. */
static uint64_t next_event(const struct wheel *w)
{
	uint64_t best = UINT64_MAX;

	for (unsigned l = 0; l < WHEEL_LEVELS; l++) {
		uint64_t occ = w->occupied[l];
		if (!occ)
			continue;
		unsigned sh = LEVEL_SHIFT(l);
		unsigned pos = (unsigned)(w->cur >> sh) & SLOT_MASK;
		uint64_t turn = w->cur >> sh >> WHEEL_SLOT_BITS; /* index of the current turn */
		uint64_t above = pos == SLOT_MASK ? 0 : occ & (~UINT64_C(0) << (pos + 1));
		uint64_t t;
		if (above)
			t = ((turn << WHEEL_SLOT_BITS) + (unsigned)__builtin_ctzll(above)) << sh;
		else
			t = (turn + 1) << WHEEL_SLOT_BITS << sh;
		if (t < best)
			best = t;
	}
	return best;
}

/* Runs tick w->cur: higher levels move down first, then level 0 fires. */
static uint32_t run_tick(struct wheel *w, wheel_fn fn, void *arg)
{
	uint64_t t = w->cur;
	uint32_t fired = 0;

	for (unsigned l = 1; l < WHEEL_LEVELS; l++) {
		if (t & ((UINT64_C(1) << LEVEL_SHIFT(l)) - 1))
			break;
		cascade(w, l, (unsigned)(t >> LEVEL_SHIFT(l)) & SLOT_MASK);
	}
	unsigned b = (unsigned)t & SLOT_MASK;
	/* one at a time from the live list: fn may cancel others in this slot */
	while (w->head[b] != WHEEL_NIL) {
		uint32_t i = w->head[b];
		uint64_t cookie = w->nodes[i].cookie;
		wheel_handle h = handle_of(w, i);
		bucket_unlink(w, i);
		release(w, i);
		w->fired++;
		fired++;
		if (fn)
			fn(arg, cookie, h);
	}
	return fired;
}

uint32_t wheel_advance(struct wheel *w, uint64_t now_ms, wheel_fn fn, void *arg)
{
	uint64_t target = now_ms < w->base_ms ? 0 : (now_ms - w->base_ms) / w->tick_ms;
	uint32_t fired = 0;

	while (w->cur < target) {
		uint64_t t = w->armed ? next_event(w) : UINT64_MAX;
		if (t > target) {
			/* nothing to do before target: skip the empty ticks */
			w->cur = target;
			break;
		}
		w->cur = t;
		fired += run_tick(w, fn, arg);
	}
	return fired;
}

uint64_t wheel_next_ms(const struct wheel *w)
{
	if (!w->armed)
		return UINT64_MAX;
	return tick_to_ms(w, next_event(w));
}
