/*
 * redstore-kafka-dev: serves librdkafka's mock Kafka cluster (the real Kafka protocol, in memory) on
 * loopback, so a laptop or a CI machine needs no JVM. It creates the redstore topics, prints and writes
 * the bootstrap address, and runs until SIGINT or SIGTERM.
 *
 *   redstore-kafka-dev [--brokers N] [--partitions P] [--prefix redstore.] [--bootstrap-file FILE]
 *
 * Faults for chaos tests, by signal: SIGUSR1 takes every broker down, SIGUSR2 brings them back up.
 * Nothing in the library depends on this program: point REDSTORE_KAFKA_BROKERS at a real cluster instead.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop, fault_down, fault_up;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		fault_down = 1;
	else if (sig == SIGUSR2)
		fault_up = 1;
	else
		stop = 1;
}

static const char *const domains[] = { "sales", "inventory", "catalog", "shifts", "audit", "deadletter" };

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--brokers N] [--partitions P] [--prefix PREFIX] [--bootstrap-file FILE]\n", argv0);
	return 2;
}

static int write_file(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "w")) || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int brokers = 3, partitions = 6;
	const char *prefix = "redstore.", *file = NULL;
	char err[512], topic[256];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	struct sigaction sa;
	sigset_t block, old;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--brokers") && i + 1 < argc)
			brokers = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--partitions") && i + 1 < argc)
			partitions = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--prefix") && i + 1 < argc)
			prefix = argv[++i];
		else if (!strcmp(argv[i], "--bootstrap-file") && i + 1 < argc)
			file = argv[++i];
		else
			return usage(argv[0]);
	}
	if (brokers < 1 || brokers > 16 || partitions < 1 || partitions > 1000)
		return usage(argv[0]);

	/* Signals stay blocked except inside sigsuspend(), so none is lost between a check and the wait.
	 * Blocked before librdkafka starts its threads, which inherit the mask and so never see them. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &old);

	/* The mock cluster lives inside a librdkafka handle; this one is never used to produce. */
	conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
	if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
		fprintf(stderr, "redstore-kafka-dev: %s\n", err);
		return 1;
	}
	if (!(mc = rd_kafka_mock_cluster_new(rk, brokers))) {
		fprintf(stderr, "redstore-kafka-dev: cannot create the mock cluster\n");
		rd_kafka_destroy(rk);
		return 1;
	}
	for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++) {
		rd_kafka_resp_err_t e;
		snprintf(topic, sizeof(topic), "%s%s", prefix, domains[i]);
		e = rd_kafka_mock_topic_create(mc, topic, partitions, brokers < 3 ? brokers : 3);
		if (e) {
			fprintf(stderr, "redstore-kafka-dev: creating %s: %s\n", topic, rd_kafka_err2str(e));
			return 1;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);

	printf("bootstrap: %s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	if (file && write_file(file, rd_kafka_mock_cluster_bootstraps(mc)))
		return 1;
	while (!stop) {
		if (fault_down) {
			fault_down = 0;
			for (int b = 1; b <= brokers; b++)
				rd_kafka_mock_broker_set_down(mc, b);
			fprintf(stderr, "redstore-kafka-dev: all brokers down\n");
		}
		if (fault_up) {
			fault_up = 0;
			for (int b = 1; b <= brokers; b++)
				rd_kafka_mock_broker_set_up(mc, b);
			fprintf(stderr, "redstore-kafka-dev: all brokers up\n");
		}
		if (!stop && !fault_down && !fault_up)
			sigsuspend(&old);
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	if (file)
		unlink(file);
	return 0;
}
