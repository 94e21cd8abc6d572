/*
 * metrics.h - the statistics document (daemon_stats_json, what sipshardctl
 * stats prints) in the Prometheus text exposition format, version 0.0.4, for
 * the metrics endpoint (metrics_listen, mgmt.h).
 *
 * Owns: the metric names (the document's member path joined by '_', after
 * "sipshard_"), the members that become labels (worker, method, reason,
 * target, registration), the escaping of label values and HELP texts, and
 * each family's HELP sentence and TYPE (gauge or counter), from one table
 * keyed by family name. A family the table lacks (a member added to the
 * document without a row) still gets both lines: a HELP that names its
 * member and says it has no description (METRICS_HELP_FALLBACK; the
 * integration test mgmt.sh fails on it) and TYPE counter, gauge for an
 * "_info" one. Does not own: the statistics (daemon.c) or HTTP (mgmt.c).
 *
 * Shape of the output: the families sorted by name, each once, as
 * "# HELP NAME TEXT", "# TYPE NAME gauge|counter", then all its samples in
 * the order the document gives them; a HELP text escapes backslash as "\\"
 * and line feed as "\n", a label value those two and '"' as "\"".
 */
#ifndef SIPSHARD_METRICS_H
#define SIPSHARD_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The HELP text of a family without a row: "%.*s" is its name after
 * "sipshard_". */
#define METRICS_HELP_FALLBACK "Statistic %.*s of sipshardctl stats (no description here yet)."

/* stats as the metrics text: malloc'd (the caller frees it), or NULL when out
 * of memory. */
char *metrics_format(const json_t *stats);

/* A family's row: its HELP text (unescaped) and whether it is a gauge; NULL
 * for a family without one. name: without "sipshard_", len bytes. */
const char *metrics_help(const char *name, size_t len, bool *gauge);

/* in escaped as the text format wants it into out (cap bytes, NUL-terminated,
 * cut at a whole escape when it does not fit): backslash and line feed, and
 * with label the double quote too. Returns out. */
const char *metrics_escape(const char *in, bool label, char *out, size_t cap);

/* For the unit test: the rows, sorted by name and each name once. */
struct metrics_row {
	const char *name; /* without "sipshard_" */
	bool gauge;
	const char *help;
};
extern const struct metrics_row metrics_rows[];
extern const size_t metrics_nrows;

#endif
