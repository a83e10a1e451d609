"""The import rules of the code base, read from the source with ``ast``.

Layers: ``pdes``, ``storage`` < ``learning`` (what training shares) < ``solvers``,
``surrogates`` < ``flows`` < ``cli``, with ``benchmarks`` beside ``cli``. An import may only
point down a layer (or stay inside its own package); across packages only public names (no
``other._private``); no cycle between modules, function-level (lazy) imports included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"pdes": 0, "storage": 0, "learning": 0.5, "solvers": 1, "surrogates": 1, "flows": 2,
          "cli": 3, "benchmarks": 3}
BESIDE = {("cli", "benchmarks")}  # the CLI wires `pdeforge bench`; never the other way


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every project package that exists."""
    found = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else ():
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    if (ROOT / "cli.py").is_file():
        found["cli"] = ROOT / "cli.py"
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _imports(name: str) -> list[tuple[str, int]]:
    """(imported module, line) of every import in module ``name`` that names the project."""
    tree = ast.parse(MODULES[name].read_text())
    package = name if _is_package(name) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.append((sub if sub in MODULES else module, node.lineno))
    return [(m, line) for m, line in found if m.split(".")[0] in LAYERS]


EDGES = {name: _imports(name) for name in MODULES}


def test_the_packages_are_found():
    assert {"pdes", "storage", "learning", "solvers", "surrogates", "flows", "benchmarks"} <= {
        m.split(".")[0] for m in MODULES}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down_the_layers_through_public_names(name):
    source = name.split(".")[0]
    bad = []
    for target, line in EDGES[name]:
        top = target.split(".")[0]
        if top != source and LAYERS[top] >= LAYERS[source] and (source, top) not in BESIDE:
            bad.append(f"line {line}: {target} (layer {LAYERS[top]} from {LAYERS[source]})")
        private = [i for i, part in enumerate(target.split(".")) if part.startswith("_")]
        if private:
            owner = ".".join(target.split(".")[:private[0]])
            if name != owner and not name.startswith(owner + "."):
                bad.append(f"line {line}: {target} is private to {owner}")
    assert not bad, f"{name}: " + "; ".join(bad)


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """The cycles a depth-first search meets in ``graph``."""
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            # a package's own __init__ importing its submodules is not a cycle with them
            if state.get(nxt) == 1 and not node.startswith(nxt + "."):
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)
    return cycles


def test_no_import_cycles_between_modules():
    """Module -> module edges, lazy imports included."""
    graph = {name: sorted({t for t, _ in EDGES[name] if t in MODULES and t != name})
             for name in MODULES}
    cycles = _cycles(graph)
    assert not cycles, "import cycles: " + " | ".join(" -> ".join(c) for c in cycles)


def test_no_import_cycles_between_subpackages():
    """Package -> package edges (``solvers.batched`` -> ``solvers.recycling``), leaving out a
    package and its own subpackages (a registry naming its members, members its base)."""
    def package(module: str) -> str:
        return module if _is_package(module) else module.rpartition(".")[0] or module

    def related(a: str, b: str) -> bool:
        return a == b or a.startswith(b + ".") or b.startswith(a + ".")

    graph: dict[str, set[str]] = {}
    for name in MODULES:
        here = package(name)
        graph.setdefault(here, set()).update(
            package(t) for t, _ in EDGES[name] if t in MODULES and not related(here, package(t)))
    cycles = _cycles({k: sorted(v) for k, v in graph.items()})
    assert not cycles, "import cycles: " + " | ".join(" -> ".join(c) for c in cycles)
