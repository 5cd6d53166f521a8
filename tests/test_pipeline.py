"""End to end: the smoke study's `dvc repro` (studies/smoke and the smoke setup it distils from) in a temporary
copy of the repository, from fetch to the benchmark and the report, shared by every test here (tests/conftest.py,
`smoke_repo`); reruns give the same bytes, a teacher change flags the reports that read it, and a stage killed
mid-training leaves nothing behind. With KDBENCH_SMOKE_DIR set the copy is made there and kept: .ci/run gates
its benchmark against studies/smoke/baseline.json."""

import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import SETUP, STUDY, atomic_write

# `make test` runs pytest-xdist with --dist loadfile: one worker builds the copy and runs these one after
# another (they run DVC in it and change it), while the other runs the Ray grid test, the unit tests and then
# tests/test_shipped.py's, which read the same copy. So nothing here changes what those read: reruns write to a
# scratch folder, edits replace a file whole (atomic_write), and the models changed are ones they do not read.
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


def test_predictions_are_kept_in_git_and_restored_from_the_run_cache(smoke_repo):
    """Test predictions are what every paired test reads: git keeps them (a clone without the DVC cache still
    pairs), weights stay out of git, and DVC's run-cache still restores a run whose predictions are uncached."""
    repo, run = smoke_repo
    pred = f"{STUDY}/reports/predictions/nergrit/bilstm/kd.seed1.json"
    ignored = lambda path: run("git", "check-ignore", "-q", path).returncode == 0  # noqa: E731
    assert not ignored(pred) and not ignored(f"{SETUP}/reports/predictions/smsa/teacher.json")
    assert ignored(f"{STUDY}/replicas/nergrit/bilstm/kd/seed1") and ignored(f"{SETUP}/models/smsa/teacher")
    before = (repo / pred).read_bytes()
    (repo / pred).unlink()  # a replica: no other test reads it
    out = run("dvc", "repro", "-s", f"{STUDY}/dvc.yaml:replicate@nergrit-bilstm-kd-1")
    assert out.returncode == 0 and "skipping run" in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]
    assert (repo / pred).read_bytes() == before


def _outs(repo):
    """{output path: md5} of every stage in the smoke setup's and study's dvc.lock, paths from the repo root."""
    outs = {}
    for folder in (SETUP, STUDY):
        lock = yaml.safe_load((repo / folder / "dvc.lock").read_text())["stages"]
        outs.update({f"{folder}/{o['path']}": o["md5"] for stage in lock.values() for o in stage.get("outs", [])})
    return outs


def _tree(path):
    """{relative file: bytes} of a file or a folder."""
    path = Path(path)
    return {".": path.read_bytes()} if path.is_file() else {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _mirror(src, dst, outs):
    """dst: src as links, but for real folders on the way to each of `outs` (paths relative to src), which are
    left out: a stage run in dst reads what it reads in src, at the same relative paths, and writes into dst."""
    dst.mkdir(parents=True, exist_ok=True)
    for child in src.iterdir():
        inside = [o[len(child.name) + 1:] for o in outs if o.startswith(child.name + "/")]
        if inside:
            _mirror(child, dst / child.name, inside)
        elif child.name not in outs:
            (dst / child.name).symlink_to(child)


def test_same_params_same_bytes(smoke_repo, tmp_path):
    """A teacher and a student stage's own command, run again in a mirror of the copy (its inputs linked, its
    outputs written afresh), writes byte-identical weights, metrics and predictions: nothing downstream goes
    stale, and DVC's run-cache stays valid. (The mirror leaves the copy as it is for the tests beside these.)"""
    repo, run = smoke_repo
    for folder, stage in ((SETUP, "teacher@smsa"), (STUDY, "distill@nergrit-bert-tiny-kd")):
        lock = yaml.safe_load((repo / folder / "dvc.lock").read_text())["stages"][stage]
        outs = [o["path"] for o in lock["outs"]]
        ws = tmp_path / stage
        _mirror(repo, ws, [f"{folder}/{o}" for o in outs])
        out = subprocess.run(shlex.split(lock["cmd"]), cwd=ws / folder, env=run.env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-2000:]
        for path in outs:
            assert _tree(ws / folder / path) == _tree(repo / folder / path), f"{stage}: {path}"


def test_a_teacher_change_flags_every_report_that_reads_it(smoke_repo):
    """Editing the teacher's code makes `dvc status` name the teacher stages as changed for the study's bench
    and report, which read the teachers' models and predictions: no verdict goes stale in silence."""
    repo, run = smoke_repo
    code = repo / "kdbench/teacher/train.py"
    original = code.read_text()
    atomic_write(code, original + "\n# changed\n")
    try:
        out = run("dvc", "status", "--with-deps", f"{STUDY}/dvc.yaml:report")  # the report and all it reads
        assert f"{SETUP}/dvc.yaml:teacher@smsa" in out.stdout and "teacher/train.py" in out.stdout, out.stdout
        out = run("dvc", "status", "--with-deps", f"{STUDY}/dvc.yaml:bench@nergrit")
        assert "teacher@smsa" not in out.stdout and "teacher@nergrit" in out.stdout, out.stdout  # its own task's
    finally:
        atomic_write(code, original)
    assert "up to date" in run("dvc", "status", f"{STUDY}/dvc.yaml", "--with-deps").stdout


def test_an_injected_name_stops_at_the_check(smoke_repo):
    """A study whose student is named with a quote and a shell command: `dvc repro` stops at its check stage with
    one error line naming the key, before any stage puts the name into a shell."""
    repo, run = smoke_repo
    study = repo / "studies/injected"
    study.mkdir()
    try:
        (study / "dvc.yaml").symlink_to("../../study.dvc.yaml")
        raw = yaml.safe_load((repo / STUDY / "params.yaml").read_text())
        raw["students"]["x';touch INJECTED;'"] = {}
        (study / "params.yaml").write_text(yaml.safe_dump(raw))
        out = run("dvc", "repro", "studies/injected/dvc.yaml")
        errors = [line for line in out.stderr.splitlines() if line.startswith("kdbench: error:")]
        assert out.returncode != 0 and len(errors) == 1, out.stdout[-2000:] + out.stderr[-2000:]
        assert "params.yaml: students.x';touch INJECTED;': " in errors[0] and "is not a valid name" in errors[0]
        assert re.findall(r"Running stage '([^']+)'", out.stdout) == ["studies/injected/dvc.yaml:check"], out.stdout
        assert not list(repo.rglob("INJECTED"))
    finally:
        shutil.rmtree(study)


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


def test_compare_studies_pairs_two_runs_as_their_metrics_say(smoke_repo):
    """scripts/compare_studies.py pairs runs of two studies seed by seed, over the seeds both ran or those --seeds
    names; on one study's runs its observed differences are the differences of the metrics files' seed-mean F1s,
    and an unknown variant or a seed not run is one line."""
    repo, run = smoke_repo
    study, setup = repo / STUDY, repo / SETUP
    runs = {0: "reports/metrics/smsa/bilstm/{}.json", 1: "reports/replicas/smsa/bilstm/{}/seed1.json"}
    teacher = json.loads((setup / "reports/metrics/smsa/teacher.json").read_text())["test"]["macro_f1"]
    for seeds, flag in (([0, 1], []), ([1], ["--seeds", "1"])):
        out = run(sys.executable, "scripts/compare_studies.py", "smoke:smsa/bilstm/kd", "smoke:smsa/bilstm/nokd", *flag)
        assert out.returncode == 0, out.stderr
        first, *lines = out.stdout.splitlines()
        assert first == f"paired over seed{'s' * (len(seeds) > 1)} {', '.join(map(str, seeds))}"
        diffs = [float(re.search(r": ([+-]\d+\.\d+) \[", line).group(1)) for line in lines]
        kd, nokd = (np.mean([json.loads((study / runs[s].format(v)).read_text())["test"]["macro_f1"] for s in seeds])
                    for v in ("kd", "nokd"))
        assert diffs == pytest.approx([100 * (kd - teacher), 100 * (nokd - teacher), 100 * (kd - nokd), 0.0],
                                      abs=0.006)
    for args, error in (
            (["smoke:smsa/bilstm/nope", "smoke:smsa/bilstm/kd"],
             "smoke:smsa/bilstm/nope: 'nope' is not one of study smoke's variants (nokd, kd)"),
            (["smoke:smsa/bilstm/kd", "smoke:smsa/bilstm/nokd", "--seeds", "0,7"],
             "smoke:smsa/bilstm/kd: no predictions for seed 7 (it has seeds 0, 1)")):
        bad = run(sys.executable, "scripts/compare_studies.py", *args)
        assert bad.returncode == 1 and bad.stderr.strip().splitlines() == [f"compare_studies: {error}"]


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
        assert r["tokenize_ms"]["p50"] > 0 and r["throughput_per_s"] > 0 and r["speedup_vs_fastest_teacher"] > 0
        teacher_f1 = rows[f"{r['task']}-teacher-eager"]["test_macro_f1"]  # a tiny random teacher may score 0
        assert 0 <= r["test_macro_f1"] <= 1 and r["pct_of_teacher"] == (
            pytest.approx(100 * r["test_macro_f1"] / teacher_f1) if teacher_f1 else None)
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
    assert teacher["speedup_vs_teacher_same_runtime"] == 1.0 and teacher["pct_of_teacher"] == 100.0
    # the teacher's fastest runtime of this run is every smsa row's base; the teacher's own row there is 1x
    smsa = [r for r in rows.values() if r["task"] == "smsa"]
    fastest = min((r for r in smsa if r["model"] == "teacher"), key=lambda r: r["latency_ms"]["p50"])
    assert all(r["fastest_teacher_runtime"] == fastest["runtime"] for r in smsa)
    assert fastest["speedup_vs_fastest_teacher"] == 1.0
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
            b["extra_info"]["speedup_vs_teacher_same_runtime"] /= 10
            b["extra_info"]["file_bytes"] = int(b["extra_info"]["file_bytes"] * 1.2)
    shutil.copytree(repo / STUDY / "reports/bench", repo / "worse")
    (repo / "worse/smsa.json").write_text(json.dumps(bench))
    out = run(*gate, "--bench", "worse", "--baseline", "base.json")
    assert out.returncode == 1, out.stdout
    flagged = {tuple(line.split()[:2]) for line in out.stdout.splitlines()}
    assert {("smsa-bilstm-kd-eager", "file_bytes"), ("smsa-bilstm-kd-eager", "speedup_vs_teacher_same_runtime")} <= flagged
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
    student = repo / STUDY / "models/nergrit/bilstm/kd"
    _, vocab, config = load_student(student)
    hidden = math.ceil(config["overrides"]["hidden"] * 1.15 / 2) * 2  # 2 * hidden splits over the 4 heads
    overrides = {**config["overrides"], "hidden": hidden}
    wider = create_student("bilstm", config["vocab_size"], config["kind"], len(config["labels"]), pad_id=vocab.pad_id,
                           **overrides)
    save_student(wider, vocab, {**config, "overrides": overrides}, student)
    out = run("kdbench", "--study", "smoke", "gate", "--against", "HEAD", "-k",
              "nergrit-bilstm-kd-eager,nergrit-bilstm-nokd-eager", "--seconds", "2")
    assert out.returncode == 1, out.stdout + out.stderr
    rows = {line.split()[0]: line.split() for line in out.stdout.splitlines()[2:]}
    assert set(rows) == {"nergrit-bilstm-kd-eager", "nergrit-bilstm-nokd-eager"}
    assert rows["nergrit-bilstm-kd-eager"][-1] == "regressed"      # FLOPs: counted, so exact
    assert rows["nergrit-bilstm-nokd-eager"][-1] == "unchanged"
    assert rows["nergrit-bilstm-nokd-eager"][-2] != "regressed"    # the same model: never slower
    assert all(r[-2] in ("regressed", "improved", "unchanged", "inconclusive") for r in rows.values())
    assert not subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True, text=True).stdout.count(
        "kdbench-baseline")  # the baseline's worktree is gone
    subprocess.run(["dvc", "checkout", "--force", f"{STUDY}/models/nergrit/bilstm/kd"], cwd=repo, env=run.env,
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
    atomic_write(params_file, yaml.safe_dump(long, sort_keys=False))  # still valid for the other worker's commands
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
    atomic_write(params_file, params)
    assert not (repo / STUDY / "models/smsa/bert-tiny/kd").exists()  # DVC removed it; nothing replaced it
    assert cache() == cached  # the killed run committed nothing
    out = run("dvc", "repro", f"{STUDY}/dvc.yaml")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert _outs(repo) == before
    leftovers = [str(p.relative_to(repo)) for folder in ("models", "reports/metrics", "reports/predictions",
                                                         "reports/timing") for p in (repo / STUDY / folder).rglob(".*.tmp-*")]
    assert not leftovers, leftovers


def test_the_ray_grid_gives_the_serial_runs_bytes(smoke_repo, grid_repo):
    """The grid's metrics (tests/test_grid_ray.py) are the serial build's, byte for byte, file for file (as the
    build left them: tests before this one rerun some of its stages). Last in this file, so that the other worker's
    grid is done by the time it runs and neither waits for the other."""
    _, serial = smoke_repo
    *_, grid = grid_repo
    assert [f.split("/metrics/")[-1].split("/replicas/")[-1] for f in sorted(grid)] == [
        "smsa/teacher.json", "smsa/bilstm/kd.json", "smsa/bilstm/kd/seed1.json"]
    for rel, digest in grid.items():
        assert digest == serial.metrics[rel], rel

