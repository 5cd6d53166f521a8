"""The report's tables: one `Table` value, written as CSV (for `dvc plots` and spreadsheets) and Markdown
(for pull requests), and drawn into the HTML page. The score and cost tables are shaped with pandas (a pivot
of runs by task, a pivot of bench rows by runtime); cells are rounded once here, so all three outputs show
the same numbers. Scores are macro F1 x 100, as in the paper."""

import math
from dataclasses import dataclass, field

import pandas as pd

from kdbench.bench.runtimes import BASELINE_RUNTIME, RUNTIMES
from kdbench.report.results import BENCH_COLUMNS, MIB
from kdbench.tasks import GROUPS

POINTS = 100            # macro F1 0..1 -> the paper's 0..100


@dataclass
class Table:
    name: str                           # file stem: tables/<name>.csv and tables/<name>.md
    title: str
    columns: list
    rows: list                          # lists of str, int, float or None (missing)
    digits: dict = field(default_factory=dict)   # decimals per float column; default 2

    @classmethod
    def from_frame(cls, name, title, frame, digits=None):
        """A Table of a DataFrame's columns and rows; NaN becomes None (missing)."""
        rows = frame.astype(object).where(frame.notna(), None).values.tolist()
        return cls(name, title, [str(c) for c in frame.columns], rows, digits or {})

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
    return pd.DataFrame(table.cells(), columns=table.columns).to_csv(index=False, lineterminator="\n")


def to_markdown(table):
    """A GitHub pipe table; empty cells show as an en dash so a missing run is visible."""
    def line(cells):
        return "| " + " | ".join(c.replace("|", "\\|") or "–" for c in cells) + " |"
    rule = "|" + "|".join("---:" if num else ":---" for num in table.numeric()) + "|"
    return "\n".join([f"### {table.title}", "", line([str(c) for c in table.columns]), rule, *map(line, table.cells())]) + "\n"


def _runtimes(results):
    """The runtimes of the bench records, in registry order."""
    seen = {r["runtime"] for r in results.records}
    return [r for r in RUNTIMES.names() if r in seen] or RUNTIMES.names()


def _ci(interval):
    """A bootstrap interval as text, x100: "[80.12, 86.90]"."""
    return f"[{interval['low'] * POINTS:.2f}, {interval['high'] * POINTS:.2f}]" if interval else None


def scores_table(results):
    """Test macro F1 x 100 with its 95% bootstrap interval: teacher, reference and every student x variant per
    task, plus each group's average. An average is left empty when the row misses a task of the group, not
    taken over fewer tasks."""
    tasks = [t.name for t in results.tasks]
    cis = [f"{t} 95% CI" for t in tasks]
    refs = " / ".join(sorted({t.reference_name for t in results.tasks}))
    fixed = pd.DataFrame([
        {"model": "teacher", "variant": "", **{t.name: t.teacher_f1 for t in results.tasks},
         **{f"{t.name} 95% CI": _ci(t.teacher_interval) for t in results.tasks}},
        {"model": "reference", "variant": refs, **{t.name: t.reference_f1 for t in results.tasks},
         **{f"{t.name} 95% CI": _ci(t.reference_interval) for t in results.tasks}}])
    runs = pd.DataFrame([{"model": s.model, "variant": s.variant, "task": s.task, "f1": s.f1, "ci": _ci(s.interval)}
                         for s in results.students], columns=["model", "variant", "task", "f1", "ci"])
    wide = runs.pivot(index=["model", "variant"], columns="task", values=["f1", "ci"])
    wide.columns = [task if value == "f1" else f"{task} 95% CI" for value, task in wide.columns]
    wide = wide.reset_index()
    rank = {(m, v): i for i, (m, v) in enumerate((m, v) for m in results.student_order
                                                  for v in results.variant_order)}
    wide = wide.sort_values(["model", "variant"], key=lambda _: [rank[k] for k in zip(wide.model, wide.variant)])
    frame = pd.concat([fixed, wide], ignore_index=True).reindex(columns=["model", "variant", *tasks, *cis])
    frame[tasks] = frame[tasks].astype(float) * POINTS
    columns = ["model", "variant"]
    for g in GROUPS:
        members = [t.name for t in results.tasks if t.group == g]
        if members:
            frame[f"avg {g}"] = frame[members].mean(axis=1, skipna=False)
            columns += [c for t in members for c in (t, f"{t} 95% CI")] + [f"avg {g}"]
    return Table.from_frame("scores", "Test macro F1 (x100) with 95% bootstrap intervals over test examples",
                            frame[columns])


def cost_table(results):
    """Cost per task x model x variant: parameters, CPU latency p50 and speed-up per runtime, peak RSS of
    the eager run, and file size per runtime. Student parameters and fp32 size fall back to the metrics
    JSON when the bench has not run."""
    runtimes = _runtimes(results)
    key = ["task", "model", "variant"]
    bench = pd.DataFrame(results.records, columns=[*key, "runtime", "params", "params_without_embeddings",
                                                   "latency_p50_ms", "speedup_vs_fastest_teacher", "peak_rss_mb",
                                                   "file_bytes"])
    bench["variant"] = bench["variant"].fillna("")
    by_runtime = bench.pivot_table(index=key, columns="runtime", values=["latency_p50_ms", "speedup_vs_fastest_teacher",
                                                                         "file_bytes", "peak_rss_mb"],
                                   aggfunc="first", dropna=False)
    first = bench.groupby(key, sort=False)[["params", "params_without_embeddings"]].first()
    runs = pd.DataFrame([{"task": s.task, "model": s.model, "variant": s.variant, "m_params": s.params,
                          "m_params_wo": s.params_without_embeddings, "m_bytes": s.file_bytes}
                         for s in results.students], columns=[*key, "m_params", "m_params_wo", "m_bytes"])
    # per task: the teacher if it has bench rows, then every student run (with or without bench rows)
    fixed = [(t.name, m, "") for t in results.tasks for m in ("teacher", "reference") if results.rows(t.name, m)]
    order = [k for t in results.tasks for k in fixed + [(s.task, s.model, s.variant) for s in results.students]
             if k[0] == t.name]
    frame = pd.DataFrame(order, columns=key)
    frame = frame.merge(first.reset_index(), on=key, how="left").merge(runs, on=key, how="left")

    def col(field, runtime):
        return [by_runtime[(field, runtime)].get(k) if (field, runtime) in by_runtime else None
                for k in zip(frame.task, frame.model, frame.variant)]

    out = pd.DataFrame({"task": frame.task, "model": frame.model, "variant": frame.variant})
    out["params (M)"] = frame.params.combine_first(frame.m_params) / 1e6
    out["params w/o emb (M)"] = frame.params_without_embeddings.combine_first(frame.m_params_wo) / 1e6
    for r in runtimes:
        out[f"p50 {r} (ms)"] = col("latency_p50_ms", r)
    for r in runtimes:  # each against the teacher's fastest runtime, which the title names
        out[f"speed-up {r} (x)"] = col("speedup_vs_fastest_teacher", r)
    out[f"peak RSS {BASELINE_RUNTIME} (MB)"] = col("peak_rss_mb", BASELINE_RUNTIME)
    out["fp32 (MB)"] = pd.Series(col("file_bytes", BASELINE_RUNTIME), dtype=float).combine_first(frame.m_bytes) / MIB
    for r in runtimes:
        if r != BASELINE_RUNTIME:
            out[f"{r} (MB)"] = pd.Series(col("file_bytes", r), dtype=float) / MIB
    digits = {f"p50 {r} (ms)": 3 for r in runtimes} | {f"peak RSS {BASELINE_RUNTIME} (MB)": 0}
    fastest = sorted({r["fastest_teacher_runtime"] for r in results.records if r.get("fastest_teacher_runtime")})
    base = f"the teacher in its fastest runtime ({', '.join(fastest)})" if fastest else "the teacher"
    return Table.from_frame("cost", f"Cost per model (CPU); speed-ups against {base}, timed in the same run",
                            out, digits)


def bench_table(results):
    """The bench records flat, one row per task x model x variant x runtime, F1 as recorded (0..1)."""
    columns = list(BENCH_COLUMNS)
    digits = {"test_macro_f1": 4, "size_mb": 3} | {c: 3 for c in columns if c.endswith("_ms")}
    frame = pd.DataFrame(results.records, columns=columns, dtype=object)
    return Table.from_frame("bench", "Benchmark rows", frame, digits)
