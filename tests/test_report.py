"""The report: tables, Pareto front, recommendation, claims and the HTML page, on the hand-made inputs of
tests/data/report/ (see tests/report_fixtures.py for what their numbers were chosen to show)."""

import csv
import dataclasses
import json
import math
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from kdbench import metrics
from kdbench.errors import KdbenchError
from kdbench.layout import Layout
from kdbench.report import conclusions as cl
from kdbench.report import pareto_front, recommend
from kdbench.report.page import table_html
from kdbench.report.results import Results, StudentResult, TaskResult, load_results
from kdbench.report.tables import Table, to_markdown
from tests.report_fixtures import DATA, build_recorded_report, report_inputs, report_params

EXPECTED_FILES = sorted(
    ["conclusions.md", "index.html", "recommendation.md", "report.json"]
    + [f"plots/{t}-{c}.png" for t in ("emot", "smsa", "terma") for c in ("latency", "size")]
    + [f"tables/{n}.{e}" for n in ("bench", "cost", "scores") for e in ("csv", "md")])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return out, build_recorded_report(out)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def find(rows, **match):
    (row,) = [r for r in rows if all(r[k] == v for k, v in match.items())]
    return row


# --- tables ----------------------------------------------------------------------------------------------

def test_build_writes_every_file_and_a_summary(built):
    out, summary = built
    assert summary["files"] == EXPECTED_FILES
    assert all((out / f).stat().st_size > 0 for f in EXPECTED_FILES)
    assert summary["tasks"] == ["emot", "smsa", "terma"]          # classification first, registry order
    assert summary["recommendations"]["smsa"]["pick"] == "smsa-bilstm-kd-teacher-emb-onnx"
    assert summary["recommendations"]["emot"]["fits"] is False
    assert summary["claims"] == {"kd_beats_nokd": "not held", "small_students_best_trade_off": "held",
                                 "mse_beats_kl": "held", "teacher_embeddings_best": "held",
                                 "unlabeled_helps": "held", "augmentation_helps": "not tested",
                                 "students_reach_teacher": "not held"}
    assert not [p for p in out.rglob(".*")], "no temporary files left behind"


def test_scores_table_has_each_score_and_group_averages(built):
    out, _ = built
    rows = read_csv(out / "tables" / "scores.csv")
    assert list(rows[0]) == ["model", "variant", "emot", "emot 95% CI", "smsa", "smsa 95% CI", "avg classification",
                             "terma", "terma 95% CI", "avg labeling"]
    bilstm_kd = find(rows, model="bilstm", variant="kd")
    assert bilstm_kd["smsa 95% CI"] == "[80.12, 87.01]" and find(rows, model="teacher")["smsa 95% CI"] == "[85.03, 91.02]"
    assert float(bilstm_kd["smsa"]) == 83.67 and float(bilstm_kd["emot"]) == 66.72
    assert float(bilstm_kd["avg classification"]) == pytest.approx((83.67 + 66.72) / 2, abs=0.006)
    assert float(bilstm_kd["avg labeling"]) == float(bilstm_kd["terma"]) == 88.22
    teacher = find(rows, model="teacher")
    assert float(teacher["avg classification"]) == pytest.approx((72.30 + 88.12) / 2, abs=0.006)
    assert find(rows, model="reference")["variant"] == "most-frequent-tag / tfidf-logreg"
    # kd-kl ran on smsa only: no emot score, and no classification average over fewer tasks
    kl = find(rows, model="cnn", variant="kd-kl")
    assert (kl["smsa"], kl["emot"], kl["avg classification"]) == ("81.22", "", "")
    md = (out / "tables" / "scores.md").read_text()
    assert "| cnn | kd-kl | – | – | 81.22 | – | – | – | – | – |" in md


def test_cost_table_per_runtime(built):
    out, _ = built
    rows = read_csv(out / "tables" / "cost.csv")
    wide = find(rows, task="smsa", model="bilstm", variant="kd-teacher-emb")
    assert (wide["params (M)"], wide["fp32 (MB)"], wide["onnx (MB)"], wide["int8 (MB)"]) == (
        "4.85", "18.53", "18.72", "5.00")
    assert (wide["p50 onnx (ms)"], wide["speed-up onnx (x)"], wide["peak RSS eager (MB)"]) == ("0.486", "16.37", "410")
    # against the teacher's int8 p50 (7.956 ms), its fastest runtime in this run: 7.956 / 0.486
    teacher = find(rows, task="terma", model="teacher")
    assert (teacher["variant"], teacher["p50 eager (ms)"], teacher["params (M)"]) == ("", "24.480", "117.65")


def test_bench_table_is_flat_for_dvc_plots(built):
    out, _ = built
    rows = read_csv(out / "tables" / "bench.csv")
    assert len(rows) == len(report_inputs()["records"]) == 99
    row = find(rows, id="smsa-bilstm-kd-int8")
    assert (row["test_macro_f1"], row["latency_p50_ms"], row["size_mb"]) == ("0.8346", "0.410", "3.459")
    assert find(rows, id="smsa-teacher-eager")["variant"] == ""


def test_markdown_escapes_pipes_and_marks_missing_cells():
    table = Table("t", "T", ["a", "b"], [["x|y", None], ["z", 1.5]])
    assert to_markdown(table).splitlines()[2:] == ["| a | b |", "|:---|---:|", "| x\\|y | – |", "| z | 1.50 |"]


# --- Pareto front -----------------------------------------------------------------------------------------

def test_pareto_front_keeps_exact_ties_and_drops_dominated_points():
    points = [(1, 0.5), (2, 0.7), (2, 0.6), (3, 0.7), (0.5, 0.4), (2, 0.7), (4, 0.9),
              (None, 1.0), (5, math.nan), (4, 0.85)]
    # (2, .6): same cost, lower score; (3, .7): same score, dearer; (4, .85) below (4, .9); None/NaN unusable
    assert pareto_front(points) == [4, 0, 1, 5, 6]
    assert pareto_front([]) == []
    assert pareto_front([(3.0, 0.2)]) == [0]
    assert pareto_front([(1, 0.9), (2, 0.5)]) == [0]             # the cheapest is also the best


# --- recommendation ---------------------------------------------------------------------------------------

def row(model, variant, runtime, f1, p50, mb, valid=None):
    """valid: its validation F1 (default: as on test)."""
    return {"id": f"t-{model}-{variant}-{runtime}", "model": model, "variant": variant, "runtime": runtime,
            "test_macro_f1": f1, "valid_macro_f1": f1 if valid is None else valid, "latency_p50_ms": p50, "size_mb": mb, "speedup_vs_fastest_teacher": p50 and 20.0 / p50,
            "fastest_teacher_runtime": "int8"}


ROWS = [row("bilstm", "kd", "eager", 0.84, 1.5, 13.0),
        row("bilstm", "kd", "onnx", 0.84, 0.5, 13.0),          # ties eager on score, faster: preferred
        row("bert-small", "kd", "eager", 0.87, 9.0, 110.0),    # best score, too slow and too big
        row("cnn", "kd", "int8", 0.845, 0.4, 25.0),            # too big
        row("cnn", "kd", "onnx", 0.9, None, 15.0)]             # not benchmarked: cannot be judged
BUDGETS = {"latency_ms": 5.0, "size_mb": 20.0, "max_score_loss": 0.05}


def test_recommend_picks_the_best_row_within_every_budget():
    rec = recommend("t", ROWS, 0.88, 0.88, BUDGETS)
    assert rec.pick["id"] == "t-bilstm-kd-onnx"
    assert rec.question() == ("Which student should I ship for t under 5 ms and 20 MB, "
                              "at most 5 F1 points below the teacher (on validation)?")
    assert rec.answer() == ("Ship bilstm (kd, onnx): test macro F1 84.00 (teacher 88.00, -4.00 points; "
                            "validation -4.00), p50 0.50 ms, 40x faster than the teacher in its fastest runtime "
                            "(int8), 13.0 MB.")
    roomy = {**BUDGETS, "size_mb": 200, "latency_ms": 10}
    assert recommend("t", ROWS, 0.88, 0.88, roomy).pick["model"] == "bert-small"


def test_recommend_picks_on_validation_and_reports_test():
    """The test split never selects: a row better on test but worse on validation is not the pick, and the
    score budget is measured on validation against the teacher's validation score."""
    rows = [row("bilstm", "kd", "onnx", 0.84, 0.5, 13.0, valid=0.80), row("cnn", "kd", "onnx", 0.82, 0.6, 15.0)]
    rec = recommend("t", rows, 0.88, 0.85, BUDGETS)
    assert rec.pick["id"] == "t-cnn-kd-onnx" and "test macro F1 82.00 (teacher 88.00, -6.00 points; validation " \
        "-3.00)" in rec.answer()                                 # 6 points under on test, within 5 on validation
    assert recommend("t", rows, 0.88, 0.90, BUDGETS).pick is None  # 8 points under on validation
    old = [{k: v for k, v in r.items() if k != "valid_macro_f1"} for r in rows]
    assert recommend("t", old, 0.88, 0.85, BUDGETS).answer() == (
        "The 2 benchmark rows of t have no validation score, which picks the student: rerun the bench stage.")


def test_speed_against_the_teacher_reads_right_either_way():
    from kdbench.report.recommend import _versus_teacher
    assert _versus_teacher(38.4, "int8") == ", 38x faster than the teacher in its fastest runtime (int8)"
    assert _versus_teacher(2.46, "int8") == ", 2.5x faster than the teacher in its fastest runtime (int8)"
    assert _versus_teacher(0.25, "onnx") == ", 4.0x slower than the teacher in its fastest runtime (onnx)"
    assert _versus_teacher(None, None) == ""  # a teacher from a logits file: nothing timed


def test_recommend_when_no_student_fits():
    rec = recommend("t", ROWS, 0.88, 0.88, {**BUDGETS, "max_score_loss": 0.01})
    assert rec.pick is None
    assert rec.fast_small["id"] == "t-bilstm-kd-onnx"             # best within latency and size alone
    # needed stretch: bilstm 0.04/0.01 = 4, bert-small 110/20 = 5.5, cnn int8 max(25/20, 0.035/0.01) = 3.5
    assert rec.closest["id"] == "t-cnn-kd-int8" and rec.stretch == pytest.approx(3.5)
    answer = rec.answer()
    assert answer.startswith("No student fits all three budgets. Within 5 ms and 20 MB the best is bilstm (kd, onnx)")
    assert "Closest to fitting: cnn (kd, int8)" in answer and answer.endswith("3.50x larger.")
    assert "None is within 0.1 ms" in recommend("t", ROWS, 0.88, 0.88, {**BUDGETS, "latency_ms": 0.1}).answer()
    assert recommend("t", [], 0.88, 0.88, BUDGETS).answer() == "No benchmark rows for t: run the bench stage first."


def test_recommend_on_the_recorded_rows():
    inputs = report_inputs()
    results = load_results(inputs["layout"], inputs["records"], inputs["params"])
    smsa = results.task("smsa")
    small = recommend("smsa", results.student_rows("smsa"), smsa.teacher_f1, smsa.teacher_valid_f1,
                      {**BUDGETS, "size_mb": 10})
    assert small.pick["id"] == "smsa-bilstm-kd-teacher-emb-int8"  # only int8 files are under 10 MB
    emot = recommend("emot", results.student_rows("emot"), results.task("emot").teacher_f1,
                     results.task("emot").teacher_valid_f1, BUDGETS)
    assert emot.pick is None and emot.fast_small["id"] == "emot-bilstm-kd-onnx"
    with pytest.raises(KdbenchError, match="latency"):
        recommend("smsa", [], 0.9, 0.9, {**BUDGETS, "latency": 5})


# --- the paper's claims -----------------------------------------------------------------------------------

GOLD = [("neg", "neu", "pos")[i % 3] for i in range(450)]
HARD = [((i * 7919) % 450) / 450 for i in range(450)]  # a fixed difficulty per test text


def predictions(accuracy, seed=0):
    """Right on the texts easier than `accuracy`, plus a little seed noise on the borderline ones."""
    rng = np.random.default_rng(seed)
    return [g if h + rng.normal(0, 0.01) < accuracy else ("neg", "neu", "pos")[("neg", "neu", "pos").index(g) - 1]
            for g, h in zip(GOLD, HARD)]


def student(model, variant, accuracy, task="t", params=3_000_000, seeds=(0, 1, 2), valid=None, **settings):
    """valid: its validation F1 of every seed (default: as on test)."""
    base = {"loss": "mse", "embeddings": "random", "transfer": [], "temperature": 1.0, "stop_on": "teacher"}
    preds = tuple(predictions(accuracy, seed) for seed in seeds)
    f1s = tuple(metrics.score("single", GOLD, p)["macro_f1"] for p in preds)
    return StudentResult(task, model, variant, f1s[0], params, params // 4, params * 4, {**base, **settings},
                         None, tuple(seeds), preds, f1s, (valid,) * len(seeds) if valid else f1s)


def results(runs, rows=()):
    task = TaskResult("t", "classification", 0.9, "tfidf-logreg", 0.6, "single", gold=GOLD)
    return Results([task], runs, list(rows), list(dict.fromkeys(r.model for r in runs)), [])


def test_kd_claim_needs_every_pair():
    runs = [student("bilstm", "nokd", 0.70, loss="ce", stop_on="f1"), student("bilstm", "kd", 0.75, transfer=["own"]),
            student("cnn", "nokd", 0.70, loss="ce", stop_on="f1"), student("cnn", "kd", 0.72)]  # each its own stopping
    claim = cl.kd_beats_nokd(results(runs))
    assert claim.verdict == cl.HELD and claim.summary.startswith("2 of 2 task x student pairs held")
    assert [row[5] for row in claim.details.rows] == [3, 3]  # paired over three seeds
    runs[3] = student("cnn", "kd", 0.69)
    claim = cl.kd_beats_nokd(results(runs))
    assert claim.verdict == cl.NOT_HELD and "1 reversed" in claim.summary
    runs[3] = student("cnn", "kd", 0.702)
    assert cl.kd_beats_nokd(results(runs)).verdict == cl.NO_DIFFERENCE  # one text in 450: noise


def test_claims_are_not_tested_without_a_controlled_pair():
    # kd-kl also changes the temperature: it differs from kd in two keys, so it is no evidence on the loss
    runs = [student("bilstm", "kd", 0.75), student("bilstm", "kd-kl", 0.70, loss="kl", temperature=2.0)]
    for check in (cl.kd_beats_nokd, cl.mse_beats_kl, cl.teacher_embeddings_best, cl.unlabeled_helps,
                  cl.augmentation_helps):
        claim = check(results(runs))
        assert claim.verdict == cl.NOT_TESTED and claim.details is None, claim.key
    assert cl.small_students_best_trade_off(results(runs)).verdict == cl.NOT_TESTED  # no BERT student to beat
    no_predictions = [dataclasses.replace(r, seeds=(), preds=(), seed_f1s=()) for r in runs[:1]]
    kl = student("bilstm", "kd-kl", 0.70, loss="kl")
    assert cl.mse_beats_kl(results(no_predictions + [kl])).verdict == cl.NOT_TESTED  # nothing to pair


def test_average_claims_pool_the_pairs():
    runs = [student("bilstm", "kd", 0.80), student("bilstm", "kd-kl", 0.77, loss="kl"),
            student("cnn", "kd", 0.70), student("cnn", "kd-kl", 0.71, loss="kl")]
    claim = cl.mse_beats_kl(results(runs))
    assert claim.verdict == cl.HELD and claim.summary.startswith("mse - kl: +")
    assert "over 2 pairs" in claim.summary and "(1 of 2 pairs held on their own; seeds per pair: 3)" in claim.summary
    runs[0] = student("bilstm", "kd", 0.76)
    assert cl.mse_beats_kl(results(runs)).verdict == cl.NOT_HELD
    with_transfer = [student("bilstm", "kd", 0.70), student("bilstm", "kd-t", 0.74, transfer=["own", "pool"]),
                     student("bilstm", "kd-ta", 0.74, transfer=["own", "pool", "augment"])]
    assert cl.unlabeled_helps(results(with_transfer)).verdict == cl.HELD
    assert cl.augmentation_helps(results(with_transfer)).verdict == cl.NO_DIFFERENCE


def test_a_learning_rate_each_run_swept_is_recipe_not_a_difference():
    """KD and no-KD runs whose sweeps chose different rates still pair (a user's CSV task counted 1 of 4 pairs
    when pairs() required equal rates); a rate set by hand on one run only, or another grid, does not."""
    grid = [0.005, 0.001]
    swept = [student("bilstm", "nokd", 0.70, loss="ce", lr=0.005, lr_grid=grid),
             student("bilstm", "kd", 0.75, transfer=["own", "pool", "augment"], lr=0.001, lr_grid=grid)]
    assert len(cl.kd_beats_nokd(results(swept)).pairs) == 1
    by_hand = [swept[0], dataclasses.replace(swept[1], settings={**swept[1].settings, "lr_grid": []})]
    assert cl.kd_beats_nokd(results(by_hand)).verdict == cl.NOT_TESTED


def test_students_against_the_teacher_pair_the_best_student_over_its_seeds():
    def with_teacher(runs, accuracy):
        r = results(runs)
        pred = predictions(accuracy, seed=9)
        r.tasks[0] = dataclasses.replace(r.tasks[0], teacher_pred=pred,
                                         teacher_f1=metrics.score("single", GOLD, pred)["macro_f1"])
        return r
    runs = [student("bilstm", "kd", 0.80), student("cnn", "kd", 0.70, seeds=(0,))]
    claim = cl.students_reach_teacher(with_teacher(runs, 0.802))
    assert claim.verdict == cl.HELD and claim.summary.startswith("t: bilstm/kd ")  # the best, by its seed mean
    bilstm, cnn = claim.details.rows
    assert bilstm[3] == 3 and cnn[3] == 1 and cnn[6] == 0            # seeds, and one seed has no spread
    assert bilstm[6] == pytest.approx((max(runs[0].seed_f1s) - min(runs[0].seed_f1s)) * 100)
    assert cnn[-1] == cl.NOT_HELD                                      # 10 points under: significantly
    assert cl.students_reach_teacher(with_teacher(runs, 0.90)).verdict == cl.NOT_HELD
    assert cl.students_reach_teacher(results(runs)).verdict == cl.NOT_TESTED  # no teacher predictions
    # the validation split picks the best, not the test split: a CNN better on validation is the one compared
    runs = [student("bilstm", "kd", 0.80, valid=0.85), student("cnn", "kd", 0.70, valid=0.86)]
    claim = cl.students_reach_teacher(with_teacher(runs, 0.802))
    assert claim.summary.startswith("t: cnn/kd (best on validation) ") and claim.verdict == cl.NOT_HELD


def test_a_declared_comparison_pairs_variants_that_differ_in_many_settings():
    runs = [student("bilstm", "kd", 0.80, epochs=20, stop_on="teacher"),
            student("bilstm", "kd-old", 0.76, epochs=8, stop_on="gold"), student("cnn", "kd", 0.70)]
    claim = cl.variant_beats(results(runs), "kd", "kd-old")
    assert claim.key == "kd_beats_kd_old" and claim.verdict == cl.HELD
    assert claim.pairs == ("t/bilstm: kd - kd-old",)                   # the CNN ran one of them only
    assert cl.variant_beats(results(runs), "kd-old", "kd").verdict == cl.NOT_HELD
    assert cl.variant_beats(results(runs), "kd", "nokd").verdict == cl.NOT_TESTED


def test_teacher_embeddings_must_beat_both_other_inits():
    runs = [student("bilstm", "kd", 0.70), student("bilstm", "kd-ft", 0.75, embeddings="fasttext"),
            student("bilstm", "kd-te", 0.72, embeddings="teacher")]
    claim = cl.teacher_embeddings_best(results(runs))
    assert claim.verdict == cl.NOT_HELD          # above random, under fasttext
    assert claim.summary.startswith("teacher - fasttext: -") and "teacher - random: +" in claim.summary
    assert cl.teacher_embeddings_best(results(runs[::2])).verdict == cl.HELD


def test_trade_off_claim_reads_the_pareto_frontiers():
    runs = [student("bilstm", "kd", 0.80), student("bert-tiny", "kd", 0.85)]
    row = lambda model, f1, ms, mb: {"task": "t", "model": model, "variant": "kd", "runtime": "onnx",  # noqa: E731
                                     "test_macro_f1": f1, "latency_p50_ms": ms, "size_mb": mb}
    cheap_small = [row("bilstm", 0.80, 0.3, 5.0), row("bert-tiny", 0.80, 0.5, 7.0)]
    assert cl.small_students_best_trade_off(results(runs, cheap_small)).verdict == cl.HELD
    bert_dominates = [row("bilstm", 0.80, 0.5, 7.0), row("bert-tiny", 0.85, 0.3, 5.0)]
    claim = cl.small_students_best_trade_off(results(runs, bert_dominates))
    assert claim.verdict == cl.NOT_HELD and "2 without a BiLSTM/CNN" in claim.summary
    runs[1] = dataclasses.replace(runs[1], interval={"low": 0.83, "high": 0.87})
    shared = [row("bilstm", 0.80, 0.3, 5.0), row("bert-tiny", 0.85, 0.9, 9.0)]
    assert cl.small_students_best_trade_off(results(runs, shared)).verdict == cl.NO_DIFFERENCE


def test_only_the_current_pipeline_is_read_with_recorded_settings(tmp_path):
    metrics = tmp_path / "reports" / "metrics"
    shutil.copytree(DATA / "metrics", metrics)
    hidden = metrics / "terma" / "bilstm" / ".kd.json.abc123"      # what kdbench.io.atomic_path leaves mid-write
    hidden.mkdir()
    (hidden / "kd.json").write_text("{")
    recorded = json.loads((metrics / "terma/cnn/kd.json").read_text())
    recorded["settings"] = {**recorded.get("settings", {}), "loss": "mse+ce", "alpha": 0.3, "seed": 1}
    (metrics / "terma/cnn/kd.json").write_text(json.dumps(recorded))
    # params.yaml now runs terma only and says kd is KL: emot and smsa are another profile's leftovers, and
    # the runs recorded what they trained with, which wins over today's variants block
    params = report_params(tasks={"terma": {}}, variants={"kd": {"loss": "kl"}, "nokd": {"loss": "ce"}})
    warnings = []
    results = load_results(Layout(tmp_path, tmp_path), [{"task": "smsa", "model": "teacher", "variant": None,
                                                          "runtime": "eager"}], params, warn=warnings.append)
    assert [t.name for t in results.tasks] == ["terma"] and len(results.students) == 6 and not results.records
    assert {s.settings["loss"] for s in results.students if s.variant == "kd" and s.model != "cnn"} == {"mse"}
    cnn = next(s for s in results.students if (s.model, s.variant) == ("cnn", "kd"))
    assert (cnn.settings["loss"], cnn.settings["alpha"], cnn.settings["seed"]) == ("mse+ce", 0.3, 1)
    assert results.variant_order == ["kd", "nokd"]
    assert len(warnings) == 1 and "ignored 26 metrics file(s)" in warnings[0] and "emot/" in warnings[0]


def test_report_without_bench_records(tmp_path):
    summary = build_recorded_report(tmp_path, records=[])
    assert summary["recommendations"]["smsa"]["answer"] == "No benchmark rows for smsa: run the bench stage first."
    cost = find(read_csv(tmp_path / "tables" / "cost.csv"), task="smsa", model="cnn", variant="kd")
    assert (cost["params (M)"], cost["fp32 (MB)"], cost["p50 eager (ms)"]) == ("4.02", "15.36", "")
    assert "no benchmark rows were given" in (tmp_path / "index.html").read_text()


# --- the HTML page ----------------------------------------------------------------------------------------

def test_index_html_is_self_contained(built):
    out, _ = built
    page = (out / "index.html").read_text()
    assert page.count("<table") == 11       # scores, cost, bench, 6 claim details, versions, DVC hashes
    images = re.findall(r'<img src="([^"]*)"', page)
    assert len(images) == 6 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(?!data:)', page) and "<script" not in page and "<link" not in page
    assert page.index('id="recommendation"') < page.index('id="scores"') < page.index('id="plots"') \
        < page.index('id="conclusions"') < page.index('id="findings"') < page.index('id="provenance"')
    assert page.index('data-claim="augmentation_helps"') < page.index('id="findings"') \
        < page.index('data-claim="students_reach_teacher"')      # the study's own finding under its own heading
    assert "939afc6c0fbd03947820f3a216765bc1" in page                # smsa's data hash in the footer


def test_html_escapes_every_cell():
    html = table_html(Table("t", "T", ["<b>"], [["<script>alert(1)</script>"]]))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;" in html


def test_plots_are_pngs(built):
    from matplotlib.image import imread
    out, _ = built
    image = imread(out / "plots" / "smsa-latency.png")
    assert image.shape[0] > 200 and image.shape[1] > 400 and image.std() > 0.05


# --- headless Chromium ------------------------------------------------------------------------------------

def chromium():
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.skip("no Chromium binary found: install it (Debian: apt-get install chromium) or set CHROMIUM")


def run_chromium(profile, *args):
    """Headless Chromium; root in a container needs --no-sandbox, and a private profile keeps runs apart."""
    cmd = [chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--no-first-run",
           f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout


def test_chromium_renders_tables_and_decodes_images(built, tmp_path):
    out, _ = built
    # The page has no scripts; a copy gets one that records each image's decoded width once loaded.
    probe = ('<script>addEventListener("load", () => { for (const img of document.images) '
             "img.dataset.naturalWidth = img.naturalWidth; });</script></body>")
    page = tmp_path / "probe.html"
    page.write_text((out / "index.html").read_text().replace("</body>", probe))
    dom = run_chromium(tmp_path / "profile", "--virtual-time-budget=10000", "--dump-dom", page.as_uri())
    assert dom.count("<table") == 11
    assert '<td class="num">83.67</td>' in dom                       # smsa, bilstm kd in the scores table
    widths = re.findall(r'data-natural-width="(\d+)"', dom)
    assert len(widths) == 6 and all(int(w) > 100 for w in widths), widths

    shot = tmp_path / "shot.png"
    run_chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,4000", (out / "index.html").as_uri())
    from matplotlib.image import imread
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (4000, 1280)
    assert (pixels.mean(axis=-1) < 0.6).mean() > 0.01                 # text and plots, not a blank page
    assert (pixels.max(axis=-1) - pixels.min(axis=-1) > 0.3).mean() > 0.001   # coloured plot markers


def test_the_reference_is_a_candidate_and_may_be_the_answer(tmp_path):
    """On data where TF-IDF + LR beats every student within budget, the recommendation says to ship it."""
    records = report_inputs()["records"] + [
        {"id": "smsa-reference-native", "task": "smsa", "model": "reference", "variant": None, "runtime": "native",
         "test_macro_f1": 0.95, "valid_macro_f1": 0.95, "latency_ms": {"p50": 0.05}, "file_bytes": 300_000,
         "speedup_vs_fastest_teacher": 400.0,
         "fastest_teacher_runtime": "int8"}]
    summary = build_recorded_report(tmp_path, records=records)
    assert summary["recommendations"]["smsa"]["pick"] == "smsa-reference-native"
    assert summary["recommendations"]["smsa"]["answer"].startswith("Ship the non-neural reference (native)")
    assert "smsa-reference-native" in (tmp_path / "tables" / "bench.csv").read_text()
    assert find(read_csv(tmp_path / "tables" / "cost.csv"), task="smsa", model="reference")["p50 native (ms)"]
