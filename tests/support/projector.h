/* A projector on its own thread: a consumer group member that applies every batch to PostgreSQL and
 * commits, until stopped. It can be paused (it then polls nothing) to hold sales back from PostgreSQL. */
#ifndef REDSTORE_TEST_PROJECTOR_H
#define REDSTORE_TEST_PROJECTOR_H

#include <pthread.h>
#include <redstore.h>
#include <stdbool.h>

typedef struct rs_test_projector {
	pthread_t thread;
	redstore_client *db;
	redstore_consumer *consumer;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool paused, idle, stop;
	int error;
	char group[64]; /* its consumer group */
} rs_test_projector;

/* Starts it with `cfg` (NULL: the dev stack's environment) in consumer group `group` (NULL: a new one).
 * Start it after every topic it must read exists: the pattern subscription finds them at once. */
void rs_test_projector_start(rs_test_projector *p, const redstore_config *cfg, const char *group);
/* Pausing returns once the thread has stopped polling (so nothing more reaches PostgreSQL). */
void rs_test_projector_pause(rs_test_projector *p, bool pause);
/* Stops and frees it; fails the test if a batch failed. */
void rs_test_projector_stop(rs_test_projector *p);

#endif
