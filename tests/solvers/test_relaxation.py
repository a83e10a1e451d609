"""SOR kernels on lanes, the CSR fallback, SSOR-PCG and the omega bandits."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch

import pdes
import solvers
from solvers.batched import StencilOperator
from solvers.relaxation import (
    ChebCB,
    GPThompson,
    TsallisINF,
    colours,
    dominance_decades,
    load_bandit,
    optimal_omega,
    ssor_apply,
    young_omega,
)

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


def _darcy(n=4, grid=(12, 10)):
    family = pdes.get("darcy", grid=grid)
    return [family.sample(i, 2) for i in range(n)]


@pytest.mark.parametrize("device", DEVICES)
def test_red_black_and_lexicographic_sor_reach_the_same_solution(device):
    systems = _darcy()
    plain = [pdes.LinearSystem(s.matrix, s.rhs, s.grid) for s in systems]  # no stencil: CSR
    red_black = list(solvers.get("sor", omega=1.6, tol=1e-10, device=device, batch=2)
                     .solve_sequence(systems))
    lexicographic = list(solvers.get("sor", omega=1.6, tol=1e-10).solve_sequence(plain))
    for s, a, b in zip(systems, red_black, lexicographic, strict=True):
        exact = spla.spsolve(s.matrix.tocsc(), s.rhs)
        assert a.converged and b.converged and a.info["omega"] == b.info["omega"] == 1.6
        for r in (a, b):
            assert np.linalg.norm(r.x - exact) <= 1e-7 * np.linalg.norm(exact)
        assert a.iterations > 10 and b.iterations > 10  # real sweeps, not a direct solve


@pytest.mark.parametrize("omega", [0.0, 2.0, -0.5, 2.5])
def test_omega_outside_zero_two_is_a_clear_error(omega):
    with pytest.raises(solvers.SolverError, match=r"omega must lie in \(0, 2\)"):
        solvers.get("sor", omega=omega)
    with pytest.raises(solvers.SolverError, match=r"omega must lie in \(0, 2\)"):
        solvers.get("sor-bandit", arms=[1.0, omega])


@pytest.mark.parametrize("device", DEVICES)
def test_ssor_is_symmetric_and_preconditions_cg(device):
    systems = _darcy(3)
    op = StencilOperator.from_stencils([s.stencil for s in systems], device)
    x, y = (torch.rand(3, *systems[0].grid, dtype=torch.float64, device=device)
            for _ in range(2))
    omega = torch.full((3,), 1.4, dtype=torch.float64, device=device)
    masks = colours(op.grid, op.device)
    lhs = (ssor_apply(op, x, omega, masks) * y).sum()
    rhs = (x * ssor_apply(op, y, omega, masks)).sum()
    assert abs(float(lhs - rhs)) <= 1e-12 * abs(float(lhs))
    pcg = list(solvers.get("ssor-pcg", omega=1.4, tol=1e-10, device=device)
               .solve_sequence(systems))
    sor = list(solvers.get("sor", omega=1.4, tol=1e-10, device=device).solve_sequence(systems))
    assert all(r.converged for r in pcg + sor)
    assert sum(r.iterations for r in pcg) < sum(r.iterations for r in sor) / 3


def _sweeps(system, omega):
    return solvers.get("sor", omega=omega, tol=1e-10, warm_start=False).solve(system).iterations


def test_young_omega_is_the_optimum_of_a_constant_coefficient_system():
    family = pdes.get("heat", grid=24, kappa="random", kappa_min=5.0, kappa_max=5.0, dt=5e-3)
    system = family.sample(0, 0)
    best = young_omega(system.stencil)
    assert 1.0 < best < 2.0 and optimal_omega(system) == best
    at_best = _sweeps(system, best)
    assert at_best <= min(_sweeps(system, best - 0.1), _sweeps(system, min(best + 0.1, 1.99)))
    with pytest.raises(solvers.SolverError, match="constant coefficients"):
        young_omega(_darcy(1)[0].stencil)


def test_golden_section_finds_the_optimum_where_young_does_not_apply():
    system = _darcy(1, grid=(16, 12))[0]
    best = optimal_omega(system, tol=1e-10)
    assert 1.3 < best < 1.99
    at_best = _sweeps(system, best)
    assert at_best <= min(_sweeps(system, w) for w in np.linspace(1.0, 1.95, 8))
    results = list(solvers.get("sor", omega="optimal", tol=1e-10).solve_sequence([system]))
    assert results[0].info["omega"] == best and results[0].iterations == at_best


def test_omega_param_replays_each_systems_own_omega():
    systems = _darcy(3)
    tagged = [pdes.LinearSystem(s.matrix, s.rhs, s.grid, params={"omega": w}, stencil=s.stencil)
              for s, w in zip(systems, (1.2, 1.5, 1.8), strict=True)]
    replay = list(solvers.get("sor", omega="param", tol=1e-10, batch=3, warm_start=False)
                  .solve_sequence(tagged))
    for system, result in zip(tagged, replay, strict=True):
        assert result.info["omega"] == system.params["omega"]
        assert result.iterations == _sweeps(system, system.params["omega"])
    with pytest.raises(solvers.SolverError, match="carry no omega"):
        list(solvers.get("sor", omega="param").solve_sequence(systems))


def test_tsallis_inf_probabilities_sum_to_one_and_find_the_best_arm():
    rng = np.random.default_rng(3)
    means = np.linspace(0.9, 0.4, 10)
    means[6] = 0.1
    bandit = TsallisINF(arms=tuple(np.linspace(1.0, 1.9, 10)), seed=1)
    for _ in range(2000):
        p = bandit.probabilities()
        assert p.min() > 0 and abs(p.sum() - 1) < 1e-9
        pull = bandit.choose()
        bandit.update(pull, 100.0 * (rng.random() < means[pull.arm]))
    assert int(np.argmax(bandit.probabilities())) == 6 and bandit.probabilities()[6] > 0.6


def test_chebcb_recovers_a_known_cost_curve():
    """The best omega moves with the context; the bandit learns the curve and plays it."""
    arms = tuple(np.linspace(1.0, 1.9, 10))
    # greed 30 (default 100): enough exploration that every arm's curve is learned, not just
    # the best ones
    bandit = ChebCB(arms=arms, seed=7, low=0.0, high=1.0, degree=3, greed=30.0)
    contexts = np.random.default_rng(12345).random(3000)  # not the bandit's own stream

    def cost(arm, c):
        return 10 + 100 * (arms[arm] - (1.0 + 0.9 * c)) ** 2

    paid = []
    for c in contexts:
        pull = bandit.choose(c)
        paid.append(cost(pull.arm, c) / min(cost(a, c) for a in range(len(arms))))
        bandit.update(pull, cost(pull.arm, c))
    assert np.mean(paid[-1000:]) < 1.05 < np.mean(paid[:100])  # it learned, and it plays it
    for c in (0.1, 0.3, 0.9):  # no ties between arms there
        predicted, truth = bandit.predict(c), np.array([cost(a, c) for a in range(len(arms))])
        assert np.abs(predicted - truth).max() < 0.1 * truth.max()
        assert int(np.argmin(predicted)) == int(np.argmin(truth))


def test_gp_thompson_learns_a_planted_optimum_sharing_evidence_across_arms():
    """A smooth SOR-like cost curve with its minimum at arm 13: the bandit finds it while
    drawing the costly far end of the range only a few times (B = 8 lanes, delayed)."""
    arms = np.array(solvers.relaxation.DEFAULT_ARMS)

    def cost(arm):
        w = arms[arm]
        return 40.0 + (2000.0 * (w - arms[13]) ** 2 if w < arms[13] else 900.0 * (w - arms[13]))

    noise = np.random.default_rng(99).lognormal(0.0, 0.2, 600)  # not the bandit's stream
    bandit, pending, drawn = GPThompson(seed=3), [], []
    for t in range(600):
        pending.append(bandit.choose())
        drawn.append(pending[-1].arm)
        if len(pending) == 8:
            pull = pending.pop(0)
            bandit.update(pull, cost(pull.arm) * noise[t])
    p = bandit.probabilities()
    assert abs(p.sum() - 1) < 1e-9 and int(np.argmax(p)) == 13
    assert np.mean(np.array(drawn[-200:]) == 13) > 0.5
    assert sum(a <= 3 or a >= 18 for a in drawn) < 30  # 6 of 20 arms: 180 if uniform
    mean, _ = bandit.posterior()
    assert int(np.argmin(mean)) == 13
    again = GPThompson(seed=3)  # seeded: the same draws from the same feedback
    assert [again.choose().arm for _ in range(8)] == drawn[:8]


def test_gp_thompson_with_a_context_learns_each_regime_its_own_optimum():
    """Two regimes mixed in one sequence (a heat chain's kappa ~ 0 and kappa = 10): cheap
    systems want omega ~ 1, stiff ones omega ~ 1.7. With the context the bandit learns
    both; the best single arm pays the mismatch on every system of one regime."""
    arms = np.array(solvers.relaxation.DEFAULT_ARMS)
    optimum = {0.0: 1.0, 2.0: 1.7}

    def cost(arm, context):
        return 10.0 * (1 + context) * (1 + 8 * (arms[arm] - optimum[context]) ** 2)

    contexts = np.random.default_rng(7).choice([0.0, 2.0], 800)
    bandit, pending, total = GPThompson(seed=4), [], 0.0
    for c in contexts:
        pending.append(bandit.choose(c))
        if len(pending) == 8:
            pull = pending.pop(0)
            total += cost(pull.arm, pull.context)
            bandit.update(pull, cost(pull.arm, pull.context))
    for c, want in optimum.items():
        assert abs(arms[int(np.argmin(bandit.posterior(c)[0]))] - want) <= 0.1
    best_fixed = min(sum(cost(a, c) for c in contexts[:len(contexts) - 7])
                     for a in range(len(arms)))
    assert total < best_fixed


def test_dominance_decades_reads_the_regime_off_the_system():
    """Heat steps: kappa ~ 0 leaves the identity (0 decades), kappa = 10 is diffusion-led;
    a system without reaction is capped."""
    low, high = (dominance_decades(pdes.get("heat", grid=32, dt=5e-3, kappa="random",
                                            kappa_min=k, kappa_max=k).sample(0, 0))
                 for k in (0.01, 10.0))
    assert 0 <= low < 0.1 and high > 1
    darcy = pdes.get("darcy", grid=(8, 8)).sample(0, 0)
    assert dominance_decades(darcy) == solvers.relaxation._solvers.DOMINANCE_CAP


def test_gp_thompson_counts_a_draw_still_running_at_the_iterations_it_has_run():
    """Lanes return cheap systems first: an arm whose returned draws were cheap but whose
    other draw has been running for 100 sweeps must not look cheap."""
    bandit = GPThompson(arms=(1.0, 1.5), seed=2)
    pulls = [bandit.choose() for _ in range(8)]
    arm = max((0, 1), key=lambda a: sum(p.arm == a for p in pulls))
    slow = next(p for p in pulls if p.arm == arm)
    for pull in pulls:
        if pull is not slow:  # the arm's other draws: 2 sweeps; the other arm's: 100
            bandit.update(pull, 2.0 if pull.arm == arm else 100.0)
    assert bandit.clock_ == 100.0 and list(bandit.pending_) == [slow.round]
    running = bandit.posterior()[0][arm]
    bandit.pending_.clear()
    assert running > 2 * bandit.posterior()[0][arm]


@pytest.mark.parametrize("kind", ["tsallis", "chebcb", "gp"])
def test_a_saved_bandit_reloads_and_continues_identically(tmp_path, kind):
    def new():
        if kind == "gp":
            return GPThompson(seed=5, length=0.2)
        return TsallisINF(seed=5) if kind == "tsallis" else ChebCB(seed=5, low=0, high=1)

    feedback = np.random.default_rng(1).random((100, 2))
    a = new()
    for loss, c in feedback[:50]:
        pull = a.choose(c)
        a.update(pull, 50 * loss * (pull.arm + 1))
    a.save(tmp_path / "state.json")
    assert not list(tmp_path.glob("*.tmp"))  # atomic: only the final file remains
    b = load_bandit(tmp_path / "state.json")
    for loss, c in feedback[50:]:
        pull_a, pull_b = a.choose(c), b.choose(c)
        assert pull_a == pull_b
        a.update(pull_a, 50 * loss * (pull_a.arm + 1))
        b.update(pull_b, 50 * loss * (pull_b.arm + 1))
    assert a.state() == b.state()


def test_bandit_solvers_report_omega_learn_across_runs_and_need_their_context(tmp_path):
    family = pdes.get("heat", grid=16, dt=5e-3)
    systems = [family.sample(i, 0) for i in range(24)]
    state = tmp_path / "bandit.json"
    for run in (1, 2):
        results = list(solvers.get("ssor-pcg-bandit", tol=1e-9, device="cpu", batch=4,
                                   state=str(state)).solve_sequence(systems))
        assert all(r.converged and r.info["omega"] in solvers.relaxation.DEFAULT_ARMS
                   for r in results)
        history = load_bandit(state).history_
        assert len(history) == 24 * run
        assert 0 < max(h["delay"] for h in history) < 24  # 4 lanes: feedback comes late
    single = solvers.get("sor-bandit", tol=1e-9, batch=1, state=str(tmp_path / "one.json"))
    list(single.solve_sequence(systems[:8]))
    assert [h["delay"] for h in load_bandit(tmp_path / "one.json").history_] == [0] * 8
    contextual = list(solvers.get("sor-bandit-contextual", tol=1e-9, device="cpu",
                                  context="kappa", low=0.0, high=10.0).solve_sequence(systems))
    assert all(r.converged for r in contextual)
    with pytest.raises(solvers.SolverError, match="no parameter 'shift'"):
        list(solvers.get("sor-bandit-contextual", context="shift").solve_sequence(systems))
    smooth = solvers.get("sor-bandit-smooth", tol=1e-9, device="cpu", batch=4,
                         state=str(tmp_path / "smooth.json"))
    assert all(r.converged for r in smooth.solve_sequence(systems))
    assert load_bandit(tmp_path / "smooth.json").kind == "gp-thompson"


def test_two_saves_of_one_bandit_never_leave_the_older_state_last(tmp_path, monkeypatch):
    """Two blocks of a flow share one bandit: a save whose file lands slowly (here: the
    first rename waits) must not land after a later save with more feedback."""
    import contextlib
    import json
    import threading
    import time

    from solvers.relaxation import _bandits

    bandit, path = TsallisINF(seed=0), tmp_path / "bandit.json"
    bandit.update(bandit.choose(), 10.0)
    slow, atomic = threading.Event(), _bandits.atomic_path

    @contextlib.contextmanager
    def slow_first(target):
        with atomic(target) as partial:
            yield partial
            if not slow.is_set():  # written, not yet renamed into place
                slow.set()
                time.sleep(0.3)

    monkeypatch.setattr(_bandits, "atomic_path", slow_first)
    first = threading.Thread(target=bandit.save, args=(path,))
    first.start()
    slow.wait()
    bandit.update(bandit.choose(), 20.0)  # more feedback while the first save lands
    bandit.save(path)
    first.join()
    assert len(json.loads(path.read_text())["history"]) == 2
