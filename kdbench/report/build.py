"""`build_report`: read the metrics and bench records once, write every report file under out_dir.

Files are written through kdbench.io.atomic_path, so an interrupted report never leaves a half-written
table or page behind for DVC to cache. Nothing time-dependent goes into the outputs: the same inputs give
the same bytes, so `dvc status` and `git diff` only show real changes."""

import json
from pathlib import Path

from kdbench.io import atomic_path
from kdbench.report.conclusions import check_claims, check_findings
from kdbench.report.page import render
from kdbench.report.plots import COSTS, score_cost_png, trend_png
from kdbench.report.recommend import budgets_from, recommend
from kdbench.report.results import load_results
from kdbench.report.tables import Table, bench_table, cost_table, scores_table, to_csv, to_markdown

TREND_RUNS = 20  # recorded bench runs a trend plot shows
PAPER = "The paper's claims on this data"
FINDINGS = "The students against the teacher, and the study's declared comparisons"


def build_report(layout, records, params, out_dir, warn=None, history=None):
    """Write the report of a study under out_dir and return a summary of it.

    layout: where the study's and its setup's files are (kdbench.layout: the teachers' and each run's metrics,
    the replicas' metrics and the test predictions behind the claims' paired tests); records: bench rows, one
    per task x model x variant x runtime; params: the config.Params whose tasks x students x variants are
    reported, and whose `report` block holds the budgets (latency_ms, size_mb, max_score_loss); warn: where
    warnings go (default stderr); history: {task: its recorded benchmark runs} (kdbench.bench.history.load),
    drawn per task once there are two. Writes:
      tables/{scores,cost,bench}.{csv,md}, plots/<task>-{latency,size,trend}.png, recommendation.md,
      conclusions.md, report.json (this summary) and index.html (all of it on one page)."""
    out_dir = Path(out_dir)
    budgets = budgets_from(params.report)
    history = history or {}
    results = load_results(layout, records, params, **({"warn": warn} if warn else {}))
    written = []

    def write(rel, data):
        with atomic_path(out_dir / rel) as tmp:
            tmp.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        written.append(rel)

    tables = [scores_table(results), cost_table(results), bench_table(results)]
    for table in tables:
        write(f"tables/{table.name}.csv", to_csv(table))
        write(f"tables/{table.name}.md", to_markdown(table))

    plots = []
    for task in results.tasks:
        for cost in COSTS:
            png = score_cost_png(task.name, cost, results.student_rows(task.name), results.teacher_row(task.name),
                                 (task.reference_name, task.reference_f1), budgets,
                                 [*results.student_order, "reference"])
            write(f"plots/{task.name}-{cost}.png", png)
            plots.append((f"{task.name}: test macro F1 vs {cost}", png))
        if len(history.get(task.name, [])) >= 2:
            recent = history[task.name][-TREND_RUNS:]
            png = trend_png(task.name, recent)
            write(f"plots/{task.name}-trend.png", png)
            plots.append((f"{task.name}: the last {len(recent)} recorded benchmark runs", png))

    recs = [recommend(t.name, results.student_rows(t.name), t.teacher_f1, t.teacher_valid_f1, budgets)
            for t in results.tasks]
    write("recommendation.md", "# Which student should I ship?\n\n"
          + "".join(f"**{r.question()}**\n\n{r.answer()}\n\n" for r in recs))
    sections = [(PAPER, check_claims(results)), (FINDINGS, check_findings(results, params.report.compare))]
    write("conclusions.md", _conclusions_markdown(sections))
    claims = [c for _, section in sections for c in section]

    summary = {
        "tasks": [t.name for t in results.tasks],
        "recommendations": {r.task: {"question": r.question(), "answer": r.answer(), "fits": r.pick is not None,
                                     "pick": (r.pick or {}).get("id")} for r in recs},
        "claims": {c.key: c.verdict for c in claims},
        "evidence": {c.key: {"verdict": c.verdict, "summary": c.summary, "seeds": c.seeds, "pairs": list(c.pairs)}
                     for c in claims},
    }
    write("report.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    lede = (f"{len(results.tasks)} tasks ({', '.join(t.name for t in results.tasks)}), "
            f"{len(results.student_order)} students, variants {', '.join(results.variant_order)}; "
            f"{len(results.records)} benchmark rows. Budgets: p50 latency <= {budgets.latency_ms:g} ms, "
            f"size <= {budgets.size_mb:g} MB, macro F1 at most {budgets.max_score_loss:g} below the teacher. "
            "Scores are test macro F1 x 100.")
    write("index.html", render("kdbench report", lede, recs, tables, plots, sections,
                               _provenance(results.raw_records)))
    return {"out_dir": str(out_dir), "files": sorted(written), **summary}


def _conclusions_markdown(sections):
    lines = []
    for heading, claims in sections:
        lines += [f"# {heading}", ""]
        for c in claims:
            lines += [f"## {c.verdict.upper()}: {c.statement}", "", f"Rule: {c.rule}.", "", c.summary, ""]
            if c.details is not None:
                lines += [to_markdown(c.details)]
    return "\n".join(lines)


def _provenance(records):
    """Footer content: where and with what the bench ran, and the DVC hashes of what it measured."""
    machines = sorted({_machine_text(r["machine"]) for r in records if r.get("machine")})
    threads = sorted({str(r["threads"]) for r in records if r.get("threads") is not None})
    samples = sorted({str(r["sample_size"]) for r in records if r.get("sample_size") is not None})
    versions = {}
    for r in records:
        for name, version in (r.get("versions") or {}).items():
            versions.setdefault(name, set()).add(str(version))
    hashes = {}
    for r in records:
        dvc = r.get("dvc") or {}
        hashes.setdefault((r["task"], r["model"], r.get("variant") or ""),
                          [dvc.get("data"), dvc.get("teacher"), dvc.get("student")])
    if not records:
        return [("Benchmark", "no benchmark rows were given")]
    return [
        ("Machine", f"{'; '.join(machines) or 'not recorded'}; threads {', '.join(threads) or '?'}; "
                    f"{', '.join(samples) or '?'} sentences timed per case"),
        ("Versions", Table("versions", "Versions", ["package", "version"],
                           [[k, ", ".join(sorted(v))] for k, v in sorted(versions.items())])),
        ("DVC hashes (md5)", Table("dvc", "DVC hashes", ["task", "model", "variant", "data", "teacher", "student"],
                                   [[*k, *v] for k, v in hashes.items()])),
    ]


def _machine_text(machine):
    """"<cpu> (cores 2, logical_cores 2, ...)": the CPU first, then whatever else the harness recorded."""
    rest = ", ".join(f"{k} {v}" for k, v in machine.items() if k != "cpu")
    return f"{machine.get('cpu') or 'unknown CPU'}" + (f" ({rest})" if rest else "")
