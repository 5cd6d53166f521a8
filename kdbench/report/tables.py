"""The report's tables: one `Table` value, written as CSV (for `dvc plots` and spreadsheets) and Markdown
(for pull requests), and drawn into the HTML page. Cells are rounded once here, so all three show the same
numbers. Scores are macro F1 x 100, as in the paper."""

import csv
import io
import math
import statistics
from dataclasses import dataclass, field

from kdbench.report.results import BENCH_COLUMNS, GROUPS, MIB, RUNTIMES, known

POINTS = 100            # macro F1 0..1 -> the paper's 0..100


@dataclass
class Table:
    name: str                           # file stem: tables/<name>.csv and tables/<name>.md
    title: str
    columns: list
    rows: list                          # lists of str, int, float or None (missing)
    digits: dict = field(default_factory=dict)   # decimals per float column; default 2

    def cells(self):
        """Every row as strings; a missing value is an empty string."""
        return [[self._text(col, v) for col, v in zip(self.columns, row)] for row in self.rows]

    def numeric(self):
        """Per column: True when every filled cell is a number (right-aligned in Markdown and HTML)."""
        return [all(isinstance(row[i], (int, float)) and not isinstance(row[i], bool)
                    for row in self.rows if row[i] is not None) for i in range(len(self.columns))]

    def _text(self, col, v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, float):
            return f"{v:.{self.digits.get(col, 2)}f}"
        return str(v)


def to_csv(table):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows(table.cells())
    return buf.getvalue()


def to_markdown(table):
    """A GitHub pipe table; empty cells show as an en dash so a missing run is visible."""
    def line(cells):
        return "| " + " | ".join(c.replace("|", "\\|") or "–" for c in cells) + " |"
    rule = "|" + "|".join("---:" if num else ":---" for num in table.numeric()) + "|"
    return "\n".join([f"### {table.title}", "", line([str(c) for c in table.columns]), rule, *map(line, table.cells())]) + "\n"


def _points(f1):
    return f1 * POINTS if known(f1) else None


def _mb(nbytes):
    return nbytes / MIB if known(nbytes) else None


def _first(*values):
    return next((v for v in values if known(v)), None)


def _millions(n):
    return n / 1e6 if known(n) else None


def scores_table(results):
    """Test macro F1 x 100: teacher, reference and every student x variant per task, plus each group's
    average. An average is left empty when the row misses a task of the group, not taken over fewer tasks."""
    groups = [(g, [t for t in results.tasks if t.group == g]) for g in GROUPS]
    groups = [(g, ts) for g, ts in groups if ts]
    columns = ["model", "variant"]
    for g, ts in groups:
        columns += [t.name for t in ts] + [f"avg {g}"]

    def row(model, variant, score_of):
        cells = [model, variant]
        for _, ts in groups:
            scores = [score_of(t) for t in ts]
            cells += [_points(s) for s in scores]
            cells.append(_points(statistics.fmean(scores)) if known(*scores) else None)
        return cells

    ref_names = sorted({t.reference_name for t in results.tasks})
    rows = [row("teacher", "", lambda t: t.teacher_f1),
            row("reference", " / ".join(ref_names), lambda t: t.reference_f1)]
    f1 = {(s.task, s.model, s.variant): s.f1 for s in results.students}
    for model in results.student_order:
        for variant in results.variant_order:
            if any((t.name, model, variant) in f1 for t in results.tasks):
                rows.append(row(model, variant, lambda t: f1.get((t.name, model, variant))))
    return Table("scores", "Test macro F1 (x100)", columns, rows)


def cost_table(results):
    """Cost per task x model x variant: parameters, CPU latency p50 and speed-up per runtime, peak RSS of
    the eager run, and file size per runtime. Student parameters and fp32 size fall back to the metrics
    JSON when the bench has not run."""
    columns = (["task", "model", "variant", "params (M)", "params w/o emb (M)"]
               + [f"p50 {r} (ms)" for r in RUNTIMES] + [f"speed-up {r} (x)" for r in RUNTIMES]
               + ["peak RSS eager (MB)", "fp32 (MB)", "ONNX (MB)", "int8 (MB)"])
    digits = {f"p50 {r} (ms)": 3 for r in RUNTIMES} | {"peak RSS eager (MB)": 0}
    rows = []
    for task in results.tasks:
        entries = [("teacher", None, None)] + [(s.model, s.variant, s) for s in results.students
                                               if s.task == task.name]
        for model, variant, student in entries:
            by_runtime = {r["runtime"]: r for r in results.rows(task.name, model) if r["variant"] == variant}
            if not by_runtime and student is None:
                continue
            any_row = next(iter(by_runtime.values()), {})
            eager = by_runtime.get("eager", {})
            params = _first(any_row.get("params"), student and student.params)
            params_wo = _first(any_row.get("params_without_embeddings"),
                               student and student.params_without_embeddings)
            fp32 = _first(eager.get("file_bytes"), student and student.file_bytes)
            rows.append([task.name, model, variant or "", _millions(params), _millions(params_wo)]
                        + [by_runtime.get(r, {}).get("latency_p50_ms") for r in RUNTIMES]
                        + [by_runtime.get(r, {}).get("speedup_vs_teacher") for r in RUNTIMES]
                        + [eager.get("peak_rss_mb"), _mb(fp32)]
                        + [_mb(by_runtime.get(r, {}).get("file_bytes")) for r in ("onnx", "int8")])
    return Table("cost", "Cost per model (CPU)", columns, rows, digits)


def bench_table(results):
    """The bench records flat, one row per task x model x variant x runtime, F1 as recorded (0..1)."""
    columns = list(BENCH_COLUMNS)
    digits = {"test_macro_f1": 4, "size_mb": 3} | {c: 3 for c in columns if c.endswith("_ms")}
    rows = [[r[c] for c in columns] for r in results.records]
    return Table("bench", "Benchmark rows", columns, rows, digits)
