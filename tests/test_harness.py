"""The benchmark harness on a tiny saved student: case discovery, the length spread of the timed sample,
runtimes that agree with eager, and the peak RSS of a fresh subprocess."""

import json

import numpy as np
import pytest
import torch

from kdbench.bench import runtimes
from kdbench.bench.harness import (
    Case,
    Harness,
    artifact_path,
    discover,
    dvc_md5,
    export_cache,
    length_spread,
    peak_rss_mb,
    percentiles_ms,
)
from kdbench.config import load, parse
from kdbench.errors import KdbenchError
from kdbench.io import write_json, write_jsonl
from kdbench.students import create_student
from kdbench.students.artifact import save_student, student_config
from kdbench.students.vocab import WordVocab

LABELS = ["negative", "neutral", "positive"]
WORDS = "makanan enak sekali tempat bersih pelayanan buruk mahal harga murah".split()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A project root with params.yaml, one prepared task and one trained (randomly initialised) student."""
    root = tmp_path_factory.mktemp("project")
    rng = np.random.default_rng(0)
    test = [{"text": " ".join(rng.choice(WORDS, size=n)), "label": LABELS[n % 3]} for n in range(1, 41)]
    prepared = root / "data/prepared/smsa"
    for split in ("train", "valid", "test"):
        write_jsonl(prepared / f"{split}.jsonl", test)
    write_json(prepared / "labels.json", {"task": "smsa", "kind": "single", "labels": LABELS, "aspects": None,
                                          "sizes": {s: len(test) for s in ("train", "valid", "test")}})
    (root / "params.yaml").write_text(
        "tasks: {smsa: {}}\nstudents: {bilstm: {}}\nvariants: {kd: {loss: mse}}\n"
        "bench: {sample: 8, warmup: 1, runtimes: [eager, onnx, int8]}\n")
    torch.manual_seed(0)
    vocab = WordVocab.build([r["text"] for r in test], min_count=1)
    overrides = {"emb_dim": 32, "hidden": 16}
    student = create_student("bilstm", len(vocab), "single", 3, pad_id=vocab.pad_id, **overrides).eval()
    save_student(student, vocab, student_config("bilstm", overrides, "single", LABELS, None, vocab, 64),
                 root / "models/smsa/bilstm/kd")
    return root


def test_discover_lists_only_trained_models(project):
    params = parse({"tasks": {"smsa": {}}, "students": {"bilstm": {}, "cnn": {}}, "variants": {"kd": {}, "nokd": {}}})
    params.layout = load(project / "params.yaml").layout
    assert [c.id for c in discover(params)] == ["smsa-bilstm-kd-eager", "smsa-bilstm-kd-onnx",
                                                          "smsa-bilstm-kd-int8"]


def test_length_spread_covers_short_to_long():
    records = [{"text": " ".join(["w"] * n)} for n in (5, 1, 9, 3, 7, 2, 8)]
    picked = [len(r["text"].split()) for r in length_spread(records, 3)]
    assert picked == [1, 5, 9]
    assert len(length_spread(records, 50)) == 7


def test_percentiles_in_milliseconds():
    p = percentiles_ms([0.001] * 98 + [0.010, 0.020])
    assert p["p50"] == pytest.approx(1.0) and p["p99"] > p["p90"] >= 1.0 and p["mean"] == pytest.approx(1.28)


def test_runtimes_agree_and_onnx_process_is_smaller(project, tmp_path):
    harness = Harness(load(project / "params.yaml"), work_dir=tmp_path)
    preps = {rt: harness.prepare(Case("smsa", "bilstm", "kd", rt, harness.layout)) for rt in ("eager", "onnx", "int8")}
    inputs = preps["eager"].sample_inputs
    assert len(inputs) == 8 and [int(x[1].sum()) for x in inputs] == sorted(int(x[1].sum()) for x in inputs)
    eager = np.concatenate([preps["eager"].predict(*x) for x in inputs])
    onnx = np.concatenate([preps["onnx"].predict(*x) for x in inputs])
    int8 = np.concatenate([preps["int8"].predict(*x) for x in inputs])
    assert np.allclose(onnx, eager, atol=1e-4)
    assert np.abs(int8 - eager).max() < 0.1 * np.abs(eager).max() + 1e-3
    onnx_file = artifact_path(Case("smsa", "bilstm", "kd", "onnx", harness.layout), inputs[-1])
    assert onnx_file.parent == export_cache() and onnx_file.name.startswith("smsa-bilstm-kd-")
    assert onnx_file.is_file() and onnx_file.with_name(onnx_file.name.replace(".onnx", ".int8.onnx")).is_file()

    rss = {rt: peak_rss_mb(Case("smsa", "bilstm", "kd", rt, harness.layout), inputs, 1, tmp_path) for rt in preps}
    assert all(30 < mb < 2000 for mb in rss.values()), rss
    assert rss["onnx"] < rss["eager"] / 2, rss  # the ONNX process never imports torch


def test_the_reference_runs_in_its_own_rss_process(project, tmp_path):
    """The reference's RSS subprocess reads the sample the harness prepared for it (no torch)."""
    import shutil

    from kdbench.reference import fit_reference, save_reference
    root = tmp_path / "project"
    shutil.copytree(project, root)
    test = [json.loads(line) for line in (root / "data/prepared/smsa/test.jsonl").read_text().splitlines()]
    save_reference(fit_reference("single", test), root / "models/smsa/reference")
    harness = Harness(load(root / "params.yaml"), work_dir=tmp_path)
    case = Case("smsa", "reference", None, "native", harness.layout)
    prep = harness.prepare(case)
    assert 10 < peak_rss_mb(case, prep.sample_inputs, 1, tmp_path) < 1000


def test_record_has_every_field(project, tmp_path):
    metrics = project / "reports/metrics/smsa"
    write_json(metrics / "teacher.json", {"test": {"macro_f1": 0.5}})
    harness = Harness(load(project / "params.yaml"), work_dir=tmp_path)
    prep = harness.prepare(Case("smsa", "bilstm", "kd", "onnx", harness.layout))
    row = harness.record(prep, harness.time_forward(prep))
    assert row["id"] == "smsa-bilstm-kd-onnx" and row["sample_size"] == 8 and row["test_size"] == 40
    assert row["pct_of_teacher"] == pytest.approx(100 * row["test_macro_f1"] / 0.5)
    assert row["file_bytes"] == artifact_path(prep.case, prep.sample_inputs[-1]).stat().st_size
    assert 0 <= row["valid_macro_f1"] <= 1                  # a student's validation score: what picks it
    assert row["throughput_per_s"] > 0 and row["threads"] == 1
    assert row["flops_per_sentence"] > 0 and row["flops_per_sentence"] == harness.record(
        prep, harness.time_forward(prep))["flops_per_sentence"]  # counted, not timed: the same every time
    # RSS: its subprocess runs on while the next case prepares; the run's end reads it into the row
    assert row["peak_rss_mb"] is None and harness.fill_rss([row])[0]["peak_rss_mb"] > 0 and not harness._rss_running
    assert row["dvc"]["data"].endswith(".dir") and row["dvc"]["teacher"] is None  # no teacher here
    assert row["dvc"]["student"] == dvc_md5(project / "models/smsa/bilstm/kd")  # as dvc.lock would record it
    json.dumps(row)  # the row goes into the benchmark JSON as it is


def test_a_failed_rss_subprocess_names_its_case_in_its_row(project, tmp_path):
    harness = Harness(load(project / "params.yaml"), work_dir=tmp_path)
    prep = harness.prepare(Case("smsa", "bilstm", "kd", "eager", harness.layout))
    harness.record(prep, harness.time_forward(prep))
    proc = harness._rss_running["smsa-bilstm-kd-eager"]
    proc.kill()  # as if the subprocess crashed
    harness.prepare(Case("smsa", "bilstm", "kd", "onnx", harness.layout))  # the next case waits for it
    (row,) = harness.fill_rss([{"id": "smsa-bilstm-kd-eager", "peak_rss_mb": None}])
    assert row["peak_rss_mb"] is None and row["rss_error"].startswith("smsa-bilstm-kd-eager: RSS subprocess failed")


def test_speedups_are_ratios_between_the_rows_of_one_run():
    from kdbench.bench.harness import add_speedups

    def row(task, model, runtime, p50):
        return {"task": task, "model": model, "runtime": runtime, "latency_ms": {"p50": p50}}
    rows = add_speedups([row("smsa", "teacher", "eager", 10.0), row("smsa", "teacher", "onnx", 8.0),
                         row("smsa", "teacher", "int8", 5.0), row("smsa", "bilstm", "onnx", 0.5),
                         row("smsa", "reference", "native", 2.0), row("terma", "bilstm", "eager", 1.0)])
    teacher_eager, _, teacher_int8, student, reference, other = rows
    assert student["speedup_vs_teacher_same_runtime"] == 16.0 and student["speedup_vs_fastest_teacher"] == 10.0
    assert student["fastest_teacher_runtime"] == "int8" and teacher_int8["speedup_vs_fastest_teacher"] == 1.0
    assert teacher_eager["speedup_vs_fastest_teacher"] == 0.5 and teacher_eager["speedup_vs_teacher_same_runtime"] == 1
    assert reference["speedup_vs_teacher_same_runtime"] is None and reference["speedup_vs_fastest_teacher"] == 2.5
    assert other["speedup_vs_fastest_teacher"] is None and other["fastest_teacher_runtime"] is None  # no teacher


def test_percent_of_teacher_is_undefined_when_the_teacher_scores_zero(project, tmp_path):
    write_json(project / "reports/metrics/smsa/teacher.json", {"test": {"macro_f1": 0.0}})
    harness = Harness(load(project / "params.yaml"), work_dir=tmp_path)
    prep = harness.prepare(Case("smsa", "bilstm", "kd", "eager", harness.layout))
    row = harness.record(prep, harness.time_forward(prep))
    assert row["pct_of_teacher"] is None and row["test_macro_f1"] > 0  # a score, no percentage of zero


def test_a_failed_case_does_not_take_the_bench_down(project, tiny_backbone, tmp_path, monkeypatch):
    """One case fails (its model scores otherwise than the pipeline recorded): the others are written, the
    failed one is named, and only then does `kdbench bench` fail."""
    import shutil

    from transformers import AutoModel

    from kdbench.bench.rows import bench_rows
    from kdbench.bench.run import run_bench
    from kdbench.encoding import load_tokenizer
    from kdbench.reference import fit_reference, reference_scores, save_reference
    from kdbench.teacher.model import Teacher
    from kdbench.teacher.train import score

    root = tmp_path / "project"
    shutil.copytree(project, root)
    (root / "params.yaml").write_text((project / "params.yaml").read_text().replace(
        "runtimes: [eager, onnx, int8]}", "runtimes: [eager, int8]}"))  # RSS on: read in at the end
    torch.manual_seed(0)
    teacher = Teacher(AutoModel.from_pretrained(tiny_backbone), load_tokenizer(tiny_backbone), "single",
                      LABELS)
    teacher.save(root / "models/smsa/teacher")
    test = [json.loads(line) for line in (root / "data/prepared/smsa/test.jsonl").read_text().splitlines()]
    ref = fit_reference("single", test)  # the reference is benchmarked like a student, without torch
    save_reference(ref, root / "models/smsa/reference")
    valid = [json.loads(line) for line in (root / "data/prepared/smsa/valid.jsonl").read_text().splitlines()]
    write_json(root / "reports/metrics/smsa/teacher.json", {
        "test": score(teacher.eval(), test)[0], "valid": score(teacher, valid)[0],
        "reference": {"test_macro_f1": reference_scores(ref, test)["macro_f1"]}})
    write_json(root / "reports/metrics/smsa/bilstm/kd.json", {"test": {"macro_f1": 0.987}})  # not what it scores
    monkeypatch.chdir(root)
    with pytest.raises(KdbenchError, match=r"1 benchmark case\(s\) failed: smsa-bilstm-kd-eager; "
                                           r"out.json holds the 4 that passed"):
        run_bench("params.yaml", ["smsa"], "out.json", "history.jsonl")
    rows = {r["id"]: r for r in bench_rows(root / "out.json")}
    assert list(rows) == ["smsa-teacher-eager", "smsa-teacher-int8", "smsa-reference-native", "smsa-bilstm-kd-int8"]
    reference = rows["smsa-reference-native"]
    assert reference["test_macro_f1"] == reference_scores(ref, test)["macro_f1"] and reference["file_bytes"] > 0
    assert reference["params"] == ref.n_params()
    rss = {k: (r["peak_rss_mb"], r.get("rss_error")) for k, r in rows.items()}
    assert all(mb and mb > 0 for mb, _ in rss.values()), rss  # each subprocess read in at the run's end
    # speed-ups from this run's teacher rows, against the faster of its two runtimes
    fastest = min((rows["smsa-teacher-eager"], rows["smsa-teacher-int8"]), key=lambda r: r["latency_ms"]["p50"])
    assert reference["fastest_teacher_runtime"] == fastest["runtime"]
    assert reference["speedup_vs_fastest_teacher"] == fastest["latency_ms"]["p50"] / reference["latency_ms"]["p50"]
    assert rows["smsa-teacher-int8"]["speedup_vs_teacher_same_runtime"] == 1.0
    from kdbench.bench import history  # the run left one compact record: what passed, nothing of what failed
    (record,) = history.load(root / "history.jsonl")
    assert set(record["cases"]) == set(rows) and record["date"] and record["machine"]["cores"] >= 1
    assert record["cases"]["smsa-reference-native"]["score"] == reference["test_macro_f1"]


@pytest.mark.parametrize("content, message", [
    ("[]", "not a pytest-benchmark JSON file"),
    ('{"benchmarks": {"a": 1}}', "not a pytest-benchmark JSON file"),
    ('{"benchmarks": [{"extra_info": 3}]}', r"benchmarks\[0\]: not a benchmark entry"),
    ('{"benchmarks": [', "line 1: not valid JSON"),
])
def test_a_malformed_benchmark_json_is_one_clear_error(tmp_path, content, message):
    from kdbench.bench.rows import bench_rows
    from kdbench.errors import KdbenchError
    (tmp_path / "b.json").write_text(content)
    with pytest.raises(KdbenchError, match=f"b.json: {message}"):
        bench_rows(tmp_path / "b.json")


def test_a_model_is_exported_once_and_a_changed_one_again(project, tmp_path, monkeypatch):
    """The export cache: a file named by the model's bytes and the export code is reused by the next bench
    run (no export), and a model whose weights changed gets a file of its own."""
    import shutil

    harness = Harness(load(project / "params.yaml"), work_dir=tmp_path)
    first = harness.prepare(Case("smsa", "bilstm", "kd", "int8", harness.layout))  # exports onnx, then int8
    monkeypatch.setattr(runtimes, "export_onnx", lambda *a: pytest.fail("exported again"))
    monkeypatch.setattr(runtimes, "quantize_onnx", lambda *a: pytest.fail("quantised again"))
    again = Harness(load(project / "params.yaml"), work_dir=tmp_path)
    for runtime in ("onnx", "int8"):
        prep = again.prepare(Case("smsa", "bilstm", "kd", runtime, again.layout))
        x = prep.sample_inputs[-1]
        if runtime == "int8":
            assert np.array_equal(prep.predict(*x), first.predict(*x))

    root = tmp_path / "changed"
    shutil.copytree(project, root)
    weights = root / "models/smsa/bilstm/kd/model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x01")  # one byte of one weight
    changed = Harness(load(root / "params.yaml"), work_dir=tmp_path)
    case = Case("smsa", "bilstm", "kd", "onnx", changed.layout)
    with pytest.raises(pytest.fail.Exception, match="exported again"):
        changed.prepare(case)


def test_an_export_cache_that_cannot_be_written_is_one_line_naming_it(tmp_path, monkeypatch):
    from kdbench.bench.run import run_bench
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("KDBENCH_EXPORT_CACHE", str(blocker / "exports"))  # a folder under a file: never writable
    with pytest.raises(KdbenchError, match=r"a-file/exports: the export cache cannot be written.*KDBENCH_EXPORT_CACHE"):
        run_bench(tmp_path / "params.yaml", ["smsa"], tmp_path / "bench.json")
    assert not (tmp_path / "bench.json").exists()
