/* scratch harness: h MODE file ; MODE = invite | respond | relayresp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "daemon/setup_msg.h"
static struct sip_msg a, b;
static char in[70000], out[70000];
int main(int argc, char **argv)
{
	FILE *f = fopen(argv[2], "rb");
	size_t n = fread(in, 1, sizeof(in), f);
	/* files are written with LF: turn into CRLF unless told raw */
	if (!getenv("RAW")) {
		static char t[70000]; size_t k = 0;
		for (size_t i = 0; i < n; i++) { if (in[i] == '\n') t[k++] = '\r'; t[k++] = in[i]; }
		memcpy(in, t, k); n = k;
	}
	int rc = sip_parse(&a, in, n, NULL);
	char why[200]; sip_strerror(&a, why, sizeof why);
	fprintf(stderr, "parse in: %d %s\n", rc, why);
	int len = -1;
	if (!strcmp(argv[1], "invite")) {
		struct setup_leg_b lb = {.advertise = "127.0.0.1:5060", .target = "127.0.0.1:5080",
			.call_id = "legb-abc", .from_tag = "ftagB", .branch = "z9hG4bKscB1",
			.max_forwards = 69, .cseq = 1};
		len = setup_build_invite(&a, &lb, out, getenv("CAP") ? atoi(getenv("CAP")) : 4096);
	} else if (!strcmp(argv[1], "respond")) {
		len = sip_respond(&a, atoi(getenv("ST") ? getenv("ST") : "404"), NULL, "tt", NULL, out, getenv("CAP") ? atoi(getenv("CAP")) : 8192);
	} else if (!strcmp(argv[1], "relayresp")) {
		const char *head = "Via: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKx\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n";
		len = setup_relay_response(&a, head, strlen(head), "127.0.0.1:5060", 0, out, 8192);
	}
	fprintf(stderr, "built: %d\n", len);
	if (len < 0) return 1;
	fwrite(out, 1, len, stdout);
	rc = sip_parse(&b, out, len, NULL);
	sip_strerror(&b, why, sizeof why);
	fprintf(stderr, "\nreparse: %d %s\n", rc, why);
	return 0;
}
