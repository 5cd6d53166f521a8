"""Score-vs-cost scatter plots, one per task and cost (latency, size), as PNG bytes.

Drawn on a bare `Figure` (the Agg canvas) rather than pyplot, so no global backend or figure state is
touched and a headless CI machine needs no display."""

import io

from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from kdbench.bench.runtimes import RUNTIMES
from kdbench.report.pareto import pareto_front
from kdbench.report.results import known
from kdbench.report.tables import POINTS

COSTS = {  # cost name -> (flat bench column, axis label, budget field)
    "latency": ("latency_p50_ms", "CPU latency p50, ms (log scale)", "latency_ms"),
    "size": ("size_mb", "file size, MB (log scale)", "size_mb"),
}
DPI = 80


def score_cost_png(task, cost, rows, teacher_row, reference, budgets, models):
    """One task's students as (cost, test macro F1) points, every variant and runtime.

    rows: flat bench rows of the task's students; teacher_row: the teacher's eager row or None;
    reference: (name, F1 0..1) of the non-neural reference; budgets: ReportConfig; models: the students
    in legend order (fixes each model's colour across plots)."""
    column, xlabel, budget_field = COSTS[cost]
    rows = [r for r in rows if known(r.get(column), r.get("test_macro_f1"))]
    fig = Figure(figsize=(7.5, 4.6), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    colours = {m: f"C{i % 10}" for i, m in enumerate(models)}
    for model, runtime in dict.fromkeys((r["model"], r["runtime"]) for r in rows):  # one artist per group: fast
        group = [r for r in rows if (r["model"], r["runtime"]) == (model, runtime)]
        ax.scatter([r[column] for r in group], [r["test_macro_f1"] * POINTS for r in group], s=28, alpha=0.75,
                   color=colours.get(model, "grey"), marker=RUNTIMES.meta(runtime, "marker", "D"), linewidths=0)

    # The frontier as a staircase: from each front point, the best score reachable stays flat until the
    # next point's cost.
    front = [rows[i] for i in pareto_front([(r[column], r["test_macro_f1"]) for r in rows])]
    if front:
        ax.plot([r[column] for r in front], [r["test_macro_f1"] * POINTS for r in front], drawstyle="steps-post",
                color="black", linewidth=1, alpha=0.6)
        ax.scatter([r[column] for r in front], [r["test_macro_f1"] * POINTS for r in front], s=90,
                   facecolors="none", edgecolors="black", linewidths=1)
        for i, r in enumerate(front):  # alternate below / above: neighbouring front points are often close
            ax.annotate(f"{r['model']}/{r['variant']}/{r['runtime']}", (r[column], r["test_macro_f1"] * POINTS),
                        xytext=(5, -11 if i % 2 == 0 else 6), textcoords="offset points", fontsize=6.5)

    if teacher_row and known(teacher_row.get(column), teacher_row.get("test_macro_f1")):
        ax.scatter(teacher_row[column], teacher_row["test_macro_f1"] * POINTS, marker="*", s=180, color="black")
        ax.annotate("teacher", (teacher_row[column], teacher_row["test_macro_f1"] * POINTS),
                    xytext=(-12, 7), textcoords="offset points", fontsize=7)
        floor = (teacher_row["test_macro_f1"] - budgets.max_score_loss) * POINTS
        ax.axhline(floor, color="tab:red", linestyle=":", linewidth=1)
    ref_name, ref_f1 = reference
    if known(ref_f1):
        ax.axhline(ref_f1 * POINTS, color="grey", linestyle="--", linewidth=1)
    ax.axvline(getattr(budgets, budget_field), color="tab:red", linestyle=":", linewidth=1)

    if not rows:  # the bench has not run (or skipped this task): say so rather than show empty axes
        ax.text(0.5, 0.5, "no benchmark rows", transform=ax.transAxes, ha="center", color="grey")
    ax.set_xscale("log")
    ax.margins(x=0.08, y=0.1)  # room for the labels of the extreme points
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test macro F1 (x100)")
    ax.set_title(f"{task}: score vs {cost}", fontsize=10)
    ax.grid(True, which="both", alpha=0.2)
    handles = [Line2D([], [], color=colours[m], marker="o", linestyle="", label=m) for m in models
               if any(r["model"] == m for r in rows)]
    handles += [Line2D([], [], color="grey", marker=mk, linestyle="", label=rt) for rt, mk in
                ((r, RUNTIMES.meta(r, "marker", "D")) for r in RUNTIMES.names())]
    handles += [Line2D([], [], color="black", marker="*", markersize=10, linestyle="", label="teacher (eager)"),
                Line2D([], [], color="black", alpha=0.6, label="Pareto frontier"),
                Line2D([], [], color="grey", linestyle="--", label=f"reference ({ref_name})"),
                Line2D([], [], color="tab:red", linestyle=":", label="budgets")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})  # no version stamp: stable bytes
    return buf.getvalue()


TRENDS = (("speedup", "speed-up vs the teacher's fastest runtime (x, log scale)"), ("score", "test macro F1 (x100)"))


def trend_png(task, records):
    """One task's cases across the recorded benchmark runs (kdbench.bench.history), oldest left: speed-up vs
    the teacher and test macro F1, one line per case, each run labelled with its commit."""
    fig = Figure(figsize=(9.5, 4.6), dpi=DPI, layout="constrained")
    cases = sorted({c for rec in records for c in rec["cases"] if c.startswith(f"{task}-")})
    labels = [f"{i + 1}: {(rec.get('commit') or '?')[:7]}{'+' if 'dirty' in (rec.get('commit') or '') else ''}"
              for i, rec in enumerate(records)]  # "+": measured with uncommitted changes
    axes = fig.subplots(1, 2)
    for ax, (key, ylabel) in zip(axes, TRENDS):
        for i, case in enumerate(cases):
            points = [(x, rec["cases"][case].get(key)) for x, rec in enumerate(records) if case in rec["cases"]]
            points = [(x, y * (POINTS if key == "score" else 1)) for x, y in points if known(y)]
            if points:
                ax.plot(*zip(*points), marker="o", markersize=3, linewidth=1, color=f"C{i % 10}",
                        linestyle=("-", "--", ":")[i // 10 % 3], label=case.removeprefix(f"{task}-"))
        if key == "speedup":
            ax.set_yscale("log")
        ax.set_xticks(range(len(records)), labels, rotation=30, ha="right", fontsize=7)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.2)
    axes[0].set_title(f"{task}: speed-up across runs", fontsize=10)
    axes[1].set_title(f"{task}: score across runs", fontsize=10)
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=6.5, frameon=False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()
