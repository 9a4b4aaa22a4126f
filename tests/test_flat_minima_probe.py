"""The adversarial probe's end state (claim flatness.other_neighbourhoods, docs/flat_minima.md
§C10.7): the step Jacobian of verify.flat_minima.adversarial_probe_end against eigh, and an
instance where the penalty holds the probe on the second Fisher eigenvector."""
import numpy as np
import pytest

from theory import flat_minima as fm
from verify import flat_minima as vf

LR, BETA = vf.TRAIN["lr"], vf.TRAIN["beta"]


def _mixture(data_seed: int, init_seed: int):
    X, y = fm.mixture_data(120, 5, 3, vf.OVERLAP["spread"], data_seed)
    model = fm.softmax_regression(X, y, 3)
    return model, fm.initial_weights(model, 0.1, init_seed)


@pytest.mark.parametrize("rank", [1, 2])
def test_step_radii_without_penalty_are_the_gradient_and_power_steps_from_eigh(rank):
    """alpha = 0: theta does not see v, so the coupled Jacobian is block triangular; its
    radius on the quotient is max(power step's, max_j |1 - lr (lambda_j + beta)|) over the
    nonzero eigenvalues of F (= the Hessian of softmax regression's CE); the logit-shift
    modes (1 - lr beta) are left out."""
    model, theta0 = _mixture(3, 4)
    theta = fm.gradient_descent(model, theta0, lr=LR, beta=BETA, steps=[200]).final
    lam, vectors = np.linalg.eigh(fm.fisher(model, theta))
    state = np.concatenate((theta, vectors[:, -rank]))
    probe = vf.adversarial_probe_end(model, state, 0.0, 1.0)
    assert probe["eigenvector_rank"] == rank
    assert probe["probe_residual"] < 1e-12
    power_step = np.delete(lam, lam.size - rank).max() / lam[-rank]
    assert probe["frozen_step_radius"] == pytest.approx(power_step, rel=1e-8)
    nonzero = lam[lam > 1e-10 * lam[-1]]
    assert nonzero.size == model.size - 5  # the logit-shift null space has dimension d
    gradient_step = np.abs(1.0 - LR * (nonzero + BETA)).max()
    assert gradient_step < 1.0 - LR * BETA - 1e-3
    assert probe["coupled_step_radius"] == pytest.approx(max(power_step, gradient_step),
                                                         rel=1e-8)


def test_penalty_holds_the_probe_on_the_second_eigenvector():
    """Root seed 6's instance 2 of the claim: without the penalty the probe ends on u_1;
    with alpha = 2 on u_2, a stable fixed point of the coupled step although the power step
    alone would leave it (lambda_1 / lambda_2 > 1); more steps keep it there."""
    model, theta0 = _mixture(650416766, 1140481455)
    radius = vf.ADVERSARIAL_RADIUS * np.sqrt(model.size)
    ends = {}
    for alpha in (0.0, 2.0):
        run = fm.adversarial_descent(model, theta0, lr=LR, alpha=alpha, radius=radius,
                                     beta=BETA, probe_seed=382689920, steps=[3000, 6000])
        ends[alpha] = [vf.adversarial_probe_end(model, state, alpha, radius)
                       for state in run.states[1:]]
    assert all(end["eigenvector_rank"] == 1 for end in ends[0.0])
    for end in ends[2.0]:
        assert end["eigenvector_rank"] == 2 and end["probe_alignment"] < 1e-6
        assert end["probe_residual"] < 1e-10
        assert end["frozen_step_radius"] > 1.05 and end["coupled_step_radius"] < 0.99
