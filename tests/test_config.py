"""Params validation, the setups and studies, and the CLI's one-line errors."""

import contextlib
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

PARAMS_FILES = sorted(str(p.relative_to(REPO)) for p in REPO.glob("s*/*/params.yaml")
                      if p.parent.parent.name in ("setups", "studies"))


def _quick():
    """The quick study and its setup as one mapping, as a single-folder project's params.yaml has them."""
    study, setup = (yaml.safe_load((REPO / f"{f}/quick/params.yaml").read_text()) for f in ("studies", "setups"))
    return {**{k: v for k, v in study.items() if k != "setup"}, **setup,
            "tasks": {t: setup["tasks"][t] for t in study["tasks"]}}


def _params(**changes):
    raw = _quick()
    for dotted, value in changes.items():
        *path, last = dotted.replace("bert_small", "bert-small").split("__")
        node = raw
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    return raw


def _write(path, raw):
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.mark.parametrize("name", PARAMS_FILES)
def test_every_setup_and_study_validates(name):
    params = config.load(REPO / name)
    for task in params.tasks:
        params.teacher_for(task)
        params.task_spec(task)
    for student in params.students:
        for variant in params.variants:
            params.distill_for(variant, student)


@pytest.mark.parametrize("name", PARAMS_FILES)
def test_a_params_file_writes_only_what_differs_from_the_defaults(name):
    """Defaults live in kdbench/config.py alone: a setup or study that repeats one would hide a change of it.
    (The blocks DVC's stages depend on are written, empty when all defaults; so are the keys the templates
    interpolate: a setup's backbone, a study's replicate students and seeds.)"""
    raw = config.read_yaml(REPO / name)
    interpolated = ("teacher.backbone", "replicate.students", "replicate.seeds")
    repeats = [f"{block}.{k}" for block, cls in config.BLOCKS.items() for k, v in (raw.get(block) or {}).items()
               if f"{block}.{k}" not in interpolated and dataclasses.asdict(cls()).get(k) == v]
    assert not repeats, f"{name} repeats the defaults of {repeats}"
    assert ("backbone" in raw["teacher"]) if "tasks" in raw and isinstance(raw["tasks"], dict) else "setup" in raw


def test_a_study_names_its_setup_and_some_of_its_tasks(tmp_path):
    (tmp_path / "setups/s").mkdir(parents=True)
    (tmp_path / "studies/q").mkdir(parents=True)
    setup = yaml.safe_load((REPO / "setups/quick/params.yaml").read_text())
    _write(tmp_path / "setups/s/params.yaml", setup)
    study = yaml.safe_load((REPO / "studies/quick/params.yaml").read_text())
    params = config.load(_write(tmp_path / "studies/q/params.yaml", {**study, "setup": "s", "tasks": ["terma"]}))
    assert list(params.tasks) == ["terma"] and params.teacher_for("terma").lr == 0.0002
    assert params.layout.setup.resolve() == (tmp_path / "setups/s").resolve()
    assert params.layout.student("terma", "cnn", "kd").resolve() == (tmp_path / "studies/q/models/terma/cnn/kd")
    # the repository's checkpoints/ (teacher.checkpoint), as a study and as its setup's own stages (run in
    # setups/s, reading params.yaml there) see it
    with contextlib.chdir(tmp_path / "setups/s"):
        assert config.load("params.yaml").layout.checkpoints == (tmp_path / "checkpoints").resolve()
    assert params.layout.checkpoints == (tmp_path / "checkpoints").resolve()
    for changes, message in (({"setup": "nope"}, "studies/q/params.yaml: setup: 'nope': "),
                             ({"tasks": ["posp"]}, "studies/q/params.yaml: tasks[0]: 'posp' is not a task of setup s"),
                             ({"teacher": {"lr": 0.1}}, "studies/q/params.yaml: teacher: a setup's setting"),
                             ({"variants": {}}, "studies/q/params.yaml: variants: list at least one")):
        with pytest.raises(KdbenchError, match=re.escape(message)):
            config.load(_write(tmp_path / "studies/q/params.yaml", {**study, "setup": "s", **changes}))
    _write(tmp_path / "setups/s/params.yaml", {**setup, "softlabels": {"augment": -1}})
    with pytest.raises(KdbenchError, match=re.escape("setups/s/params.yaml: softlabels.augment: must be >= 0")):
        config.load(_write(tmp_path / "studies/q/params.yaml", {**study, "setup": "s"}))


def test_grid_resources_by_stage_name():
    params = config.parse(_params(grid={"default": {"num_cpus": 1}, "distill": {"num_cpus": 2, "num_gpus": 0.5}}))
    assert params.resources("distill@smsa-bilstm-kd") == config.Resources(2.0, 0.5)
    assert params.resources("teacher@smsa") == config.Resources(1.0, 0.0)  # not listed: default
    assert config.load(REPO / "studies/quick/params.yaml").resources("teacher@terma").num_cpus == 2
    assert config.load(REPO / "studies/smoke/params.yaml").resources("teacher@smsa").num_cpus == 1


def test_the_readme_setups_are_there():
    paper = config.load(REPO / "studies/paper/params.yaml")
    assert paper.teacher.backbone == "indobenchmark/indobert-base-p1"
    assert set(paper.tasks) == {"indolem_sentiment", "emot", "smsa", "terma", "indolem_pos", "nergrit", "nerp", "posp"}
    assert len(config.load(REPO / "studies/all/params.yaml").tasks) == 14


@pytest.mark.parametrize("changes, message", [
    ({"teacher__lrr": 0.1}, "teacher.lrr: unknown key"),
    ({"teacher__epochs": "three"}, "teacher.epochs: expected int"),
    ({"teacher__pooling": "max"}, "teacher.pooling: must be 'auto', 'mean' or 'first', got 'max'"),
    ({"teacher__batch_size": 0}, "teacher.batch_size: must be > 0"),
    ({"softlabels__pool": "yes"}, "softlabels.pool: expected bool"),
    ({"tasks__smsa__max_trian": 5}, "tasks.smsa.max_trian: unknown key"),
    ({"tasks__terma__teacher": {"epoch": 2}}, "tasks.terma.teacher.epoch: unknown key"),
    ({"tasks": "smsa"}, "tasks: expected a mapping"),
    ({"teachers": {}}, "teachers: unknown key"),
    ({"students": "bilstm"}, "students: expected a mapping, got 'bilstm' (a mapping of name -> settings, "
                             "e.g. {bilstm: {}})"),
    ({"students": ["bilstm", "cnn"]}, "students: expected a mapping"),
    ({"students": {"lstm": {}}}, "students.lstm: unknown student 'lstm' (known: bert-tiny, bert-mini, bert-small, teacher-slice, "
                                   "bilstm, cnn)"),
    ({"students__bilstm": {"lr": "fast"}}, "students.bilstm.lr: expected float"),
    ({"students__bilstm": {"model": {"hiden": 8}}}, "students.bilstm.model.hiden: unknown size setting"),
    ({"students__bilstm": {"model": {"hidden": "8"}}}, "students.bilstm.model.hidden: expected int"),
    ({"students": {"teacher-slice": {"model": {"hidden": 256}}}},
     "students.teacher-slice.model.hidden: teacher-slice takes its hidden from the teacher"),
    ({"students__bert-tiny": {"model": {"pooling": "max"}}},
     "students.bert-tiny.model.pooling: must be 'first' or 'mean', got 'max'"),
    ({"variants__kd": {"loss": "l2"}}, "variants.kd.loss: unknown loss 'l2'"),
    ({"variants__kd": {"epoch": 3}}, "variants.kd.epoch: unknown key"),
    ({"variants__kd": "mse"}, "variants.kd: expected a mapping"),
    ({"variants": {"KD big": {}}}, "variants.KD big: 'KD big' is not a valid name"),
    ({"tasks": {"my task": {"custom": "csv"}}}, "tasks.my task: 'my task' is not a valid name"),
    ({"tasks": {"mine": {}}}, "tasks.mine: unknown task (public tasks: emot"),
    ({"tasks": {"mine": {"custom": "xlsx"}}}, "tasks.mine.custom: must be '', 'csv', 'tsv' or 'conll', got 'xlsx'"),
    ({"bench__runtimes": ["eager", "tensorrt"]}, "bench.runtimes[1]: unknown runtime 'tensorrt'"),
    ({"distill__embeddings": "glove"}, "distill.embeddings: unknown embedding init 'glove'"),
    ({"grid__teacher": {"num_cpu": 2}}, "grid.teacher.num_cpu: unknown key"),
    ({"grid__teacher": {"num_gpus": -1}}, "grid.teacher.num_gpus: must be >= 0.0, got -1"),
])
def test_wrong_params_name_the_key(changes, message):
    with pytest.raises(KdbenchError, match=re.escape(message)):
        config.parse(_params(**changes))


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize("changes, message", [
    ({"distill__temperature": NAN}, "distill.temperature: must be finite, got nan"),  # NaN fails no `> 0` check
    ({"distill__lr": INF}, "distill.lr: must be finite, got inf"),
    ({"teacher__head_lr": -INF}, "teacher.head_lr: must be finite, got -inf"),
    ({"students__bilstm": {"lr": NAN}}, "students.bilstm.lr: must be finite, got nan"),
    ({"students__bilstm": {"epochs": 0}}, "students.bilstm.epochs: must be > 0, got 0"),
    ({"fasttext__dim": -5}, "fasttext.dim: must be > 0, got -5"),
    ({"fasttext__epochs": 0}, "fasttext.epochs: must be > 0, got 0"),
    ({"fasttext__min_count": 0}, "fasttext.min_count: must be > 0, got 0"),
    ({"teacher__device": "tpu"}, "teacher.device: must be auto, cpu, cuda, cuda:N or mps, got 'tpu'"),
    ({"teacher__warmup": 5}, "teacher.warmup: must be < 1.0, got 5"),
    ({"teacher__warmup": 1.0}, "teacher.warmup: must be < 1.0, got 1.0"),
    ({"teacher__freeze_layers": -2}, "teacher.freeze_layers: must be >= 0, got -2"),
    ({"teacher__num_layers": -1}, "teacher.num_layers: must be >= 0, got -1"),
    ({"teacher__weight_decay": -0.01}, "teacher.weight_decay: must be >= 0.0, got -0.01"),
    ({"tasks__terma__teacher": {"warmup": 1}}, "tasks.terma.teacher.warmup: must be < 1.0, got 1"),
    ({"bench__warmup": -1}, "bench.warmup: must be >= 0, got -1"),
    ({"bench__runtimes": []}, "bench.runtimes: must not be empty, got []"),
    ({"bench__runtimes": ["native"]}, "bench.runtimes[0]: 'native' runs the non-neural reference only"),
    ({"replicate__seeds": [0]}, "replicate.seeds[0]: 0 is distill.seed already"),
    ({"replicate__seeds": [1, 1]}, "replicate.seeds: must be without repeats, got [1, 1]"),
    ({"variants__kd": {"seed": 2}, "replicate__seeds": [1, 2]}, "replicate.seeds[1]: 2 is variants.kd.seed already"),
    ({"variants__kd": {"max_length": 10000}}, "variants.kd.max_length: 10000 tokens is more than student cnn takes "
                                              "(max_positions 512"),
    ({"distill__max_length": 513}, "distill.max_length: 513 tokens is more than student cnn takes"),
    ({"students": {"bilstm": {}, "cnn": {}, "bert-tiny": {"model": {"max_positions": 64}}},
      "variants__kd": {"max_length": 100}}, "variants.kd.max_length: 100 tokens is more than student bert-tiny takes "
                                            "(max_positions 64"),
    ({"students__cnn": {"model": {"max_positions": 0}}}, "students.cnn.model.max_positions: must be > 0, got 0"),
    ({"students__bilstm": {"model": {"dropout": 1.5}}}, "students.bilstm.model.dropout: must be < 1.0, got 1.5"),
    ({"gate__score_drop": -0.1}, "gate.score_drop: must be >= 0.0, got -0.1"),
    ({"gate__rss_slack_mb": NAN}, "gate.rss_slack_mb: must be finite, got nan"),
    ({"report__latency_ms": INF}, "report.latency_ms: must be finite, got inf"),
    ({"report__size_mb": -1}, "report.size_mb: must be >= 0.0, got -1"),
    ({"distill__lr_grid": [0.001, NAN]}, "distill.lr_grid[1]: must be finite, got nan"),
    ({"distill__lr_grid": [0.001, 0]}, "distill.lr_grid[1]: must be > 0.0, got 0"),
    ({"distill__alpha": 1.5}, "distill.alpha: must be <= 1.0, got 1.5"),
    ({"distill__alpha": NAN}, "distill.alpha: must be finite, got nan"),
    ({"softlabels__p_ngram": -0.1}, "softlabels.p_ngram: must be >= 0.0, got -0.1"),
    ({"softlabels__p_mask": NAN}, "softlabels.p_mask: must be finite, got nan"),
    ({"softlabels__p_mask": 0.6, "softlabels__p_pos": 0.6}, "softlabels: p_mask + p_pos must be <= 1"),
    ({"grid__teacher": {"num_cpus": NAN}}, "grid.teacher.num_cpus: must be finite, got nan"),
    ({"grid__teacher": {"num_gpus": INF}}, "grid.teacher.num_gpus: must be finite, got inf"),
    ({"seed": -1}, "seed: must be >= 0, got -1"),
    ({"fetch__indonlu_commit": "master"}, "fetch.indonlu_commit: must be a full commit hash (40 hex digits)"),
    ({"tasks__smsa__tag_column": 0}, "tasks.smsa.tag_column: must be a tag column (0 is the token), got 0"),
    ({"report__compare": [["kd", "kd-old"]]}, "report.compare[0]: 'kd-old' is not a variant (variants: "),
    ({"report__compare": [["kd"]]}, "report.compare[0]: "),
    ({"distill__stop_on": "valid"}, "distill.stop_on: must be 'teacher', 'gold' or 'f1', got 'valid'"),
    ({"variants__kd": {"min_steps": -1}}, "variants.kd.min_steps: must be >= 0, got -1"),
    ({"teacher__min_steps": -5}, "teacher.min_steps: must be >= 0, got -5"),
])
def test_out_of_range_params_name_the_key(changes, message):
    with pytest.raises(KdbenchError, match=re.escape(message)) as error:
        config.parse(_params(**changes))
    assert str(error.value).startswith("params.yaml: ") and "\n" not in str(error.value)


def test_in_range_edge_values_pass():
    """The bounds themselves, a student's raised max_positions and a variant's own seed clear of the replicas'."""
    long = {"model": {"max_positions": 1024}}
    params = config.parse(_params(teacher__device="cuda:1", teacher__warmup=0, bench__warmup=0, distill__lr_grid=[],
                                  students={"bilstm": {}, "cnn": long, "bert-tiny": long}, distill__max_length=1024,
                                  variants__kd={"seed": 7, "max_length": 1024}))
    assert params.distill_for("kd").max_length == 1024 and params.distill_for("kd").seed == 7


@pytest.mark.parametrize("line, message", [
    ("distill: {temperature: .nan}", "distill.temperature: must be finite, got nan"),
    ("distill: {lr: .inf}", "distill.lr: must be finite, got inf"),
])
def test_nan_and_inf_in_the_yaml_file_fail(tmp_path, line, message):
    path = (tmp_path / "studies/q/params.yaml")
    path.parent.mkdir(parents=True)
    path.write_text((REPO / "studies/quick/params.yaml").read_text().replace("setup: quick", "setup: smoke")
                    .replace("distill: {}", line))
    (tmp_path / "setups/smoke").mkdir(parents=True)
    (tmp_path / "setups/smoke/params.yaml").write_text(
        (REPO / "setups/smoke/params.yaml").read_text().replace("nergrit", "terma"))
    with pytest.raises(KdbenchError, match=re.escape(f"{path}: {message}")):
        config.load(path)


def test_floats_as_yaml_1_2_and_dvc_write_them(tmp_path):
    """PyYAML alone reads 5e-05 as a string; kdbench reads it as the float it is."""
    path = _write(tmp_path / "params.yaml", _params())
    path.write_text(path.read_text().replace("backbone: e5-small", "backbone: e5-small\n  lr: 5e-05\n  head_lr: 1E-3"))
    params = config.load(path)
    assert params.teacher.lr == 5e-05 and params.teacher.head_lr == 0.001
    assert isinstance(config.read_yaml(path)["teacher"]["lr"], float)


def test_a_student_setting_applies_to_that_student_only():
    params = config.parse(_params(students__bert_small={"lr": 0.0002, "epochs": 40},
                                  variants__kd={"loss": "mse", "epochs": 30}))
    assert params.distill_for("kd", "bert-small").lr == 0.0002
    assert params.distill_for("kd", "bert-small").epochs == 40     # the student's budget over the variant's
    assert params.distill_for("kd", "bilstm").lr == params.distill.lr == 0.001
    assert params.distill_for("kd", "bilstm").epochs == 30
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


QUICK = yaml.safe_dump(_quick(), sort_keys=False)


@pytest.mark.parametrize("text, message", [
    (QUICK.replace("backbone: e5-small", "backbone: e5-small\n  lr: fast"),
     "params.yaml: teacher.lr: expected float, got 'fast'"),
    (QUICK[:QUICK.index("students:")] + "students: bilstm\n" + QUICK[QUICK.index("variants:"):],
     "params.yaml: students: expected a mapping, got 'bilstm'"),
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


def test_cli_unknown_task(tmp_path, capsys):
    params = _write(tmp_path / "params.yaml", _params())
    with pytest.raises(SystemExit) as exit_:
        main(["--params", str(params), "prepare", "posp", "--out", str(tmp_path / "o")])
    assert exit_.value.code == 2
    assert "tasks.posp: task not listed" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["predict", "--task", "smsa", "--student", "bilstm", "--input", "nope.txt"], "nope.txt: no such file (--input)"),
    (["profile", "--task", "smsa", "--model", "bilstm", "--runtime", "tensorrt"],
     "--runtime: unknown runtime 'tensorrt'"),
])
def test_cli_bad_arguments_are_one_line(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["--params", str(REPO / "studies/quick/params.yaml"), *argv])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and err.count("\n") == 1


def test_the_check_names_the_blocks_dvc_reads_that_a_params_file_lacks(tmp_path, monkeypatch, capsys):
    """DVC, not kdbench, reads a setup's and a study's blocks for their stages, without kdbench's defaults: the
    check stage names every missing one in one line, before a stage fails on it."""
    from kdbench import cli
    (tmp_path / "setups/a").mkdir(parents=True)
    (tmp_path / "studies/b").mkdir(parents=True)
    (tmp_path / "setups/a/params.yaml").write_text("tasks: {smsa: {}}\nteacher: {epochs: 1}\n")
    (tmp_path / "studies/b/params.yaml").write_text("setup: a\ntasks: [smsa]\nstudents: {bilstm: {}}\n"
                                                    "variants: {kd: {}}\nreplicate: {seeds: []}\n")
    for folder, missing in (("setups/a", "seed, teacher.backbone, softlabels, fasttext"),
                            ("studies/b", "distill, replicate.students, bench, report")):
        monkeypatch.chdir(tmp_path / folder)
        with pytest.raises(SystemExit):
            cli.main(["check"])
        err = capsys.readouterr().err
        assert err.startswith(f"kdbench: error: params.yaml: {missing}: missing;") and err.count("\n") == 1, err
        assert not (tmp_path / folder / "params.ok").exists()


def test_the_check_refuses_a_layer_wise_loss_on_a_student_without_layers(tmp_path, monkeypatch, capsys):
    """A `+layers` loss matches attention maps, which only the BERT students have: the check refuses a BiLSTM
    under one in one line, and writes no params.ok; the same study with BERT-Mini alone passes."""
    from kdbench import cli
    from kdbench.commands.check import layerwise_students
    assert layerwise_students() == ["bert-tiny", "bert-mini", "bert-small", "teacher-slice"]  # LayerMatch's; no CNN
    raw = _params(variants={"kd-layers": {"loss": "mse+layers"}}, report={})
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "params.yaml", {**raw, "students": {"bilstm": {}, "bert-mini": {}}})
    with pytest.raises(SystemExit):
        cli.main(["check"])
    err = capsys.readouterr().err
    assert err == ("kdbench: error: params.yaml: variants.kd-layers: loss mse+layers matches the teacher's hidden "
                   "states and attention maps, which student bilstm has not: a study with a layer-wise variant "
                   "lists only bert-tiny, bert-mini, bert-small, teacher-slice under students\n")
    assert not (tmp_path / "params.ok").exists()
    _write(tmp_path / "params.yaml", {**raw, "students": {"bert-mini": {}}})
    cli.main(["check"])
    assert (tmp_path / "params.ok").is_file()
