/*
 * wbuf.h - appending to a bounded buffer without a formatting call per piece.
 *
 * Owns: the bound. An append that does not fit sets overflow and writes
 * nothing, nor does any append after it, so a writer appends everything and
 * checks once. Used where a datagram is built per message (sip/write.c, the
 * relay), where snprintf's parsing of its format costs more than the copy.
 */
#ifndef SIPSHARD_WBUF_H
#define SIPSHARD_WBUF_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wbuf {
	char *p;
	size_t len, cap;
	bool overflow;
};

static inline void wbuf_put(struct wbuf *w, const void *s, size_t n)
{
	if (!n)
		return; /* an empty piece may come with a NULL pointer */
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static inline void wbuf_puts(struct wbuf *w, const char *s)
{
	wbuf_put(w, s, strlen(s));
}

/* What a writer returns: the length written, or -ENOSPC when anything did not
 * fit. */
static inline int wbuf_result(const struct wbuf *w)
{
	return w->overflow ? -ENOSPC : (int)w->len;
}

/* v in decimal. */
static inline void wbuf_put_uint(struct wbuf *w, uint32_t v)
{
	char tmp[10];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	wbuf_put(w, tmp + i, sizeof(tmp) - i);
}

#endif
