"""Performance benchmarks of the theory solvers (run each module with ``python -m``)."""
