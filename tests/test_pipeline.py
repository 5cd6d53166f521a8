"""End to end: the smoke study's `dvc repro` (studies/smoke and the smoke setup it distils from) in a temporary
copy of the repository, from fetch to the benchmark and the report, shared by every test here (tests/conftest.py,
`smoke_repo`); reruns give the same bytes, a teacher change flags the reports that read it, and a stage killed
mid-training leaves nothing behind. With KDBENCH_SMOKE_DIR set the copy is made there and kept: .ci/run gates
its benchmark against studies/smoke/baseline.json."""

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import SETUP, STUDY

# `make test` runs pytest-xdist with --dist loadfile: one worker runs these one after another (they rerun
# stages, edit files and run DVC in the shared copy), while the other runs the unit tests and then the Ray grid
# test (tests/test_grid_ray.py), which builds a copy of its own
pytestmark = pytest.mark.slow


def test_repro_writes_every_artifact(smoke_repo):
    repo, _ = smoke_repo
    setup = repo / SETUP
    for task, n_labels in (("smsa", 3), ("nergrit", 7)):
        meta = json.loads((setup / f"data/prepared/{task}/labels.json").read_text())
        assert len(meta["labels"]) == n_labels
        assert meta["sizes"]["train"] == {"smsa": 48, "nergrit": 32}[task]
        report = json.loads((setup / f"reports/metrics/{task}/teacher.json").read_text())
        for split in ("valid", "test"):
            assert 0.0 <= report[split]["macro_f1"] <= 1.0
        assert report["reference"]["name"] == {"smsa": "tfidf-logreg", "nergrit": "most-frequent-tag"}[task]
        assert report["beats_reference"] == (report["test"]["macro_f1"] > report["reference"]["test_macro_f1"])
        assert (setup / f"models/{task}/teacher/model.safetensors").is_file()
        assert (setup / f"models/{task}/teacher/head.safetensors").is_file()


def test_softlabels_align_with_train_and_transfer_set(smoke_repo):
    repo, _ = smoke_repo
    repo = repo / SETUP
    from kdbench.io import load_logits, read_jsonl
    for task in ("smsa", "nergrit"):
        train = read_jsonl(repo / f"data/prepared/{task}/train.jsonl")
        transfer = read_jsonl(repo / f"data/softlabels/{task}/transfer.jsonl")
        meta = json.loads((repo / f"data/softlabels/{task}/meta.json").read_text())
        test = read_jsonl(repo / f"data/prepared/{task}/test.jsonl")
        for records, name in ((train, "train"), (test, "test"), (transfer, "transfer")):
            logits = load_logits(repo / f"data/softlabels/{task}/{name}.safetensors")
            assert len(logits) == len(records) == meta[f"{name}_size"]
            rows = [len(r["tokens"]) if "tokens" in r else 1 for r in records]  # word by word for tagging
            assert [len(x) for x in logits] == rows
            assert all(x.shape[1] == len(meta["labels"]) and np.isfinite(x).all() for x in logits)
        sources = meta["transfer_sources"]  # smoke: 40 own + pool texts, one augmented copy of each example
        assert sources["own"] + sources["pool"] == 40 and 0 < sources["augment"] <= len(train)
        lo, hi = meta["pool_length_bounds"]  # the train inter-quartile range, for the length filter
        assert lo <= hi
        own = {" ".join(r["tokens"]) if "tokens" in r else r["text"] for r in train}
        assert not own & {" ".join(p["tokens"]) if "tokens" in p else p["text"] for p in transfer
                          if p["source"] != "augment"}


def test_second_repro_reruns_nothing(smoke_repo):
    _, run = smoke_repo
    out = run("dvc", "status", f"{STUDY}/dvc.yaml", "--with-deps")
    assert out.returncode == 0 and "up to date" in out.stdout, out.stdout


def _outs(repo):
    """{output path: md5} of every stage in the smoke setup's and study's dvc.lock, paths from the repo root."""
    outs = {}
    for folder in (SETUP, STUDY):
        lock = yaml.safe_load((repo / folder / "dvc.lock").read_text())["stages"]
        outs.update({f"{folder}/{o['path']}": o["md5"] for stage in lock.values() for o in stage.get("outs", [])})
    return outs


def test_same_params_same_bytes(smoke_repo):
    """Rerunning a teacher and a student stage gives byte-identical weights and metrics: nothing downstream
    goes stale, and DVC's run-cache stays valid."""
    repo, run = smoke_repo
    before = _outs(repo)
    for stage in (f"{SETUP}/dvc.yaml:teacher@smsa", f"{STUDY}/dvc.yaml:distill@nergrit-bert-tiny-kd"):
        out = run("dvc", "repro", "--force", "--single-item", stage)
        assert out.returncode == 0, out.stderr[-2000:]
    after = _outs(repo)
    for path in (f"{SETUP}/models/smsa/teacher", f"{SETUP}/reports/metrics/smsa/teacher.json",
                 f"{STUDY}/models/nergrit/bert-tiny/kd", f"{STUDY}/reports/metrics/nergrit/bert-tiny/kd.json"):
        assert after[path] == before[path], path
    out = run("dvc", "status", f"{STUDY}/dvc.yaml", "--with-deps")
    assert "up to date" in out.stdout, out.stdout


def test_a_teacher_change_flags_every_report_that_reads_it(smoke_repo):
    """Editing the teacher's code makes `dvc status` name the teacher stages as changed for the study's bench
    and report, which read the teachers' models and predictions: no verdict goes stale in silence."""
    repo, run = smoke_repo
    code = repo / "kdbench/teacher/train.py"
    original = code.read_text()
    code.write_text(original + "\n# changed\n")
    try:
        out = run("dvc", "status", "--with-deps", f"{STUDY}/dvc.yaml:report")  # the report and all it reads
        assert f"{SETUP}/dvc.yaml:teacher@smsa" in out.stdout and "teacher/train.py" in out.stdout, out.stdout
        out = run("dvc", "status", "--with-deps", f"{STUDY}/dvc.yaml:bench@nergrit")
        assert "teacher@smsa" not in out.stdout and "teacher@nergrit" in out.stdout, out.stdout  # its own task's
    finally:
        code.write_text(original)
    assert "up to date" in run("dvc", "status", f"{STUDY}/dvc.yaml", "--with-deps").stdout


def test_an_injected_name_stops_at_the_check(smoke_repo):
    """A student named with a quote and a shell command: `dvc repro` stops at the study's check stage with one
    error line naming the key, before any stage puts the name into a shell. Fixed, the study is up to date again
    with nothing rerun: the failed check recorded nothing."""
    repo, run = smoke_repo
    params = repo / STUDY / "params.yaml"
    original = params.read_text()
    raw = yaml.safe_load(original)
    raw["students"]["x';touch INJECTED;'"] = {}
    params.write_text(yaml.safe_dump(raw))
    try:
        out = run("dvc", "repro", f"{STUDY}/dvc.yaml")
        errors = [line for line in out.stderr.splitlines() if line.startswith("kdbench: error:")]
        assert out.returncode != 0 and len(errors) == 1, out.stdout[-2000:] + out.stderr[-2000:]
        assert "params.yaml: students.x';touch INJECTED;': " in errors[0] and "is not a valid name" in errors[0]
        assert not (repo / STUDY / "INJECTED").exists() and not (repo / "INJECTED").exists()
    finally:
        params.write_text(original)
    out = run("dvc", "repro", f"{STUDY}/dvc.yaml")
    assert out.returncode == 0 and re.findall(r"Running stage '([^']+)'", out.stdout) == [], out.stdout


def test_every_student_and_variant_has_metrics(smoke_repo):
    repo, _ = smoke_repo
    repo = repo / STUDY
    for task in ("smsa", "nergrit"):
        for student in ("bilstm", "bert-tiny"):
            for variant in ("nokd", "kd"):
                m = json.loads((repo / f"reports/metrics/{task}/{student}/{variant}.json").read_text())
                assert 0.0 <= m["test"]["macro_f1"] <= 1.0 and 0.0 <= m["test_agreement_with_teacher"] <= 1.0
                assert m["params"] > m["params_without_embeddings"] > 0
                assert m["file_bytes"] == (repo / f"models/{task}/{student}/{variant}/model.safetensors").stat().st_size
                assert m["loss"] == m["settings"]["loss"] == {"nokd": "ce", "kd": "kl+ce"}[variant]
                assert (m["transfer_size"] > 0) == (variant == "kd") and m["settings"]["threads"] == 2
                assert "seconds" not in json.dumps(m)  # wall time goes to reports/timing/: metrics stay bytes-stable
                assert json.loads((repo / f"reports/timing/{task}/{student}/{variant}.json").read_text())["seconds"] > 0


def test_scores_carry_intervals_and_replicas_their_seeds(smoke_repo):
    repo, _ = smoke_repo
    setup, repo = repo / SETUP, repo / STUDY
    for task in ("smsa", "nergrit"):
        teacher = json.loads((setup / f"reports/metrics/{task}/teacher.json").read_text())
        ci = teacher["test"]["interval"]
        assert ci["low"] <= teacher["test"]["macro_f1"] <= ci["high"] and ci["level"] == 0.95
        assert teacher["reference"]["test_interval"]["low"] <= teacher["reference"]["test_macro_f1"]
        predictions = json.loads((setup / f"reports/predictions/{task}/teacher.json").read_text())
        assert len(predictions["gold"]) == len(predictions["teacher"]) == len(predictions["reference"])
        for variant in ("nokd", "kd"):  # smoke replicates the bilstm with seed 1
            main = json.loads((repo / f"reports/metrics/{task}/bilstm/{variant}.json").read_text())
            replica = json.loads((repo / f"reports/replicas/{task}/bilstm/{variant}/seed1.json").read_text())
            assert (main["settings"]["seed"], replica["settings"]["seed"]) == (0, 1)
            pred = json.loads((repo / f"reports/predictions/{task}/bilstm/{variant}.seed1.json").read_text())
            assert pred["seed"] == 1 and len(pred["pred"]) == len(predictions["gold"])
    conclusions = (repo / "reports/conclusions.md").read_text()
    assert "## NOT TESTED: KD beats no-KD" in conclusions  # smoke's kd also changes the embeddings: no pair


def test_predict_cli_on_a_trained_student(smoke_repo):
    repo, run = smoke_repo
    (repo / "in.txt").write_text("makanannya enak sekali\npelayanan buruk\n")
    out = run("kdbench", "--study", "smoke", "predict", "--task", "smsa", "--student", "bilstm", "--variant", "kd", "--input", "in.txt")
    assert out.returncode == 0, out.stderr
    assert [line in ("negative", "neutral", "positive") for line in out.stdout.split()] == [True, True]
    (repo / "tags.txt").write_text("Joko Widodo ke Bandung\n")
    out = run("kdbench", "--study", "smoke", "predict", "--task", "nergrit", "--student", "bert-tiny", "--input", "tags.txt")
    assert out.returncode == 0, out.stderr
    assert [w.split("/")[0] for w in out.stdout.split()] == ["Joko", "Widodo", "ke", "Bandung"]
    (repo / "empty.txt").write_text("\n")
    out = run("kdbench", "--study", "smoke", "predict", "--task", "smsa", "--student", "bilstm", "--input",
              "empty.txt")
    assert out.returncode == 2 and "line 1: empty input" in out.stderr
    out = run("kdbench", "--study", "nosuch", "predict", "--task", "smsa", "--student", "bilstm")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "studies/nosuch/params.yaml" in out.stderr


def test_bench_has_a_case_for_every_model_and_runtime(smoke_repo):
    repo, _ = smoke_repo
    repo = repo / STUDY
    from kdbench.bench.rows import bench_rows
    rows = {r["id"]: r for r in bench_rows(repo / "reports/bench")}  # one file a task
    models = ["teacher"] + [f"{s}-{v}" for s in ("bilstm", "bert-tiny") for v in ("nokd", "kd")]
    assert set(rows) == {f"{t}-{m}-{r}" for t in ("smsa", "nergrit") for m in models
                         for r in ("eager", "onnx", "int8")} | {"smsa-reference-native", "nergrit-reference-native"}
    for r in rows.values():
        assert r["latency_ms"]["p50"] <= r["latency_ms"]["p90"] <= r["latency_ms"]["p99"]
        assert r["tokenize_ms"]["p50"] > 0 and r["throughput_per_s"] > 0 and r["speedup_vs_teacher"] > 0
        assert 0 <= r["test_macro_f1"] <= 1 and r["pct_of_teacher"] == pytest.approx(
            100 * r["test_macro_f1"] / rows[f"{r['task']}-teacher-eager"]["test_macro_f1"])
        assert r["peak_rss_mb"] is None and r["file_bytes"] > 0 and r["params"] > 0  # smoke: bench.rss false
        assert r["threads"] == 1 and r["sample_size"] == 32 and r["machine"]["cores"] >= 1
        assert r["versions"]["torch"].startswith("2.13") and r["dvc"]["data"].endswith(".dir")
        assert (r["dvc"]["student"] is None) == (r["model"] == "teacher")
        assert (r["flops_per_sentence"] is None) == (r["model"] == "reference")  # counted on torch modules
    # one latency vocabulary: pytest-benchmark's own stats are over the same per-sentence fastest passes
    for b in [b for f in ("smsa", "nergrit") for b in json.loads((repo / f"reports/bench/{f}.json").read_text())[
            "benchmarks"]]:
        latency = b["extra_info"]["latency_ms"]
        assert b["stats"]["median"] * 1000 == pytest.approx(latency["p50"], rel=1e-9)
        assert b["stats"]["mean"] * 1000 == pytest.approx(latency["mean"], rel=1e-9)
        assert b["stats"]["rounds"] == b["extra_info"]["sample_size"] and "fastest of" in b["extra_info"]["latency_basis"]
    teacher = rows["smsa-teacher-eager"]
    assert teacher["speedup_vs_teacher"] == 1.0 and teacher["pct_of_teacher"] == 100.0
    # ONNX runs the same weights: the same predictions on the whole test split
    assert rows["smsa-bilstm-kd-onnx"]["test_macro_f1"] == rows["smsa-bilstm-kd-eager"]["test_macro_f1"]


def test_report_answers_the_budget_question(smoke_repo):
    repo, _ = smoke_repo
    repo = repo / STUDY
    summary = json.loads((repo / "reports/report.json").read_text())
    assert set(summary["recommendations"]) == {"smsa", "nergrit"}
    html = (repo / "reports/index.html").read_text()
    assert "5 ms" in html and "20 MB" in html and html.count("data:image/png;base64,") >= 4
    assert (repo / "reports/tables/bench.csv").read_text().count("\n") == 33  # header + 32 cases
    from kdbench.bench import history
    (record,) = history.load(repo / "reports/history/smsa.jsonl")  # one bench run so far: no trend plot yet
    assert len(record["cases"]) == 16 and not (repo / "reports/plots/smsa-trend.png").exists()


PEAK_RSS = ("import runpy, sys\nsys.argv = sys.argv[1:]\ntry:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
            "finally:\n    print('VmHWM', open('/proc/self/status').read().split('VmHWM:')[1].split()[0],"
            " file=sys.stderr)\n")  # runs a script, then reports its peak RSS in KiB


def _peak_kib(stderr):
    return int(next(line.split()[1] for line in stderr.splitlines() if line.startswith("VmHWM")))


# what the shipped folder may not use: these imports fail in its process, as in an environment without them
NO_TORCH = "import sys\nfor m in ('torch', 'transformers', 'kdbench'):\n    sys.modules[m] = None\n"


def test_exported_student_runs_without_torch(smoke_repo, tmp_path):
    """`kdbench export` writes a folder whose predict.py, with torch, transformers and kdbench unimportable
    (onnxruntime, numpy and tokenizers only), gives `kdbench predict`'s labels on the whole test split, in
    less memory."""
    repo, run = smoke_repo
    for task, student, field in (("nergrit", "bert-tiny", "tokens"), ("smsa", "bilstm", "text")):
        out = run("kdbench", "--study", "smoke", "export", "--task", task, "--student", student, "--out",
                  f"shipped/{task}")
        assert out.returncode == 0, out.stderr[-2000:]
        folder = repo / "shipped" / task
        assert {p.name for p in folder.iterdir()} >= {"model.onnx", "model.int8.onnx", "student.json", "predict.py",
                                                     "MODEL_CARD.md"}
        card = (folder / "MODEL_CARD.md").read_text()
        from kdbench.bench.harness import dvc_md5
        weights = dvc_md5(repo / STUDY / f"models/{task}/{student}/kd")
        # its figures are of these weights: the bench rows whose student md5 is theirs, and where it came from
        assert "Test macro F1" in card and f"Weights: DVC md5 `{weights}`" in card and "on these weights" in card
        assert "fine-tuned here from `tiny-random`" in card and re.search(r"\d+ own, \d+ pool, \d+ augment texts", card)
        lines = [" ".join(r[field]) if field == "tokens" else r[field] for r in map(
            json.loads, (repo / SETUP / f"data/prepared/{task}/test.jsonl").read_text().splitlines())]
        (tmp_path / "in.txt").write_text("\n".join(lines) + "\n")
        shipped = subprocess.run([sys.executable, "-c", NO_TORCH + PEAK_RSS, str(folder / "predict.py"), "--input",
                                  str(tmp_path / "in.txt")], capture_output=True, text=True)
        assert shipped.returncode == 0, shipped.stderr[-2000:]
        kdbench = run(sys.executable, "-c", PEAK_RSS, str(Path(sys.executable).parent / "kdbench"), "--study",
                      "smoke", "predict", "--task", task, "--student", student, "--input", str(tmp_path / "in.txt"))
        assert kdbench.returncode == 0, kdbench.stderr[-2000:]
        assert shipped.stdout == kdbench.stdout and len(shipped.stdout.splitlines()) == len(lines)
        api = subprocess.run([sys.executable, "-c", NO_TORCH + f"import sys, json\nsys.path.insert(0, {str(folder)!r})\n"
                              f"from predict import Predictor\nprint(json.dumps(Predictor({str(folder)!r})("
                              f"{lines[:3]!r})))"], capture_output=True, text=True)  # the documented Python call
        assert api.returncode == 0, api.stderr[-2000:]
        first = [line.split() if field == "tokens" else line for line in shipped.stdout.splitlines()[:3]]
        assert json.loads(api.stdout) == ([[w.split("/")[-1] for w in f] for f in first] if field == "tokens"
                                          else first)
        print(f"{task} {student}: peak RSS {_peak_kib(shipped.stderr) / 1024:.0f} MB without torch, "
              f"{_peak_kib(kdbench.stderr) / 1024:.0f} MB with")
        assert _peak_kib(shipped.stderr) < _peak_kib(kdbench.stderr)
    blocked = subprocess.run([sys.executable, "-c", NO_TORCH + "import torch"], capture_output=True, text=True)
    assert blocked.returncode != 0 and "ModuleNotFoundError" in blocked.stderr  # the block holds


def test_profile_records_the_inference_loop(smoke_repo):
    repo, run = smoke_repo
    out = run("kdbench", "--study", "smoke", "profile", "--task", "smsa", "--model", "bilstm", "--variant", "nokd",
              "--seconds", "1")
    assert out.returncode == 0, out.stderr[-2000:]
    repo = repo / STUDY
    svg = (repo / "reports/profiles/smsa-bilstm-nokd-eager.svg").read_text()
    assert svg.startswith("<?xml") and "forward (kdbench/students/bilstm.py" in svg  # the student's own code
    frames = json.loads((repo / "reports/profiles/smsa-bilstm-nokd-eager.speedscope.json").read_text())
    assert any(f["name"] == "eager.<locals>.run" for f in frames["shared"]["frames"])  # the timed call
    out = run("kdbench", "--study", "smoke", "profile", "--task", "smsa", "--model", "cnn")
    assert out.returncode == 2 and "no trained model" in out.stderr


def test_gate_passes_on_its_own_baseline_and_fails_on_a_worse_student(smoke_repo):
    repo, run = smoke_repo
    gate = ["kdbench", "--study", "smoke", "gate"]
    out = run(*gate, "--baseline", "base.json", "--update")
    assert out.returncode == 0, out.stderr
    out = run(*gate, "--baseline", "base.json")
    assert out.returncode == 0 and "gate passed: 32 cases" in out.stdout, out.stdout + out.stderr
    bench = json.loads((repo / STUDY / "reports/bench/smsa.json").read_text())
    for b in bench["benchmarks"]:  # one student 10x slower relative to the teacher and 20% bigger
        if b["extra_info"]["id"] == "smsa-bilstm-kd-eager":
            b["extra_info"]["speedup_vs_teacher"] /= 10
            b["extra_info"]["file_bytes"] = int(b["extra_info"]["file_bytes"] * 1.2)
    shutil.copytree(repo / STUDY / "reports/bench", repo / "worse")
    (repo / "worse/smsa.json").write_text(json.dumps(bench))
    out = run(*gate, "--bench", "worse", "--baseline", "base.json")
    assert out.returncode == 1, out.stdout
    flagged = {tuple(line.split()[:2]) for line in out.stdout.splitlines()}
    assert {("smsa-bilstm-kd-eager", "file_bytes"), ("smsa-bilstm-kd-eager", "speedup_vs_teacher")} <= flagged
    assert not any(case != "smsa-bilstm-kd-eager" for case, _ in flagged if case.startswith("smsa-"))


def test_side_by_side_gate_against_a_revision(smoke_repo):
    """`kdbench gate --against HEAD`: the committed models are the baseline, obtained through DVC; a student
    made 15% wider (random weights: only its cost matters here) fails the exact-cost gate, an unchanged one
    passes it, and every case gets a latency verdict with its interval."""
    repo, run = smoke_repo
    git = ["git", "-c", "user.name=kdbench", "-c", "user.email=kdbench@example.org"]
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "baseline"], cwd=repo, check=True)
    from kdbench.students import create_student
    from kdbench.students.artifact import load_student, save_student
    student = repo / STUDY / "models/smsa/bilstm/kd"
    _, vocab, config = load_student(student)
    hidden = math.ceil(config["overrides"]["hidden"] * 1.15 / 2) * 2  # 2 * hidden splits over the 4 heads
    overrides = {**config["overrides"], "hidden": hidden}
    wider = create_student("bilstm", config["vocab_size"], config["kind"], len(config["labels"]), pad_id=vocab.pad_id,
                           **overrides)
    save_student(wider, vocab, {**config, "overrides": overrides}, student)
    out = run("kdbench", "--study", "smoke", "gate", "--against", "HEAD", "-k",
              "smsa-bilstm-kd-eager,smsa-bilstm-nokd-eager", "--seconds", "3")
    assert out.returncode == 1, out.stdout + out.stderr
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines()[2:]}
    assert set(rows) == {"smsa-bilstm-kd-eager", "smsa-bilstm-nokd-eager"}
    assert rows["smsa-bilstm-kd-eager"][-1] == "regressed"      # FLOPs: counted, so exact
    assert rows["smsa-bilstm-nokd-eager"][-1] == "unchanged"
    assert rows["smsa-bilstm-nokd-eager"][-2] != "regressed"    # the same model: never slower
    assert all(r[-2] in ("regressed", "improved", "unchanged", "inconclusive") for r in rows.values())
    assert not subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True, text=True).stdout.count(
        "kdbench-baseline")  # the baseline's worktree is gone
    subprocess.run(["dvc", "checkout", "--force", f"{STUDY}/models/smsa/bilstm/kd"], cwd=repo, env=run.env,
                   check=True, capture_output=True)  # back to the trained student for the tests after this one


def test_a_stage_killed_mid_training_leaves_nothing_behind(smoke_repo):
    """SIGKILL the distill stage after its first epoch, then `dvc repro` again: it completes, the output is the
    one a whole run gives, and no partial artifact is left in the workspace or the DVC cache."""
    repo, run = smoke_repo
    before = _outs(repo)
    cache = lambda: {p for p in (repo / ".dvc" / "cache").rglob("*") if p.is_file()}  # noqa: E731
    cached = cache()
    params_file = repo / STUDY / "params.yaml"
    params = params_file.read_text()
    # a long run, so the kill lands mid-training whatever the machine's speed
    long = yaml.safe_load(params)
    long["distill"].update(epochs=500, patience=500)
    params_file.write_text(yaml.safe_dump(long, sort_keys=False))
    stage = subprocess.Popen(["dvc", "repro", "--single-item", f"{STUDY}/dvc.yaml:distill@smsa-bert-tiny-kd"],
                             cwd=repo, env=run.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
    try:
        for line in stage.stdout:
            if line.startswith("distill epoch 1:"):
                break
        assert stage.poll() is None, "the stage ended before it could be killed"
    finally:
        os.killpg(stage.pid, signal.SIGKILL)
        stage.wait()
    params_file.write_text(params)
    assert not (repo / STUDY / "models/smsa/bert-tiny/kd").exists()  # DVC removed it; nothing replaced it
    assert cache() == cached  # the killed run committed nothing
    out = run("dvc", "repro", f"{STUDY}/dvc.yaml")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert _outs(repo) == before
    leftovers = [str(p.relative_to(repo)) for p in repo.rglob(".*.tmp-*")]
    assert not leftovers, leftovers
