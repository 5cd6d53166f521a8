"""The report's answer: which student to ship for a task within a latency, size and score budget.

Candidates are bench rows (one per student x variant x runtime), each with the scores re-measured on that
runtime, so an int8 model that lost accuracy in quantisation is judged on its own score. The validation split
picks (the ranking and the score budget read validation macro F1, against the teacher's); the answer then
gives the pick's test score: the test split never selects a model."""

import dataclasses
import math
from dataclasses import dataclass

from kdbench.config import ReportConfig
from kdbench.errors import KdbenchError
from kdbench.report.results import known
from kdbench.report.tables import POINTS


def budgets_from(budgets):
    """ReportConfig from the params.yaml `report` block (a dict) or a ReportConfig; unknown keys fail."""
    if isinstance(budgets, ReportConfig):
        return budgets
    names = [f.name for f in dataclasses.fields(ReportConfig)]
    unknown = sorted(set(budgets) - set(names))
    if unknown:
        raise KdbenchError(f"report budgets: unknown key {unknown[0]!r} (known: {', '.join(names)})")
    return ReportConfig(**budgets)


@dataclass
class Recommendation:
    task: str
    teacher_f1: float               # test macro F1, reported
    teacher_valid_f1: float         # validation macro F1, what the score budget is measured from
    budgets: ReportConfig
    pick: dict | None = None        # the best row within all three budgets
    fast_small: dict | None = None  # no pick: the best row within latency and size alone
    closest: dict | None = None     # no pick: the row needing the smallest stretch of the budgets
    stretch: float | None = None    # the factor every budget would need for `closest` to fit
    n_rows: int = 0
    unscored: int = 0               # rows without a validation score (benchmarked by an older kdbench)

    def question(self):
        b = self.budgets
        return (f"Which student should I ship for {self.task} under {b.latency_ms:g} ms and {b.size_mb:g} MB, "
                f"at most {b.max_score_loss * POINTS:g} F1 points below the teacher (on validation)?")

    def answer(self):
        b = self.budgets
        if not self.n_rows and self.unscored:
            return (f"The {self.unscored} benchmark rows of {self.task} have no validation score, which picks "
                    "the student: rerun the bench stage.")
        if not self.n_rows:
            return f"No benchmark rows for {self.task}: run the bench stage first."
        if self.pick:
            return f"Ship {self._describe(self.pick)}."
        text = "No student fits all three budgets. "
        if self.fast_small:
            text += f"Within {b.latency_ms:g} ms and {b.size_mb:g} MB the best is {self._describe(self.fast_small)}. "
        else:
            text += f"None is within {b.latency_ms:g} ms and {b.size_mb:g} MB. "
        if self.closest and self.closest is not self.fast_small:
            text += f"Closest to fitting: {self._describe(self.closest)}. "
        if self.closest:
            text += f"It would fit if every budget were {self.stretch:.2f}x larger."
        return text.strip()

    def _describe(self, row):
        score = row["test_macro_f1"] * POINTS
        gap = score - self.teacher_f1 * POINTS
        valid_gap = (row["valid_macro_f1"] - self.teacher_valid_f1) * POINTS
        faster = _versus_teacher(row.get("speedup_vs_fastest_teacher"), row.get("fastest_teacher_runtime"))
        what = f"{row['model']} ({row['variant']}, {row['runtime']})" if row.get("variant") else \
            f"the non-neural {row['model']} ({row['runtime']})"
        return (f"{what}: test macro F1 {score:.2f} "
                f"(teacher {self.teacher_f1 * POINTS:.2f}, {gap:+.2f} points; validation {valid_gap:+.2f}), "
                f"p50 {row['latency_p50_ms']:.2f} ms{faster}, {row['size_mb']:.1f} MB")


def _versus_teacher(speedup, runtime):
    """", 38x faster than the teacher in its fastest runtime (int8)"; a slower model says how many times slower."""
    if not known(speedup):
        return ""
    ratio = f"{speedup:.0f}x faster" if speedup >= 10 else f"{speedup:.1f}x faster" if speedup >= 1 else \
        f"{1 / speedup:.1f}x slower"
    return f", {ratio} than the teacher in its fastest runtime ({runtime})"


def recommend(task, rows, teacher_f1, teacher_valid_f1, budgets):
    """The best student row of `task` (highest validation macro F1; ties go to the faster, then smaller row)
    with latency p50 <= budget, size <= budget and teacher_valid_f1 - its validation score <= max_score_loss.

    `rows` are flat bench rows (kdbench.report.results.flat_record) of students; rows missing a score, a
    latency or a size cannot be judged and are left out. When none fits, the recommendation names the best
    row within latency and size, and the row that fits after the smallest uniform stretch of the budgets.
    teacher_f1 (test) is only reported."""
    b = budgets_from(budgets)
    rows = [r for r in rows if r["model"] != "teacher"
            and known(r.get("test_macro_f1"), r.get("latency_p50_ms"), r.get("size_mb"))]
    scored = [r for r in rows if known(r.get("valid_macro_f1"))] if known(teacher_valid_f1) else []
    rec = Recommendation(task, teacher_f1, teacher_valid_f1, b, n_rows=len(scored),
                         unscored=len(rows) - len(scored))
    rows = scored

    def rank(r):
        return (-r["valid_macro_f1"], r["latency_p50_ms"], r["size_mb"], r.get("id") or "")

    fast_small = [r for r in rows if r["latency_p50_ms"] <= b.latency_ms and r["size_mb"] <= b.size_mb]
    fits = [r for r in fast_small if teacher_valid_f1 - r["valid_macro_f1"] <= b.max_score_loss]
    if fits:
        rec.pick = min(fits, key=rank)
    elif rows:
        rec.fast_small = min(fast_small, key=rank) if fast_small else None
        rec.closest = min(rows, key=lambda r: (_stretch(r, teacher_valid_f1, b), rank(r)))
        rec.stretch = _stretch(rec.closest, teacher_valid_f1, b)
    return rec


def _stretch(row, teacher_valid_f1, b):
    """How many times larger every budget must be for this row to fit (<= 1: it already fits)."""
    loss = teacher_valid_f1 - row["valid_macro_f1"]
    if b.max_score_loss > 0:
        loss_ratio = loss / b.max_score_loss
    else:
        loss_ratio = 0.0 if loss <= 0 else math.inf
    return max(row["latency_p50_ms"] / b.latency_ms, row["size_mb"] / b.size_mb, loss_ratio)
