"""Hypothesis profiles: ``dev`` (default), ``ci`` (derandomized), ``thorough``.

Select with the environment variable HYPOTHESIS_PROFILE. The deadline is off in every
profile: the first example of a test may include a numba compilation.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True, database=None,
                          print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
