"""numba's on-disk cache is keyed by every source a kernel can depend on.

numba checks a cached kernel only against its own file's stamp, yet a kernel carries the
code of the jitted functions it calls in other modules and the constants it reads from
them: theory.numba_options caches each module's kernels in a directory named by a hash of
its source and of every theory module it imports, directly or through others.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from theory import linear_chain, numba_options, orthogonal
from theory.numba_options import cache_directory, package_imports, source_key

PACKAGE = Path(numba_options.__file__).resolve().parent


def package_copy(root: Path, edit: str | None = None) -> Path:
    """A copy of the theory package under ``root``, with a comment appended to the module
    ``edit`` (a change numba's own check of the other modules cannot see)."""
    copy = root / "theory"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    if edit is not None:
        with open(copy / f"{edit}.py", "a") as source:
            source.write("# edited\n")
    return copy


def test_imports_are_read_from_the_source_in_every_form(tmp_path):
    package = tmp_path / "theory"
    package.mkdir()
    for name in ("__init__", "a", "b", "c", "d", "e"):
        (package / f"{name}.py").write_text("")
    (package / "user.py").write_text(
        "import numpy\nimport theory.a\nfrom theory.b import x\nfrom theory import c, VERSION\n"
        "from . import d\n\ndef later():\n    from .e import y\n")
    assert package_imports(package / "user.py") == {
        package / f"{name}.py" for name in ("a", "b", "c", "__init__", "d", "e")}


def test_the_key_changes_with_every_module_a_kernel_module_imports_and_only_those(tmp_path):
    """Keys of a verbatim copy equal the installed ones (names and contents, not paths);
    an edit of theory.linalg changes the key of a setting whose kernels call its products
    and not that of the chain, which does not import it; an edit of the loops (imported
    through theory.solve) changes both; an edit of a part module changes its setting's."""
    same = package_copy(tmp_path / "same")
    for module in (linear_chain, orthogonal):
        assert source_key(same / Path(module.__file__).name) == source_key(module.__file__)
    for edited, changed, unchanged in (("linalg", ["relu_network", "orthogonal"], ["linear_chain"]),
                                       ("loops", ["linear_chain", "orthogonal"], []),
                                       ("elementary", ["max_margin"], ["linear_chain"]),
                                       ("orthogonal_maps", ["orthogonal"], ["relu_network"])):
        copy = package_copy(tmp_path / edited, edit=edited)
        for name in changed:
            assert source_key(copy / f"{name}.py") != source_key(same / f"{name}.py"), (edited, name)
        for name in unchanged:
            assert source_key(copy / f"{name}.py") == source_key(same / f"{name}.py"), (edited, name)


@pytest.mark.skipif(not numba_options.CACHE, reason="OVERPARAM_NUMBA_CACHE=0")
def test_a_setting_s_loops_are_cached_in_its_keyed_directory():
    linear_chain.gradient_descent(2.0, [1.0, 0.5], lr=0.1, steps=[3])
    directory = cache_directory(linear_chain.__file__)
    assert directory.name == f"linear_chain-{source_key(linear_chain.__file__)}"
    assert list(directory.rglob("linear_chain.fixed_step_field-*.nbi"))


TOY = ("from theory.elementary import exp\nfrom theory.numba_options import jit\n\n"
       "@jit\ndef kernel(x):\n    return exp(x)\n")
RUN = ("from theory import toy; toy.kernel(0.5); s = toy.kernel.stats; "
       "print(sum(s.cache_hits.values()), sum(s.cache_misses.values()))")


@pytest.mark.slow
def test_an_edit_of_a_shared_module_recompiles_the_kernels_that_call_it(tmp_path):
    """A kernel calling theory.elementary.exp: compiled and cached, loaded from the cache,
    recompiled after an edit of elementary.py alone (its own file untouched, so numba's
    own check would have loaded the stale copy), loaded again; compiled, not loaded, with
    OVERPARAM_NUMBA_CACHE=0."""
    package = tmp_path / "src" / "theory"
    package.mkdir(parents=True)
    for name in ("__init__", "numba_options", "elementary"):
        shutil.copy(PACKAGE / f"{name}.py", package)
    (package / "toy.py").write_text(TOY)
    env = {**os.environ, "PYTHONPATH": str(package.parent),
           "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "OVERPARAM_NUMBA_CACHE": "1"}

    def run(**override) -> str:
        return subprocess.run([sys.executable, "-c", RUN], env={**env, **override},
                              cwd=tmp_path, check=True, capture_output=True,
                              text=True).stdout.strip()

    assert [run(), run()] == ["0 1", "1 0"]
    with open(package / "elementary.py", "a") as source:
        source.write("# edited\n")
    assert [run(), run()] == ["0 1", "1 0"]
    assert run(OVERPARAM_NUMBA_CACHE="0") == "0 1"  # the cached copy is there, not read
