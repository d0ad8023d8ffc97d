/* Internal access to configuration values by property id. */
#ifndef REDSTORE_LIB_CONFIG_H
#define REDSTORE_LIB_CONFIG_H

#include "internal.h"

typedef enum redstore__config_id {
#define REDSTORE_CONFIG_PROPERTY(ID, key, type, def, range, check, secret, doc) REDSTORE_CFG_##ID,
#include "config_props.h"
#undef REDSTORE_CONFIG_PROPERTY
	REDSTORE_CFG__COUNT
} redstore__config_id;

const char *redstore__config_str(const redstore_config *cfg, redstore__config_id id);
int64_t redstore__config_int(const redstore_config *cfg, redstore__config_id id);
bool redstore__config_bool(const redstore_config *cfg, redstore__config_id id);

/* Parsed forms shared by the engine clients. */
typedef struct redstore__redis_url {
	char host[256];
	int port;
	char path[512];      /* unix socket path, or "" for TCP */
	char user[128];
	char password[256];
	int db;
} redstore__redis_url;

int redstore__redis_url_parse(redstore__redis_url *out, const char *url);

/* Validates a store id: 1-64 of [A-Za-z0-9_-]. Returns 0 or REDSTORE_EINVALID naming `what`. */
int redstore__check_store_id(const char *id, const char *what);

#endif
