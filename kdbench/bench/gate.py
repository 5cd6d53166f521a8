"""`kdbench gate`: compare a fresh benchmark JSON with the committed baseline and fail on regressions.

Only quantities that are stable from run to run on one machine are gated: the test score (deterministic
for a given seed), the speed-up over the teacher in the same runtime (a ratio measured in one session: raw
latency medians drift up to 30% between runs here, and the same runtime on both sides cancels its
overheads), peak RSS and file size. Each has an explicit direction and tolerance.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from kdbench.bench.rows import bench_rows
from kdbench.errors import KdbenchError
from kdbench.io import write_json


@dataclass(frozen=True)
class Check:
    field: str
    higher_is_better: bool
    tolerance: str | float  # the GateConfig field, or a fixed tolerance
    relative: bool          # tolerance is a fraction of the baseline (else absolute)


# Counted work does not depend on the machine or its load, so it is gated all but exactly: 1% is room for
# nothing but rounding, while a 15% wider layer adds 15% or more.
FLOPS_TOLERANCE = 0.01
CHECKS = (
    Check("test_macro_f1", True, "score_drop", relative=False),
    Check("flops_per_sentence", False, FLOPS_TOLERANCE, relative=True),
    Check("speedup_vs_teacher_same_runtime", True, "speedup_drop", relative=True),
    Check("peak_rss_mb", False, "rss_growth", relative=True),
    Check("file_bytes", False, "size_growth", relative=True),
)


def summarize(rows):
    """The gated fields of each benchmark row, by case id: what the baseline file stores."""
    return {r["id"]: {c.field: r.get(c.field) for c in CHECKS} for r in rows}


def compare(current, baseline, gate_cfg):
    """(regressions, notes): rows of (case, field, baseline, current, allowed) for each worse-than-allowed
    value; notes for cases that are new or missing. A case missing from the current run is a regression."""
    regressions, notes = [], []
    for case, base in sorted(baseline.items()):
        if case not in current:
            regressions.append((case, "missing", "present", "absent", ""))
            continue
        for c in CHECKS:
            old, new = base.get(c.field), current[case].get(c.field)
            if old is None or new is None:  # e.g. RSS switched off in params
                continue
            tol = c.tolerance if isinstance(c.tolerance, float) else getattr(gate_cfg, c.tolerance)
            slack = tol * abs(old) if c.relative else tol
            if c.field == "peak_rss_mb":
                slack = max(slack, gate_cfg.rss_slack_mb)
            limit = old - slack if c.higher_is_better else old + slack
            if (new < limit) if c.higher_is_better else (new > limit):
                regressions.append((case, c.field, old, new, f"{'>=' if c.higher_is_better else '<='} {limit:.4g}"))
    notes += [f"new case (not in the baseline): {case}" for case in sorted(set(current) - set(baseline))]
    return regressions, notes


def format_table(rows):
    head = ("case", "field", "baseline", "current", "allowed")
    cells = [head] + [tuple(f"{x:.4g}" if isinstance(x, float) else str(x) for x in row) for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def gate(bench_json, baseline_path, gate_cfg, update=False, log=print):
    """Exit status 0 when no case regressed (or after rewriting the baseline with update=True), else 1."""
    current = summarize(bench_rows(bench_json))
    if not current:
        raise KdbenchError(f"{bench_json}: no benchmark rows (did the cases skip? run `dvc repro` first)")
    baseline_path = Path(baseline_path)
    if update:
        files = sorted(Path(bench_json).glob("*.json")) if Path(bench_json).is_dir() else [Path(bench_json)]
        made = json.loads(files[0].read_text()).get("datetime")  # pytest-benchmark's timestamp
        write_json(baseline_path, {"benchmark_datetime": made, "cases": current})
        log(f"{baseline_path}: baseline rewritten with {len(current)} cases")
        return 0
    if not baseline_path.is_file():
        raise KdbenchError(f"{baseline_path}: no baseline (make one on purpose with `kdbench gate --update`)")
    baseline = json.loads(baseline_path.read_text()).get("cases", {})
    regressions, notes = compare(current, baseline, gate_cfg)
    for note in notes:
        log(note)
    if regressions:
        log(f"{len(regressions)} regression(s) against {baseline_path}:\n{format_table(regressions)}")
        return 1
    log(f"gate passed: {len(current)} cases within tolerance of {baseline_path}")
    return 0
