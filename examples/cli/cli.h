/* redstore-cli: shared helpers and the command table of the other source files. */
#ifndef REDSTORE_CLI_H
#define REDSTORE_CLI_H

#include <redstore.h>

/* Prints "redstore-cli: WHAT: <last error>" and returns 1. */
int cli_fail(const char *what);
/* A client configured from the REDSTORE_* environment; returns 0 or 1 after printing why. */
int cli_client(redstore_client **out);

/* Commands implemented in other files, appended to the table in main.c. */
#define CLI_EXTRA_COMMANDS

#endif
