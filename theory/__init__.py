"""Models and training algorithms, as Numba-jitted solvers with plain NumPy twins.

One module per setting (``theory.linear_chain``, ...). Shared pieces:
``theory.integrators`` (Runge-Kutta tableaux and step plans), ``theory.results``
(the trajectory and its status), ``theory.validation`` (input checks) and
``theory.numba_options`` (the one place where numba options are decided).
"""
