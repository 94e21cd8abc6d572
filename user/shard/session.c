/*
 * session.c - names and small helpers of the session model (sipshard/session.h).
 */
#include <errno.h>
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
