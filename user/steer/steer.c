/*
 * steer.c - loads and drives kern/steer.bpf.c; userspace twin of its scanner.
 *
 * Owns: the skeleton's lifetime, the socket/bucket maps' contents, the
 * attach to one SO_REUSEPORT group, and summing per-CPU counters. Does not
 * own the sockets (the caller does) nor bucket policy (the controller).
 * Every failure returns a negative errno and leaves a readable sentence in
 * the context, because the daemon's answer to any of them is to log it and
 * run without kernel steering (invariant 6 in README.md).
 */
#include "steer/steer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "steer.skel.h"

#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif
#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68
#endif

struct steer_ctx {
	struct steer_bpf *skel;
	int ncpus;
	int attach_fd; /* fds[0] of the attached group, -1 if not attached */
	unsigned nworkers;
	uint64_t *pcpu_u64;	      /* ncpus slots, for the counter maps */
	struct steer_last *pcpu_last; /* ncpus slots, for steer_last */
	char err[256];
};

/* Per-CPU map values are copied out in 8-byte-aligned slots. */
_Static_assert(sizeof(struct steer_last) % 8 == 0, "steer_last must be 8-byte sized");

static int fail(struct steer_ctx *s, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct steer_ctx *s, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(s->err))
		snprintf(s->err + n, sizeof(s->err) - (size_t)n, ": %s", strerror(-rc));
	return rc;
}

/* libbpf 1.x returns NULL/-1 with errno set, or a negative errno. */
static int neg_errno(int rc)
{
	if (rc < -1)
		return rc;
	return errno > 0 ? -errno : -EIO;
}

/* Whether the kernel's verifier will take the program: without CAP_PERFMON
 * (or CAP_SYS_ADMIN, which stands for it, and for CAP_BPF before 5.8) it also
 * walks every speculative path (Spectre v1 checks) and gives up at its 1M
 * instruction limit, after 8 to 12 s of kernel time on a 2-core host, during
 * which the daemon's sockets are bound and nobody reads them. Booted with
 * mitigations=off the kernel skips those checks, so the load is tried.
 * A capget that fails says nothing: the load is tried too. */
static bool verifier_would_give_up(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	char cmdline[4096] = "";

	if (syscall(SYS_capget, &hdr, data) != 0)
		return false;
	if ((data[CAP_PERFMON / 32].effective & (1u << (CAP_PERFMON % 32))) ||
	    (data[CAP_SYS_ADMIN / 32].effective & (1u << (CAP_SYS_ADMIN % 32))))
		return false;
	FILE *f = fopen("/proc/cmdline", "r");
	if (f) {
		if (!fgets(cmdline, sizeof(cmdline), f))
			cmdline[0] = '\0';
		fclose(f);
	}
	return !strstr(cmdline, "mitigations=off");
}

int steer_open(struct steer_ctx **out, char *err, size_t errlen)
{
	struct steer_ctx *s;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!out)
		return -EINVAL;
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		if (err && errlen)
			snprintf(err, errlen, "steer: out of memory");
		return -ENOMEM;
	}
	s->attach_fd = -1;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		rc =
		    fail(s, s->ncpus < 0 ? s->ncpus : -EINVAL, "steer: cannot count possible CPUs");
		goto out_fail;
	}
	s->pcpu_u64 = calloc((size_t)s->ncpus, sizeof(*s->pcpu_u64));
	s->pcpu_last = calloc((size_t)s->ncpus, sizeof(*s->pcpu_last));
	if (!s->pcpu_u64 || !s->pcpu_last) {
		rc = fail(s, -ENOMEM, "steer: per-CPU buffers");
		goto out_fail;
	}
	if (verifier_would_give_up()) {
		rc = fail(s, -EPERM,
			  "steer: not loading the sk_reuseport program: it needs CAP_PERFMON "
			  "beside CAP_BPF (or root); without it the kernel's verifier spends "
			  "seconds on it and gives up");
		goto out_fail;
	}
	errno = 0;
	s->skel = steer_bpf__open();
	if (!s->skel) {
		rc = fail(s, neg_errno(-1), "steer: cannot open the BPF object");
		goto out_fail;
	}
	errno = 0;
	rc = steer_bpf__load(s->skel);
	if (rc) {
		rc = neg_errno(rc);
		if (rc == -EPERM || rc == -EACCES)
			fail(s, rc,
			     "steer: loading the sk_reuseport program needs CAP_BPF and "
			     "CAP_PERFMON (or root)");
		else if (rc == -E2BIG)
			/* Without CAP_PERFMON the verifier also walks every
			 * speculative path (Spectre v1 checks) and gives up on
			 * this program at its 1M instruction limit: say so, as
			 * "Argument list too long" does not point at the cause. */
			fail(s, rc,
			     "steer: the kernel's verifier gave up on the sk_reuseport "
			     "program (too many paths): it needs CAP_PERFMON beside CAP_BPF "
			     "(or root) to check it");
		else
			fail(s, rc,
			     "steer: the kernel refused the sk_reuseport program or its maps "
			     "(libbpf logged the verifier output)");
		goto out_fail;
	}
	*out = s;
	return 0;

out_fail:
	if (err && errlen)
		snprintf(err, errlen, "%s", s->err);
	steer_close(s);
	return rc;
}

int steer_attach(struct steer_ctx *s, const int *fds, unsigned nworkers)
{
	int map_fd, prog_fd, rc;
	unsigned i;

	if (!s)
		return -EINVAL;
	s->err[0] = '\0';
	if (!fds || nworkers == 0 || nworkers > SHARD_MAX_WORKERS)
		return fail(s, -EINVAL, "steer: need 1..%d worker sockets, got %u",
			    SHARD_MAX_WORKERS, nworkers);

	/* Slots first: a bucket must never name a worker whose slot is stale
	 * from an earlier attach with more workers. */
	map_fd = bpf_map__fd(s->skel->maps.steer_socks);
	for (i = 0; i < SHARD_MAX_WORKERS; i++) {
		uint32_t key = i;
		uint64_t fd;

		if (i >= nworkers) {
			rc = bpf_map_delete_elem(map_fd, &key);
			if (rc && neg_errno(rc) != -ENOENT)
				return fail(s, neg_errno(rc), "steer: cannot clear worker slot %u",
					    i);
			continue;
		}
		if (fds[i] < 0)
			return fail(s, -EBADF, "steer: worker %u has no socket (fd %d)", i, fds[i]);
		fd = (uint64_t)fds[i];
		rc = bpf_map_update_elem(map_fd, &key, &fd, BPF_ANY);
		if (rc)
			return fail(s, neg_errno(rc),
				    "steer: cannot put worker %u's socket (fd %d) in the socket "
				    "array; it must be a bound SO_REUSEPORT UDP socket of the "
				    "same group",
				    i, fds[i]);
	}
	s->nworkers = nworkers;

	map_fd = bpf_map__fd(s->skel->maps.steer_buckets);
	for (i = 0; i < SHARD_NBUCKETS; i++) {
		uint32_t key = i, worker = i % nworkers;

		rc = bpf_map_update_elem(map_fd, &key, &worker, BPF_ANY);
		if (rc)
			return fail(s, neg_errno(rc), "steer: cannot write bucket %u", i);
	}

	prog_fd = bpf_program__fd(s->skel->progs.steer_select);
	if (setsockopt(fds[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog_fd, sizeof(prog_fd)) < 0)
		return fail(s, -errno,
			    "steer: SO_ATTACH_REUSEPORT_EBPF on worker 0's socket (fd %d) "
			    "failed",
			    fds[0]);
	s->attach_fd = fds[0];
	return 0;
}

int steer_set_bucket(struct steer_ctx *s, unsigned bucket, unsigned worker)
{
	uint32_t key = bucket, val = worker;
	int rc;

	if (!s)
		return -EINVAL;
	s->err[0] = '\0';
	if (bucket >= SHARD_NBUCKETS)
		return fail(s, -EINVAL, "steer: bucket %u out of range (%d buckets)", bucket,
			    SHARD_NBUCKETS);
	if (worker >= s->nworkers)
		return fail(s, -EINVAL, "steer: worker %u out of range (%u attached)", worker,
			    s->nworkers);
	rc = bpf_map_update_elem(bpf_map__fd(s->skel->maps.steer_buckets), &key, &val, BPF_ANY);
	if (rc)
		return fail(s, neg_errno(rc), "steer: cannot write bucket %u", bucket);
	return 0;
}

int steer_get_buckets(struct steer_ctx *s, uint32_t table[SHARD_NBUCKETS])
{
	int map_fd, rc;
	uint32_t i;

	if (!s || !table)
		return -EINVAL;
	s->err[0] = '\0';
	map_fd = bpf_map__fd(s->skel->maps.steer_buckets);
	for (i = 0; i < SHARD_NBUCKETS; i++) {
		rc = bpf_map_lookup_elem(map_fd, &i, &table[i]);
		if (rc)
			return fail(s, neg_errno(rc), "steer: cannot read bucket %u", i);
	}
	return 0;
}

/* Sums one per-CPU __u64 slot. */
static int sum_pcpu(struct steer_ctx *s, int map_fd, uint32_t key, uint64_t *out, const char *what)
{
	uint64_t sum = 0;
	int c, rc;

	rc = bpf_map_lookup_elem(map_fd, &key, s->pcpu_u64);
	if (rc)
		return fail(s, neg_errno(rc), "steer: cannot read %s %u", what, key);
	for (c = 0; c < s->ncpus; c++)
		sum += s->pcpu_u64[c];
	*out = sum;
	return 0;
}

int steer_read_counters(struct steer_ctx *s, struct steer_counters *out)
{
	int fd, rc;
	uint32_t i;

	if (!s || !out)
		return -EINVAL;
	s->err[0] = '\0';
	memset(out, 0, sizeof(*out));
	fd = bpf_map__fd(s->skel->maps.steer_counts);
	for (i = 0; i < STEER_CNT_NR; i++) {
		rc = sum_pcpu(s, fd, i, &out->reason[i], "counter");
		if (rc)
			return rc;
	}
	fd = bpf_map__fd(s->skel->maps.steer_wcounts);
	for (i = 0; i < SHARD_MAX_WORKERS; i++) {
		rc = sum_pcpu(s, fd, i, &out->worker[i], "worker counter");
		if (rc)
			return rc;
	}
	return 0;
}

int steer_read_last(struct steer_ctx *s, struct steer_last *out)
{
	uint32_t key = 0;
	int c, rc;

	if (!s || !out)
		return -EINVAL;
	s->err[0] = '\0';
	memset(out, 0, sizeof(*out));
	rc = bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.steer_last), &key, s->pcpu_last);
	if (rc)
		return fail(s, neg_errno(rc), "steer: cannot read steer_last");
	/* ktime is one monotonic clock for all CPUs: the newest is the last. */
	for (c = 0; c < s->ncpus; c++)
		if (s->pcpu_last[c].ns > out->ns)
			*out = s->pcpu_last[c];
	return 0;
}

int steer_read_run_time(struct steer_ctx *s, uint64_t *run_ns, uint64_t *runs)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	int rc;

	if (!s || !run_ns || !runs)
		return -EINVAL;
	s->err[0] = '\0';
	memset(&info, 0, sizeof(info));
	rc = bpf_obj_get_info_by_fd(bpf_program__fd(s->skel->progs.steer_select), &info, &len);
	if (rc)
		return fail(s, neg_errno(rc), "steer: cannot read the program's run time");
	*run_ns = info.run_time_ns;
	*runs = info.run_cnt;
	return 0;
}

int steer_detach(struct steer_ctx *s)
{
	int dummy = 0;

	if (!s)
		return -EINVAL;
	s->err[0] = '\0';
	if (s->attach_fd < 0)
		return fail(s, -ENOENT, "steer: not attached");
	if (setsockopt(s->attach_fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &dummy, sizeof(dummy)) <
	    0)
		return fail(s, -errno, "steer: SO_DETACH_REUSEPORT_BPF on fd %d failed",
			    s->attach_fd);
	s->attach_fd = -1;
	return 0;
}

const char *steer_error(const struct steer_ctx *s)
{
	return s ? s->err : "steer: no context";
}

void steer_close(struct steer_ctx *s)
{
	if (!s)
		return;
	steer_bpf__destroy(s->skel);
	free(s->pcpu_u64);
	free(s->pcpu_last);
	free(s);
}

/* ---- userspace scanner ---------------------------------------------------- */

int steer_callid_hash(const char *buf, size_t len, uint32_t *hash)
{
	const uint8_t *b = (const uint8_t *)buf;
	struct steer_scan st;
	uint32_t n, i = 0;

	if (!buf || len < STEER_MIN_PAYLOAD)
		return 0;
	n = len < STEER_SCAN_MAX ? (uint32_t)len : STEER_SCAN_MAX;
	steer_scan_init(&st);
	while (i < n) {
		if (steer_scan_skipping(&st)) {
			steer_scan_skip(&st, b, &i, n, UINT32_MAX);
			steer_scan_call_id_line(&st, b, &i, n);
			if (i >= n)
				break;
		}
		if (st.state == STEER_ST_VALUE) {
			steer_scan_value_run(&st, b, &i, n, UINT32_MAX);
			break; /* FOUND, or the window ended */
		}
		if (steer_scan_step(&st, b[i++]))
			break;
	}
	if (!steer_scan_finish(&st, len <= STEER_SCAN_MAX))
		return 0;
	if (hash)
		*hash = st.hash;
	return 1;
}

unsigned steer_bucket_of_datagram(const char *buf, size_t len, int *found)
{
	uint32_t h;
	int ok = steer_callid_hash(buf, len, &h);

	if (found)
		*found = ok;
	return ok ? shard_bucket_of(h) : 0;
}

/* ---- Call-IDs for a bucket -------------------------------------------------- */

/*
 * Why three digits always suffice: FNV-1a's prime is odd, so the low 8 bits
 * of (h ^ c) * prime depend on the low 8 bits of h and on c alone, and on
 * each of them one-to-one; the bucket is those 8 bits of the last state
 * (SHARD_NBUCKETS 256). So the bucket follows an 8-bit chain through the
 * bytes, the suffix maps the state before it one-to-one onto the bucket, and
 * three hex digits reach every 8-bit state from every other (test_steer
 * checks all 65536 pairs). Drawing whole random Call-IDs until one fell in
 * the bucket took 256 tries on average, each a snprintf and a hash: the
 * controller's largest cost per call at high set-up rates.
 */
_Static_assert(SHARD_NBUCKETS == 256, "the bucket must be the hash's low 8 bits");
enum { PRIME_INV8 = 0x9b }; /* the FNV prime's inverse modulo 256 */
_Static_assert(((SHARD_FNV_PRIME * PRIME_INV8) & 0xff) == 1, "PRIME_INV8 is the inverse");

static uint8_t low8_step(uint8_t l, uint8_t c)
{
	return (uint8_t)shard_hash_step(l, c);
}

/* The state before c, given the state after it. */
static uint8_t low8_unstep(uint8_t after, uint8_t c)
{
	return (uint8_t)((after * PRIME_INV8) ^ c);
}

static bool is_lower_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int steer_callid_for_bucket(char *out, size_t cap, uint64_t rnd, uint32_t bucket,
			    const char *suffix)
{
	static const char hex[] = "0123456789abcdef";
	const size_t slen = strlen(suffix);

	if (bucket >= SHARD_NBUCKETS || 16 + slen > SHARD_CALLID_MAX || cap < 16 + slen + 1)
		return -EINVAL;
	for (size_t i = 0; i < slen; i++)
		if (shard_callid_end((uint8_t)suffix[i]))
			return -EINVAL;
	uint32_t h = SHARD_FNV_OFFSET;
	for (int i = 0; i < 13; i++) {
		out[i] = hex[(rnd >> (4 * i)) & 15];
		h = shard_hash_step(h, (uint8_t)out[i]);
	}
	/* the state the three digits must leave for the suffix to end in bucket */
	uint8_t want = (uint8_t)bucket;
	for (size_t i = slen; i-- > 0;)
		want = low8_unstep(want, (uint8_t)suffix[i]);
	const uint8_t before_last = (uint8_t)(want * PRIME_INV8);
	for (int x = 0; x < 16; x++) {
		uint8_t l1 = low8_step((uint8_t)h, (uint8_t)hex[x]);
		for (int y = 0; y < 16; y++) {
			uint8_t z = (uint8_t)(low8_step(l1, (uint8_t)hex[y]) ^ before_last);
			if (!is_lower_hex(z))
				continue;
			out[13] = hex[x];
			out[14] = hex[y];
			out[15] = (char)z;
			memcpy(out + 16, suffix, slen + 1);
			return (int)(16 + slen);
		}
	}
	return -EINVAL; /* unreachable: every state reaches every other */
}
