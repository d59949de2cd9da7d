import os
import tempfile

# Generated network modules go to a cache of the test run's own, never the user's.
os.environ.setdefault("NETC_CACHE_DIR", tempfile.mkdtemp(prefix="netc-test-cache-"))
# Count Numba runtime allocations (read by the zero-allocation tests); must be set before numba loads.
os.environ.setdefault("NUMBA_NRT_STATS", "1")
