"""The README and the user guide stay true: their examples run as written, the site builds
in strict mode, and the command reference is the one the CLI generates.

Examples: every fenced ```bash and ```python block of a page runs, in page order, in one
fresh folder per page, with `pdeforge` on PATH; each python block is its own process, so
it must be self-contained (it may read files that earlier blocks wrote). A block right
after a `<!-- skip: why -->` comment does not run (installs, long trainings, servers);
other fences (console, text, toml) never run.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "docs" / "cli_reference.py")
cli_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cli_reference)

# the pages whose examples are checked; a page written later joins this list once its
# non-runnable blocks carry a skip comment
CHECKED = ["README.md", *(f"docs/{name}.md" for name in (
    "index", "getting-started", "families", "solvers", "surrogates", "data", "cluster",
    "design", "benchmarks"))]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
SKIP = re.compile(r"<!--\s*skip\b[^>]*-->\s*$")


def examples(text: str) -> list[tuple[str, str]]:
    """(language, code) of the runnable blocks of a Markdown page, in order."""
    blocks = []
    for match in FENCE.finditer(text):
        language, code = match.group(1), match.group(2)
        if language not in ("bash", "python"):
            continue
        if SKIP.search(text[: match.start()].rstrip() + "\n"):
            continue
        blocks.append((language, code))
    return blocks


# the pages with a runnable block, each run as one test
PAGES = [page for page in CHECKED if examples((ROOT / page).read_text())]


def test_examples_parser_runs_bash_and_python_and_honours_skip():
    page = ("```bash\necho a\n```\n\n<!-- skip: slow -->\n```bash\nsleep 99\n```\n"
            "```console\n$ x\n```\n```python\nprint(1)\n```\n")
    assert examples(page) == [("bash", "echo a\n"), ("python", "print(1)\n")]


def _environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("PREFECT_API_URL", None)  # a user with no server: each run starts its own API
    return env


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run_as_written(page, tmp_path):
    blocks = examples((ROOT / page).read_text())
    assert blocks, f"{page} has no runnable example"
    env = _environment()
    for number, (language, code) in enumerate(blocks, 1):
        command = ["bash", "-euo", "pipefail", "-c", code] if language == "bash" else \
            [sys.executable, "-c", code]
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, (
            f"{page}, {language} block {number} exited {done.returncode}:\n{code}\n"
            f"stdout:\n{done.stdout[-2000:]}\nstderr:\n{done.stderr[-3000:]}")


def test_readme_quick_start_runs_the_pipeline_and_stays_short():
    """The README's runnable examples generate, train and evaluate, in that order."""
    readme = (ROOT / "README.md").read_text()
    code = "\n".join(code for _, code in examples(readme))
    steps = [code.index(f"pdeforge {step} ") for step in ("generate", "train", "evaluate")]
    assert steps == sorted(steps)
    assert "surrogates.load" in code and len(readme.splitlines()) <= 200


def test_command_reference_is_current():
    page = ROOT / "docs" / "reference.md"
    assert page.read_text() == cli_reference.render(), (
        "docs/reference.md is stale: run `python docs/cli_reference.py`")


def test_reference_covers_every_command_and_option():
    import typer

    from cli import app

    text = cli_reference.render()
    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        assert f"## `pdeforge {name}`" in text
        for param in command.params:
            for opt in [*param.opts, *param.secondary_opts]:
                assert opt in text, (name, opt)


def test_site_builds_in_strict_mode(tmp_path):
    """Broken links, missing anchors or pages outside the nav fail the build."""
    mkdocs = Path(sys.executable).with_name("mkdocs")
    done = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "index.html").is_file()
