"""Recorded inputs for the report, shared by the report tests and anything that drives `kdbench report`.

tests/data/report/ holds hand-made numbers in the real layouts: metrics/<task>/teacher.json and
metrics/<task>/<student>/<variant>.json, records.jsonl (bench rows, one per task x model x variant x
runtime) and params.json (the params.yaml blocks the report reads: tasks, students, variants and the
budgets under `report`). What the numbers were chosen to show:
  - three tasks: emot and smsa (classification, so the group average covers two tasks) and terma (labeling);
    students bilstm, cnn and bert-tiny; every variant on smsa, only nokd and kd on emot and terma;
  - KD beats no-KD everywhere except emot/cnn (kd 60.33 < nokd 61.20), so that claim is "not held" (the
    made-up predictions behind the paired tests are correlated like real models', so 1 point is significant);
    MSE beats KL on average, teacher embeddings beat fasttext and random, unlabeled text helps;
  - at 5 ms / 20 MB / 0.05 F1: smsa ships bilstm kd-teacher-emb onnx (85.44, 18.7 MB; eager ties on score
    but is slower), terma ships cnn kd onnx; on emot no student is within 5 points of the teacher (72.30),
    the best within latency and size being bilstm kd onnx (66.72);
  - teacher: about 20 ms p50 (24 ms on the tagging task) and 449 MiB; students 0.4-2.8 ms and 3-23 MiB;
    int8 rows score 0.0021 below eager, ONNX rows the same as eager;
  - every row's validation score (valid_macro_f1, what the recommendation ranks by) is its test score + 0.01,
    as the teachers' are, so each task's recommendation is the same read either way.
"""

import functools
import json
import random
import shutil
import tempfile
from pathlib import Path

from kdbench.config import parse
from kdbench.io import read_jsonl
from kdbench.layout import Layout

DATA = Path(__file__).resolve().parent / "data" / "report"


def report_params(**changes):
    """The recorded pipeline's Params; `changes` replace top-level blocks of params.json."""
    raw = json.loads((DATA / "params.json").read_text(encoding="utf-8"))
    return parse({**raw, **changes})


CLASSES = {"emot": ["anger", "fear", "happy", "love", "sadness"], "smsa": ["negative", "neutral", "positive"]}
TAGS = ["O", "B-ASPECT", "I-ASPECT", "B-SENTIMENT"]


@functools.cache
def recorded_layout():
    """A study folder (its own setup) holding the recorded metrics under reports/metrics/, and test predictions
    for every recorded run under reports/predictions/, made up to match its recorded F1 roughly: one shared
    difficulty per test item and a run right where difficulty < its F1, so that runs agree on the easy items as
    real models do, and a paired test sees their differences clearly. Deterministic."""
    root = Path(tempfile.mkdtemp(prefix="kdbench-report-"))
    shutil.copytree(DATA / "metrics", root / "reports" / "metrics")
    out = root / "reports" / "predictions"
    for task_dir in sorted(p for p in (DATA / "metrics").iterdir() if p.is_dir()):
        rng = random.Random(task_dir.name)
        if task_dir.name in CLASSES:
            labels = CLASSES[task_dir.name]
            gold = [rng.choice(labels) for _ in range(440)]
            hard = [rng.random() for _ in gold]

            def predict(f1):
                return [g if h < f1 else labels[(labels.index(g) + 1) % len(labels)] for g, h in zip(gold, hard)]
        else:
            gold = [[rng.choice(TAGS[:2] + ["O"]) for _ in range(rng.randint(2, 8))] for _ in range(300)]
            hard = [[rng.random() for _ in g] for g in gold]

            def predict(f1):
                return [[t if h < f1 else "O" if t != "O" else "B-SENTIMENT" for t, h in zip(g, hs)]
                        for g, hs in zip(gold, hard)]
        teacher = json.loads((task_dir / "teacher.json").read_text())
        (out / task_dir.name).mkdir(parents=True)
        (out / task_dir.name / "teacher.json").write_text(json.dumps(
            {"gold": gold, "teacher": predict(teacher["test"]["macro_f1"]),
             "reference": predict(teacher["reference"]["test_macro_f1"])}))
        for path in task_dir.glob("*/*.json"):
            f1 = json.loads(path.read_text())["test"]["macro_f1"]
            (out / task_dir.name / path.parent.name).mkdir(exist_ok=True)
            (out / task_dir.name / path.parent.name / path.name).write_text(json.dumps({"seed": 0, "pred": predict(f1)}))
    return Layout(root, root)


def report_inputs():
    """build_report's keyword arguments except out_dir, from tests/data/report/."""
    return {"layout": recorded_layout(), "records": read_jsonl(DATA / "records.jsonl"), "params": report_params()}


def build_recorded_report(out_dir, **overrides):
    """Build the report of the recorded inputs into out_dir; `overrides` replace any input."""
    from kdbench.report import build_report
    return build_report(out_dir=out_dir, **{**report_inputs(), **overrides})
