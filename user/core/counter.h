/*
 * counter.h - statistics counters that one thread writes and another reads.
 *
 * Owns: how such a counter is written and read. A worker's counters (its
 * worker_stats, its relay's, its table's, its originated requests', its io
 * layer's) are written by that worker alone and read by the controller thread
 * for `sipshardctl stats` and the metrics. A plain `++` in one thread beside a
 * plain read in another is a data race (C11 5.1.2.4), undefined behaviour the
 * compiler may assume never happens (it may keep a counter in a register
 * across a loop, or tear a read), and what ThreadSanitizer reports.
 *
 * Written with a relaxed atomic store of the writer's own value plus n, and
 * read with a relaxed atomic load: on x86-64 and arm64 the same load, add and
 * store as a plain `++` (no lock prefix: there is one writer, so no update can
 * be lost), with no ordering against anything else. A reader sees each counter
 * as some value it had, not a snapshot of all of them together.
 *
 * Does not own: counters one thread both writes and reads (the controller's),
 * which stay plain.
 */
#ifndef SIPSHARD_COUNTER_H
#define SIPSHARD_COUNTER_H

#include <stddef.h>
#include <stdint.h>

/* Writer side: only the thread that owns *c calls these. Its own plain read
 * of *c races with nothing, since readers only read. */
static inline void counter_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

static inline void counter_inc(uint64_t *c)
{
	counter_add(c, 1);
}

/* Reader side, from any thread. */
static inline uint64_t counter_get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* n counters (a struct made of uint64_t counters only, or an array of them)
 * read one by one into dst. */
static inline void counter_copy(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = counter_get(&src[i]);
}

#endif
