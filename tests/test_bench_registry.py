"""`pdeforge bench` finds every case kind through benchmarks.KINDS: each entry must import
and take the runner's call (case, suite, out, only=...)."""

import importlib
import inspect

import pytest

from benchmarks import CASES, KINDS


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_case_kind_takes_the_runners_call(kind):
    module, function = KINDS[kind].split(":")
    runner = getattr(importlib.import_module(module), function)
    bound = inspect.signature(runner).bind(CASES[next(iter(CASES))], "quick", "out", only=None)
    assert {"case", "suite", "out", "only"} <= set(bound.arguments)


def test_every_case_has_a_kind_the_registry_knows():
    unknown = {case.name: case.kind for case in CASES.values() if case.kind not in KINDS}
    assert not unknown
