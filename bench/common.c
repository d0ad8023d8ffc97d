#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void bench_check(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "bench: %s: %s (%s)\n", what, redstore_error_last(), redstore_err_name(rc));
		exit(1);
	}
}

int64_t bench_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double bench_percentile(double *v, size_t n, double p)
{
	size_t i;
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

double bench_median(double *v, size_t n)
{
	return bench_percentile(v, n, 50);
}

char *bench_capture(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, got;
	char chunk[4096];
	if (!p)
		return NULL;
	while ((got = fread(chunk, 1, sizeof(chunk), p)) > 0) {
		if (len + got + 1 > cap) {
			cap = (len + got + 1) * 2;
			buf = realloc(buf, cap);
			if (!buf)
				break;
		}
		memcpy(buf + len, chunk, got);
		len += got;
	}
	if (buf)
		buf[len] = '\0';
	pclose(p);
	return buf;
}

void bench_print_machine(void)
{
	char *cpu = bench_capture("grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'");
	printf("machine: %s, %ld cores, %.1f GiB\n", cpu ? strtok(cpu, "\n") : "?", sysconf(_SC_NPROCESSORS_ONLN),
	       (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024 * 1024));
	free(cpu);
}

double bench_redis_benchmark(const char *cmd)
{
	char *out = bench_capture(cmd), *p = out ? strstr(out, "requests per second") : NULL;
	double v;
	if (!p) {
		fprintf(stderr, "bench: redis-benchmark gave no figure: %s\n", out ? out : "(no output)");
		exit(1);
	}
	while (p > out && p[-1] == ' ')
		p--;
	while (p > out && (p[-1] == '.' || (p[-1] >= '0' && p[-1] <= '9')))
		p--;
	v = atof(p);
	free(out);
	return v;
}
