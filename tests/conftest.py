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

The suite runs on two processes (pytest-xdist, ``-n 2`` in setup.cfg; ``-n 0`` runs it
in one). Every test of a setting (``tests/test_<setting>_*.py``) is in
one group, and so on one process, so that the setting's kernels are compiled once;
every other test module is a group of its own. The processes share numba's cache
directory. A test's examples and verdict do not depend on the process it runs on.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

from theory.registry import SETTINGS

settings.register_profile("default", max_examples=60, deadline=None, derandomize=True,
                          database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("random", max_examples=100, deadline=None, print_blob=True)
settings.register_profile("thorough", max_examples=1000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def xdist_group_of(file_name: str) -> str:
    """The group of a test module on the processes: its setting for
    ``test_<setting>_*.py``, else the module itself."""
    settings_first = sorted(SETTINGS, key=len, reverse=True)
    return next((s for s in settings_first if file_name.startswith(f"test_{s}_")),
                file_name.removesuffix(".py"))


def pytest_collection_modifyitems(config, items):
    """Order the groups (:func:`xdist_group_of`) as the processes should take them: the
    settings first, most tests first (each compiles its kernels), then the modules that
    run every setting (contracts, figures, the command line), which then load the kernels
    from the shared cache instead of compiling them a second time on the other process."""
    groups = {id(item): xdist_group_of(item.path.name) for item in items}
    sizes = {}
    for group in groups.values():
        sizes[group] = sizes.get(group, 0) + 1
    items.sort(key=lambda item: (groups[id(item)] not in SETTINGS,
                                 -sizes[groups[id(item)]] if groups[id(item)] in SETTINGS else 0))


def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's scope scheduling with :func:`xdist_group_of` as the scope: each group
    runs whole on one process, the groups in the order of the collection (setup.cfg passes
    ``--no-loadscope-reorder``). xdist's own ``--dist loadgroup`` cannot be used: it renames
    node ids through an attribute that pytest 9 no longer reads, and silently distributes
    test by test."""
    from xdist.scheduler import LoadScopeScheduling

    class SettingScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group_of(nodeid.split("::", 1)[0].rsplit("/", 1)[-1])

    return SettingScheduling(config, log)
