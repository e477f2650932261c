"""Every command has help ending in an Example block and is documented in the README; --version works."""
from __future__ import annotations

from pathlib import Path

import pytest

from contentplan import __version__
from contentplan.cli import cli as command

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_version(runner, cli):
    res = runner.invoke(cli, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"contentplan, version {__version__}"


@pytest.mark.parametrize("name", sorted(command.commands))
def test_command_has_example_and_is_in_readme(runner, cli, name):
    res = runner.invoke(cli, [name, "--help"])
    assert res.exit_code == 0
    assert "Example:" in res.output, f"'contentplan {name} --help' lacks an Example: block"
    assert f"contentplan {name}" in README, f"README.md does not show 'contentplan {name}'"


def test_readme_two_setup_commands_and_ci_use_them():
    assert "bash scripts/demo.sh" in README and "bash scripts/test.sh" in README
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/test.sh" in ci
