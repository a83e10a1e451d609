"""Every bad input exits 2 with one line on stderr and leaves an existing store untouched."""

import hashlib
from pathlib import Path

import pytest


def _digest(store: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(store.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(store)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def store(tmp_path_factory, pdeforge) -> Path:
    out = tmp_path_factory.mktemp("cli") / "darcy.zarr"
    p = pdeforge("generate", "--family", "darcy", "--grid", "8", "--n", "4", "--solver",
                 "petsc:lu", "--tol", "1e-10", "--out", out)
    assert p.returncode == 0, p.stderr
    return out


BASE = {"--family": "darcy", "--grid": "8", "--n": "4", "--solver": "petsc:lu"}
BAD = {  # overrides of BASE, then extra arguments
    "unknown family": ({"--family": "nosuch"}, []),
    "grid below 3": ({"--grid": "2"}, []),
    "n zero": ({"--n": "0"}, []),
    "unknown PETSc KSP": ({"--solver": "petsc:nosuchksp+ilu"}, []),
    "unknown solver": ({"--solver": "fastest"}, []),
    "tol not positive": ({}, ["--tol", "-1"]),
    "NaN coefficient": ({"--family": "heat"}, ["-o", "kappa=random", "-o", "kappa_max=NaN"]),
    "non-positive coefficient": ({"--family": "heat"}, ["-o", "kappa=random", "-o",
                                                        "kappa_min=-1"]),
    "NaN forcing": ({}, ["-o", "forcing=NaN"]),
    "unknown family option": ({}, ["-o", "nosuch=1"]),
    "unreachable dask": ({}, ["--dask-address", "tcp://127.0.0.1:9"]),
    "another family's store": ({"--family": "poisson"}, []),
    "another grid's store": ({"--grid": "10"}, []),
    "another seed's store": ({}, ["--seed", "7"]),
}


@pytest.mark.parametrize(("overrides", "extra"), BAD.values(), ids=BAD.keys())
def test_bad_generate_input_exits_2_and_keeps_the_store(pdeforge, store, overrides, extra):
    before = _digest(store)
    options = {**BASE, **overrides, "--out": str(store)}
    p = pdeforge("generate", *[x for kv in options.items() for x in kv], *extra, timeout=120)
    assert p.returncode == 2, (p.returncode, p.stderr)
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    assert "Traceback" not in p.stderr
    assert _digest(store) == before


def test_info_on_missing_store_exits_2(pdeforge, tmp_path):
    p = pdeforge("info", tmp_path / "missing.zarr", timeout=60)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_info_summarises_the_store(pdeforge, store):
    p = pdeforge("info", store, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "darcy" in p.stdout and "4 done, 0 failed, 0 pending" in p.stdout


OTHER_BAD = {
    "train on a missing store": ["train", "--data", "{tmp}/missing.zarr", "--out", "{tmp}/m"],
    "evaluate a missing model": ["evaluate", "--model", "{tmp}/nomodel"],
    "bench an unknown case": ["bench", "--case", "nosuch", "--out", "{tmp}/b"],
    "serve without a Prefect server": ["serve", "--n", "4"],
}


@pytest.mark.parametrize("args", OTHER_BAD.values(), ids=OTHER_BAD.keys())
def test_other_commands_reject_bad_input_with_exit_2(pdeforge, tmp_path, args):
    p = pdeforge(*[a.format(tmp=tmp_path) for a in args], timeout=120)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr, p.stderr
