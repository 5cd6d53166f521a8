"""A teacher kdbench cannot run, given as a file of its logits (teacher.logits): `kdbench texts` lists what it
must label, a made-up teacher labels it (in a column order other than the task's, under generic names and a
label map), and the teacher stage scores exactly the file's argmax; soft labels carry the file's rows in the
task's order, word by word for tagging, and a student distils from them. A missing or extra text, a row of the
wrong width, a non-finite value and generic names without a map are each one error line."""

import hashlib
import json
import math

import numpy as np
import pytest
import yaml

from kdbench import cli
from kdbench.config import DistillConfig, SoftlabelConfig, TeacherConfig
from kdbench.data.prepare import load_prepared, prepare_task
from kdbench.errors import KdbenchError
from kdbench.io import load_logits, read_jsonl
from kdbench.metrics import score
from kdbench.tasks import get_task
from kdbench.teacher.model import Teacher
from kdbench.teacher.softlabels import write_softlabels
from kdbench.teacher.train import run_teacher

SOFTLABELS = {"pool": False, "augment": 1, "transfer_max": 20}  # the setup's: no public pool in this test


@pytest.fixture(scope="module")
def setup(mirror, tmp_path_factory):
    """A repository with setups/mine (SmSA and NERGrit, a few dozen examples, prepared) and `kdbench texts`'s
    list of what the teacher must label for each task."""
    root = tmp_path_factory.mktemp("logits-teacher")
    folder = root / "setups" / "mine"
    folder.mkdir(parents=True)
    (root / "checkpoints").mkdir()
    (folder / "params.yaml").write_text(yaml.safe_dump({
        "tasks": {"smsa": {"max_train": 48, "max_valid": 16}, "nergrit": {"max_train": 32, "max_valid": 16}},
        "softlabels": SOFTLABELS}))
    for name, spec in (("smsa", (48, 16)), ("nergrit", (32, 16))):
        prepare_task(get_task(name), mirror, folder / "data/prepared" / name, max_train=spec[0], max_valid=spec[1])
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        for name in ("smsa", "nergrit"):
            cli.main(["--params", "setups/mine/params.yaml", "texts", name, "--out", f"{name}.texts.jsonl"])
    return root


def _teacher_logits(line, width):
    """A made-up teacher: logits from a hash of the input (one row a word for tagging)."""
    seed = int(hashlib.sha256(json.dumps(line, sort_keys=True).encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(seed)
    shape = (len(line["tokens"]), width) if "tokens" in line else (width,)
    return np.round(rng.normal(size=shape) * 3, 4)


def _write(root, task, names, lines=None, edit=None):
    """checkpoints/<task>.jsonl: the header naming the columns, then every listed input with its logits."""
    lines = lines if lines is not None else read_jsonl(root / f"{task}.texts.jsonl")
    out = [{"labels": names}] + [{**line, "logits": _teacher_logits(line, len(names)).tolist()} for line in lines]
    if edit:
        edit(out)
    (root / "checkpoints" / f"{task}.jsonl").write_text("\n".join(json.dumps(o) for o in out) + "\n")
    return out


# column order and names the teacher uses: reversed, generic for SmSA (a label map says which is which)
COLUMNS = {"smsa": (["LABEL_0", "LABEL_1", "LABEL_2"], {"LABEL_0": "positive", "LABEL_1": "neutral",
                                                       "LABEL_2": "negative"})}


def _columns(task, labels):
    return COLUMNS.get(task, (list(reversed(labels)), {}))


def _run_teacher(root, task, tmp_path, label_map):
    return run_teacher(task, TeacherConfig(logits=f"checkpoints/{task}.jsonl", label_map=label_map),
                       root / "setups/mine/data/prepared" / task, None, tmp_path / "teacher",
                       tmp_path / "metrics.json", tmp_path / "predictions.json", tmp_path / "reference",
                       root / "checkpoints")


@pytest.mark.parametrize("task", ["smsa", "nergrit"])
def test_the_teacher_is_its_logits_file(setup, task, tmp_path):
    prepared = setup / "setups/mine/data/prepared" / task
    meta, splits = load_prepared(prepared)
    names, label_map = _columns(task, meta["labels"])
    written = _write(setup, task, names)
    report = _run_teacher(setup, task, tmp_path, label_map)
    assert report["backbone"] is None and report["epochs_run"] == 0 and report["logits"]["inputs"] == len(written) - 1
    # the task's label for each file column, and the file's argmax is the teacher's prediction, scored as such
    mapping = report["logits"]["label_map"]
    column = [names.index(next(n for n, t in mapping.items() if t == label)) for label in meta["labels"]]
    rows = {json.dumps({k: v for k, v in o.items() if k != "logits"}, sort_keys=True): np.asarray(o["logits"])
            for o in written[1:]}

    def file_rows(r):
        return rows[json.dumps({k: r[k] for k in ("text", "tokens") if k in r}, sort_keys=True)][..., column]

    kind = meta["kind"]
    expected = [[meta["labels"][i] for i in file_rows(r).argmax(-1)] if kind == "tagging"
                else meta["labels"][int(file_rows(r).argmax())] for r in splits["test"]]
    assert json.loads((tmp_path / "predictions.json").read_text())["teacher"] == expected
    gold = [r["tags"] if kind == "tagging" else r["label"] for r in splits["test"]]
    assert report["test"]["macro_f1"] == score(kind, gold, expected)["macro_f1"]
    # soft labels: the file's rows in the task's label order, for every split and transfer text
    assert type(Teacher.load(tmp_path / "teacher")).__name__ == "LogitsTeacher"
    info, _ = write_softlabels(tmp_path / "teacher", prepared, tmp_path / "no-pool", get_task(task).group,
                               tmp_path / "softlabels", SoftlabelConfig(**SOFTLABELS))
    transfer = read_jsonl(tmp_path / "softlabels/transfer.jsonl")
    assert info["transfer_size"] == len(transfer) > 0 and info["transfer_sources"]["augment"] > 0
    for name, records in (("test", splits["test"]), ("transfer", transfer)):
        for r, got in zip(records, load_logits(tmp_path / f"softlabels/{name}.safetensors")):
            want = file_rows(r).astype(np.float32)
            np.testing.assert_array_equal(got if kind == "tagging" else got[0], want)
    if task == "smsa":  # a student learns from it; the teacher's word table it does not have
        from kdbench.distill.train import run_distill
        args = (prepared, tmp_path / "softlabels", tmp_path / "teacher", None, tmp_path / "student",
                tmp_path / "student.json", tmp_path / "student-pred.json")
        cfg = DistillConfig(loss="mse", transfer=["own", "augment"], epochs=1, min_steps=0, lr_grid=[], max_length=32)
        metrics = run_distill(task, "bilstm", "kd", cfg, {"hidden": 16, "emb_dim": 32}, *args)
        assert 0 <= metrics["test_agreement_with_teacher"] <= 1 and metrics["transfer_size"] > 0
        with pytest.raises(KdbenchError, match="embeddings: teacher reads the teacher's word table"):
            run_distill(task, "bert-tiny", "kd", DistillConfig(loss="mse", embeddings="teacher", epochs=1, min_steps=0,
                                                                lr_grid=[]), {}, *args)
        with pytest.raises(KdbenchError, match="loss mse\\+layers matches the teacher's layers, and a teacher from a "
                                               "logits file"):
            run_distill(task, "bert-tiny", "kd-layers", DistillConfig(loss="mse+layers", epochs=1, min_steps=0,
                                                                       lr_grid=[]), {}, *args)
    else:  # a tagging task has no one class per text to balance by
        from kdbench.distill.train import run_distill
        with pytest.raises(KdbenchError, match=f"distill {task}/bilstm/kd: balance: true .* {task} is a tagging task"):
            run_distill(task, "bilstm", "kd", DistillConfig(loss="mse", transfer=["own"], balance=True), {}, prepared,
                        tmp_path / "softlabels", tmp_path / "teacher", None, *(tmp_path / f for f in ("s", "m", "p")))


def _drop_first_test(lines_of):
    def edit(out):
        test = read_jsonl(lines_of)
        first = json.dumps({"text": test[0]["text"]}, sort_keys=True)
        out[:] = [o for o in out if json.dumps({k: v for k, v in o.items() if k != "logits"}, sort_keys=True) != first]
    return edit


@pytest.mark.parametrize("case", ["missing", "width", "nan", "generic", "empty", "not-json"])
def test_a_bad_logits_file_is_one_line(setup, case, tmp_path):
    task, names, label_map = "smsa", ["negative", "neutral", "positive"], {}
    test_file = setup / "setups/mine/data/prepared/smsa/test.jsonl"
    path = setup / "checkpoints/smsa.jsonl"
    edits = {
        "missing": (_drop_first_test(test_file), r"no logits for 1 of the \d+ test examples \(first: '"),
        "width": (lambda out: out[3].update(logits=[1.0, 2.0]), r"smsa.jsonl:4: the logits are not 3 numbers"),
        "nan": (lambda out: out[5].update(logits=[0.0, math.nan, 1.0]), r"smsa.jsonl:6: logits not finite"),
        "generic": (lambda out: out[0].update(labels=["LABEL_0", "LABEL_1", "LABEL_2"]),
                    r"its labels are generic \(LABEL_0, LABEL_1, LABEL_2...\): say which task label"),
    }
    if case in edits:
        edit, message = edits[case]
        _write(setup, task, names, edit=edit)
        if case == "nan":  # json.dumps writes NaN, which a strict reader would refuse: written as JSON allows
            assert "NaN" in path.read_text()
    elif case == "empty":
        path.write_text("")
        message = r"smsa.jsonl: empty \(line 1 names the logit columns"
    else:
        _write(setup, task, names)
        path.write_text(path.read_text().replace('"logits": [', '"logits": [[', 1))
        message = r"smsa.jsonl:2: not a JSON object \(Expecting"
    with pytest.raises(KdbenchError, match=message) as e:
        _run_teacher(setup, task, tmp_path, label_map)
    assert "\n" not in str(e.value)
    assert not list(tmp_path.iterdir())  # the teacher stage wrote nothing: no model, metrics or predictions


def test_an_input_the_transfer_set_does_not_have_is_one_line(setup, tmp_path):
    """A file labelled for other params (here: a text no split or transfer set of this setup has) is caught at
    the soft labels, where the transfer set is known."""
    names = ["negative", "neutral", "positive"]
    lines = read_jsonl(setup / "smsa.texts.jsonl") + [{"text": "teks yang tidak ada di mana pun"}]
    _write(setup, "smsa", names, lines=lines)
    _run_teacher(setup, "smsa", tmp_path, {})  # every example is there: the teacher stage takes it
    with pytest.raises(KdbenchError, match=r"1 inputs are neither examples of the task nor texts of its transfer "
                                           r"set \(first: 'teks yang tidak ada di mana pun'\)"):
        write_softlabels(tmp_path / "teacher", setup / "setups/mine/data/prepared/smsa", tmp_path / "no-pool",
                         "classification", tmp_path / "softlabels", SoftlabelConfig(**SOFTLABELS))
    assert not (tmp_path / "softlabels").exists()  # nothing half-written


def test_bench_and_report_go_on_without_the_teachers_timings(setup, monkeypatch):
    """A study on the logits teacher: the bench times the students and the reference, not the teacher (it has
    no network), so speed-ups against it are None; the report and the recommendation come out all the same."""
    from kdbench.bench.rows import bench_rows
    from kdbench.bench.run import run_bench
    from kdbench.distill.train import run_distill
    task, names, layout = "smsa", ["negative", "neutral", "positive"], setup / "setups/mine"
    _write(setup, task, names)
    prepared = layout / "data/prepared" / task
    run_teacher(task, TeacherConfig(logits=f"checkpoints/{task}.jsonl"), prepared, None,
                layout / "models/smsa/teacher", layout / "reports/metrics/smsa/teacher.json",
                layout / "reports/predictions/smsa/teacher.json", layout / "models/smsa/reference",
                setup / "checkpoints")
    write_softlabels(layout / "models/smsa/teacher", prepared, setup / "no-pool", "classification",
                     layout / "data/softlabels/smsa", SoftlabelConfig(**SOFTLABELS))
    study = setup / "studies/mine"
    study.mkdir(parents=True)
    (study / "params.yaml").write_text(yaml.safe_dump({
        "setup": "mine", "tasks": ["smsa"], "students": {"bilstm": {"model": {"hidden": 16, "emb_dim": 32}}},
        "variants": {"kd": {"loss": "mse", "transfer": ["own", "augment"]}}, "distill": {"epochs": 1, "min_steps": 0, "lr_grid": []},
        "bench": {"sample": 8, "warmup": 1, "passes": 1, "rss": False}}))
    run_distill(task, "bilstm", "kd", DistillConfig(loss="mse", transfer=["own", "augment"], epochs=1, min_steps=0,
                                                    lr_grid=[]),
                {"hidden": 16, "emb_dim": 32}, prepared, layout / "data/softlabels/smsa", layout / "models/smsa/teacher",
                None, study / "models/smsa/bilstm/kd", study / "reports/metrics/smsa/bilstm/kd.json",
                study / "reports/predictions/smsa/bilstm/kd.json")
    monkeypatch.chdir(study)
    run_bench("params.yaml", [task], "reports/bench/smsa.json", "reports/history/smsa.jsonl")
    rows = {r["id"]: r for r in bench_rows(study / "reports/bench/smsa.json")}
    assert set(rows) == {"smsa-reference-native", "smsa-bilstm-kd-eager", "smsa-bilstm-kd-onnx", "smsa-bilstm-kd-int8"}
    assert all(r["speedup_vs_fastest_teacher"] is None and r["speedup_vs_teacher_same_runtime"] is None and r["pct_of_teacher"] > 0 for r in rows.values())
    cli.main(["report"])
    summary = json.loads((study / "reports/report.json").read_text())
    assert summary["recommendations"]["smsa"]["answer"] and (study / "reports/index.html").is_file()
