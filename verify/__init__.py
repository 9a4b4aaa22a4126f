"""The claims, and the runner that checks them: ``python -m verify``.

Each setting has a module ``verify.<setting>`` holding ``CLAIMS``, a list of
:class:`verify.claims.Claim`. A claim's check simulates with ``theory`` and compares
against ``analytic`` (or an exact solution), returning :class:`verify.claims.Evidence`.
"""

from theory import __version__  # noqa: F401  (one version for every package)
