"""Does `kdbench gate --against` tell a real slowdown from noise? Counted on a repository with trained models.

One student (smsa bilstm kd) is made wider, so that it really does more work and its eager latency grows by
15% (measured side by side while choosing the width); its sibling (smsa bilstm nokd) is left as it is. Then the side-by-side gate runs `--runs` times on an idle machine
and `--runs` times while two busy processes keep both cores loaded, and the verdicts are counted per case.
The slowed student's true latency ratio per runtime is measured once, long, beside the counts.

    python scripts/validate_gate.py REPO [--study smoke] [--runs 10] [--threshold 0.05] [--out reports/validation/gate.md]

REPO is a git + DVC repository whose HEAD holds a finished `dvc repro` of the study (the end-to-end tests'
smoke repository, `$KDBENCH_SMOKE_DIR/repo`, is one). Its smsa bilstm kd model is changed and then restored.
"""

import argparse
import collections
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from kdbench.bench.sidebyside import side_by_side
from kdbench.students import create_student
from kdbench.students.artifact import load_student, save_student

SLOWED, UNCHANGED = "smsa-bilstm-kd", "smsa-bilstm-nokd"
TARGET = 1.15  # the eager slowdown injected


def _flops(student, length=24):
    ids = torch.ones(1, length, dtype=torch.long) * 5
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        student(ids, torch.ones_like(ids))
    return counter.get_total_flops()


def widen(study, model_dir):
    """Save a wider copy of the student over model_dir: the smallest even `hidden` (2 * hidden splits over the
    attention heads) whose eager latency, measured side by side against HEAD's, is TARGET times the original.
    On a model this small, added work shows only partly as added time (+15% FLOPs gave +3-7% here), so the
    slowdown is set by time. Returns (old hidden, new hidden, FLOPs ratio, measured ratio)."""
    student, vocab, config = load_student(model_dir)
    hidden = config["overrides"]["hidden"]
    base = _flops(student)
    for h in range(hidden + 2, 4 * hidden, 2):
        overrides = {**config["overrides"], "hidden": h}
        wider = create_student("bilstm", config["vocab_size"], config["kind"], len(config["labels"]),
                               pad_id=vocab.pad_id, **overrides).eval()
        save_student(wider, vocab, {**config, "overrides": overrides}, model_dir)
        (c,) = side_by_side("HEAD", study, 0.01, seconds=15.0, select=SLOWED + "-eager", log=lambda s: None)
        print(f"hidden {hidden} -> {h}: FLOPs x{_flops(wider) / base:.3f}, eager latency x{c.ratio:.3f}", flush=True)
        if c.ratio >= TARGET:
            return hidden, h, _flops(wider) / base, c.ratio
    raise SystemExit(f"no width up to {4 * hidden} made {SLOWED} {TARGET}x slower")


def _spin():
    while True:
        pass


def gate_runs(study, runs, threshold, loaded):
    busy = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(2 if loaded else 0)]
    for p in busy:
        p.start()
    try:
        out = []
        for i in range(runs):
            results = side_by_side("HEAD", study, threshold, seconds=20.0, select="smsa-bilstm", log=lambda s: None)
            out.append(results)
            print(f"{'loaded' if loaded else 'idle'} run {i + 1}/{runs}: "
                  + ", ".join(f"{c.case} {c.verdict} {c.low:.3f}-{c.high:.3f}" for c in results), flush=True)
        return out
    finally:
        for p in busy:
            p.terminate()


def table(runs_by_condition, threshold):
    lines = ["| condition | case | injected | regressed | unchanged | improved | inconclusive | ratio intervals "
             "(lowest low - highest high) | FLOPs verdicts |", "|" + " --- |" * 9]
    for condition, runs in runs_by_condition.items():
        by_case = collections.defaultdict(list)
        for results in runs:
            for c in results:
                by_case[c.case].append(c)
        for case, cs in by_case.items():
            count = collections.Counter(c.verdict for c in cs)
            flops = collections.Counter(c.flops_verdict for c in cs)
            lines.append(f"| {condition} | {case} | {'+15% time' if case.startswith(SLOWED + '-') else 'none'} | "
                         + " | ".join(str(count[v]) for v in ("regressed", "unchanged", "improved", "inconclusive"))
                         + f" | {min(c.low for c in cs):.3f}-{max(c.high for c in cs):.3f} | "
                         + ", ".join(f"{v} {n}" for v, n in flops.items()) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", type=Path)
    ap.add_argument("--study", default="smoke")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--threshold", type=float, default=0.05)
    ap.add_argument("--out", type=Path, default=Path("reports/validation/gate.md"))
    args = ap.parse_args()
    repo = args.repo.resolve()
    study = repo / "studies" / args.study / "params.yaml"
    model_dir = repo / "studies" / args.study / "models/smsa/bilstm/kd"
    if subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo, capture_output=True,
                      text=True).stdout.strip():
        sys.exit(f"{repo}: commit its state first: HEAD is the baseline the gate compares against")
    started = time.time()
    try:
        old, new, ratio, eager = widen(study, model_dir)
        truth = side_by_side("HEAD", study, 0.01, seconds=60.0, select=SLOWED + "-", log=lambda s: None)
        runs = {"idle": gate_runs(study, args.runs, args.threshold, loaded=False),
                "loaded (2 busy processes)": gate_runs(study, args.runs, args.threshold, loaded=True)}
    finally:
        subprocess.run(["dvc", "checkout", "--force", str(model_dir)], cwd=repo, capture_output=True)
    report = [
        "# Side-by-side gate: detection and false alarms",
        "",
        f"Made by `python scripts/validate_gate.py` on {time.strftime('%Y-%m-%d')} ({args.runs} runs a condition, "
        f"threshold {args.threshold:.0%}, {(time.time() - started) / 60:.0f} minutes in all). {SLOWED}: `hidden` "
        f"{old} -> {new} (FLOPs x{ratio:.3f}, eager latency x{eager:.3f} when chosen); {UNCHANGED}: untouched. "
        f"The slowed student's latency ratio, measured once for up to 60 s a runtime: "
        + ", ".join(f"{c.case.rsplit('-', 1)[1]} {c.ratio:.3f} ({c.low:.3f}-{c.high:.3f})" for c in truth) + ".",
        "",
        table(runs, args.threshold),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text("\n".join(report))
    tmp.rename(args.out)
    print("\n".join(report))


if __name__ == "__main__":
    main()
