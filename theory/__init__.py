"""Models and training algorithms, as Numba-jitted solvers with plain NumPy twins.

One module per setting (``theory.linear_chain``, ...; the list is ``theory.registry``).
Shared pieces: ``theory.solve`` (the core every solver calls), ``theory.loops`` (the time
loops, compiled per setting), ``theory.integrators`` (Runge-Kutta tableaux, step plans,
default tolerances), ``theory.results`` (trajectory, status, stats), ``theory.measure``
(rates, slopes, times to accuracy), ``theory.elementary`` and ``theory.linalg`` (kernel
building blocks), ``theory.validation`` (input checks) and ``theory.numba_options`` (the
one place where numba options are decided).
"""

__version__ = "0.1.0"
"""The package version (setup.cfg reads it from here; the other packages import it)."""
