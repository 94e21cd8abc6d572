/*
 * osip_diff.c - libFuzzer target behind scripts/osip-diff.sh: sip_parse and
 * libosip2's osip_message_parse on the same bytes, noting where one takes a
 * message the other refuses.
 *
 * Owns: grouping the disagreements (sipshard's reason when it refuses; the
 * kind of message when libosip2 refuses) and keeping the shortest input of
 * each group in refused/ and taken/ under the working folder, with a
 * groups.tsv of every group's count. Does not own: deciding which side is
 * right; README's "The SIP message library" says what sipshard refuses on
 * purpose.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sipshard/sip.h"
#undef SIP_OK /* libosip2 has its own */
#include <osipparser2/osip_message.h>
#include <osipparser2/osip_parser.h>

#define GROUPS_MAX 1024

struct group {
	char key[200];
	const char *dir;
	size_t shortest;
	unsigned long count;
};

/* The fuzzer's state: libFuzzer calls in with bytes only. */
static struct {
	struct sip_msg msg;
	struct group groups[GROUPS_MAX];
	unsigned ngroups;
	unsigned long runs;
	int osip_ready;
} ctx;

static unsigned long key_hash(const char *s)
{
	unsigned long h = 5381;
	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

/* groups.tsv: count, side, key, a line a group, rewritten as they change. */
static void write_counts(void)
{
	FILE *f = fopen("groups.tsv.tmp", "w");
	if (!f)
		return;
	for (unsigned i = 0; i < ctx.ngroups; i++)
		fprintf(f, "%lu\t%s\t%s\t%016lx\n", ctx.groups[i].count, ctx.groups[i].dir,
			ctx.groups[i].key, key_hash(ctx.groups[i].key));
	fclose(f);
	rename("groups.tsv.tmp", "groups.tsv");
}

/* Counts data in the group of key (on side dir), keeping it if it is the
 * group's shortest input so far. */
static void note(const char *dir, const char *key, const uint8_t *data, size_t size)
{
	unsigned i = 0;
	while (i < ctx.ngroups && (strcmp(ctx.groups[i].key, key) || ctx.groups[i].dir != dir))
		i++;
	if (i == ctx.ngroups) {
		if (i == GROUPS_MAX)
			return;
		snprintf(ctx.groups[i].key, sizeof(ctx.groups[i].key), "%s", key);
		ctx.groups[i].dir = dir;
		ctx.groups[i].shortest = SIZE_MAX;
		ctx.ngroups++;
		write_counts();
	}
	struct group *g = &ctx.groups[i];
	g->count++;
	if (size >= g->shortest)
		return;
	g->shortest = size;
	char path[300];
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/%016lx.sip", dir, key_hash(key));
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, size, f);
		fclose(f);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ctx.osip_ready) {
		parser_init();
		atexit(write_counts); /* the counts since the last write too */
		ctx.osip_ready = 1;
	}
	if (size == 0 || size > 8192)
		return 0;
	/* libosip2 reads a C string: a copy with a NUL after it */
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';

	int rc = sip_parse(&ctx.msg, buf, size, NULL);
	osip_message_t *om;
	int orc = -1;
	if (osip_message_init(&om) == 0) {
		orc = osip_message_parse(om, buf, size);
		osip_message_free(om);
	}
	char key[200];
	if (orc == 0 && rc != 0) {
		/* the header by its canonical name: "vIA" and "v" are one group */
		const struct sip_msg *m = &ctx.msg;
		if (m->err_hdr != SIP_HDR_OTHER)
			snprintf(key, sizeof(key), "%s: %s", sip_hdr_name((enum sip_hdr)m->err_hdr),
				 m->err_reason);
		else if (m->err_name.len)
			snprintf(key, sizeof(key), "(an extension header): %s", m->err_reason);
		else
			snprintf(key, sizeof(key), "%s", m->err_reason);
		note("refused", key, data, size);
	} else if (orc != 0 && rc == 0) {
		snprintf(key, sizeof(key), "libosip2 %d on a %s", orc,
			 ctx.msg.is_request ? "request" : "response");
		note("taken", key, data, size);
	}
	free(buf);
	if ((++ctx.runs & 0xFFFF) == 0)
		write_counts();
	return 0;
}
