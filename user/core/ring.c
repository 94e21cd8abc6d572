/*
 * ring.c - SPSC message ring (see ring.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/ring.h"

int ring_create(struct ring **out, uint32_t nslots, uint32_t slot_size)
{
	struct ring *r;
	uint32_t n = 1;

	if (nslots == 0 || nslots > (1u << 24) || slot_size == 0)
		return -EINVAL;
	while (n < nslots)
		n <<= 1;
	r = aligned_alloc(64, sizeof(*r));
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	/* slots are 8-byte aligned so headers can be read in place */
	r->slot_size = (slot_size + 7u) & ~7u;
	r->nslots = n;
	r->mem = mem_pool_alloc((size_t)n * r->slot_size);
	if (!r->mem) {
		free(r);
		return -ENOMEM;
	}
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	*out = r;
	return 0;
}

void ring_destroy(struct ring *r)
{
	if (!r)
		return;
	mem_pool_free(r->mem, (size_t)r->nslots * r->slot_size);
	free(r);
}

void *ring_reserve(struct ring *r)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (head - tail >= r->nslots)
		return NULL;
	return r->mem + (size_t)(head & (r->nslots - 1)) * r->slot_size;
}

void ring_commit(struct ring *r)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	/* release: the consumer sees the bytes before it sees the new head */
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

int ring_push(struct ring *r, const void *hdr, size_t hlen, const void *payload, size_t plen)
{
	if (hlen + plen > r->slot_size)
		return -EMSGSIZE;
	unsigned char *slot = ring_reserve(r);
	if (!slot)
		return -ENOBUFS;
	memcpy(slot, hdr, hlen);
	if (plen)
		memcpy(slot + hlen, payload, plen);
	ring_commit(r);
	return 0;
}

int ring_peek(struct ring *r, const void **hdr, size_t hlen, const void **payload)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);

	if (tail == head)
		return -EAGAIN;
	unsigned char *slot = r->mem + (size_t)(tail & (r->nslots - 1)) * r->slot_size;
	*hdr = slot;
	if (payload)
		*payload = slot + hlen;
	return 0;
}

void ring_pop(struct ring *r)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
}

uint32_t ring_drain_fair(struct ring *const *rings, unsigned n, size_t hlen, uint32_t turn,
			 uint32_t max, ring_msg_fn fn, void *arg)
{
	uint32_t done = 0;
	bool more = true;

	if (turn == 0)
		turn = 1;
	while (more && done < max) {
		more = false;
		for (unsigned i = 0; i < n && done < max; i++) {
			const void *hdr, *payload;
			uint32_t k = 0;
			if (!rings[i])
				continue;
			while (k < turn && done < max &&
			       ring_peek(rings[i], &hdr, hlen, &payload) == 0) {
				fn(arg, i, hdr, payload);
				ring_pop(rings[i]);
				k++;
				done++;
			}
			more |= k == turn; /* it may hold more: another round */
		}
	}
	return done;
}

uint32_t ring_count(struct ring *r)
{
	return (uint32_t)(atomic_load_explicit(&r->head, memory_order_acquire) -
			  atomic_load_explicit(&r->tail, memory_order_acquire));
}
