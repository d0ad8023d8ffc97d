"""The bindings keep up with the headers: every public header is %included by capi.i and every function
it declares is callable from redstore.capi (or is replaced by a named Python-friendly helper)."""
import glob
import os
import re

from redstore import capi

HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = os.environ.get("REDSTORE_INCLUDE_DIR") or os.path.join(HERE, "..", "..", "..", "include")
INTERFACE = os.path.join(HERE, "..", "redstore", "capi.i")

# Functions wrapped another way, and what replaces them.
REPLACED = {
    "redstore_sale_commit_many": "redstore_py_sale_commit_many",
    "redstore_job_add_many": "redstore_py_job_add_many",
    "redstore_webhook_handler": "WEBHOOK_HANDLER",
    "redstore_eod_handler": "EOD_HANDLER",
    "redstore_terminal_events_start": "redstore_py_terminal_events_start",
}


def headers():
    found = sorted(glob.glob(os.path.join(INCLUDE, "redstore", "*.h")))
    assert found, "no headers under %s" % INCLUDE
    return found


def test_every_public_header_is_included_by_the_interface():
    text = open(INTERFACE).read()
    missing = [os.path.basename(h) for h in headers()
               if '%%include "redstore/%s"' % os.path.basename(h) not in text]
    assert not missing, "add %%include lines to bindings/python/redstore/capi.i for: %s" % missing


def test_every_public_function_is_callable_from_python():
    missing = []
    for h in headers():
        for name in re.findall(r"REDSTORE_EXTERN\([^;]*?\)\s*(redstore_\w+)\s*\(", open(h).read()):
            wrapped = REPLACED.get(name, name)
            if not callable(getattr(capi, wrapped, None)) and not hasattr(capi, wrapped):
                missing.append("%s (%s)" % (name, os.path.basename(h)))
    assert not missing, "not wrapped by redstore.capi: %s" % missing
