/*
 * test_sip_torture.c - sip_parse() against the messages of RFC 4475, "SIP
 * Torture Test Messages": sections 3.1.1 (valid), 3.1.2 (invalid), 3.2
 * (transaction layer), 3.3 (application layer) and 3.4 (RFC 2543 syntax).
 *
 * Each message is the bit-exact .dat file of the RFC's appendix (CRLF line
 * ends; the bytes its text marks <hex>: intmeth's quoted NUL, BEL and DEL and
 * its UTF-8, unreason's UTF-8 reason phrase, mpart01's binary body part;
 * longreq's repeats written out; baddn.dat ends without the empty line).
 * Every Content-Length in them matches its body but where the RFC makes it
 * wrong on purpose (clerr, ncl, mcl01) and in dblreq's trailing INVITE, which
 * is never read as a message.
 *
 * A message the RFC says must be accepted parses, with its method or status,
 * Call-ID, CSeq, Via and Contact counts and body length checked; one it says
 * an element should reject or answer 400 (505 for badvers) fails with the
 * error and header given. Where the RFC leaves the choice to the element
 * (escruri, baddate, regbadct, badaspec, baddn, badbranch, quotbal), the row
 * holds sipshard's choice; a row for a message the RFC calls well formed but
 * for an application-layer answer (416, 420, 415, 483 ...) expects it to parse.
 * inv2543 (3.4.1) is refused: sipshard requires Max-Forwards (RFC 3261 8.1.1.6).
 * Every prefix of each message is parsed too, from a buffer of exactly that
 * size, so that the ASan build catches a read past the end.
 * Does not cover: the responses sent (test_sip_respond.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sipshard/sip.h"

/* ---- the messages ------------------------------------------------------- */

/* The 150-byte session description many of the RFC's INVITEs carry. */
#define SDP_150                                                                                    \
	"v=0\r\n"                                                                                  \
	"o=mhandley 29739 7272939 IN IP4 192.0.2.1\r\n"                                            \
	"s=-\r\n"                                                                                  \
	"c=IN IP4 192.0.2.1\r\n"                                                                   \
	"t=0 0\r\n"                                                                                \
	"m=audio 49217 RTP/AVP 0 12\r\n"                                                           \
	"m=video 3227 RTP/AVP 31\r\n"                                                              \
	"a=rtpmap:31 LPC\r\n"

/* 3.1.1.1 A Short Tortuous INVITE (wsinv.dat, 1001 bytes) */
static const char wsinv_msg[] =
    "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n"
    "TO :\r\n"
    " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\r\n"
    "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n"
    "  ;\r\n"
    "  tag = 98asjd8\r\n"
    "MaX-fOrWaRdS: 0068\r\n"
    "Call-ID: wsinv.ndaksdj@192.0.2.1\r\n"
    "Content-Length   : 150\r\n"
    "cseq: 0009\r\n"
    "  INVITE\r\n"
    "Via  : SIP  /   2.0\r\n"
    " /UDP\r\n"
    "    192.0.2.2;branch=390skdjuw\r\n"
    "s :\r\n"
    "NewFangledHeader:   newfangled value\r\n"
    " continued newfangled value\r\n"
    "UnknownHeaderWithUnusualValue: ;;,,;;,;\r\n"
    "Content-Type: application/sdp\r\n"
    "Route:\r\n"
    " <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\r\n"
    "v:  SIP  / 2.0  / TCP     spindle.example.com   ;\r\n"
    "  branch  =   z9hG4bK9ikj8  ,\r\n"
    " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n"
    " z9hG4bK30239\r\n"
    "m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\r\n"
    "      newvalue ;\r\n"
    "  secondparam ; q = 0.33\r\n"
    "\r\n"
    "v=0\r\n"
    "o=mhandley 29739 7272939 IN IP4 192.0.2.3\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.4\r\n"
    "t=0 0\r\n"
    "m=audio 49217 RTP/AVP 0 12\r\n"
    "m=video 3227 RTP/AVP 31\r\n"
    "a=rtpmap:31 LPC\r\n";

/* 3.1.1.2 Wide Range of Valid Characters (intmeth.dat, 641 bytes) */
static const char intmeth_msg[] =
    "!interesting-Method0123456789_*+`.%indeed'~ "
    "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/"
    ";;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n"
    "To: \"BEL:\\\007 NUL:\\\000 DEL:\\\177\" "
    "<sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\r\n"
    "From: token1~` token2'+_ token3*%!.- "
    "<sip:mundane@example.com>;fromParam''~+*_!.-%="
    "\"\321\200\320\260\320\261\320\276\321\202\320\260\321\216\321\211\320\270\320\271\";tag=_"
    "token~1'+`*%!-.\r\n"
    "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\n"
    "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n"
    "Max-Forwards: 255\r\n"
    "extensionHeader-!.%*+_`'~:\357\273\277\345\244\247\345\201\234\351\233\273\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

/* 3.1.1.3 Valid Use of the % Escaping Mechanism (esc01.dat, 543 bytes) */
static const char esc01_msg[] =
    "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\r\n"
    "To: sip:%75se%72@example.com\r\n"
    "From: <sip:I%20have%20spaces@example.net>;tag=938\r\n"
    "Max-Forwards: 87\r\n"
    "i: esc01.239409asdfakjkn23onasd0-3234\r\n"
    "CSeq: 234234 INVITE\r\n"
    "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw\r\n"
    "C: application/sdp\r\n"
    "Contact:\r\n"
    "  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>\r\n"
    "Content-Length: 150\r\n"
    "\r\n" SDP_150;

/* 3.1.1.4 Escaped Nulls in URIs (escnull.dat, 359 bytes) */
static const char escnull_msg[] = "REGISTER sip:example.com SIP/2.0\r\n"
				  "To: sip:null-%00-null@example.com\r\n"
				  "From: sip:null-%00-null@example.com;tag=839923423\r\n"
				  "Max-Forwards: 70\r\n"
				  "Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd\r\n"
				  "CSeq: 14398234 REGISTER\r\n"
				  "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\r\n"
				  "Contact: <sip:%00@host5.example.com>\r\n"
				  "Contact: <sip:%00%00@host5.example.com>\r\n"
				  "L:0\r\n"
				  "\r\n";

/* 3.1.1.5 Use of % When It Is Not an Escape (esc02.dat, 439 bytes) */
static const char esc02_msg[] = "RE%47IST%45R sip:registrar.example.com SIP/2.0\r\n"
				"To: \"%Z%45\" <sip:resource@example.com>\r\n"
				"From: \"%Z%45\" <sip:resource@example.com>;tag=f232jadfj23\r\n"
				"Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf\r\n"
				"Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234\r\n"
				"CSeq: 29344 RE%47IST%45R\r\n"
				"Max-Forwards: 70\r\n"
				"Contact: <sip:alias1@host1.example.com>\r\n"
				"C%6Fntact: <sip:alias2@host2.example.com>\r\n"
				"Contact: <sip:alias3@host3.example.com>\r\n"
				"l: 0\r\n"
				"\r\n";

/* 3.1.1.6 Message with No LWS between Display Name and < (lwsdisp.dat, 255 bytes) */
static const char lwsdisp_msg[] = "OPTIONS sip:user@example.com SIP/2.0\r\n"
				  "To: sip:user@example.com\r\n"
				  "From: caller<sip:caller@example.com>;tag=323\r\n"
				  "Max-Forwards: 70\r\n"
				  "Call-ID: lwsdisp.1234abcd@funky.example.com\r\n"
				  "CSeq: 60 OPTIONS\r\n"
				  "Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw\r\n"
				  "l: 0\r\n"
				  "\r\n";

/* 3.1.1.7 Long Values in Header Fields (longreq.dat, 3515 bytes) */
static const char longreq_msg[] =
    "INVITE sip:user@example.com SIP/2.0\r\n"
    "To: \"I have a user name of "
    "extremeextremeextremeextremeextremeextremeextremeextremeextremeextreme "
    "proportion\"<sip:user@example.com:6000;unknownparam1="
    "verylonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglongvalue;"
    "longparamnamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamen"
    "amenamenamename=shortvalue;"
    "verylonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglo"
    "nglonglongParameterNameWithNoValue>\r\n"
    "F: "
    "sip:"
    "amazinglylongcallernameamazinglylongcallernameamazinglylongcallernameamazinglylongcallernameam"
    "azinglylongcallername@example.net;tag="
    "1298298298298298298298298298298298298298298298298298298298298298298298298298298298298298298298"
    "2982982982982982982982982982982982982982982982982982982982424;"
    "unknownheaderparamnamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamename"
    "name="
    "unknowheaderparamvaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevalue;"
    "unknownValuelessparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamn"
    "ameparamname\r\n"
    "Call-ID: "
    "longreq."
    "onereallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyr"
    "eallyreallyreallyreallyreallylongcallid\r\n"
    "CSeq: 3882340 INVITE\r\n"
    "Unknown-LongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLong-Name:"
    " unknown-longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglong-"
    "value; "
    "unknown-longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglong-"
    "parameter-name = "
    "unknown-longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglong-"
    "parameter-value\r\n"
    "Via: SIP/2.0/TCP sip33.example.com\r\n"
    "v: SIP/2.0/TCP sip32.example.com\r\n"
    "V: SIP/2.0/TCP sip31.example.com\r\n"
    "Via: SIP/2.0/TCP sip30.example.com\r\n"
    "ViA: SIP/2.0/TCP sip29.example.com\r\n"
    "VIa: SIP/2.0/TCP sip28.example.com\r\n"
    "VIA: SIP/2.0/TCP sip27.example.com\r\n"
    "via: SIP/2.0/TCP sip26.example.com\r\n"
    "viA: SIP/2.0/TCP sip25.example.com\r\n"
    "vIa: SIP/2.0/TCP sip24.example.com\r\n"
    "vIA: SIP/2.0/TCP sip23.example.com\r\n"
    "V :  SIP/2.0/TCP sip22.example.com\r\n"
    "v :  SIP/2.0/TCP sip21.example.com\r\n"
    "V  : SIP/2.0/TCP sip20.example.com\r\n"
    "v  : SIP/2.0/TCP sip19.example.com\r\n"
    "Via : SIP/2.0/TCP sip18.example.com\r\n"
    "Via  : SIP/2.0/TCP sip17.example.com\r\n"
    "Via: SIP/2.0/TCP sip16.example.com\r\n"
    "Via: SIP/2.0/TCP sip15.example.com\r\n"
    "Via: SIP/2.0/TCP sip14.example.com\r\n"
    "Via: SIP/2.0/TCP sip13.example.com\r\n"
    "Via: SIP/2.0/TCP sip12.example.com\r\n"
    "Via: SIP/2.0/TCP sip11.example.com\r\n"
    "Via: SIP/2.0/TCP sip10.example.com\r\n"
    "Via: SIP/2.0/TCP sip9.example.com\r\n"
    "Via: SIP/2.0/TCP sip8.example.com\r\n"
    "Via: SIP/2.0/TCP sip7.example.com\r\n"
    "Via: SIP/2.0/TCP sip6.example.com\r\n"
    "Via: SIP/2.0/TCP sip5.example.com\r\n"
    "Via: SIP/2.0/TCP sip4.example.com\r\n"
    "Via: SIP/2.0/TCP sip3.example.com\r\n"
    "Via: SIP/2.0/TCP sip2.example.com\r\n"
    "Via: SIP/2.0/TCP sip1.example.com\r\n"
    "Via: SIP/2.0/TCP "
    "host.example.com;received=192.0.2.5;branch="
    "verylonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglo"
    "nglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglong"
    "longlonglonglongbranchvalue\r\n"
    "Max-Forwards: 70\r\n"
    "Contact: "
    "<sip:"
    "amazinglylongcallernameamazinglylongcallernameamazinglylongcallernameamazinglylongcallernameam"
    "azinglylongcallername@host5.example.net>\r\n"
    "Content-Type: application/sdp\r\n"
    "l: 150\r\n"
    "\r\n" SDP_150;

/* 3.1.1.8 Extra Trailing Octets in a UDP Datagram (dblreq.dat, 748 bytes) */
static const char dblreq_msg[] = "REGISTER sip:example.com SIP/2.0\r\n"
				 "To: sip:j.user@example.com\r\n"
				 "From: sip:j.user@example.com;tag=43251j3j324\r\n"
				 "Max-Forwards: 8\r\n"
				 "I: dblreq.0ha0isndaksdj99sdfafnl3lk233412\r\n"
				 "Contact: sip:j.user@host.example.com\r\n"
				 "CSeq: 8 REGISTER\r\n"
				 "Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492\r\n"
				 "Content-Length: 0\r\n"
				 "\r\n"
				 "INVITE sip:joe@example.com SIP/2.0\r\n"
				 "t: sip:joe@example.com\r\n"
				 "From: sip:caller@example.net;tag=141334\r\n"
				 "Max-Forwards: 8\r\n"
				 "Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15\r\n"
				 "CSeq: 8 INVITE\r\n"
				 "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234\r\n"
				 "Content-Type: application/sdp\r\n"
				 "Content-Length: 150\r\n"
				 "\r\n"
				 "v=0\r\n"
				 "o=mhandley 29739 7272939 IN IP4 192.0.2.15\r\n"
				 "s=-\r\n"
				 "c=IN IP4 192.0.2.15\r\n"
				 "t=0 0\r\n"
				 "m=audio 49217 RTP/AVP 0 12\r\n"
				 "m =video 3227 RTP/AVP 31\r\n"
				 "a=rtpmap:31 LPC\r\n"
				 "\r\n";

/* 3.1.1.9 Semicolon-Separated Parameters in URI User Part (semiuri.dat, 380 bytes) */
static const char semiuri_msg[] = "OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\r\n"
				  "To: sip:j_user@example.com\r\n"
				  "From: sip:caller@example.org;tag=33242\r\n"
				  "Max-Forwards: 3\r\n"
				  "Call-ID: semiuri.0ha0isndaksdj\r\n"
				  "CSeq: 8 OPTIONS\r\n"
				  "Accept: application/sdp, application/pkcs7-mime,\r\n"
				  "        multipart/mixed, multipart/signed,\r\n"
				  "        message/sip, message/sipfrag\r\n"
				  "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw\r\n"
				  "l: 0\r\n"
				  "\r\n";

/* 3.1.1.10 Varied and Unknown Transport Types (transports.dat, 503 bytes) */
static const char transports_msg[] =
    "OPTIONS sip:user@example.com SIP/2.0\r\n"
    "To: sip:user@example.com\r\n"
    "From: <sip:caller@example.com>;tag=323\r\n"
    "Max-Forwards: 70\r\n"
    "Call-ID:  transports.kijh4akdnaqjkwendsasfdj\r\n"
    "Accept: application/sdp\r\n"
    "CSeq: 60 OPTIONS\r\n"
    "Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw\r\n"
    "Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf\r\n"
    "Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj\r\n"
    "Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en\r\n"
    "Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee\r\n"
    "l: 0\r\n"
    "\r\n";

/* 3.1.1.11 Multipart MIME Message (mpart01.dat, 1290 bytes) */
static const char mpart01_msg[] =
    "MESSAGE sip:kumiko@example.org SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport\r\n"
    "Max-Forwards: 70\r\n"
    "Route: <sip:127.0.0.1:5080>\r\n"
    "Identity: "
    "r5mwreLuyDRYBi/0TiPwEsY3rEVsk/"
    "G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+813gvYjcBUaZngQmXc9WNZSDNGCzA+"
    "fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFteeivUhkMWYUA=\r\n"
    "Contact: <sip:fluffy@127.0.0.1:5070>\r\n"
    "To: <sip:kumiko@example.org>\r\n"
    "From: <sip:fluffy@example.com>;tag=2fb0dcc9\r\n"
    "Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..\r\n"
    "CSeq: 1 MESSAGE\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "Content-Type: multipart/mixed;boundary=7a9cbec02ceef655\r\n"
    "Date: Sat, 15 Oct 2005 04:44:56 GMT\r\n"
    "User-Agent: SIPimp.org/0.2.5 (curses)\r\n"
    "Content-Length: 553\r\n"
    "\r\n"
    "--7a9cbec02ceef655\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "\r\n"
    "Hello\r\n"
    "--7a9cbec02ceef655\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: binary\r\n"
    "\r\n"
    "0\202\001R\006\011*\206H\206\367\015\001\007\002\240\202\001C0\202\001?"
    "\002\001\0011\0110\007\006\005+\016\003\002\0320\013\006\011*"
    "\206H\206\367\015\001\007\0011\202\001 "
    "0\202\001\034\002\001\0010|"
    "0p1\0130\011\006\003U\004\006\023\002US1\0230\021\006\003U\004\010\023\012California1\0210\017"
    "\006\003U\004\007\023\010San "
    "Jose1\0160\014\006\003U\004\012\023\005sipit1)0'\006\003U\004\013\023 Sipit Test Certificate "
    "Authority\002\010\001\225\000q\0023\001\0230\007\006\005+\016\003\002\0320\015\006\011*"
    "\206H\206\367\015\001\001\001\005\000\004\201\200\216\364f\371H\360R-"
    "\322\345\227\216\235\225\252\351\362\376\025\240fYqb\222\350\332*\250\3305\012h\316\377\256<"
    "\275+\377\026u\335\325d\216Y=\326G(\362b "
    "\367\351At\2363\015\232\025\355\253\333\223\321\014B\020.{r\211\322\234\300\311\256."
    "\373\307\300\317\371\027/"
    ";\002~O\300'\341Tm\344\266\252:\273>f\314\313]\326\306K\203\203\024\234\270\346\377\030-"
    "\224O\345{e\274\231\320\005\r\n"
    "--7a9cbec02ceef655--\r\n";

/* 3.1.1.12 Unusual Reason Phrase (unreason.dat, 526 bytes) */
static const char unreason_msg[] =
    "SIP/2.0 200 = 2**3 * 5**2 \320\275\320\276 \321\201\321\202\320\276 "
    "\320\264\320\265\320\262\321\217\320\275\320\276\321\201\321\202\320\276 "
    "\320\264\320\265\320\262\321\217\321\202\321\214 - "
    "\320\277\321\200\320\276\321\201\321\202\320\276\320\265\r\n"
    "Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\r\n"
    "Call-ID: unreason.1234ksdfak3j2erwedfsASdf\r\n"
    "CSeq: 35 INVITE\r\n"
    "From: sip:user@example.com;tag=11141343\r\n"
    "To: sip:user@example.edu;tag=2229\r\n"
    "Content-Length: 154\r\n"
    "Content-Type: application/sdp\r\n"
    "Contact: <sip:user@host198.example.com>\r\n"
    "\r\n"
    "v=0\r\n"
    "o=mhandley 29739 7272939 IN IP4 192.0.2.198\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.198\r\n"
    "t=0 0\r\n"
    "m=audio 49217 RTP/AVP 0 12\r\n"
    "m=video 3227 RTP/AVP 31\r\n"
    "a=rtpmap:31 LPC\r\n";

/* 3.1.1.13 Empty Reason Phrase (noreason.dat, 274 bytes) */
static const char noreason_msg[] = "SIP/2.0 100 \r\n"
				   "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\r\n"
				   "Call-ID: noreason.asndj203insdf99223ndf\r\n"
				   "CSeq: 35 INVITE\r\n"
				   "From: <sip:user@example.com>;tag=39ansfi3\r\n"
				   "To: <sip:user@example.edu>;tag=902jndnke3\r\n"
				   "Content-Length: 0\r\n"
				   "Contact: <sip:user@host105.example.com>\r\n"
				   "\r\n";

/* 3.1.2.1 Extraneous Header Field Separators (badinv01.dat, 472 bytes) */
static const char badinv01_msg[] = "INVITE sip:user@example.com SIP/2.0\r\n"
				   "To: sip:j.user@example.com\r\n"
				   "From: sip:caller@example.net;tag=134161461246\r\n"
				   "Max-Forwards: 7\r\n"
				   "Call-ID: badinv01.0ha0isndaksdjasdf3234nas\r\n"
				   "CSeq: 8 INVITE\r\n"
				   "Via: SIP/2.0/UDP 192.0.2.15;;,;,,\r\n"
				   "Contact: \"Joe\" <sip:joe@example.org>;;;;\r\n"
				   "Content-Length: 152\r\n"
				   "Content-Type: application/sdp\r\n"
				   "\r\n"
				   "v=0\r\n"
				   "o=mhandley 29739 7272939 IN IP4 192.0.2.15\r\n"
				   "s=-\r\n"
				   "c=IN IP4 192.0.2.15\r\n"
				   "t=0 0\r\n"
				   "m=audio 49217 RTP/AVP 0 12\r\n"
				   "m=video 3227 RTP/AVP 31\r\n"
				   "a=rtpmap:31 LPC\r\n";

/* 3.1.2.2 Content Length Larger Than Message (clerr.dat, 498 bytes) */
static const char clerr_msg[] = "INVITE sip:user@example.com SIP/2.0\r\n"
				"Max-Forwards: 80\r\n"
				"To: sip:j.user@example.com\r\n"
				"From: sip:caller@example.net;tag=93942939o2\r\n"
				"Contact: <sip:caller@hungry.example.net>\r\n"
				"Call-ID: clerr.0ha0isndaksdjweiafasdk3\r\n"
				"CSeq: 8 INVITE\r\n"
				"Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523\r\n"
				"Content-Type: application/sdp\r\n"
				"Content-Length: 9999\r\n"
				"\r\n"
				"v=0\r\n"
				"o=mhandley 29739 7272939 IN IP4 192.0.2.155\r\n"
				"s=-\r\n"
				"c=IN IP4 192.0.2.155\r\n"
				"t=0 0\r\n"
				"m=audio 49217 RTP/AVP 0 12\r\n"
				"m=video 3227 RTP/AVP 31\r\n"
				"a=rtpmap:31 LPC\r\n";

/* 3.1.2.3 Negative Content-Length (ncl.dat, 486 bytes) */
static const char ncl_msg[] = "INVITE sip:user@example.com SIP/2.0\r\n"
			      "Max-Forwards: 254\r\n"
			      "To: sip:j.user@example.com\r\n"
			      "From: sip:caller@example.net;tag=32394234\r\n"
			      "Call-ID: ncl.0ha0isndaksdj2193423r542w35\r\n"
			      "CSeq: 0 INVITE\r\n"
			      "Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw\r\n"
			      "Contact: <sip:caller@example53.example.net>\r\n"
			      "Content-Type: application/sdp\r\n"
			      "Content-Length: -999\r\n"
			      "\r\n"
			      "v=0\r\n"
			      "o=mhandley 29739 7272939 IN IP4 192.0.2.53\r\n"
			      "s=-\r\n"
			      "c=IN IP4 192.0.2.53\r\n"
			      "t=0 0\r\n"
			      "m=audio 49217 RTP/AVP 0 12\r\n"
			      "m=video 3227 RTP/AVP 31\r\n"
			      "a=rtpmap:31 LPC\r\n";

/* 3.1.2.4 Request Scalar Fields with Overlarge Values (scalar02.dat, 476 bytes) */
static const char scalar02_msg[] =
    "REGISTER sip:example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3\r\n"
    "To: <sip:user@example.com>\r\n"
    "From: <sip:user@example.com>;tag=239232jh3\r\n"
    "CSeq: 36893488147419103232 REGISTER\r\n"
    "Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32\r\n"
    "Max-Forwards: 300\r\n"
    "Expires: "
    "1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000\r\n"
    "Contact: <sip:user@host129.example.com>\r\n"
    "  ;expires=280297596632815\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

/* 3.1.2.5 Response Scalar Fields with Overlarge Values (scalarlg.dat, 385 bytes) */
static const char scalarlg_msg[] =
    "SIP/2.0 503 Service Unavailable\r\n"
    "Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129\r\n"
    "To: <sip:user@example.com>\r\n"
    "From: <sip:other@example.net>;tag=2easdjfejw\r\n"
    "CSeq: 9292394834772304023312 OPTIONS\r\n"
    "Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r\r\n"
    "Retry-After: 949302838503028349304023988\r\n"
    "Warning: 1812 overture \"In Progress\"\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

/* 3.1.2.6 Unterminated Quoted String in Display Name (quotbal.dat, 485 bytes) */
static const char quotbal_msg[] = "INVITE sip:user@example.com SIP/2.0\r\n"
				  "To: \"Mr. J. User <sip:j.user@example.com>\r\n"
				  "From: sip:caller@example.net;tag=93334\r\n"
				  "Max-Forwards: 10\r\n"
				  "Call-ID: quotbal.aksdj\r\n"
				  "Contact: <sip:caller@host59.example.net>\r\n"
				  "CSeq: 8 INVITE\r\n"
				  "Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234\r\n"
				  "Content-Type: application/sdp\r\n"
				  "Content-Length: 152\r\n"
				  "\r\n"
				  "v=0\r\n"
				  "o=mhandley 29739 7272939 IN IP4 192.0.2.15\r\n"
				  "s=-\r\n"
				  "c=IN IP4 192.0.2.15\r\n"
				  "t=0 0\r\n"
				  "m=audio 49217 RTP/AVP 0 12\r\n"
				  "m=video 3227 RTP/AVP 31\r\n"
				  "a=rtpmap:31 LPC\r\n";

/* 3.1.2.7 <> Enclosing Request-URI (ltgtruri.dat, 452 bytes) */
static const char ltgtruri_msg[] = "INVITE <sip:user@example.com> SIP/2.0\r\n"
				   "To: sip:user@example.com\r\n"
				   "From: sip:caller@example.net;tag=39291\r\n"
				   "Max-Forwards: 23\r\n"
				   "Call-ID: ltgtruri.1@192.0.2.5\r\n"
				   "CSeq: 1 INVITE\r\n"
				   "Via: SIP/2.0/UDP 192.0.2.5\r\n"
				   "Contact: <sip:caller@host5.example.net>\r\n"
				   "Content-Type: application/sdp\r\n"
				   "Content-Length: 159\r\n"
				   "\r\n"
				   "v=0\r\n"
				   "o=mhandley 29739 7272939 IN IP4 192.0.2.5\r\n"
				   "s=-\r\n"
				   "c=IN IP4 192.0.2.5\r\n"
				   "t=3149328700 0\r\n"
				   "m=audio 49217 RTP/AVP 0 12\r\n"
				   "m=video 3227 RTP/AVP 31\r\n"
				   "a=rtpmap:31 LPC\r\n";

/* 3.1.2.8 Malformed SIP Request-URI (embedded LWS) (lwsruri.dat, 541 bytes) */
static const char lwsruri_msg[] = "INVITE sip:user@example.com; lr SIP/2.0\r\n"
				  "To: sip:user@example.com;tag=3xfe-9921883-z9f\r\n"
				  "From: sip:caller@example.net;tag=231413434\r\n"
				  "Max-Forwards: 5\r\n"
				  "Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423\r\n"
				  "CSeq: 2130706432 INVITE\r\n"
				  "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395\r\n"
				  "Contact: <sip:caller@host1.example.net>\r\n"
				  "Content-Type: application/sdp\r\n"
				  "Content-Length: 159\r\n"
				  "\r\n"
				  "v=0\r\n"
				  "o=mhandley 29739 7272939 IN IP4 192.0.2.1\r\n"
				  "s=-\r\n"
				  "c=IN IP4 192.0.2.1\r\n"
				  "t=3149328700 0\r\n"
				  "m=audio 49217 RTP/AVP 0 12\r\n"
				  "m=video 3227 RTP/AVP 31\r\n"
				  "a=rtpmap:31 LPC\r\n";

/* 3.1.2.9 Multiple SP Separating Request-Line Elements (lwsstart.dat, 506 bytes) */
static const char lwsstart_msg[] = "INVITE  sip:user@example.com  SIP/2.0\r\n"
				   "Max-Forwards: 8\r\n"
				   "To: sip:user@example.com\r\n"
				   "From: sip:caller@example.net;tag=8814\r\n"
				   "Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com\r\n"
				   "CSeq: 1893884 INVITE\r\n"
				   "Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923\r\n"
				   "Contact: <sip:caller@host1.example.net>\r\n"
				   "Content-Type: application/sdp\r\n"
				   "Content-Length: 150\r\n"
				   "\r\n" SDP_150;

/* 3.1.2.10 SP Characters at End of Request-Line (trws.dat, 327 bytes) */
static const char trws_msg[] = "OPTIONS sip:remote-target@example.com SIP/2.0  \r\n"
			       "Via: SIP/2.0/TCP host1.examle.com;branch=z9hG4bK299342093\r\n"
			       "To: <sip:remote-target@example.com>\r\n"
			       "From: <sip:local-resource@example.com>;tag=329429089\r\n"
			       "Call-ID: trws.oicu34958239neffasdhr2345r\r\n"
			       "Accept: application/sdp\r\n"
			       "CSeq: 238923 OPTIONS\r\n"
			       "Max-Forwards: 70\r\n"
			       "Content-Length: 0\r\n"
			       "\r\n";

/* 3.1.2.11 Escaped Headers in SIP Request-URI (escruri.dat, 550 bytes) */
static const char escruri_msg[] =
    "INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0\r\n"
    "To: sip:user@example.com\r\n"
    "From: sip:caller@example.net;tag=341518\r\n"
    "Max-Forwards: 7\r\n"
    "Contact: <sip:caller@host39923.example.net>\r\n"
    "Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5\r\n"
    "CSeq: 149209342 INVITE\r\n"
    "Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 150\r\n"
    "\r\n" SDP_150;

/* 3.1.2.12 Invalid Time Zone in Date Header Field (baddate.dat, 532 bytes) */
static const char baddate_msg[] = "INVITE sip:user@example.com SIP/2.0\r\n"
				  "To: sip:user@example.com\r\n"
				  "From: sip:caller@example.net;tag=2234923\r\n"
				  "Max-Forwards: 70\r\n"
				  "Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234\r\n"
				  "CSeq: 1392934 INVITE\r\n"
				  "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\r\n"
				  "Date: Fri, 01 Jan 2010 16:00:00 EST\r\n"
				  "Contact: <sip:caller@host5.example.net>\r\n"
				  "Content-Type: application/sdp\r\n"
				  "Content-Length: 150\r\n"
				  "\r\n"
				  "v=0\r\n"
				  "o=mhandley 29739 7272939 IN IP4 192.0.2.5\r\n"
				  "s=-\r\n"
				  "c=IN IP4 192.0.2.5\r\n"
				  "t=0 0\r\n"
				  "m=audio 49217 RTP/AVP 0 12\r\n"
				  "m=video 3227 RTP/AVP 31\r\n"
				  "a=rtpmap:31 LPC\r\n";

/* 3.1.2.13 Failure to Enclose name-addr URI in <> (regbadct.dat, 307 bytes) */
static const char regbadct_msg[] =
    "REGISTER sip:example.com SIP/2.0\r\n"
    "To: sip:user@example.com\r\n"
    "From: sip:user@example.com;tag=998332\r\n"
    "Max-Forwards: 70\r\n"
    "Call-ID: regbadct.k345asrl3fdbv@10.0.0.1\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw\r\n"
    "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E\r\n"
    "l: 0\r\n"
    "\r\n";

/* 3.1.2.14 Spaces within addr-spec (badaspec.dat, 346 bytes) */
static const char badaspec_msg[] =
    "OPTIONS sip:user@example.org SIP/2.0\r\n"
    "Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Bell, Alexander\" <sip:a.g.bell@example.com>;tag=433423\r\n"
    "To: \"Watson, Thomas\" < sip:t.watson@example.org >\r\n"
    "Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3\r\n"
    "Accept: application/sdp\r\n"
    "CSeq: 3923239 OPTIONS\r\n"
    "l: 0\r\n"
    "\r\n";

/* 3.1.2.15 Non-token Characters in Display Name (baddn.dat, 331 bytes) */
static const char baddn_msg[] = "OPTIONS sip:t.watson@example.org SIP/2.0\r\n"
				"Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw\r\n"
				"Max-Forwards:      70\r\n"
				"From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43\r\n"
				"To:      Watson, Thomas <sip:t.watson@example.org>\r\n"
				"Call-ID: baddn.31415@c.example.com\r\n"
				"Accept: application/sdp\r\n"
				"CSeq:    3923239 OPTIONS\r\n"
				"l: 0\r\n";

/* 3.1.2.16 Unknown Protocol Version (badvers.dat, 291 bytes) */
static const char badvers_msg[] = "OPTIONS sip:t.watson@example.org SIP/7.0\r\n"
				  "Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw\r\n"
				  "Max-Forwards:     70\r\n"
				  "From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe\r\n"
				  "To:      T. Watson <sip:t.watson@example.org>\r\n"
				  "Call-ID: badvers.31417@c.example.com\r\n"
				  "CSeq:    1 OPTIONS\r\n"
				  "l: 0\r\n"
				  "\r\n";

/* 3.1.2.17 Start Line and CSeq Method Mismatch (mismatch01.dat, 236 bytes) */
static const char mismatch01_msg[] = "OPTIONS sip:user@example.com SIP/2.0\r\n"
				     "To: sip:j.user@example.com\r\n"
				     "From: sip:caller@example.net;tag=34525\r\n"
				     "Max-Forwards: 6\r\n"
				     "Call-ID: mismatch01.dj0234sxdfl3\r\n"
				     "CSeq: 8 INVITE\r\n"
				     "Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\r\n"
				     "l: 0\r\n"
				     "\r\n";

/* 3.1.2.18 Unknown Method with CSeq Method Mismatch (mismatch02.dat, 449 bytes) */
static const char mismatch02_msg[] = "NEWMETHOD sip:user@example.com SIP/2.0\r\n"
				     "To: sip:j.user@example.com\r\n"
				     "From: sip:caller@example.net;tag=34525\r\n"
				     "Max-Forwards: 6\r\n"
				     "Call-ID: mismatch02.dj0234sxdfl3\r\n"
				     "CSeq: 8 INVITE\r\n"
				     "Contact: <sip:caller@host.example.net>\r\n"
				     "Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw\r\n"
				     "Content-Type: application/sdp\r\n"
				     "l: 138\r\n"
				     "\r\n"
				     "v=0\r\n"
				     "o=mhandley 29739 7272939 IN IP4 192.0.2.1\r\n"
				     "c=IN IP4 192.0.2.1\r\n"
				     "m=audio 49217 RTP/AVP 0 12\r\n"
				     "m=video 3227 RTP/AVP 31\r\n"
				     "a=rtpmap:31 LPC\r\n";

/* 3.1.2.19 Overlarge Response Code (bigcode.dat, 332 bytes) */
static const char bigcode_msg[] = "SIP/2.0 4294967301 better not break the receiver\r\n"
				  "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\r\n"
				  "Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i\r\n"
				  "CSeq: 353494 INVITE\r\n"
				  "From: <sip:user@example.com>;tag=39ansfi3\r\n"
				  "To: <sip:user@example.edu>;tag=902jndnke3\r\n"
				  "Content-Length: 0\r\n"
				  "Contact: <sip:user@host105.example.com>\r\n"
				  "\r\n";

/* 3.2.1 Missing Transaction Identifier (badbranch.dat, 262 bytes) */
static const char badbranch_msg[] = "OPTIONS sip:user@example.com SIP/2.0\r\n"
				    "To: sip:user@example.com\r\n"
				    "From: sip:caller@example.org;tag=33242\r\n"
				    "Max-Forwards: 3\r\n"
				    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK\r\n"
				    "Accept: application/sdp\r\n"
				    "Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n\r\n"
				    "CSeq: 8 OPTIONS\r\n"
				    "l: 0\r\n"
				    "\r\n";

/* 3.3.1 Missing Required Header Fields (insuf.dat, 304 bytes) */
static const char insuf_msg[] = "INVITE sip:user@example.com SIP/2.0\r\n"
				"CSeq: 193942 INVITE\r\n"
				"Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf\r\n"
				"Content-Type: application/sdp\r\n"
				"l: 152\r\n"
				"\r\n"
				"v=0\r\n"
				"o=mhandley 29739 7272939 IN IP4 192.0.2.95\r\n"
				"s=-\r\n"
				"c=IN IP4 192.0.2.95\r\n"
				"t=0 0\r\n"
				"m=audio 49217 RTP/AVP 0 12\r\n"
				"m=video 3227 RTP/AVP 31\r\n"
				"a=rtpmap:31 LPC\r\n";

/* 3.3.2 Request-URI with Unknown Scheme (unkscm.dat, 291 bytes) */
static const char unkscm_msg[] = "OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0\r\n"
				 "To: sip:user@example.com\r\n"
				 "From: sip:caller@example.net;tag=384\r\n"
				 "Max-Forwards: 3\r\n"
				 "Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34\r\n"
				 "CSeq: 3923423 OPTIONS\r\n"
				 "Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234\r\n"
				 "Content-Length: 0\r\n"
				 "\r\n";

/* 3.3.3 Request-URI with Known but Atypical Scheme (novelsc.dat, 277 bytes) */
static const char novelsc_msg[] = "OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\r\n"
				  "To: sip:user@example.com\r\n"
				  "From: sip:caller@example.net;tag=384\r\n"
				  "Max-Forwards: 3\r\n"
				  "Call-ID: novelsc.asdfasser0q239nwsdfasdkl34\r\n"
				  "CSeq: 3923423 OPTIONS\r\n"
				  "Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234\r\n"
				  "Content-Length: 0\r\n"
				  "\r\n";

/* 3.3.4 Unknown URI Schemes in Header Fields (unksm2.dat, 282 bytes) */
static const char unksm2_msg[] = "REGISTER sip:example.com SIP/2.0\r\n"
				 "To: isbn:2983792873\r\n"
				 "From: <http://www.example.com>;tag=3234233\r\n"
				 "Call-ID: unksm2.daksdj@hyphenated-host.example.com\r\n"
				 "CSeq: 234902 REGISTER\r\n"
				 "Max-Forwards: 70\r\n"
				 "Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw\r\n"
				 "Contact: <name:John_Smith>\r\n"
				 "l: 0\r\n"
				 "\r\n";

/* 3.3.5 Proxy-Require and Require (bext01.dat, 381 bytes) */
static const char bext01_msg[] =
    "OPTIONS sip:user@example.com SIP/2.0\r\n"
    "To: sip:j_user@example.com\r\n"
    "From: sip:caller@example.net;tag=242etr\r\n"
    "Max-Forwards: 6\r\n"
    "Call-ID: bext01.0ha0isndaksdj\r\n"
    "Require: nothingSupportsThis, nothingSupportsThisEither\r\n"
    "Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis\r\n"
    "CSeq: 8 OPTIONS\r\n"
    "Via: SIP/2.0/TLS fold-and-staple.example.com;branch=z9hG4bKkdjuw\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

/* 3.3.6 Unknown Content-Type (invut.dat, 391 bytes) */
static const char invut_msg[] = "INVITE sip:user@example.com SIP/2.0\r\n"
				"Contact: <sip:caller@host5.example.net>\r\n"
				"To: sip:j.user@example.com\r\n"
				"From: sip:caller@example.net;tag=8392034\r\n"
				"Max-Forwards: 70\r\n"
				"Call-ID: invut.0ha0isndaksdjadsfij34n23d\r\n"
				"CSeq: 235448 INVITE\r\n"
				"Via: SIP/2.0/UDP somehost.example.com;branch=z9hG4bKkdjuw\r\n"
				"Content-Type: application/unknownformat\r\n"
				"Content-Length: 40\r\n"
				"\r\n"
				"<audio>\r\n"
				" <pcmu port=\"443\"/>\r\n"
				"</audio>\r\n";

/* 3.3.7 Unknown Authorization Scheme (regaut01.dat, 304 bytes) */
static const char regaut01_msg[] = "REGISTER sip:example.com SIP/2.0\r\n"
				   "To: sip:j.user@example.com\r\n"
				   "From: sip:j.user@example.com;tag=87321hj23128\r\n"
				   "Max-Forwards: 8\r\n"
				   "Call-ID: regaut01.0ha0isndaksdj\r\n"
				   "CSeq: 9338 REGISTER\r\n"
				   "Via: SIP/2.0/TCP 192.0.2.253;branch=z9hG4bKkdjuw\r\n"
				   "Authorization: NoOneKnowsThisScheme opaque-data=here\r\n"
				   "Content-Length:0\r\n"
				   "\r\n";

/* 3.3.8 Multiple Values in Single Value Required Fields (multi01.dat, 643 bytes) */
static const char multi01_msg[] = "INVITE sip:user@company.com SIP/2.0\r\n"
				  "Contact: <sip:caller@host25.example.net>\r\n"
				  "Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw\r\n"
				  "Max-Forwards: 70\r\n"
				  "CSeq: 5 INVITE\r\n"
				  "Call-ID: multi01.98asdh@192.0.2.1\r\n"
				  "CSeq: 59 INVITE\r\n"
				  "Call-ID: multi01.98asdh@192.0.2.2\r\n"
				  "From: sip:caller@example.com;tag=3413415\r\n"
				  "To: sip:user@example.com\r\n"
				  "To: sip:other@example.net\r\n"
				  "From: sip:caller@example.net;tag=2923420123\r\n"
				  "Content-Type: application/sdp\r\n"
				  "l: 154\r\n"
				  "Contact: <sip:caller@host36.example.net>\r\n"
				  "Max-Forwards: 5\r\n"
				  "\r\n"
				  "v=0\r\n"
				  "o=mhandley 29739 7272939 IN IP4 192.0.2.25\r\n"
				  "s=-\r\n"
				  "c=IN IP4 192.0.2.25\r\n"
				  "t=0 0\r\n"
				  "m=audio 49217 RTP/AVP 0 12\r\n"
				  "m=video 3227 RTP/AVP 31\r\n"
				  "a=rtpmap:31 LPC\r\n"
				  "\r\n";

/* 3.3.9 Multiple Content-Length Values (mcl01.dat, 382 bytes) */
static const char mcl01_msg[] =
    "OPTIONS sip:user@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423\r\n"
    "To: sip:user@example.com\r\n"
    "From: sip:other@example.net;tag=3923942\r\n"
    "Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf\r\n"
    "CSeq: 15932 OPTIONS\r\n"
    "Content-Length: 13\r\n"
    "Max-Forwards: 60\r\n"
    "Content-Length: 5\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "There's no way to know how many octets are supposed to be here.\r\n"
    "\r\n";

/* 3.3.10 200 OK Response with Broadcast Via Header Field Value (bcast.dat, 516 bytes) */
static const char bcast_msg[] = "SIP/2.0 200 OK\r\n"
				"Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\r\n"
				"Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23\r\n"
				"Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf\r\n"
				"CSeq: 35 INVITE\r\n"
				"From: sip:user@example.com;tag=11141343\r\n"
				"To: sip:user@example.edu;tag=2229\r\n"
				"Content-Length: 154\r\n"
				"Content-Type: application/sdp\r\n"
				"Contact: <sip:user@host28.example.com>\r\n"
				"\r\n"
				"v=0\r\n"
				"o=mhandley 29739 7272939 IN IP4 192.0.2.198\r\n"
				"s=-\r\n"
				"c=IN IP4 192.0.2.198\r\n"
				"t=0 0\r\n"
				"m=audio 49217 RTP/AVP 0 12\r\n"
				"m=video 3227 RTP/AVP 31\r\n"
				"a=rtpmap:31 LPC\r\n";

/* 3.3.11 Max-Forwards of Zero (zeromf.dat, 272 bytes) */
static const char zeromf_msg[] = "OPTIONS sip:user@example.com SIP/2.0\r\n"
				 "To: sip:user@example.com\r\n"
				 "From: sip:caller@example.net;tag=3ghsd41\r\n"
				 "Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas\r\n"
				 "CSeq: 39234321 OPTIONS\r\n"
				 "Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i\r\n"
				 "Max-Forwards: 0\r\n"
				 "Content-Length: 0\r\n"
				 "\r\n";

/* 3.3.12 REGISTER with a Contact Header Parameter (cparam01.dat, 321 bytes) */
static const char cparam01_msg[] =
    "REGISTER sip:example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw\r\n"
    "Max-Forwards: 70\r\n"
    "From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe\r\n"
    "To: sip:watson@example.com\r\n"
    "Call-ID: cparam01.70710@saturn.example.com\r\n"
    "CSeq: 2 REGISTER\r\n"
    "Contact: sip:+19725552222@gw1.example.net;unknownparam\r\n"
    "l: 0\r\n"
    "\r\n";

/* 3.3.13 REGISTER with a url-parameter (cparam02.dat, 311 bytes) */
static const char cparam02_msg[] =
    "REGISTER sip:example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw\r\n"
    "Max-Forwards: 70\r\n"
    "From: sip:watson@example.com;tag=838293\r\n"
    "To: sip:watson@example.com\r\n"
    "Call-ID: cparam02.70710@saturn.example.com\r\n"
    "CSeq: 3 REGISTER\r\n"
    "Contact: <sip:+19725552222@gw1.example.net;unknownparam>\r\n"
    "l: 0\r\n"
    "\r\n";

/* 3.3.14 REGISTER with a URL Escaped Header (regescrt.dat, 302 bytes) */
static const char regescrt_msg[] = "REGISTER sip:example.com SIP/2.0\r\n"
				   "To: sip:user@example.com\r\n"
				   "From: sip:user@example.com;tag=8\r\n"
				   "Max-Forwards: 70\r\n"
				   "Call-ID: regescrt.k345asrl3fdbv@192.0.2.1\r\n"
				   "CSeq: 14398234 REGISTER\r\n"
				   "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\r\n"
				   "M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>\r\n"
				   "L:0\r\n"
				   "\r\n";

/* 3.3.15 Unacceptable Accept Offering (sdp01.dat, 494 bytes) */
static const char sdp01_msg[] = "INVITE sip:user@example.com SIP/2.0\r\n"
				"To: sip:j_user@example.com\r\n"
				"Contact: <sip:caller@host15.example.net>\r\n"
				"From: sip:caller@example.net;tag=234\r\n"
				"Max-Forwards: 5\r\n"
				"Call-ID: sdp01.ndaksdj9342dasdd\r\n"
				"Accept: text/nobodyKnowsThis\r\n"
				"CSeq: 8 INVITE\r\n"
				"Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw\r\n"
				"Content-Length: 150\r\n"
				"Content-Type: application/sdp\r\n"
				"\r\n"
				"v=0\r\n"
				"o=mhandley 29739 7272939 IN IP4 192.0.2.5\r\n"
				"s=-\r\n"
				"c=IN IP4 192.0.2.5\r\n"
				"t=0 0\r\n"
				"m=audio 49217 RTP/AVP 0 12\r\n"
				"m=video 3227 RTP/AVP 31\r\n"
				"a=rtpmap:31 LPC\r\n";

/* 3.4.1 INVITE with RFC 2543 Syntax (inv2543.dat, 445 bytes) */
static const char inv2543_msg[] = "INVITE sip:UserB@example.com SIP/2.0\r\n"
				  "Via: SIP/2.0/UDP iftgw.example.com\r\n"
				  "From: <sip:+13035551111@ift.client.example.net;user=phone>\r\n"
				  "Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>\r\n"
				  "To: sip:+16505552222@ss1.example.net;user=phone\r\n"
				  "Call-ID: inv2543.1717@ift.client.example.com\r\n"
				  "CSeq: 56 INVITE\r\n"
				  "Content-Type: application/sdp\r\n"
				  "\r\n"
				  "v=0\r\n"
				  "o=mhandley 29739 7272939 IN IP4 192.0.2.5\r\n"
				  "s=-\r\n"
				  "c=IN IP4 192.0.2.5\r\n"
				  "t=0 0\r\n"
				  "m=audio 49217 RTP/AVP 0\r\n";

/* ---- the table ---------------------------------------------------------- */

struct torture_fields {
	const char *method; /* requests; NULL for a response */
	int status;	    /* responses */
	const char *call_id;
	uint32_t cseq;
	const char *cseq_method;
	int nvias, ncontacts, body_len;
};

struct torture {
	const char *name;    /* the RFC's file name, without .dat */
	const char *section; /* of RFC 4475 */
	const char *rfc;     /* what the RFC asks of an element */
	const char *msg;
	size_t len;
	bool valid;
	int err;     /* enum sip_err, when not valid */
	int err_hdr; /* enum sip_hdr at fault, when not valid */
	struct torture_fields f;
};

#define M(a) (a), sizeof(a) - 1

static const struct torture cases[] = {
    {"wsinv",
     "3.1.1.1",
     "must accept",
     M(wsinv_msg),
     true,
     0,
     0,
     {"INVITE", 0, "wsinv.ndaksdj@192.0.2.1", 9u, "INVITE", 3, 1, 150}},
    {"intmeth",
     "3.1.1.2",
     "must accept",
     M(intmeth_msg),
     true,
     0,
     0,
     {"!interesting-Method0123456789_*+`.%indeed'~", 0,
      "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{", 139122385u,
      "!interesting-Method0123456789_*+`.%indeed'~", 1, 0, 0}},
    {"esc01",
     "3.1.1.3",
     "must accept",
     M(esc01_msg),
     true,
     0,
     0,
     {"INVITE", 0, "esc01.239409asdfakjkn23onasd0-3234", 234234u, "INVITE", 1, 1, 150}},
    {"escnull",
     "3.1.1.4",
     "must accept",
     M(escnull_msg),
     true,
     0,
     0,
     {"REGISTER", 0, "escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd", 14398234u, "REGISTER", 1, 2,
      0}},
    {"esc02",
     "3.1.1.5",
     "must accept; two Contact values, not three",
     M(esc02_msg),
     true,
     0,
     0,
     {"RE%47IST%45R", 0, "esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf", 29344u, "RE%47IST%45R", 1, 2,
      0}},
    {"lwsdisp",
     "3.1.1.6",
     "must accept",
     M(lwsdisp_msg),
     true,
     0,
     0,
     {"OPTIONS", 0, "lwsdisp.1234abcd@funky.example.com", 60u, "OPTIONS", 1, 0, 0}},
    {"longreq",
     "3.1.1.7",
     "must accept (34 Vias)",
     M(longreq_msg),
     true,
     0,
     0,
     {"INVITE", 0,
      "longreq."
      "onereallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreall"
      "yreallyreallyreallyreallyreallylongcallid",
      3882340u, "INVITE", 34, 1, 150}},
    {"dblreq",
     "3.1.1.8",
     "must accept the REGISTER, ignore the rest",
     M(dblreq_msg),
     true,
     0,
     0,
     {"REGISTER", 0, "dblreq.0ha0isndaksdj99sdfafnl3lk233412", 8u, "REGISTER", 1, 1, 0}},
    {"semiuri",
     "3.1.1.9",
     "must accept",
     M(semiuri_msg),
     true,
     0,
     0,
     {"OPTIONS", 0, "semiuri.0ha0isndaksdj", 8u, "OPTIONS", 1, 0, 0}},
    {"transports",
     "3.1.1.10",
     "must accept",
     M(transports_msg),
     true,
     0,
     0,
     {"OPTIONS", 0, "transports.kijh4akdnaqjkwendsasfdj", 60u, "OPTIONS", 5, 0, 0}},
    {"mpart01",
     "3.1.1.11",
     "must accept",
     M(mpart01_msg),
     true,
     0,
     0,
     {"MESSAGE", 0, "3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..", 1u, "MESSAGE", 1, 1, 553}},
    {"unreason",
     "3.1.1.12",
     "must accept",
     M(unreason_msg),
     true,
     0,
     0,
     {NULL, 200, "unreason.1234ksdfak3j2erwedfsASdf", 35u, "INVITE", 1, 1, 154}},
    {"noreason",
     "3.1.1.13",
     "must accept",
     M(noreason_msg),
     true,
     0,
     0,
     {NULL, 100, "noreason.asndj203insdf99223ndf", 35u, "INVITE", 1, 1, 0}},
    {"badinv01",
     "3.1.2.1",
     "should answer 400",
     M(badinv01_msg),
     false,
     SIP_ERR_BAD_VALUE,
     SIP_HDR_VIA,
     {0}},
    {"clerr",
     "3.1.2.2",
     "over UDP, should answer 400",
     M(clerr_msg),
     false,
     SIP_ERR_BODY_TRUNCATED,
     SIP_HDR_CONTENT_LENGTH,
     {0}},
    {"ncl",
     "3.1.2.3",
     "should answer with an error",
     M(ncl_msg),
     false,
     SIP_ERR_BAD_VALUE,
     SIP_HDR_CONTENT_LENGTH,
     {0}},
    {"scalar02",
     "3.1.2.4",
     "should answer 400 (CSeq)",
     M(scalar02_msg),
     false,
     SIP_ERR_BAD_VALUE,
     SIP_HDR_CSEQ,
     {0}},
    {"scalarlg",
     "3.1.2.5",
     "response: discard",
     M(scalarlg_msg),
     false,
     SIP_ERR_BAD_VALUE,
     SIP_HDR_CSEQ,
     {0}},
    {"quotbal",
     "3.1.2.6",
     "should answer 400 (may infer the quote)",
     M(quotbal_msg),
     false,
     SIP_ERR_BAD_VALUE,
     SIP_HDR_TO,
     {0}},
    {"ltgtruri",
     "3.1.2.7",
     "should answer 400",
     M(ltgtruri_msg),
     false,
     SIP_ERR_URI,
     SIP_HDR_OTHER,
     {0}},
    {"lwsruri",
     "3.1.2.8",
     "should answer 400",
     M(lwsruri_msg),
     false,
     SIP_ERR_URI,
     SIP_HDR_OTHER,
     {0}},
    {"lwsstart",
     "3.1.2.9",
     "should answer 400",
     M(lwsstart_msg),
     false,
     SIP_ERR_START_LINE,
     SIP_HDR_OTHER,
     {0}},
    {"trws",
     "3.1.2.10",
     "should answer 400",
     M(trws_msg),
     false,
     SIP_ERR_START_LINE,
     SIP_HDR_OTHER,
     {0}},
    {"escruri",
     "3.1.2.11",
     "may answer 400 or ignore the headers",
     M(escruri_msg),
     true,
     0,
     0,
     {"INVITE", 0, "escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5", 149209342u, "INVITE", 1, 1,
      150}},
    {"baddate",
     "3.1.2.12",
     "may answer 400 or ignore the Date",
     M(baddate_msg),
     true,
     0,
     0,
     {"INVITE", 0, "baddate.239423mnsadf3j23lj42--sedfnm234", 1392934u, "INVITE", 1, 1, 150}},
    {"regbadct",
     "3.1.2.13",
     "may answer 400 or infer the <>",
     M(regbadct_msg),
     true,
     0,
     0,
     {"REGISTER", 0, "regbadct.k345asrl3fdbv@10.0.0.1", 1u, "REGISTER", 1, 1, 0}},
    {"badaspec",
     "3.1.2.14",
     "must not break; may answer 400",
     M(badaspec_msg),
     false,
     SIP_ERR_URI,
     SIP_HDR_TO,
     {0}},
    {"baddn",
     "3.1.2.15",
     "may answer 400 (this file also lacks the empty line)",
     M(baddn_msg),
     false,
     SIP_ERR_HEADER_SYNTAX,
     SIP_HDR_OTHER,
     {0}},
    {"badvers",
     "3.1.2.16",
     "should answer 505",
     M(badvers_msg),
     false,
     SIP_ERR_VERSION,
     SIP_HDR_OTHER,
     {0}},
    {"mismatch01",
     "3.1.2.17",
     "will answer 400",
     M(mismatch01_msg),
     false,
     SIP_ERR_BAD_VALUE,
     SIP_HDR_CSEQ,
     {0}},
    {"mismatch02",
     "3.1.2.18",
     "will answer 400",
     M(mismatch02_msg),
     false,
     SIP_ERR_BAD_VALUE,
     SIP_HDR_CSEQ,
     {0}},
    {"bigcode",
     "3.1.2.19",
     "response: drop",
     M(bigcode_msg),
     false,
     SIP_ERR_START_LINE,
     SIP_HDR_OTHER,
     {0}},
    {"badbranch",
     "3.2.1",
     "must not break; may answer 400",
     M(badbranch_msg),
     true,
     0,
     0,
     {"OPTIONS", 0, "badbranch.sadonfo23i420jv0as0derf3j3n", 8u, "OPTIONS", 1, 0, 0}},
    {"insuf",
     "3.3.1",
     "should answer 400 (none can be formed: no From/To/Call-ID)",
     M(insuf_msg),
     false,
     SIP_ERR_MISSING_HEADER,
     SIP_HDR_FROM,
     {0}},
    {"unkscm",
     "3.3.2",
     "well formed: 416 is for the application",
     M(unkscm_msg),
     true,
     0,
     0,
     {"OPTIONS", 0, "unkscm.nasdfasser0q239nwsdfasdkl34", 3923423u, "OPTIONS", 1, 0, 0}},
    {"novelsc",
     "3.3.3",
     "well formed: 416 is for the application",
     M(novelsc_msg),
     true,
     0,
     0,
     {"OPTIONS", 0, "novelsc.asdfasser0q239nwsdfasdkl34", 3923423u, "OPTIONS", 1, 0, 0}},
    {"unksm2",
     "3.3.4",
     "well formed",
     M(unksm2_msg),
     true,
     0,
     0,
     {"REGISTER", 0, "unksm2.daksdj@hyphenated-host.example.com", 234902u, "REGISTER", 1, 1, 0}},
    {"bext01",
     "3.3.5",
     "well formed: 420 is for the application",
     M(bext01_msg),
     true,
     0,
     0,
     {"OPTIONS", 0, "bext01.0ha0isndaksdj", 8u, "OPTIONS", 1, 0, 0}},
    {"invut",
     "3.3.6",
     "well formed: 415 is for the application",
     M(invut_msg),
     true,
     0,
     0,
     {"INVITE", 0, "invut.0ha0isndaksdjadsfij34n23d", 235448u, "INVITE", 1, 1, 40}},
    {"regaut01",
     "3.3.7",
     "well formed",
     M(regaut01_msg),
     true,
     0,
     0,
     {"REGISTER", 0, "regaut01.0ha0isndaksdj", 9338u, "REGISTER", 1, 0, 0}},
    {"multi01",
     "3.3.8",
     "should answer 400",
     M(multi01_msg),
     false,
     SIP_ERR_DUPLICATE_HEADER,
     SIP_HDR_CSEQ,
     {0}},
    {"mcl01",
     "3.3.9",
     "should answer 400",
     M(mcl01_msg),
     false,
     SIP_ERR_DUPLICATE_HEADER,
     SIP_HDR_CONTENT_LENGTH,
     {0}},
    {"bcast",
     "3.3.10",
     "well formed: the transport drops it",
     M(bcast_msg),
     true,
     0,
     0,
     {NULL, 200, "bcast.0384840201234ksdfak3j2erwedfsASdf", 35u, "INVITE", 2, 1, 154}},
    {"zeromf",
     "3.3.11",
     "well formed: 483 or answer is for the application",
     M(zeromf_msg),
     true,
     0,
     0,
     {"OPTIONS", 0, "zeromf.jfasdlfnm2o2l43r5u0asdfas", 39234321u, "OPTIONS", 1, 0, 0}},
    {"cparam01",
     "3.3.12",
     "well formed",
     M(cparam01_msg),
     true,
     0,
     0,
     {"REGISTER", 0, "cparam01.70710@saturn.example.com", 2u, "REGISTER", 1, 1, 0}},
    {"cparam02",
     "3.3.13",
     "well formed",
     M(cparam02_msg),
     true,
     0,
     0,
     {"REGISTER", 0, "cparam02.70710@saturn.example.com", 3u, "REGISTER", 1, 1, 0}},
    {"regescrt",
     "3.3.14",
     "well formed",
     M(regescrt_msg),
     true,
     0,
     0,
     {"REGISTER", 0, "regescrt.k345asrl3fdbv@192.0.2.1", 14398234u, "REGISTER", 1, 1, 0}},
    {"sdp01",
     "3.3.15",
     "well formed: 406 is for the application",
     M(sdp01_msg),
     true,
     0,
     0,
     {"INVITE", 0, "sdp01.ndaksdj9342dasdd", 8u, "INVITE", 1, 1, 150}},
    {"inv2543",
     "3.4.1",
     "accepted by elements that want RFC 2543 compatibility; sipshard does not (no Max-Forwards)",
     M(inv2543_msg),
     false,
     SIP_ERR_MISSING_HEADER,
     SIP_HDR_MAX_FORWARDS,
     {0}},
};

/* ---- helpers ------------------------------------------------------------ */

static bool view_is(const struct sip_msg *m, sip_view v, const char *s)
{
	return s && v.len == strlen(s) && memcmp(m->buf + v.off, s, v.len) == 0;
}

static void check_case(struct sip_msg *m, const struct torture *t)
{
	char why[512];
	/* a copy of exactly len bytes: nothing past the datagram can be read */
	char *buf = malloc(t->len);
	assert_non_null(buf);
	memcpy(buf, t->msg, t->len);
	int rc = sip_parse(m, buf, t->len, NULL);
	sip_strerror(m, why, sizeof(why));

	if (t->valid) {
		if (rc != 0)
			fail_msg("%s (RFC 4475 %s, %s): sip_parse returned %d: %s", t->name,
				 t->section, t->rfc, rc, why);
		const struct torture_fields *f = &t->f;
		assert_int_equal(m->is_request, f->method != NULL);
		if (f->method) {
			if (!view_is(m, m->method, f->method))
				fail_msg("%s: method \"%.*s\"", t->name, (int)m->method.len,
					 m->buf + m->method.off);
		} else {
			assert_int_equal(m->status, f->status);
		}
		if (!view_is(m, m->call_id, f->call_id))
			fail_msg("%s: Call-ID \"%.*s\"", t->name, (int)m->call_id.len,
				 m->buf + m->call_id.off);
		assert_int_equal(m->cseq.num, f->cseq);
		if (!view_is(m, m->cseq.method, f->cseq_method))
			fail_msg("%s: CSeq method \"%.*s\"", t->name, (int)m->cseq.method.len,
				 m->buf + m->cseq.method.off);
		assert_int_equal(m->nvias, f->nvias);
		assert_int_equal(m->ncontacts, f->ncontacts);
		assert_int_equal(m->body.len, f->body_len);
	} else {
		if (rc != -t->err || m->err_hdr != t->err_hdr)
			fail_msg(
			    "%s (RFC 4475 %s, %s): sip_parse returned %d (%s) at header %d: %s; "
			    "want -%d (%s) at header %d",
			    t->name, t->section, t->rfc, rc, sip_err_name(-rc), m->err_hdr, why,
			    t->err, sip_err_name(t->err), t->err_hdr);
		assert_non_null(m->err_reason);
	}
	free(buf);
}

/* ---- tests -------------------------------------------------------------- */

static void test_torture_messages(void **state)
{
	(void)state;
	struct sip_msg *m = malloc(sizeof(*m));
	assert_non_null(m);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(m, &cases[i]);
	free(m);
}

/* Fields the table's columns do not reach, where the RFC names them. */
static void test_torture_details(void **state)
{
	(void)state;
	struct sip_msg *m = malloc(sizeof(*m));
	assert_non_null(m);

	/* wsinv: folded values, leading zeros, tags with LWS around '=' */
	assert_int_equal(sip_parse(m, M(wsinv_msg), NULL), 0);
	assert_int_equal(m->max_forwards, 68);
	assert_true(view_is(m, m->from.tag, "98asjd8"));
	assert_true(view_is(m, m->to.tag, "1918181833n"));
	assert_true(view_is(m, m->vias[1].branch, "z9hG4bK9ikj8"));
	assert_true(view_is(m, m->vias[2].host, "192.168.255.111"));
	assert_int_equal(m->nroutes, 1);

	/* intmeth: the To display name keeps its quoted-pairs, NUL included */
	assert_int_equal(sip_parse(m, M(intmeth_msg), NULL), 0);
	assert_int_equal(m->to.display.len, 20);
	assert_memory_equal(m->buf + m->to.display.off, "BEL:\\\a NUL:\\\0 DEL:\\\x7f", 20);
	assert_true(view_is(m, m->from.tag, "_token~1'+`*%!-."));
	assert_true(view_is(m, m->vias[0].branch, "z9hG4bK-.!%66*_+`'~"));
	assert_int_equal(m->max_forwards, 255);

	/* esc01: escapes are kept as written */
	assert_int_equal(sip_parse(m, M(esc01_msg), NULL), 0);
	assert_true(view_is(m, m->ruri.user, "sips%3Auser%40example.com"));
	assert_true(view_is(m, m->from.uri.user, "I%20have%20spaces"));

	/* esc02: C%6Fntact is an unknown header, not a third Contact */
	assert_int_equal(sip_parse(m, M(esc02_msg), NULL), 0);
	assert_int_equal(m->method_id, SIP_METHOD_OTHER);
	assert_true(view_is(m, m->to.display, "%Z%45"));

	/* dblreq: the INVITE after the REGISTER's Content-Length: 0 is not a body */
	assert_int_equal(sip_parse(m, M(dblreq_msg), NULL), 0);
	assert_int_equal(m->method_id, SIP_METHOD_REGISTER);
	assert_int_equal(m->content_length, 0);

	/* semiuri: the ';' is inside the user part */
	assert_int_equal(sip_parse(m, M(semiuri_msg), NULL), 0);
	assert_true(view_is(m, m->ruri.user, "user;par=u%40example.net"));
	assert_true(view_is(m, m->ruri.host, "example.com"));

	/* transports: every transport kept, the unknown one too */
	assert_int_equal(sip_parse(m, M(transports_msg), NULL), 0);
	assert_true(view_is(m, m->vias[1].transport, "SCTP"));
	assert_true(view_is(m, m->vias[3].transport, "UNKNOWN"));

	/* unreason and noreason: the reason phrase as sent, or empty */
	assert_int_equal(sip_parse(m, M(unreason_msg), NULL), 0);
	assert_int_equal(m->reason.len, 74);
	assert_memory_equal(m->buf + m->reason.off, "= 2**3 * 5**2 \xd0\xbd\xd0\xbe", 18);
	assert_int_equal(sip_parse(m, M(noreason_msg), NULL), 0);
	assert_int_equal(m->reason.len, 0);

	/* longreq: the 34th Via, compact and odd-case names included */
	assert_int_equal(sip_parse(m, M(longreq_msg), NULL), 0);
	assert_true(view_is(m, m->vias[0].host, "sip33.example.com"));
	assert_true(view_is(m, m->vias[33].host, "host.example.com"));
	assert_true(view_is(m, m->vias[33].received, "192.0.2.5"));

	/* unksm2: other schemes are kept opaque */
	assert_int_equal(sip_parse(m, M(unksm2_msg), NULL), 0);
	assert_int_equal(m->to.uri.scheme, SIP_SCHEME_OTHER);
	assert_true(view_is(m, m->to.uri.whole, "isbn:2983792873"));
	free(m);
}

/* Every proper prefix of every message parses without error or fails, and
 * reads nothing past its end (under ASan). */
static void test_torture_prefixes(void **state)
{
	(void)state;
	struct sip_msg *m = malloc(sizeof(*m));
	assert_non_null(m);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct torture *t = &cases[i];
		for (size_t n = 0; n < t->len; n++) {
			char *buf = malloc(n ? n : 1);
			assert_non_null(buf);
			memcpy(buf, t->msg, n);
			int rc = sip_parse(m, buf, n, NULL);
			assert_true(rc <= 0);
			free(buf);
		}
	}
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_torture_messages),
	    cmocka_unit_test(test_torture_details),
	    cmocka_unit_test(test_torture_prefixes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
