"""params.yaml validation, the profiles, and the CLI's one-line errors."""

import dataclasses
import re
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
        *path, last = dotted.replace("bert_small", "bert-small").split("__")
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
        params.task_spec(task)
    for student in params.students:
        for variant in params.variants:
            params.distill_for(variant, student)


@pytest.mark.parametrize("name", PROFILES)
def test_every_profile_writes_every_key_out(name):
    """A profile that left a key out would silently run with the dataclass default: each writes all."""
    raw = config.read_yaml(REPO / "profiles" / f"{name}.yaml")
    missing = [f"{block}.{f.name}" for block, cls in config.BLOCKS.items() for f in dataclasses.fields(cls)
               if f.name not in (raw.get(block) or {})]
    assert "seed" in raw and not missing, f"profiles/{name}.yaml leaves out {missing}: write them out"
    assert {"default", "teacher", "softlabels"} <= set(raw.get("grid") or {}), f"profiles/{name}.yaml: grid"


def test_grid_resources_by_stage_name():
    params = config.parse(_params(grid={"default": {"num_cpus": 1}, "distill": {"num_cpus": 2, "num_gpus": 0.5}}))
    assert params.resources("distill@smsa-bilstm-kd") == config.Resources(2.0, 0.5)
    assert params.resources("teacher@smsa") == config.Resources(1.0, 0.0)  # not listed: default
    assert config.load(REPO / "params.yaml").resources("teacher@terma").num_cpus == 2


def test_defaults_are_the_quick_profile():
    """The dataclass defaults are one source of truth, and the quick profile shows them all."""
    quick = config.load(REPO / "profiles/quick.yaml")
    for block, cls in config.BLOCKS.items():
        value = getattr(quick, block)
        if block == "replicate":  # which students to replicate is the pipeline's shape, as `students:` is
            value = dataclasses.replace(value, students=[])
        assert value == cls(), f"profiles/quick.yaml {block} differs from config.{cls.__name__}"


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
    ({"tasks": {}}, "tasks: list at least one"),
    ({"teachers": {}}, "teachers: unknown key"),
    ({"students": "bilstm"}, "students: expected a mapping, got 'bilstm' (a mapping of name -> settings, "
                             "e.g. {bilstm: {}})"),
    ({"students": ["bilstm", "cnn"]}, "students: expected a mapping"),
    ({"students": {"lstm": {}}}, "students.lstm: unknown student 'lstm' (known: bert-tiny, bert-mini, bert-small, bilstm, cnn)"),
    ({"students__bilstm": {"lr": "fast"}}, "students.bilstm.lr: expected float"),
    ({"students__bilstm": {"model": {"hiden": 8}}}, "students.bilstm.model.hiden: unknown size setting"),
    ({"students__bilstm": {"model": {"hidden": "8"}}}, "students.bilstm.model.hidden: expected int"),
    ({"variants__kd": {"loss": "l2"}}, "variants.kd.loss: unknown loss 'l2'"),
    ({"variants__kd": {"epoch": 3}}, "variants.kd.epoch: unknown key"),
    ({"variants__kd": "mse"}, "variants.kd: expected a mapping"),
    ({"variants": {"KD big": {}}}, "variants.KD big: 'KD big' is not a valid name"),
    ({"tasks": {"my task": {"custom": "csv"}}}, "tasks.my task: 'my task' is not a valid name"),
    ({"tasks": {"mine": {}}}, "tasks.mine: unknown task (public tasks: emot"),
    ({"tasks": {"mine": {"custom": "xlsx"}}}, "tasks.mine.custom: 'xlsx' is not one of csv, tsv, conll"),
    ({"bench__runtimes": ["eager", "tensorrt"]}, "bench.runtimes[1]: unknown runtime 'tensorrt'"),
    ({"distill__embeddings": "glove"}, "distill.embeddings: unknown embedding init 'glove'"),
    ({"grid__teacher": {"num_cpu": 2}}, "grid.teacher.num_cpu: unknown key"),
    ({"grid__teacher": {"num_gpus": -1}}, "grid.teacher.num_cpus and num_gpus must be >= 0"),
])
def test_wrong_params_name_the_key(changes, message):
    with pytest.raises(KdbenchError, match=re.escape(message)):
        config.parse(_params(**changes))


def test_floats_as_yaml_1_2_and_dvc_write_them(tmp_path):
    """PyYAML alone reads 5e-05 as a string; kdbench reads it as the float it is."""
    path = tmp_path / "params.yaml"
    path.write_text((REPO / "params.yaml").read_text().replace("lr: 0.0001 ", "lr: 5e-05 ")
                    .replace("head_lr: 0.001 ", "head_lr: 1E-3 "))
    params = config.load(path)
    assert params.teacher.lr == 5e-05 and params.teacher.head_lr == 0.001
    assert isinstance(config.read_yaml(path)["teacher"]["lr"], float)


def test_a_student_setting_applies_to_that_student_only():
    params = config.parse(_params(students__bert_small={"lr": 0.0002}))
    assert params.distill_for("kd", "bert-small").lr == 0.0002
    assert params.distill_for("kd", "bilstm").lr == params.distill.lr == 0.001
    assert params.distill_for("kd").lr == 0.001


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


QUICK = (REPO / "params.yaml").read_text()
STUDENTS_BLOCK = QUICK[QUICK.index("students:"):QUICK.index("distill:")]


@pytest.mark.parametrize("text, message", [
    (QUICK.replace("lr: 0.0001 ", "lr: fast "), "params.yaml: teacher.lr: expected float, got 'fast'"),
    (QUICK.replace(STUDENTS_BLOCK, "students: bilstm\n\n"), "params.yaml: students: expected a mapping, got 'bilstm'"),
    (QUICK.replace("  smsa:\n", "  smsa:\n    custom: csv\n"), "tasks.smsa: a custom task cannot reuse"),
])
def test_cli_user_error_is_one_line(tmp_path, text, message):
    bad = tmp_path / "params.yaml"
    bad.write_text(text)
    out = subprocess.run([sys.executable, "-m", "kdbench.cli", "--params", str(bad), "prepare", "smsa", "--out",
                          str(tmp_path / "out")], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and message in out.stderr, out.stderr
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


@pytest.mark.parametrize("argv, message", [
    (["predict", "--task", "smsa", "--student", "bilstm", "--input", "nope.txt"], "nope.txt: no such file (--input)"),
    (["profile", "--task", "smsa", "--model", "bilstm", "--runtime", "tensorrt"],
     "--runtime: unknown runtime 'tensorrt'"),
])
def test_cli_bad_arguments_are_one_line(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["--params", str(REPO / "params.yaml"), *argv])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and err.count("\n") == 1
