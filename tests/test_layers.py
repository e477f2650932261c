"""Imports only point downstream, along the data flow (see docs/ARCHITECTURE.md):

    base (errors, notices, terminal, textfold, progress, stopwords)
      -> io/ -> domain/ -> model/ -> inputs -> match -> reports/   -> app (api, cli, devcli, dask, spacy_component)
                                    model/ -> ... -> training/ (builds what model/ loads) -> app

A module may import its own layer and the layers before it; reports/ and training/ are two branches
that never import each other. Every import counts, also one inside a function.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "contentplan"
BASE = {"errors", "notices", "terminal", "textfold", "progress", "stopwords"}
APP = {"api", "cli", "devcli", "dask", "spacy_component", "__main__"}
FOLDERS = {"io": 1, "domain": 2, "model": 3, "inputs": 4, "match": 5, "reports": 6, "training": 6}


def layer(module: str) -> str:
    """The layer of a dotted module name inside the package ('contentplan' alone is the public facade)."""
    parts = module.split(".")[1:]
    if not parts:
        return "app"
    if parts == ["__version__"] or parts[0] in BASE:
        return "base"
    if parts[0] in FOLDERS:
        return parts[0]
    if parts[0] in APP:
        return "app"
    raise AssertionError(f"{module}: not placed in a layer; add it to tests/test_layers.py and docs/ARCHITECTURE.md")


def rank(name: str) -> int:
    return {"base": 0, "app": 9}.get(name, FOLDERS.get(name, -1))


def module_name(path: Path, root: Path = PKG) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path = PKG):
    """(line, imported module) for every import of the package in ``path``, relative ones resolved.
    ``from contentplan import x`` / ``from . import x`` count as importing the submodule x."""
    me = module_name(path, root)
    here = me.split(".") if path.name == "__init__.py" else me.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level + 1]
                src = ".".join(base + ([node.module] if node.module else []))
            else:
                src = node.module or ""
            if src.split(".")[0] != "contentplan":
                continue
            if (root.parent / src.replace(".", "/")).is_dir():   # from a package: its submodules or names
                for alias in node.names:
                    yield node.lineno, f"{src}.{alias.name}"
            else:
                yield node.lineno, src
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "contentplan":
                    yield node.lineno, alias.name


def upstream_imports(root: Path = PKG) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        me = module_name(path, root)
        mine = layer(me)
        for line, target in imports(path, root):
            theirs = layer(target)
            if theirs == mine:
                continue
            if rank(theirs) >= rank(mine):
                bad.append(f"{path.relative_to(root.parent)}:{line}: {me} ({mine}) imports {target} ({theirs})")
    return bad


def test_every_import_points_downstream():
    assert upstream_imports() == []


def test_the_check_catches_an_upstream_import(tmp_path):
    """The same check on a copy of the package where model/ imports reports/ fails, naming the line."""
    import shutil
    copy = tmp_path / "contentplan"
    shutil.copytree(PKG, copy, ignore=shutil.ignore_patterns("__pycache__", "data", "templates"))
    target = copy / "model" / "rules.py"
    target.write_text(target.read_text(encoding="utf-8") + "\n\ndef _late():\n    from ..reports import gaps\n", encoding="utf-8")
    bad = upstream_imports(copy)
    assert len(bad) == 1 and "contentplan.model.rules (model) imports contentplan.reports.gaps (reports)" in bad[0], bad


@pytest.mark.parametrize("module", ["contentplan.io.tables", "contentplan.domain.schemes", "contentplan.model.runtime",
                                    "contentplan.inputs", "contentplan.match"])
def test_lower_layers_import_without_the_upper_ones(module):
    """Importing a lower layer loads nothing from reports/, training/ or the CLI."""
    import subprocess
    import sys
    code = (f"import sys, {module}; "
            "print(sorted(m for m in sys.modules if m.startswith(('contentplan.reports', 'contentplan.training', 'contentplan.cli'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PKG.parent, env={**__import__("os").environ, "PYTHONPATH": str(PKG.parent)})
    assert out.stdout.strip() == "[]"


def test_no_private_name_is_imported_from_another_module():
    """A name starting with '_' stays in its module; what another module needs is public."""
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("contentplan")):
                bad += [f"{path.relative_to(PKG.parent)}:{node.lineno}: {alias.name}" for alias in node.names
                        if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert bad == []


# What a command's body may import besides its one function in api.py: the adapters, the bar and
# line helpers, and review's terminal session (the keys it reads are the command line's).
CLI_HELPERS = {"contentplan.progress", "contentplan.terminal", "contentplan.dask", "contentplan.training.review"}


def command_imports(path: Path = PKG / "cli.py") -> dict[str, list[str]]:
    """For each ``@cli.command()`` function of cli.py, the 'module.name' it imports inside its body."""
    out = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "command"
                and isinstance(d.func.value, ast.Name) and d.func.value.id == "cli" for d in node.decorator_list):
            out[node.name] = [f"contentplan.{n.module}.{a.name}" for n in ast.walk(node)
                              if isinstance(n, ast.ImportFrom) and n.level == 1 for a in n.names]
    return out


def command_problems(path: Path = PKG / "cli.py") -> list[str]:
    """Commands that call no function of api.py, or several, or import anything else but the helpers."""
    bad = []
    for name, names in command_imports(path).items():
        api = [n for n in names if n.startswith("contentplan.api.")]
        other = [n for n in names if not n.startswith("contentplan.api.") and n.rsplit(".", 1)[0] not in CLI_HELPERS]
        if len(api) != 1 or other:
            bad.append(f"{name}: {', '.join(api) or 'no api function'}; {', '.join(other)}")
    return bad


def test_every_command_calls_one_function_in_api():
    """cli.py parses, calls one function of api.py and writes: no command reaches into the reports,
    inputs, model or training itself (the review session excepted: it reads keys)."""
    assert set(command_imports()) >= {"classify", "train", "evaluate", "adapt", "review", "schemes", "gaps", "tag", "prospects"}
    assert command_problems() == []


def test_the_command_check_catches_a_command_doing_its_own_work(tmp_path):
    src = (PKG / "cli.py").read_text(encoding="utf-8").replace(
        "    from .api import show_schemes\n", "    from .api import show_schemes\n    from .reports.gaps import gap_report\n")
    (tmp_path / "cli.py").write_text(src, encoding="utf-8")
    assert command_problems(tmp_path / "cli.py") == ["schemes: contentplan.api.show_schemes; contentplan.reports.gaps.gap_report"]
