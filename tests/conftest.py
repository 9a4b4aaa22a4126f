"""Hypothesis profiles and the ``slow`` marker.

Profiles (environment variable ``HYPOTHESIS_PROFILE``):

- ``default``: derandomized, 60 examples per property test, no example database: the same
  examples on every run and machine, so a verdict never changes between runs;
- ``random``: 100 random examples (opt-in, to look for new counterexamples; a failure
  prints the blob that replays it);
- ``thorough``: 1000 random examples.

The deadline is off in every profile: the first example of a test may include a numba
compilation. Tests marked ``slow`` (long property sweeps, multi-process runs) run by
default; ``python -m pytest -m "not slow"`` skips them during development.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=60, deadline=None, derandomize=True,
                          database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("random", max_examples=100, deadline=None, print_blob=True)
settings.register_profile("thorough", max_examples=1000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
