"""A time loop loaded from numba's cache that calls a parallel kernel must not crash.

numba launches its threads when it compiles, or is called from Python, a parallel
function; cached code that reaches a parallel region first crashes the process
(segmentation fault). The order that exposed it: the parallel kernel compiled and cached
by a direct call, then a process compiling the diagonal loops against the cached kernel,
then a process loading those loops from the cache. theory.solve launches the threads
before any loop runs.
"""
import subprocess
import sys

import pytest

DIRECT = ("import numpy as np; from theory.linalg import least_squares_gradient_in_parts as f; "
          "A = np.ones((5, 7)); f(A, np.ones(5), np.ones(7), np.empty(5), np.empty((8, 7)), "
          "np.empty(7))")
SOLVE = ("from theory import diagonal_linear as m; args, kw = m.examples()['wn_flow']; "
         "print(m.SOLVERS['wn_flow'](*args, **kw).status.name)")


@pytest.mark.slow
def test_loops_loaded_from_the_cache_run_a_parallel_kernel(tmp_path):
    env = {"NUMBA_CACHE_DIR": str(tmp_path), "PATH": "", "PYTHONPATH": ":".join(sys.path)}
    subprocess.run([sys.executable, "-c", DIRECT], env=env, check=True)
    for _ in range(2):  # compile and cache the loops, then load them
        out = subprocess.run([sys.executable, "-c", SOLVE], env=env, capture_output=True,
                             text=True)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip() == "COMPLETED"
