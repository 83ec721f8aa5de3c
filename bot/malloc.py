"""Keep glibc's allocator from holding memory per thread.

glibc gives each thread that allocates its own malloc arena (up to 8 per core), and an
arena keeps what was freed in it. panbot's threads (jobs, listeners, the press pool)
each touch a poll's or a post's worth of objects, so after a burst the process keeps
several arenas' worth of freed memory: 13 MB of the 155 MB measured after the 10,000-log
burst (docs/performance.md, memory). Two arenas is the usual setting for threaded
Python services; MALLOC_ARENA_MAX in the environment still wins.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

# mallopt's parameter number for the arena limit (glibc's malloc.h)
M_ARENA_MAX = -8
ARENAS = 2


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas; True if applied. Call before starting threads."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to cap
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    applied = bool(mallopt(M_ARENA_MAX, arenas))
    if not applied:
        log.debug("mallopt(M_ARENA_MAX) refused; allocator left as it is")
    return applied
