"""The pipelines' deps cannot go stale: every stage of dvc.yaml and of the setup and study templates
(setup.dvc.yaml, study.dvc.yaml: their stages run two folders down, so their code deps start with ../../)
depends on every kdbench module its command runs.

The modules are found statically: the `kdbench <subcommand>` of the stage's cmd runs cli.py and
kdbench/commands/<subcommand>.py, and every `import` reached from there is followed, function-level imports
included, as are module names given as strings (`python -m kdbench.bench.rss` in a subprocess) and the
pytest files a stage runs. A stage
that misses one fails here with the file to add; a kdbench dep that covers nothing the stage runs fails too.
"""

import ast
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

PACKAGE = "kdbench"
MODULE_STRING = re.compile(rf"^{PACKAGE}(\.\w+)+$")


def module_path(name):
    """The file of a kdbench module name (a package's __init__.py), or None when there is none."""
    base = REPO.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _with_parents(name):
    """Importing a.b.c runs a/__init__.py and a/b/__init__.py first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def imported_modules(tree):
    """kdbench module names a syntax tree imports (anywhere in it) or names as a string."""
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]  # `from pkg import mod`
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_STRING.match(node.value):
            names = [node.value]
        for name in names:
            if name.split(".")[0] == PACKAGE:
                found.update(n for n in _with_parents(name) if module_path(n))
    return found


# Functions whose imports only check that a name is registered (see kdbench/config.py `_registry`).
NAME_CHECKS = {"kdbench/config.py": {"_registry"}}


def parse(path):
    """The syntax tree of a kdbench file, without its name-check functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = NAME_CHECKS.get(str(path.relative_to(REPO)), set())
    tree.body = [n for n in tree.body if not (isinstance(n, ast.FunctionDef) and n.name in skip)]
    return tree


def closure(start_files, skip=()):
    """Every kdbench file reached from `start_files` by imports (not following `skip`)."""
    seen, todo = set(), list(start_files)
    while todo:
        path = todo.pop()
        if path in seen or path in skip:
            continue
        seen.add(path)
        todo += [module_path(m) for m in imported_modules(parse(path))]
    return seen


def command_files(subcommand):
    """The files `kdbench <subcommand>` runs: cli.py (which imports only the command it dispatches to),
    kdbench/commands/<subcommand>.py, and all they import."""
    start = {REPO / PACKAGE / "cli.py", REPO / PACKAGE / "commands" / f"{subcommand}.py"}
    if subcommand == "bench":  # it runs the pytest-benchmark cases, which import the harness
        start |= set((REPO / "tests" / "benchmarks").glob("*.py"))
    return closure(start)


PIPELINES = {"dvc.yaml": "", "setup.dvc.yaml": "../../", "study.dvc.yaml": "../../"}  # file: the way up to the root


def stages():
    """(file:stage name, subcommand, deps relative to the repository root) of every stage of every pipeline."""
    out = []
    for file, up in PIPELINES.items():
        for name, stage in yaml.safe_load((REPO / file).read_text())["stages"].items():
            body = stage.get("do", stage)
            words = body["cmd"].split()
            assert words[0] == "kdbench", f"{file}:{name}: the command is not a kdbench subcommand"
            deps = [d.removeprefix(up) if d.startswith(up + PACKAGE) or d.startswith(up + "tests") else d
                    for d in body.get("deps", [])]
            out.append((f"{file}:{name}", words[1], deps))
    return out


def covers(dep, path):
    rel = path.relative_to(REPO)
    return Path(dep) == rel or Path(dep) in rel.parents


def problems(name, subcommand, deps):
    """What is wrong with a stage's code deps: files it runs and does not depend on, code deps it never runs, and
    folders it depends on that hold files it never runs (a change there would rerun it for nothing)."""
    needed = command_files(subcommand)
    out = []
    missing = sorted(str(p.relative_to(REPO)) for p in needed if not any(covers(d, p) for d in deps))
    if missing:
        out.append(f"stage {name!r} runs these files but does not depend on them: {missing}")
    code_deps = [d for d in deps if d.split("/")[0] in (PACKAGE, "tests")]
    unused = [d for d in code_deps if not any(covers(d, p) for p in needed)]
    if unused:
        out.append(f"stage {name!r} depends on code it never runs: {unused}")
    extra = sorted(str(p.relative_to(REPO)) for d in code_deps if (REPO / d).is_dir()
                   for p in (REPO / d).rglob("*.py") if p not in needed)
    if extra:
        out.append(f"stage {name!r} depends on folders holding files it never runs: {extra}")
    return out


@pytest.mark.parametrize("name, subcommand, deps", stages(), ids=[s[0] for s in stages()])
def test_stage_depends_on_every_module_it_runs(name, subcommand, deps):
    assert not problems(name, subcommand, deps)


def test_the_check_sees_a_missing_an_unused_and_a_too_wide_dep():
    """The check itself can fail: the distill stage's deps without metrics.py, with the report's code, and with
    all of kdbench/bench (it runs none of it) each give the problem that names them."""
    (name, subcommand, deps), = [s for s in stages() if s[0] == "study.dvc.yaml:distill"]
    assert not problems(name, subcommand, deps)
    (missing,) = problems(name, subcommand, [d for d in deps if d != "kdbench/metrics.py"])
    assert "does not depend on them: ['kdbench/metrics.py']" in missing
    (unused,) = problems(name, subcommand, [*deps, "kdbench/report/plots.py"])
    assert "never runs: ['kdbench/report/plots.py']" in unused
    wide = problems(name, subcommand, [d for d in deps if d != "kdbench/students"] + ["kdbench"])
    assert len(wide) == 1 and "folders holding files it never runs" in wide[0] and "kdbench/bench/gate.py" in wide[0]
