/**
 * @file
 * libredstore: multi-terminal retail point of sale and inventory on Redis, Kafka and PostgreSQL.
 *
 * The umbrella header: include this one. Everything it reaches is public API; nothing else is.
 * Start with redstore/client.h; docs/conventions.md explains naming, ownership, errors and threads.
 */
#ifndef REDSTORE_H
#define REDSTORE_H

#include "redstore/common.h"
#include "redstore/errors.h"
#include "redstore/version.h"
#include "redstore/config.h"
#include "redstore/client.h"
#include "redstore/db.h"
#include "redstore/catalog.h"
#include "redstore/inventory.h"
#include "redstore/sale.h"
#include "redstore/events.h"
#include "redstore/jobs.h"
#include "redstore/sync.h"
#include "redstore/hub.h"
#include "redstore/analytics.h"
#include "redstore/maintenance.h"
#include "redstore/terminal.h"
#include "redstore/auth.h"
#include "redstore/shift.h"
#include "redstore/commit.h"

#endif
