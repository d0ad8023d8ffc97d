/* The CRedstore module's one header: the library's umbrella header, found on the include path. */
#ifndef REDSTORE_SWIFT_SHIM_H
#define REDSTORE_SWIFT_SHIM_H
#include <redstore.h>
#endif
