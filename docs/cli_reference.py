"""Write docs/reference.md, the command reference, from the Typer app itself.

Run ``python docs/cli_reference.py`` after changing a command or option (``make docs`` runs
it); ``tests/docs/test_docs.py`` fails while the committed page differs from what this
writes, so the reference cannot go stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "reference.md"

HEADER = """# Command reference

Every command and option of `pdeforge`, generated from the command line itself by
`docs/cli_reference.py` (a test checks that this page is current). Options that take
`key=value` pairs are repeatable. Exit codes: 0 done, 1 a failure, 2 bad usage or input
(one line on stderr, nothing stored is changed), 130 interrupted (re-run the same command
to resume).
"""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _table(heading: str, rows: list[tuple[str, str]]) -> list[str]:
    if not rows:
        return []
    return [f"| {heading} | description |", "| --- | --- |",
            *[f"| `{name}` | {_cell(text)} |" for name, text in rows], ""]


def _command_section(name: str, command, parent) -> list[str]:
    ctx = command.context_class(command, info_name=name, parent=parent)
    lines = [f"## `pdeforge {name}`", "", " ".join((command.help or "").split()), "",
             "```text", " ".join(command.get_usage(ctx).split()), "```", ""]
    records = [(p.param_type_name, p.get_help_record(ctx)) for p in command.params]
    records = [(kind, record) for kind, record in records if record is not None]
    lines += _table("argument", [record for kind, record in records if kind == "argument"])
    lines += _table("option", [record for kind, record in records if kind != "argument"])
    return lines


def render() -> str:
    """The reference page as Markdown."""
    from cli import app

    group = typer.main.get_command(app)
    root = group.context_class(group, info_name="pdeforge")
    lines = [HEADER]
    for name in group.list_commands(root):
        command = group.get_command(root, name)
        lines.append(f"- [`{name}`](#pdeforge-{name}): {_cell(command.get_short_help_str(90))}")
    lines.append("")
    for name in group.list_commands(root):
        lines += _command_section(name, group.get_command(root, name), root)
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    PAGE.write_text(render())
    print(f"wrote {PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
