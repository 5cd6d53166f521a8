"""The report's inputs gathered once: scores from reports/metrics/, costs from the bench records.

Only the runs of the current pipeline (params.yaml tasks x students x variants) are read: files left over
from another profile are named in a warning and ignored. Each run's settings are what the run recorded in
its metrics file, never today's `variants:` block, so a renamed or redefined variant cannot misattribute an
older run. Latency, RSS and per-runtime sizes only exist in the bench records, which may be missing or
partial while the pipeline is still running."""

import dataclasses
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from kdbench.bench.runtimes import BASELINE_RUNTIME
from kdbench.config import DistillConfig
from kdbench.tasks import GROUPS, group_of, list_tasks

MIB = 2 ** 20          # sizes in MB are MiB, as in the paper (475 MB for the 124.5M-parameter BERT)
# Metrics files written before runs recorded their whole `settings` carry these keys only; `unlabeled: true`
# meant learning from the group's pool, what `transfer: [pool]` says now.
RECORDED_SETTINGS = ("loss", "embeddings", "unlabeled")
# One bench record flattened to one CSV row (`dvc plots` reads flat columns); nested keys as `<key>_<sub>`.
BENCH_COLUMNS = (
    "id", "task", "model", "variant", "runtime", "test_macro_f1", "valid_macro_f1", "pct_of_teacher",
    "latency_mean_ms", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "tokenize_mean_ms",
    "tokenize_p50_ms", "throughput_per_s", "speedup_vs_fastest_teacher", "fastest_teacher_runtime",
    "speedup_vs_teacher_same_runtime", "peak_rss_mb", "file_bytes", "size_mb",
    "flops_per_sentence", "params", "params_without_embeddings", "threads", "sample_size")


@dataclass(frozen=True)
class TaskResult:
    name: str
    group: str                  # classification | labeling
    teacher_f1: float           # test macro F1, 0..1
    reference_name: str         # the non-neural reference: tfidf-logreg or most-frequent-tag
    reference_f1: float
    kind: str = "single"
    teacher_interval: dict | None = None     # bootstrap interval of teacher_f1: {"low", "high", ...}
    reference_interval: dict | None = None
    gold: list | None = None                 # test gold labels, and the teacher's and reference's predictions
    teacher_pred: list | None = None         # (from reports/predictions/<task>/teacher.json), for paired tests
    reference_pred: list | None = None
    teacher_valid_f1: float | None = None    # validation macro F1: what the recommendation's score budget reads


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
    interval: dict | None = None             # bootstrap interval of f1
    seeds: tuple = ()                        # the seeds of `preds` and `seed_f1s`: the run's own, then replicas
    preds: tuple = ()                        # test predictions, one list per seed
    seed_f1s: tuple = ()                     # test macro F1 per seed
    seed_valid_f1s: tuple = ()               # validation macro F1 per seed: what picks a best run


@dataclass
class Results:
    tasks: list                 # TaskResult, classification first, each group in registry order
    students: list              # StudentResult, by task, student, variant
    records: list               # bench records flattened (flat_record), in the order given
    student_order: list
    variant_order: list
    raw_records: list = dataclasses.field(default_factory=list)  # the records as the bench wrote them

    def task(self, name):
        return next(t for t in self.tasks if t.name == name)

    def rows(self, task, model=None):
        """Flat bench rows of one task, optionally of one model ("teacher" included)."""
        return [r for r in self.records if r["task"] == task and (model is None or r["model"] == model)]

    def student_rows(self, task):
        return [r for r in self.rows(task) if r["model"] != "teacher"]

    def teacher_row(self, task, runtime=BASELINE_RUNTIME):
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


def warn_stderr(message):
    print(f"kdbench: warning: {message}", file=sys.stderr)


def _read(path):
    return json.loads(Path(path).read_text(encoding="utf-8")) if path and Path(path).is_file() else None


def load_results(layout, records, params, warn=warn_stderr):
    """The study's runs (params: a config.Params; layout: where its files are, kdbench.layout): each task's
    teacher metrics and predictions from the setup, each run's metrics from the study, with its replicas' seeds
    and the test predictions behind paired tests, and the bench records flattened. Runs not yet trained are
    absent; metrics files of runs the study does not list are reported via `warn`."""
    defaults = dataclasses.asdict(DistillConfig())
    tasks, students, read = [], [], set()
    for task in params.tasks:
        teacher_file = layout.teacher_metrics(task)
        if not teacher_file.is_file():
            continue
        read.add(teacher_file)
        tasks.append(_task_result(task, json.loads(teacher_file.read_text(encoding="utf-8")),
                                  _read(layout.teacher_predictions(task))))
        for student in params.students:
            for variant in params.variants:
                path = layout.student_metrics(task, student, variant)
                if not path.is_file():
                    continue
                read.add(path)
                m = json.loads(path.read_text(encoding="utf-8"))
                # a setting the run left out is at its default (config.RECORDED_WHEN_SET; older files, below)
                settings = {**defaults, **m["settings"]} if m.get("settings") else _older_settings(m, defaults)
                seeds, preds, f1s, valid_f1s = [], [], [], []
                extra = params.replicate.seeds if student in params.replicate.students else []
                for seed in [None, *extra]:
                    run = m if seed is None else _read(layout.student_metrics(task, student, variant, seed))
                    pred = _read(layout.student_predictions(task, student, variant, seed))
                    if run is not None and pred is not None:
                        seeds.append(pred["seed"])
                        preds.append(pred["pred"])
                        f1s.append(run["test"]["macro_f1"])
                        valid_f1s.append(run["valid"]["macro_f1"])
                students.append(StudentResult(task, student, variant, m["test"]["macro_f1"], m.get("params"),
                                              m.get("params_without_embeddings"), m.get("file_bytes"), settings,
                                              m["test"].get("interval"), tuple(seeds), tuple(preds), tuple(f1s),
                                              tuple(valid_f1s)))
    metrics_dir = layout.reports / "metrics"
    leftovers = sorted(str(p.relative_to(metrics_dir)) for p in metrics_dir.rglob("*.json")
                       if p not in read and not any(part.startswith(".") for part in p.parts)) \
        if layout.study is not None else []
    if leftovers:
        warn(f"{metrics_dir}: ignored {len(leftovers)} metrics file(s) of runs the study does not list "
             f"(params.yaml): {', '.join(leftovers[:3])}{', ...' if len(leftovers) > 3 else ''}")
    unvaried = ("teacher", "reference")  # the models without distill variants
    records = [r for r in records if r.get("task") in params.tasks
               and (r.get("model") in unvaried or r.get("model") in params.students
                    and r.get("variant") in params.variants)]
    registry = list_tasks()
    tasks.sort(key=lambda t: (GROUPS.index(t.group), _rank(t.name, registry)))
    task_rank = [t.name for t in tasks]
    student_order, variant_order = list(params.students), list(params.variants)
    students.sort(key=lambda s: (_rank(s.task, task_rank), student_order.index(s.model),
                                 variant_order.index(s.variant)))
    return Results(tasks, students, [flat_record(r) for r in records], student_order, variant_order, records)


def _older_settings(m, defaults):
    recorded = {k: m[k] for k in RECORDED_SETTINGS if k in m}
    if "unlabeled" in recorded:
        recorded["transfer"] = ["pool"] if recorded.pop("unlabeled") else []
    return {**defaults, **recorded}


def _task_result(name, teacher, predictions):
    ref = teacher.get("reference") or {}
    predictions = predictions or {}
    return TaskResult(name, group_of(teacher["kind"]), teacher["test"]["macro_f1"], ref.get("name", "reference"),
                      ref.get("test_macro_f1"), teacher["kind"], teacher["test"].get("interval"),
                      ref.get("test_interval"), predictions.get("gold"), predictions.get("teacher"),
                      predictions.get("reference"), (teacher.get("valid") or {}).get("macro_f1"))


def _rank(name, order):
    return (order.index(name), "") if name in order else (len(order), name)
