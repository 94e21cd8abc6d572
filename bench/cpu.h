/*
 * cpu.h - which processor a benchmark's figures come from, for the header
 * line of parse_bench and steer_bench: their ratios differ from one CPU to
 * another (bench/README-parse.md). Owns reading /proc/cpuinfo's first
 * processor; does not own any timing.
 */
#ifndef SIPSHARD_BENCH_CPU_H
#define SIPSHARD_BENCH_CPU_H

#include <stdio.h>
#include <string.h>

/* The CPU the figures come from, as /proc/cpuinfo names it ("AMD EPYC
 * (family 25 model 17)"): ratios differ from one CPU to another, so a table
 * says which it is. "unknown CPU" when the file is not there. */
static inline void bench_cpu_name(char *out, size_t cap)
{
	char line[256], name[128] = "", family[16] = "", model[16] = "";
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(out, cap, "unknown CPU");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && strcmp(line, "\n") != 0) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		char *val = colon + 1 + strspn(colon + 1, " \t");
		val[strcspn(val, "\n")] = 0;
		if (!strncmp(line, "model name", 10))
			snprintf(name, sizeof(name), "%s", val);
		else if (!strncmp(line, "cpu family", 10))
			snprintf(family, sizeof(family), "%s", val);
		else if (!strncmp(line, "model\t", 6) || !strncmp(line, "model ", 6))
			snprintf(model, sizeof(model), "%s", val);
	}
	fclose(f);
	if (name[0] && family[0])
		snprintf(out, cap, "%s (family %s model %s)", name, family, model[0] ? model : "?");
	else if (name[0])
		snprintf(out, cap, "%s", name);
}

#endif
