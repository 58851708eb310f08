"""glibc's allocator set for the analysis, which frees and allocates again, at every chunk of
frames, arrays of one to a few megabytes, several alive at once.

By default glibc gives the free top of its heap back to the system once it exceeds twice the
size of the largest array freed so far, so every chunk's arrays are paged in again, page fault
by page fault (on the 5,301 frames of a 160x90 clip: 45,000 faults, and about a tenth of the
wall time). Here freed memory is kept for reuse up to ``TRIM_BYTES`` (bounded by the analysis'
own peak: memory stays flat in the video's length) and arrays under ``MMAP_BYTES`` come from the
heap. Other C libraries are left as they are.
"""

from __future__ import annotations

import ctypes
import functools

# From glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
TRIM_BYTES = 32 << 20
MMAP_BYTES = 8 << 20  # larger blocks (a 4K frame's planes) are still mapped on their own


@functools.cache
def keep_freed_memory() -> bool:
    """Set glibc's allocator (once per process; forked processes inherit it). True when it is
    glibc's and took the settings."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, TypeError):  # no C library to open, or no mallopt in it
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_BYTES)
    )
