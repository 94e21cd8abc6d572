/*
 * session.c - names and small helpers of the session model (sipshard/session.h).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "sipshard/session.h"

const char *session_state_name(enum session_state s)
{
	static const char *const names[] = {"Initial", "Early", "AckWait", "Confirmed",
					    "Terminated"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *signaling_state_name(enum signaling_state s)
{
	static const char *const names[] = {"Initial", "HaveLocalOffer", "HaveRemoteOffer",
					    "Stable", "Closed"};
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

int sip_session_id(const struct sip_session *s, char *out, size_t cap)
{
	size_t n = (size_t)s->call_id_len + s->local_tag_len + s->remote_tag_len;
	if (n + 1 > cap)
		return -ENOSPC;
	memcpy(out, s->call_id, s->call_id_len);
	memcpy(out + s->call_id_len, s->local_tag, s->local_tag_len);
	memcpy(out + s->call_id_len + s->local_tag_len, s->remote_tag, s->remote_tag_len);
	out[n] = '\0';
	return (int)n;
}

bool sip_session_set(char *field, uint16_t *len, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return false;
	memcpy(field, s, n);
	field[n] = '\0';
	*len = (uint16_t)n;
	return true;
}

/* ---- packed form ---------------------------------------------------------- */

#define SESSION_FIXED offsetof(struct sip_session, call_id)

/* The strings after the fixed fields, in pack order: where each is, where its
 * length is, and its size. */
static const struct {
	uint16_t off, len_off, cap;
} session_strings[] = {
#define SESSION_STRING(f)                                                                          \
	{                                                                                          \
		offsetof(struct sip_session, f), offsetof(struct sip_session, f##_len),            \
		    sizeof(((struct sip_session *)0)->f)                                           \
	}
    SESSION_STRING(call_id),   SESSION_STRING(local_tag),  SESSION_STRING(remote_tag),
    SESSION_STRING(local_uri), SESSION_STRING(remote_uri), SESSION_STRING(remote_target),
    SESSION_STRING(route_set),
#undef SESSION_STRING
};

/* Every field after the fixed ones is a string above or a body: a field added
 * to struct sip_session must be added here too. */
_Static_assert(offsetof(struct sip_session, route_set) + SESSION_ROUTE_SET_MAX ==
		       offsetof(struct sip_session, offer) &&
		   offsetof(struct sip_session, call_id) + SESSION_CALL_ID_MAX +
			   2 * SESSION_TAG_MAX + 3 * SESSION_URI_MAX ==
		       offsetof(struct sip_session, route_set) &&
		   sizeof(struct sip_session) - offsetof(struct sip_session, answer) -
			   sizeof(struct session_body) <
		       _Alignof(struct sip_session),
	       "struct sip_session: fields sip_session_pack does not know");

#define BODY_HEAD offsetof(struct session_body, type)

static char *body_pack(const struct session_body *b, char *out)
{
	struct session_body head;
	memcpy(&head, b, BODY_HEAD);
	if (head.type_len > SESSION_BODY_TYPE_MAX || head.len > SESSION_BODY_MAX)
		head.type_len = 0, head.len = 0; /* a record read back damaged: no body */
	memcpy(out, &head, BODY_HEAD);
	out += BODY_HEAD;
	memcpy(out, b->type, head.type_len);
	out += head.type_len;
	memcpy(out, b->data, head.len);
	return out + head.len;
}

static const char *body_unpack(struct session_body *b, const char *p, const char *end)
{
	struct session_body head;
	if ((size_t)(end - p) < BODY_HEAD)
		return NULL;
	memcpy(&head, p, BODY_HEAD);
	p += BODY_HEAD;
	if (head.type_len > SESSION_BODY_TYPE_MAX || head.len > SESSION_BODY_MAX ||
	    (size_t)(end - p) < (size_t)head.type_len + head.len)
		return NULL;
	if (b) {
		memcpy(b, &head, BODY_HEAD);
		memcpy(b->type, p, head.type_len);
		memcpy(b->data, p + head.type_len, head.len);
	}
	return p + head.type_len + head.len;
}

size_t sip_session_pack(const struct sip_session *s, char *out)
{
	const char *base = (const char *)s;
	char *o = out;

	memcpy(o, s, SESSION_FIXED);
	o += SESSION_FIXED;
	for (size_t i = 0; i < sizeof(session_strings) / sizeof(session_strings[0]); i++) {
		uint16_t len;
		memcpy(&len, base + session_strings[i].len_off, sizeof(len));
		if (len >= session_strings[i].cap) { /* a record read back damaged */
			len = 0;
			memcpy(out + session_strings[i].len_off, &len, sizeof(len));
		}
		memcpy(o, base + session_strings[i].off, len);
		o += len;
	}
	o = body_pack(&s->offer, o);
	o = body_pack(&s->answer, o);
	return (size_t)(o - out);
}

const char *sip_session_unpack(struct sip_session *s, const char *p, const char *end)
{
	uint16_t lens[sizeof(session_strings) / sizeof(session_strings[0])];
	const char *fixed = p;

	if ((size_t)(end - p) < SESSION_FIXED)
		return NULL;
	p += SESSION_FIXED;
	const char *strings = p;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memcpy(&lens[i], fixed + session_strings[i].len_off, sizeof(lens[i]));
		if (lens[i] >= session_strings[i].cap || (size_t)(end - p) < lens[i])
			return NULL;
		p += lens[i];
	}
	/* both bodies checked before anything is written */
	const char *bodies = p;
	p = body_unpack(NULL, p, end);
	p = p ? body_unpack(NULL, p, end) : NULL;
	if (!p || !s)
		return p;
	char *base = (char *)s;
	memcpy(s, fixed, SESSION_FIXED);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memcpy(base + session_strings[i].off, strings, lens[i]);
		base[session_strings[i].off + lens[i]] = '\0';
		strings += lens[i];
	}
	bodies = body_unpack(&s->offer, bodies, end);
	return body_unpack(&s->answer, bodies, end);
}

void sip_session_clear(struct sip_session *s)
{
	memset(s, 0, SESSION_FIXED);
	for (size_t i = 0; i < sizeof(session_strings) / sizeof(session_strings[0]); i++)
		((char *)s)[session_strings[i].off] = '\0';
	session_body_clear(&s->offer);
	session_body_clear(&s->answer);
}
