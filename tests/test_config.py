"""params.yaml validation, the profiles, and the CLI's one-line errors."""

import subprocess
import sys

import pytest
import yaml

from kdbench import config
from kdbench.cli import main
from kdbench.errors import KdbenchError
from tests.conftest import REPO

PROFILES = sorted(p.stem for p in (REPO / "profiles").glob("*.yaml"))


def _params(**changes):
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    for dotted, value in changes.items():
        *path, last = dotted.split("__")
        node = raw
        for p in path:
            node = node[p]
        node[last] = value
    return raw


def test_committed_params_are_the_quick_profile():
    assert (REPO / "params.yaml").read_text() == (REPO / "profiles/quick.yaml").read_text()


@pytest.mark.parametrize("name", PROFILES)
def test_every_profile_validates(name):
    params = config.load(REPO / "profiles" / f"{name}.yaml")
    for task in params.tasks:
        params.teacher_for(task)


def test_profiles_cover_what_the_readme_promises():
    assert {"quick", "paper", "all", "smoke"} <= set(PROFILES)
    paper = config.load(REPO / "profiles/paper.yaml")
    assert paper.teacher.backbone == "indobenchmark/indobert-base-p1"
    assert set(paper.tasks) == {"indolem_sentiment", "emot", "smsa", "terma", "indolem_pos", "nergrit", "nerp", "posp"}
    assert len(config.load(REPO / "profiles/all.yaml").tasks) == 14


@pytest.mark.parametrize("changes, message", [
    ({"teacher__lrr": 0.1}, "teacher.lrr: unknown key"),
    ({"teacher__epochs": "three"}, "teacher.epochs: expected int"),
    ({"teacher__pooling": "max"}, "teacher.pooling: 'max' is not one of"),
    ({"teacher__batch_size": 0}, "teacher.batch_size: must be > 0"),
    ({"softlabels__pool": "yes"}, "softlabels.pool: expected bool"),
    ({"tasks__smsa__max_trian": 5}, "tasks.smsa.max_trian: unknown key"),
    ({"tasks__terma__teacher": {"epoch": 2}}, "tasks.terma.teacher.epoch: unknown key"),
    ({"tasks": {}}, "tasks: list at least one task"),
    ({"teachers": {}}, "teachers: unknown key"),
])
def test_wrong_params_name_the_key(changes, message):
    with pytest.raises(KdbenchError, match=message.replace("(", r"\(").replace(".", r"\.")):
        config.parse(_params(**changes))


def test_task_overrides_apply_only_to_their_task():
    params = config.parse(_params())
    assert params.teacher_for("terma").lr == 0.0002
    assert params.teacher_for("smsa").lr == params.teacher.lr
    assert isinstance(params.teacher_for("terma").lr, float)


def test_cli_lists_fourteen_tasks(mirror, capsys):
    main(["tasks", "--data", str(mirror)])
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert len(rows) == 14
    assert rows["smsa"][-3:] == ["11000", "1260", "500"]
    assert rows["nergrit"][-3:] == ["1672", "209", "209"]


def test_cli_user_error_is_one_line(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("tasks: {smsa: {max_train: 10}}\nteacher: {lr: fast}\n")
    out = subprocess.run([sys.executable, "-m", "kdbench.cli", "--params", str(bad), "prepare", "smsa", "--out",
                          str(tmp_path / "out")], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "teacher.lr: expected float" in out.stderr
    assert not (tmp_path / "out").exists()


def test_cli_unknown_task_and_profile(tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text((REPO / "params.yaml").read_text())
    for argv, message in ((["prepare", "posp", "--out", str(tmp_path / "o")], "tasks.posp: task not listed"),
                          (["use", "nope"], "unknown profile 'nope'")):
        with pytest.raises(SystemExit) as exit_:
            main(["--params", str(params), *argv])
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err
