"""The report's inputs gathered once: scores from reports/metrics/, costs from the bench records.

Scores come from the metrics JSON files (what training measured); latency, RSS and per-runtime sizes only
exist in the bench records, which may be missing or partial while the pipeline is still running."""

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

from kdbench.config import DistillConfig
from kdbench.tasks import CLASSIFICATION_KINDS, get_task, list_tasks

MIB = 2 ** 20          # sizes in MB are MiB, as in the paper (475 MB for the 124.5M-parameter BERT)
GROUPS = ("classification", "labeling")
RUNTIMES = ("eager", "onnx", "int8")
# The paper's order; read from here rather than the student registry, which would import torch.
PAPER_STUDENTS = ("bilstm", "cnn", "bert-tiny", "bert-mini", "bert-small")
# What a student's metrics JSON records it actually trained with; these win over the variant's overrides.
RECORDED_SETTINGS = ("loss", "embeddings", "unlabeled")
# One bench record flattened to one CSV row (`dvc plots` reads flat columns); nested keys as `<key>_<sub>`.
BENCH_COLUMNS = (
    "id", "task", "model", "variant", "runtime", "test_macro_f1", "pct_of_teacher",
    "latency_mean_ms", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "tokenize_mean_ms",
    "tokenize_p50_ms", "throughput_per_s", "speedup_vs_teacher", "peak_rss_mb", "file_bytes", "size_mb",
    "params", "params_without_embeddings", "threads", "sample_size")


@dataclass(frozen=True)
class TaskResult:
    name: str
    group: str                  # classification | labeling
    teacher_f1: float           # test macro F1, 0..1
    reference_name: str         # the non-neural reference: tfidf-logreg or most-frequent-tag
    reference_f1: float


@dataclass(frozen=True)
class StudentResult:
    task: str
    model: str
    variant: str
    f1: float                   # test macro F1, 0..1
    params: int
    params_without_embeddings: int
    file_bytes: int             # fp32 weights
    settings: dict              # the distill settings this run used (defaults + variant + recorded)


@dataclass
class Results:
    tasks: list                 # TaskResult, classification first, each group in registry order
    students: list              # StudentResult, by task, student, variant
    records: list               # bench records flattened (flat_record), in the order given
    student_order: list
    variant_order: list

    def task(self, name):
        return next(t for t in self.tasks if t.name == name)

    def rows(self, task, model=None):
        """Flat bench rows of one task, optionally of one model ("teacher" included)."""
        return [r for r in self.records if r["task"] == task and (model is None or r["model"] == model)]

    def student_rows(self, task):
        return [r for r in self.rows(task) if r["model"] != "teacher"]

    def teacher_row(self, task, runtime="eager"):
        return next((r for r in self.rows(task, "teacher") if r["runtime"] == runtime), None)


def flat_record(rec):
    """One bench record as a flat dict with BENCH_COLUMNS; missing fields are None."""
    latency, tokenize = rec.get("latency_ms") or {}, rec.get("tokenize_ms") or {}
    row = {c: rec.get(c) for c in BENCH_COLUMNS}
    for stat in ("mean", "p50", "p90", "p99"):
        row[f"latency_{stat}_ms"] = latency.get(stat)
    for stat in ("mean", "p50"):
        row[f"tokenize_{stat}_ms"] = tokenize.get(stat)
    row["size_mb"] = rec["file_bytes"] / MIB if rec.get("file_bytes") is not None else None
    return row


def known(*values):
    """True when every value is a real number (not None, not NaN)."""
    return all(v is not None and not (isinstance(v, float) and math.isnan(v)) for v in values)


def load_results(metrics_dir, records, variants):
    """Read metrics_dir/<task>/teacher.json and <task>/<student>/<variant>.json; flatten `records`."""
    metrics_dir = Path(metrics_dir)
    defaults = dataclasses.asdict(DistillConfig())
    tasks, students = [], []
    for task_dir in sorted(_visible(metrics_dir.iterdir()), key=lambda p: p.name):
        teacher_file = task_dir / "teacher.json"
        if not task_dir.is_dir() or not teacher_file.is_file():
            continue
        tasks.append(_task_result(task_dir.name, json.loads(teacher_file.read_text(encoding="utf-8"))))
        for student_dir in _visible(task_dir.iterdir()):
            for path in _visible(student_dir.glob("*.json")) if student_dir.is_dir() else []:
                m = json.loads(path.read_text(encoding="utf-8"))
                recorded = {k: m[k] for k in RECORDED_SETTINGS if k in m}
                settings = {**defaults, **(variants.get(path.stem) or {}), **recorded}
                students.append(StudentResult(task_dir.name, student_dir.name, path.stem, m["test"]["macro_f1"],
                                              m.get("params"), m.get("params_without_embeddings"),
                                              m.get("file_bytes"), settings))
    registry = list_tasks()
    tasks.sort(key=lambda t: (GROUPS.index(t.group), _rank(t.name, registry)))
    student_order = _ordered(({s.model for s in students} | {r["model"] for r in records}) - {"teacher"},
                             PAPER_STUDENTS)
    variant_order = _ordered(({s.variant for s in students} | {r["variant"] for r in records}) - {None},
                             list(variants))
    task_rank = [t.name for t in tasks]
    students.sort(key=lambda s: (_rank(s.task, task_rank), student_order.index(s.model),
                                 variant_order.index(s.variant)))
    return Results(tasks, students, [flat_record(r) for r in records], student_order, variant_order)


def _task_result(name, teacher):
    kind = teacher.get("kind")
    if kind:
        group = "classification" if kind in CLASSIFICATION_KINDS else "labeling"
    else:  # an older teacher.json without `kind`: only registered tasks can be placed
        group = get_task(name).group
    ref = teacher.get("reference") or {}
    return TaskResult(name, group, teacher["test"]["macro_f1"], ref.get("name", "reference"),
                      ref.get("test_macro_f1"))


def _visible(paths):
    """Skip dot entries: kdbench.io writes through hidden temporary directories next to the target."""
    return [p for p in paths if not p.name.startswith(".")]


def _rank(name, order):
    return (order.index(name), "") if name in order else (len(order), name)


def _ordered(names, preferred):
    """`names` in the preferred order first, then any others alphabetically."""
    return [n for n in preferred if n in names] + sorted(n for n in names if n not in preferred)
