/*
 * wheel.h - a hierarchical timing wheel for one worker's timers.
 *
 * Owns: WHEEL_LEVELS levels of 64 slots each (level L slot covers 64^L ticks),
 * and a pool of nodes allocated once at wheel_init and linked into slots by
 * index, so adding or cancelling a timer never allocates and costs O(1);
 * advancing costs O(1) per tick processed plus O(1) per timer moved or fired,
 * and jumps over stretches with nothing due. Timers further out than the top
 * level reaches are parked there and re-placed when it turns, so any delay
 * works (five levels are 64^5 ticks: 124 days at 10 ms, 12 days at 1 ms).
 *
 * The API is in milliseconds; the tick (configurable) is the granularity: a
 * timer fires at the first wheel_advance whose now_ms is at or past its
 * expiry, rounded up to a tick boundary, so never early and at most one tick
 * late. Timers due on the same tick fire together (in no promised order);
 * timers due on different ticks fire in tick order.
 *
 * Does not own: what a timer means (the caller's cookie), clocks (the caller
 * passes now_ms), surviving a restart (the wheel is process memory; after a
 * table re-attach the caller re-arms deadlines from the records).
 *
 * Single-threaded: one worker owns a wheel.
 */
#ifndef SIPSHARD_SHARD_WHEEL_H
#define SIPSHARD_SHARD_WHEEL_H

#include <stddef.h>
#include <stdint.h>

#define WHEEL_LEVELS	  5
#define WHEEL_SLOT_BITS	  6
#define WHEEL_SLOTS	  (1u << WHEEL_SLOT_BITS)
#define WHEEL_MAX_NODES	  (1u << 24)
#define WHEEL_NO_TIMER	  0	     /* a handle that is never valid */
#define WHEEL_NIL	  UINT32_MAX /* no node */
#define WHEEL_BUCKET_FREE 0xffff     /* node.bucket of a node not armed */

/* Names one armed timer: node generation (high 32 bits) and node index + 1
 * (low 32 bits), so a handle kept after its timer fired or was cancelled is
 * refused rather than cancelling someone else's timer. */
typedef uint64_t wheel_handle;

struct wheel_node {
	uint64_t expires; /* tick */
	uint64_t cookie;
	uint32_t prev, next; /* in a slot list or the free list; WHEEL_NIL = none */
	uint32_t gen;
	uint16_t bucket; /* level * WHEEL_SLOTS + slot, or WHEEL_BUCKET_FREE */
};

struct wheel {
	uint64_t base_ms; /* time of tick 0 */
	uint64_t cur;	  /* last tick processed */
	uint32_t tick_ms;
	uint32_t nnodes, armed;
	uint32_t free_head;
	uint64_t fired, cancelled, full; /* counters */
	uint64_t occupied[WHEEL_LEVELS]; /* bit s: slot s of that level has timers */
	uint32_t head[WHEEL_LEVELS * WHEEL_SLOTS];
	struct wheel_node *nodes;
};

/* Called once per timer that falls due, with the cookie given to wheel_add and
 * the (now stale) handle. It may add and cancel timers, including re-arming
 * this one; a timer it adds for a time already due fires on the next tick,
 * not in this call. */
typedef void (*wheel_fn)(void *arg, uint64_t cookie, wheel_handle h);

/* Allocates nnodes timers' worth of nodes (the only allocation). tick_ms >= 1;
 * now_ms is tick 0. -EINVAL for bad sizes, -ENOMEM. */
int wheel_init(struct wheel *w, uint32_t nnodes, uint32_t tick_ms, uint64_t now_ms);
void wheel_destroy(struct wheel *w);

/* Bytes a wheel of nnodes timers uses in all. */
size_t wheel_bytes(uint32_t nnodes);

/* Arms a timer for expires_ms (absolute, same clock as now_ms; a time already
 * past fires on the next tick). Returns 0 and *h, or -ENOSPC when every node
 * is armed. */
int wheel_add(struct wheel *w, uint64_t expires_ms, uint64_t cookie, wheel_handle *h);

/* Disarms a timer. -ENOENT when h is not armed (already fired, cancelled, or
 * never valid): nothing is touched. */
int wheel_cancel(struct wheel *w, wheel_handle h);

/* Moves a timer to a new expiry, keeping its handle; -ENOENT as cancel. */
int wheel_rearm(struct wheel *w, wheel_handle h, uint64_t expires_ms);

/* Processes every tick up to now_ms, calling fn for each timer due. Returns
 * how many fired. A now_ms earlier than the last one is ignored. */
uint32_t wheel_advance(struct wheel *w, uint64_t now_ms, wheel_fn fn, void *arg);

/* A time at or before which the next timer may fall due (it may be earlier:
 * a boundary where far timers move down), or UINT64_MAX when none is armed.
 * For sizing the worker's wait. */
uint64_t wheel_next_ms(const struct wheel *w);

/* Number of timers armed. */
static inline uint32_t wheel_armed(const struct wheel *w)
{
	return w->armed;
}

#endif
