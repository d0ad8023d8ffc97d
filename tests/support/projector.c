/* A projector on its own thread, for the suites that need PostgreSQL to catch up (see projector.h). */
#include "projector.h"
#include "testutil.h"

#include <stdio.h>
#include <string.h>

static int apply_batch(const redstore_event *const *events, size_t n, void *payload)
{
	return redstore_projector_apply(payload, events, n, NULL);
}

static void *projector_main(void *arg)
{
	rs_test_projector *p = arg;
	for (;;) {
		int rc;
		pthread_mutex_lock(&p->mu);
		p->idle = p->paused;
		pthread_cond_broadcast(&p->cv);
		while (p->paused && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		p->idle = false;
		if (p->stop) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		pthread_mutex_unlock(&p->mu);
		rc = redstore_consumer_poll(p->consumer, 100, NULL);
		if (!rc)
			rc = redstore_consumer_commit(p->consumer);
		if (rc && rc != REDSTORE_EUNAVAILABLE) {
			pthread_mutex_lock(&p->mu);
			if (!p->error)
				p->error = rc;
			pthread_mutex_unlock(&p->mu);
		}
	}
}

void rs_test_projector_start(rs_test_projector *p, const redstore_config *cfg, const char *group)
{
	redstore_consumer_options o = { NULL, NULL, 500, 3 };
	memset(p, 0, sizeof(*p));
	if (cfg)
		RS_OK(redstore_client_new(&p->db, cfg));
	else
		p->db = rs_test_client();
	if (group)
		snprintf(p->group, sizeof(p->group), "%s", group);
	else
		rs_test_unique(p->group, sizeof(p->group), "projector");
	o.group_id = p->group;
	RS_OK(redstore_consumer_new(&p->consumer, p->db, &o));
	RS_OK(redstore_consumer_on_batch(p->consumer, apply_batch, p->db));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	ck_assert_int_eq(pthread_create(&p->thread, NULL, projector_main, p), 0);
}

void rs_test_projector_pause(rs_test_projector *p, bool pause)
{
	pthread_mutex_lock(&p->mu);
	p->paused = pause;
	pthread_cond_broadcast(&p->cv);
	while (pause && !p->idle)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

void rs_test_projector_stop(rs_test_projector *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	ck_assert_int_eq(pthread_join(p->thread, NULL), 0);
	ck_assert_msg(p->error == 0, "projector thread failed: %s", redstore_err_name(p->error));
	redstore_consumer_free(p->consumer);
	redstore_client_free(p->db);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
}
