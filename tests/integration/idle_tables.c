/*
 * idle_tables - writes a worker's dialog table file holding N confirmed calls
 * whose last request came long ago, as a daemon stopped for a while leaves
 * it: the next start with timers.dialog_idle_s ends them all in its first
 * tick. For workers.sh; uses the table's own API, so the file is what the
 * daemon writes.
 *
 * usage: idle_tables FILE DIALOGS TRANSACTIONS PEER_PORT
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "shard/table.h"

static void fill_leg(struct sip_session *s, uint32_t i, int leg, uint16_t port)
{
	char id[64];
	int n = snprintf(id, sizeof(id), "idle-%u-%d@127.0.0.1", i, leg);
	struct sockaddr_in *sin = (struct sockaddr_in *)&s->peer;

	SESSION_SET(s, call_id, id, (size_t)n);
	SESSION_SET(s, local_tag, leg ? "lb" : "la", 2);
	SESSION_SET(s, remote_tag, "rt", 2);
	SESSION_SET(s, local_uri, "sip:a@127.0.0.1", 15);
	SESSION_SET(s, remote_uri, "sip:b@127.0.0.1", 15);
	SESSION_SET(s, remote_target, "sip:b@127.0.0.1", 15);
	s->session_state = SESSION_STATE_CONFIRMED;
	s->signaling_state = SIGNALING_STATE_STABLE;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->peer_len = sizeof(*sin);
	s->local_cseq = 1;
}

int main(int argc, char **argv)
{
	static struct shard_dialog d;
	struct shard_table t;
	long n, ntxns, port;

	if (argc != 5 || cli_long(argv[2], 1, 1 << 24, &n) ||
	    cli_long(argv[3], 1, 1 << 24, &ntxns) || cli_long(argv[4], 1, 65535, &port)) {
		fprintf(stderr, "usage: idle_tables FILE DIALOGS TRANSACTIONS PEER_PORT\n");
		return 2;
	}
	int rc = shard_table_open(&t, argv[1], (uint32_t)n, (uint32_t)ntxns);
	if (rc) {
		fprintf(stderr, "idle_tables: %s: %s\n", argv[1], strerror(-rc));
		return 1;
	}
	for (uint32_t i = 0; i < (uint32_t)n; i++) {
		memset(&d, 0, sizeof(d));
		d.slot = i;
		d.gen = 1;
		d.state = SHARD_DLG_CONFIRMED;
		for (int leg = 0; leg < 2; leg++)
			fill_leg(&d.legs[leg], i, leg, (uint16_t)port);
		if ((rc = shard_dialog_install(&t, &d, 1)) != 0) {
			fprintf(stderr, "idle_tables: dialog %u: %s\n", i, strerror(-rc));
			return 1;
		}
	}
	shard_table_close(&t);
	return 0;
}
