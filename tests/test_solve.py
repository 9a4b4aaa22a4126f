"""The solving core (theory.solve, theory.loops): statuses, stats, step budgets, exact
divergence steps across the loops' check chunks, options, and the per-setting loops.

The reference for divergence and budgets is a closed form, not the twin: gradient
descent on the depth-1 chain is the affine map w_k - p* = (1 - lr sigma)^k (w_0 - p*).
"""
import importlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, strategies as st

from theory import integrators, linear_chain as chain, loops, solve
from theory.registry import SETTINGS
from theory.results import DivergenceError, Stats, Status

P_STAR = 0.5
ROOT = Path(__file__).resolve().parents[1]


def first_step_out_of_bounds(w0: float, factor: float) -> int:
    """The first k with |p* + factor^k (w0 - p*)| > DIVERGENCE_BOUND, by exact iteration of
    the closed form in Python floats (no loop under test involved)."""
    k, deviation = 0, w0 - P_STAR
    while abs(P_STAR + deviation) <= integrators.DIVERGENCE_BOUND:
        deviation *= factor
        k += 1
    return k


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@given(w0=st.floats(0.6, 40.0), lr=st.floats(2.5, 40.0),
       samples=st.lists(st.integers(1, 700), min_size=1, max_size=6))
def test_divergence_is_reported_at_its_first_step_whatever_the_chunks(backend, w0, lr, samples):
    """The jitted loop checks every CHECK_EVERY steps and rewinds: the step it reports must
    still be the first one out of bounds, and every sample kept must be finite."""
    steps = np.sort(np.array(samples + [integrators.CHECK_EVERY * 3 + 7]))
    expected = first_step_out_of_bounds(w0, 1.0 - lr)
    traj = chain.gradient_descent(P_STAR, [w0], lr=lr, steps=steps, backend=backend)
    assert traj.status is Status.DIVERGED and traj.diverged_at == expected
    assert traj.stats == Stats(expected, 0, expected)
    assert np.all(traj.times < expected) and np.all(np.isfinite(traj.states))
    assert traj.times.size == 1 + np.count_nonzero(steps < expected)
    with pytest.raises(DivergenceError, match=f"step {expected}"):
        traj.raise_if_diverged()


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("budget", [1, 63, 64, 65, 300])
def test_fixed_steps_stop_at_the_step_budget_with_the_samples_reached(backend, budget):
    lr, w0 = 0.1, 2.0
    steps = np.array([10, 64, 200, 500])
    traj = chain.gradient_descent(P_STAR, [w0], lr=lr, steps=steps, max_steps=budget,
                                  backend=backend)
    assert traj.status is Status.STEP_BUDGET and not traj.success
    assert traj.steps == budget and f"max_steps = {budget}" in traj.message
    reached = steps[steps <= budget]
    np.testing.assert_array_equal(traj.times, np.concatenate(([0.0], reached)))
    exact = P_STAR + (1.0 - lr) ** reached * (w0 - P_STAR)
    np.testing.assert_allclose(traj.weights[1:, 0], exact, rtol=1e-13)


SLICED_RUNS = {
    "diverging": lambda: chain.gradient_descent(P_STAR, [3.0], lr=3.0, steps=[5, 600, 900]),
    "step budget": lambda: chain.gradient_descent(P_STAR, [2.0], lr=0.1, steps=[10, 500],
                                                  max_steps=300),
    "converged": lambda: chain.gradient_flow(2.0, [1.5, 0.3], times=[10.0, 1000.0],
                                             method="rk4", dt=0.01, stop_tol=1e-10),
    "adaptive": lambda: chain.gradient_flow(2.0, [1.5, 0.3], times=[0.5, 5.0, 50.0]),
    "adaptive budget": lambda: chain.gradient_flow(2.0, [1.5, 0.3], times=[5.0, 50.0],
                                                   max_steps=40),
    "adaptive converged": lambda: chain.gradient_flow(2.0, [1.5, 0.3], times=[5.0, 1e4],
                                                      stop_tol=1e-9),
}


@pytest.mark.parametrize("name", list(SLICED_RUNS))
@pytest.mark.parametrize("first", [1, 7])
def test_where_the_loop_pauses_does_not_change_the_run(monkeypatch, name, first):
    """The jitted loops return every few steps so that Ctrl-C is taken (solve's slices);
    with slices of ``first`` steps and then one step each (PAUSE_SECONDS = 0), every run
    ends exactly as with the default slices: same samples, status, counts."""
    whole = SLICED_RUNS[name]()
    calls = []

    def counted(loop, call_steps_index):  # the argument call_steps of theory.loops
        def call(*args):
            calls.append(args[call_steps_index])
            return loop(*args)
        return call

    monkeypatch.setattr(solve, "FIRST_CALL_STEPS", first)
    monkeypatch.setattr(solve, "PAUSE_SECONDS", 0.0)
    monkeypatch.setattr(chain, "LOOPS", solve.Loops(counted(chain.LOOPS.fixed_step, -3),
                                                    counted(chain.LOOPS.adaptive, -4),
                                                    chain.LOOPS.field))
    sliced = SLICED_RUNS[name]()
    assert len(calls) > 10 and calls[0] == first and set(calls[1:]) == {1}
    np.testing.assert_array_equal(sliced.times, whole.times)
    np.testing.assert_array_equal(sliced.states, whole.states)
    assert (sliced.status, sliced.stats, sliced.diverged_at, sliced.message) == \
        (whole.status, whole.stats, whole.diverged_at, whole.message)


def test_ctrl_c_stops_a_long_jitted_run_within_seconds():
    """A fixed-step flow of 1e12 steps (hours) in a subprocess: SIGINT, sent once it is
    inside the loop, ends it with KeyboardInterrupt. The 60 s allowance is not a speed
    claim: the loop pauses every PAUSE_SECONDS (0.1 s) of work; without the pauses the
    process would run for hours (SIGINT is ignored inside numba code). The script installs
    Python's own SIGINT handler: a test run started as a background job of a
    non-interactive shell inherits SIGINT ignored, and Python keeps it so."""
    import signal
    import time

    script = ("import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
              "import sys; from theory import linear_chain as chain\n"
              "chain.gradient_flow(2.0, [1.5, 0.3], times=[10.0], dt=1e-3, method='euler')\n"
              "print('ready', flush=True)\n"
              "chain.gradient_flow(2.0, [1.5, 0.3], times=[1e3], dt=1e-9, method='euler',\n"
              "                    max_steps=10**13)\n")
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # inside the long run's loop by now (its first slice is 64 steps)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode != 0 and "KeyboardInterrupt" in stderr


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_completed_and_converged_runs_count_their_steps_and_evaluations(backend):
    done = chain.gradient_flow(2.0, [1.5, 0.3], times=[1.0, 5.0], method="rk4", dt=0.01,
                               backend=backend)
    assert done.status is Status.COMPLETED and done.success
    assert done.stats == Stats(500, 0, 2000)
    stopped = chain.gradient_flow(2.0, [1.5, 0.3], times=[10.0, 1000.0], method="rk4", dt=0.01,
                                  stop_tol=1e-10, backend=backend)
    assert stopped.status is Status.CONVERGED and stopped.steps < 100_000
    assert stopped.stats.evaluations == 4 * (stopped.steps + 1)
    np.testing.assert_array_equal(stopped.states[-1], stopped.states[-2])
    adaptive = chain.gradient_flow(2.0, [1.5, 0.3], times=[5.0], backend=backend)
    stats = adaptive.stats
    assert adaptive.status is Status.COMPLETED
    assert stats.evaluations == integrators.DOPRI5.stages * (stats.accepted + stats.rejected)


def test_adaptive_steps_reach_the_exact_solution_of_a_linear_flow():
    """Minnorm at depth 1 is affine; adaptive Dormand-Prince against expm at the default
    tolerances (rtol 1e-12: the global error stays within ~1e-10 over t = 3)."""
    from scipy.linalg import expm

    params = chain.parameters(1.5, 1.0, 1.0, 2.0, 1.0, 0.7)
    b = chain.field_numpy(np.zeros(2), params)
    A = np.column_stack([chain.field_numpy(e, params) - b for e in np.eye(2)])
    y0 = np.array([0.2, -0.4])
    y_star = np.linalg.solve(A, -b)
    traj = chain.minnorm_flow(1.5, [y0[0]], c=0.7, eta_lambda=2.0, lambda0=y0[1], times=[3.0])
    np.testing.assert_allclose(traj.final, y_star + expm(3.0 * A) @ (y0 - y_star), atol=1e-10)


@pytest.mark.parametrize("options,message", [
    ({"dt": 0.1, "rtol": 1e-6}, "adaptive"),
    ({"dt": 0.1, "first_step": 1e-3}, "adaptive"),
    ({"method": "rk4"}, "no error estimate"),
    ({"method": "rk45"}, "method"),
    ({"rtol": -1.0}, "rtol"),
    ({"first_step": 0.0}, "first_step"),
    ({"stop_tol": -1.0}, "stop_tol"),
    ({"max_steps": 0}, "max_steps"),
    ({"max_steps": 2.5}, "max_steps"),
    ({"backend": "jax"}, "backend"),
])
def test_bad_integration_options_raise_value_errors(options, message):
    with pytest.raises(ValueError, match=message):
        chain.gradient_flow(2.0, [1.0, 1.0], times=[1.0], **options)


def test_unknown_options_are_type_errors():
    with pytest.raises(TypeError):
        chain.gradient_descent(2.0, [1.0], lr=0.1, steps=[3], tol=0.0)


@pytest.mark.parametrize("name", SETTINGS)
def test_every_setting_runs_the_one_loop_compiled_for_its_own_field(name):
    """The loops exist once (theory.loops); each compiled copy a setting holds (``LOOPS``
    for its general field, and any copy for a one-case field) has the same code, is
    attributed to the setting's file (numba's cache invalidates it with that file), and
    inlines the setting's own field and projection."""
    module = importlib.import_module(f"theory.{name}")
    copies = [value for value in vars(module).values() if isinstance(value, solve.Loops)]
    assert module.LOOPS in copies and module.LOOPS.field is module.field
    for compiled in copies:
        assert getattr(module, compiled.field.__name__) is compiled.field
        for kind in ("fixed_step", "adaptive"):
            bound = getattr(compiled, kind).py_func
            template = getattr(loops, kind)
            assert bound.__code__.co_code == template.__code__.co_code
            assert bound.__code__.co_filename == module.__file__
            assert compiled.field.__name__ in bound.__qualname__  # one cache entry per field
            for kernel, own in (("field", compiled.field), ("project", module.project)):
                copy = bound.__globals__[kernel]  # inlined copies of the setting's kernels
                assert copy.py_func is own.py_func
                assert copy.targetoptions["inline"] == "always"
            step = bound.__globals__["unit_step"]  # the setting's own, or loops.add_field
            assert step.targetoptions["inline"] == "always"
            own_step = getattr(module, "unit_step", None)
            assert (step.py_func is own_step.py_func if own_step is not None
                    else step.py_func.__code__.co_code == loops.add_field.__code__.co_code)


def test_compiled_loops_load_from_numba_cache_in_a_fresh_process():
    code = ("from theory import linear_chain as c; c.gradient_descent(2.0, [1.0], lr=0.1, "
            "steps=[5]); s = c.LOOPS.fixed_step.stats; "
            "print(sum(s.cache_hits.values()), sum(s.cache_misses.values()))")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, OVERPARAM_NUMBA_CACHE="1")
        runs = [subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                               capture_output=True, text=True).stdout.split()
                for _ in range(2)]
    assert runs[0] == ["0", "1"] and runs[1] == ["1", "0"]
