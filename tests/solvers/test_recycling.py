"""GCRO-DR, recycled CG and SKR reach the TRUE residual and recycle across sequences."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import solvers
from pdes import LinearSystem

# the CPU always, CUDA too where torch sees a GPU (no skipped parametrisations)
DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


def _system(s=24, seed=0, shift=0.0, convection=0.0, contrast=1.0, rhs_seed=None):
    """Variable-coefficient 5-point -div(a grad u) (+ convection) - shift u on s x s."""
    rng = np.random.default_rng(seed)
    h = 1.0 / (s + 1)
    smooth = np.cumsum(np.cumsum(rng.standard_normal((s + 1, s + 1)), 0), 1)
    a = np.exp(contrast * (smooth - smooth.mean()) / (smooth.std() + 1e-12))
    ax, ay = a[1:, :-1], a[:-1, 1:]  # faces between (i, j) and (i+1, j) / (i, j+1)
    idx = np.arange(s * s).reshape(s, s)
    diag = np.zeros((s, s))
    rows, cols, vals = [], [], []
    for c, (di, dj) in ((ax, (1, 0)), (ay, (0, 1))):
        f = c[: s - di, : s - dj] / h**2
        i0, i1 = idx[: s - di, : s - dj], idx[di:, dj:]
        diag[: s - di, : s - dj] += f
        diag[di:, dj:] += f
        w = convection / (2 * h) * (di == 1)
        rows += [i0.ravel(), i1.ravel()]
        cols += [i1.ravel(), i0.ravel()]
        vals += [(-f + w).ravel(), (-f - w).ravel()]
    diag += 1.0 / h**2  # Dirichlet boundary faces (unit coefficient)
    rows.append(idx.ravel())
    cols.append(idx.ravel())
    vals.append(diag.ravel() - shift)
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))))
    rhs_rng = np.random.default_rng(seed if rhs_seed is None else rhs_seed)
    b = 1.0 + 0.1 * rhs_rng.standard_normal(s * s)
    return LinearSystem(A, b, (s, s), symmetric=convection == 0, definite=shift == 0)


def _sequence(n=6, s=32, **kw):
    """Similar systems: lognormal coefficients from independent seeds, same forcing."""
    return [_system(s=s, seed=i, contrast=0.5, rhs_seed=0, **kw) for i in range(n)]


CASES = {
    "spd": dict(),
    "indefinite": dict(shift=150.0),
    "nonsymmetric": dict(convection=40.0),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(  # recycled CG is for SPD systems only
    ("name", "case"), [(n, c) for n in ("gcrodr", "rcg", "skr") for c in CASES
                       if n != "rcg" or c == "spd"])
def test_true_residual_and_agreement_with_spsolve(name, case, device):
    system = _system(seed=3, **CASES[case])
    result = solvers.get(name, tol=1e-9, max_iterations=3000, device=device).solve(system)
    assert result.converged and result.residual <= 1e-9
    assert result.residual == pytest.approx(system.relative_residual(result.x))
    exact = spla.spsolve(system.matrix.tocsc(), system.rhs)
    cond_bound = 1e-9 * 1e4  # relative error <= cond(A) * relative residual
    assert np.linalg.norm(result.x - exact) <= cond_bound * np.linalg.norm(exact)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "name, case", [("gcrodr", "nonsymmetric"), ("gcrodr", "indefinite"), ("rcg", "spd")]
)
def test_recycling_saves_iterations_on_a_sequence(name, case, device):
    seq = _sequence(**CASES[case])
    totals = {}
    for recycle in (True, False):
        solver = solvers.get(name, tol=1e-8, device=device, recycle=recycle, warm_start=False)
        results = list(solver.solve_sequence(seq))
        assert all(r.converged for r in results)
        totals[recycle] = sum(r.iterations for r in results)
        assert (results[-1].info["recycle_size"] > 0) is recycle
    assert totals[True] < totals[False]


def test_skr_factorises_once_for_a_fixed_operator():
    base = _system(s=20, seed=5)
    rng = np.random.default_rng(0)
    seq = [
        LinearSystem(base.matrix.copy(), rng.standard_normal(base.size), base.grid)
        for _ in range(5)
    ]
    results = list(solvers.get("skr", tol=1e-10, device="cpu").solve_sequence(seq))
    assert all(r.converged for r in results)
    assert [r.info["refactored"] for r in results] == [True] + [False] * 4
    assert all(r.info["same_operator"] for r in results[1:])
    assert results[-1].info["factorizations"] == 1
    assert max(r.iterations for r in results) <= 2


def test_skr_reuses_a_rescaled_factor_across_similar_matrices():
    seq = _sequence(n=5)
    results = list(solvers.get("skr", tol=1e-8, device="cpu").solve_sequence(seq))
    assert all(r.converged for r in results)
    assert not results[1].info["refactored"] and not results[1].info["same_operator"]
    assert results[1].iterations < 30
    assert results[-1].info["method"] == "cg"
    assert results[1].info["warm_start"]


def test_begin_sequence_resets_state():
    seq = _sequence(n=3, convection=40.0)
    solver = solvers.get("gcrodr", tol=1e-8, device="cpu")
    first = [r.iterations for r in solver.solve_sequence(seq)]
    again = [r.iterations for r in solver.solve_sequence(seq)]
    assert first == again


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.sampled_from([0.0, 100.0]), k=st.integers(0, 8))
def test_gcrodr_property_true_residual(seed, shift, k):
    system = _system(s=12, seed=seed, shift=shift, convection=10.0)
    result = solvers.get("gcrodr", tol=1e-8, m=k + 30, k=k, device="cpu").solve(system)
    assert result.converged


def test_bad_options():
    with pytest.raises(solvers.SolverError):
        solvers.get("skr", preconditioner="magic")
    with pytest.raises(solvers.SolverError):
        solvers.get("gcrodr", m=10, k=10)
    with pytest.raises(solvers.SolverError):
        solvers.get("rcg", device="tpu")


@pytest.mark.parametrize("fixed", [True, False])
def test_skr_no_factor_reuse_refactors_every_system(fixed):
    base = _system(s=20, seed=5)
    rng = np.random.default_rng(1)
    if fixed:
        seq = [LinearSystem(base.matrix.copy(), rng.standard_normal(base.size), base.grid)
               for _ in range(4)]
    else:
        seq = _sequence(n=4, s=20)
    results = list(solvers.get("skr", tol=1e-10, device="cpu", reuse=1).solve_sequence(seq))
    assert all(r.converged for r in results)
    assert all(r.info["refactored"] and not r.info["same_operator"] for r in results)
    assert [r.info["factorizations"] for r in results] == [1, 2, 3, 4]
    assert all(r.info["direct"] and r.iterations == 1 for r in results)


def test_skr_reuse_window_caps_factor_age():
    results = list(solvers.get("skr", tol=1e-8, device="cpu", reuse=2).solve_sequence(
        _sequence(n=6, s=20)))
    assert all(r.converged for r in results)
    assert [r.info["refactored"] for r in results] == [True, False] * 3


@pytest.mark.parametrize("backend", ["scipy", "petsc"])
@pytest.mark.parametrize("case", ["spd", "indefinite"])
def test_skr_factor_backends(backend, case):
    if backend == "petsc":
        pytest.importorskip("petsc4py")
    seq = _sequence(n=4, s=20, **CASES[case])
    tol = 1e-9
    solver = solvers.get("skr", tol=tol, device="cpu", factor_backend=backend, reuse=2)
    results = list(solver.solve_sequence(seq))
    assert all(r.converged and r.residual <= tol for r in results)
    assert all(r.info["factor_backend"] == backend for r in results)
    assert results[2].info["refactored"] and results[-1].info["factorizations"] == 2
    if backend == "petsc":  # same pattern: refactorised in place, numerically only
        assert solver.policy_.factor_.backend == "petsc"


def test_petsc_factor_refactors_in_place():
    pytest.importorskip("petsc4py")
    from solvers.recycling import Factor

    a, b = _system(s=16, seed=1), _system(s=16, seed=2)
    f = Factor(a.matrix, True, "petsc")
    assert f.refactor(b.matrix)
    x = f.solve_numpy(b.rhs)
    assert b.relative_residual(x) < 1e-12
    other = _system(s=15, seed=2)
    assert not f.refactor(other.matrix)  # another pattern: caller builds a new Factor
    assert not Factor(a.matrix, True, "scipy").refactor(b.matrix)


def test_cpu_solve_restores_torch_threads():
    threads = torch.get_num_threads()
    solvers.get("skr", tol=1e-8, device="cpu").solve(_system(s=12))
    assert torch.get_num_threads() == threads


def test_bad_factor_backend():
    with pytest.raises(solvers.SolverError):
        solvers.get("skr", factor_backend="mumps")
    with pytest.raises(solvers.SolverError):
        solvers.get("skr", reuse=-1)
