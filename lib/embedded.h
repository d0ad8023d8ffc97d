/* Tables generated from lib/sql/NNNN_name.sql and lib/lua/NAME.lua by cmake/embed.cmake. */
#ifndef REDSTORE_EMBEDDED_H
#define REDSTORE_EMBEDDED_H

typedef struct redstore__embedded {
	int version;        /* migrations: the NNNN of NNNN_name.sql; scripts: index */
	const char *name;   /* file name without extension */
	const char *text;
} redstore__embedded;

extern const redstore__embedded redstore__migrations[];
extern const int redstore__migration_count;
extern const redstore__embedded redstore__lua_scripts[];
extern const int redstore__lua_script_count;

#endif
