import platform
import subprocess
import sys

import pytest

# Eight arrays of 2 MB alive at once, freed, allocated again: a chunk of frames in the detector.
SCRIPT = """
import resource, sys
import numpy as np
from videorecog.analysis import allocator

if sys.argv[1] == "set":
    assert allocator.keep_freed_memory()

def chunk():
    arrays = [np.ones((2 << 20) // 8) for _ in range(8)]
    del arrays

chunk()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    chunk()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_freed_arrays_are_reused_without_paging_them_in_again() -> None:
    # 20 chunks of 16 MB are 80,000 pages of 4 KB: by default most of them fault in again.
    if _page_faults("default") < 20_000:
        pytest.skip("this host's allocator keeps the memory anyway (huge pages, tunables)")
    assert _page_faults("set") < 1_000
