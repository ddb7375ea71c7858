"""The C allocator of a web worker: one malloc arena, unless the operator chose (``MALLOC_ARENA_MAX``).

glibc gives each thread that allocates its own arena, up to eight per core, and an
arena keeps the memory its thread freed for that thread's next allocations. A
gthread worker has several threads (``DATAVIZ_THREADS``, 4), and a query over a
large tenant allocates and frees temporaries of tens of megabytes, so each thread
ended up holding its own high-water mark of them. Measured on the 100M-event
snapshot, 2 workers after queries over every tenant's whole history (issue 14,
docs/benchmarks.md): every web process together 2.68 to 2.85 GB PSS with glibc's
default, 2.26 GB with two arenas, 1.96 to 2.09 GB with one. The threads share the
GIL, so one arena costs little contention: the same sweep took 14 to 19 s with one
arena and 17 to 25 s with glibc's default.

The cap must be set before the process has a second arena: glibc keeps the ones
it made. gunicorn's master sets it when it reads deploy/gunicorn.conf.py, before
its control-socket thread starts, and its forked workers inherit it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger("dataviz.allocator")
M_ARENA_MAX = -8  # glibc's malloc.h
WEB_ARENAS = 1


def limit_malloc_arenas(arenas: int = WEB_ARENAS) -> bool:
    """Cap glibc's arenas at ``arenas`` before the process starts its threads; False where it cannot
    (the operator set ``MALLOC_ARENA_MAX``, which glibc already applied, or the C library is not glibc)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    if mallopt(M_ARENA_MAX, arenas) != 1:
        log.info("the C library refused M_ARENA_MAX=%d; keeping its arenas", arenas)
        return False
    return True
