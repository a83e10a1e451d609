"""The sor-sequence bench case on a tiny grid: its comparators are what they claim to be."""

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import solvers
from benchmarks.cases import Case
from benchmarks.sor import LANES, draw_order, fixed_arm_runs, run_sor_case, shifted_sequence


def test_fixed_arms_in_one_lane_run_cost_what_each_arm_costs_alone():
    systems = shifted_sequence((8, 8), 20)
    runs = fixed_arm_runs("sor", systems, {"a": [1.2] * 20, "b": [1.7] * 20}, 1e-8)
    for label, omega in (("a", 1.2), ("b", 1.7)):
        alone = list(solvers.get("sor", omega=omega, tol=1e-8, device="cpu", batch=LANES)
                     .solve_sequence(systems))
        together = runs[label][0]
        assert [r.iterations for r in together] == [r.iterations for r in alone]
        assert all(r.converged and r.info["omega"] == omega for r in together)


def test_draw_order_is_round_robin_over_the_chains():
    assert draw_order(10, 3).tolist() == [0, 3, 7, 1, 4, 8, 2, 5, 9, 6]
    assert draw_order(4, 1).tolist() == [0, 1, 2, 3]


def test_sor_sequence_rows_carry_the_comparators_and_the_plots(tmp_path):
    rows = run_sor_case(Case("sor-sequence", "heat", (8, 8), 24, 1e-8, kind="sor"), "sor",
                        tmp_path)
    for sequence in ("shifted", "heat"):
        own = {r["solver"]: r for r in rows if r["case"] == f"sor-sequence-{sequence}"}
        fixed = [r["extra"]["total_iterations"] for name, r in own.items()
                 if name.startswith("sor[") and name[4].isdigit()]
        bandit = own["sor-bandit"]["extra"]
        assert bandit["best_fixed_total_iterations"] == min(fixed)
        assert bandit["instance_optimal_total_iterations"] == (
            own["sor[optimal]"]["extra"]["total_iterations"])
        assert np.isclose(bandit["vs_best_fixed"],
                          bandit["total_iterations"] / bandit["best_fixed_total_iterations"])
        assert own["sor-bandit[B=1]"]["extra"]["delay_max"] == 0 < bandit["delay_max"]
        assert all(r["converged_all"] and r["max_residual"] <= 1e-8 for r in own.values())
        assert (tmp_path / f"sor-sequence-{sequence}-cumulative.png").stat().st_size > 0



def test_h2d_sequence_steps_crank_nicolson_along_its_own_exact_solutions():
    """System k + 1's rhs is (2 I - A_k+1) u + dt f, u the exact solution of system k and f
    h2d.m's bump (in [0, 32]); kappa(t) follows h2d.m (0.1 sin 2 pi t, then -10 sin 2 pi t)."""
    from benchmarks.l2r_heat import h2d_sequence, kappa

    systems = h2d_sequence(12, 800)
    assert kappa(0.25) == 0.1 and kappa(0.75) == 10.0
    assert systems[0].params["kappa"] > 0 and systems[760].params["kappa"] > 9.9
    for k in (0, 1, 700, 798):
        a, b = systems[k], systems[k + 1]
        u = spla.spsolve(a.matrix.tocsc(), a.rhs)
        forcing = (b.rhs - (2 * sp.identity(b.size) - b.matrix) @ u) / 1e-3
        assert forcing.min() >= -1e-6 and 1.0 < forcing.max() <= 32.0 + 1e-6


def test_l2r_heat_rows_compare_every_policy_with_the_arms_and_plot_the_curves(tmp_path):
    from benchmarks.l2r_heat import run_l2r_case

    rows = run_l2r_case(Case("l2r-heat", "h2d", (7, 7), 16, 1e-8, kind="l2r"), "l2r", tmp_path)
    for nx in (4, 8):
        own = {r["solver"]: r for r in rows if r["case"] == f"l2r-heat-nx{nx}"}
        arms = [r["extra"]["total_iterations"] for k, r in own.items() if k[9:10].isdigit()]
        assert len(arms) == 20 and {"cg", "ssor-pcg-bandit", "ssor-pcg-bandit-smooth",
                                    "ssor-pcg-bandit-contextual"} <= set(own)
        for r in own.values():
            assert r["converged_all"] and r["max_residual"] <= 1e-8
            assert r["extra"]["vs_best_fixed"] == r["extra"]["total_iterations"] / min(arms)
    assert (tmp_path / "l2r-heat-curves.png").stat().st_size > 0
