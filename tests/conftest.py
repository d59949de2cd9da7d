import os
import tempfile

# Count Numba runtime allocations (read by the zero-allocation tests); must be set before numba loads.
os.environ.setdefault("NUMBA_NRT_STATS", "1")

import netc.kernels  # noqa: E402  (fixes Numba's kernel cache folder before the override below)

# Generated network modules go to a cache of the test run's own, never the user's.
os.environ["NETC_CACHE_DIR"] = tempfile.mkdtemp(prefix="netc-test-cache-")
