"""The shared output options: the README's table says which command takes which (-f, -o, -q,
--csv-safe/--csv-dialect), and every click command matches it. A new command without a row, or a row
that the command does not honour, fails here."""
from __future__ import annotations

from pathlib import Path

import click
import pytest

from contentplan.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
MAINTAINERS = {"dev"}   # `contentplan dev …`: maintainers' commands, documented under Development


def readme_table() -> dict[str, dict[str, str]]:
    head = README.index("| command | `-f` | `-o` | `-q` | `--csv-safe`, `--csv-dialect` |")
    rows = {}
    for line in README[head:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = dict(zip(("-f", "-o", "-q", "csv"), cells[1:]))
    return rows


TABLE = readme_table()
COMMANDS = {name: cmd for name, cmd in cli.commands.items() if name not in MAINTAINERS}


def option(cmd: click.Command, flag: str) -> click.Option | None:
    return next((p for p in cmd.params if isinstance(p, click.Option) and flag in p.opts), None)


def test_every_command_has_a_row_and_every_row_a_command():
    assert sorted(TABLE) == sorted(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_takes_what_the_readme_says(name):
    cmd, row = COMMANDS[name], TABLE[name]
    f = option(cmd, "-f")
    if row["-f"].startswith("no"):
        assert f is None, f"{name} takes -f; the README says it does not"
    else:
        assert f is not None, f"{name} has no -f; the README says it takes {row['-f']}"
        assert list(f.type.choices) == [c.strip() for c in row["-f"].split(",")]
    o = option(cmd, "-o")
    assert (o is None) == row["-o"].startswith("no"), f"{name}: -o {'missing' if o is None else 'present'}, README: {row['-o']}"
    assert (option(cmd, "-q") is not None) == (row["-q"] == "yes"), f"{name}: -q"
    for flag in ("--csv-safe", "--csv-dialect"):
        assert (option(cmd, flag) is not None) == (row["csv"] == "yes"), f"{name}: {flag}"


@pytest.mark.parametrize("name", sorted(n for n, r in TABLE.items() if r["-o"] == "file"))
def test_a_command_writing_a_table_file_writes_every_format(name):
    """-f offers every registered output format (xlsx included), read from io/writers.py."""
    from contentplan.io.writers import FORMATS
    assert list(option(COMMANDS[name], "-f").type.choices) == list(FORMATS)
    assert "xlsx" in FORMATS
