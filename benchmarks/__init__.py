"""Performance benchmarks of the theory solvers (run each module with ``python -m``)."""

from theory import __version__  # noqa: F401  (one version for every package)
