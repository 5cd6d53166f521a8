"""`kdbench gate --against REV`: each case's latency against a baseline revision's model, side by side.

Timings taken one run after another drift with the machine's load (unchanged models' speed-up ratios moved
0.49x-1.69x between bench runs here); calls interleaved in one process see the same load. So the baseline's
models are obtained through DVC (a git worktree of REV that shares this repository's DVC cache, `dvc pull`
from the remote for what the cache lacks), both models of a case are loaded together, and their calls
alternate A B B A (B A A B on every other sentence and round) over the same test sentences. Each sentence
keeps each arm's fastest call, as the bench does; the statistic is the ratio of medians (candidate / baseline) with a bootstrap interval over
sentences, and measuring goes on until that interval is narrower than the threshold or a time cap runs out.

Verdicts, for a threshold t (5% by default: `kdbench gate --threshold`):
  regressed     the whole interval above 1 + t
  improved      the whole interval below 1 / (1 + t)
  unchanged     the whole interval between the two
  inconclusive  the interval straddles a boundary: too noisy to tell; re-measure on a quieter machine
Counted work (FLOPs per sentence) is compared exactly alongside: it needs no quiet machine.
"""

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kdbench.bench.gate import FLOPS_TOLERANCE
from kdbench.bench.harness import Harness, discover
from kdbench.errors import KdbenchError

REGRESSED, IMPROVED, UNCHANGED, INCONCLUSIVE = "regressed", "improved", "unchanged", "inconclusive"


def _run(cmd, cwd):
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise KdbenchError(f"{' '.join(cmd[:3])}: {lines[-1]}")
    return done.stdout


def baseline_worktree(rev, pipeline, root="."):
    """A git worktree of `rev` with the models and prepared data of `pipeline` (a study's dvc.yaml, relative to
    the repository root) and what it depends on checked out of the shared DVC cache (pulled from the DVC remote
    where the cache lacks them). The caller removes it (remove_worktree)."""
    root = Path(root).resolve()
    path = Path(tempfile.mkdtemp(prefix="kdbench-baseline-"))
    path.rmdir()
    _run(["git", "worktree", "add", "--detach", str(path), rev], root)
    cache = str((root / _run(["dvc", "cache", "dir"], root).strip()).resolve())
    _run(["dvc", "config", "--local", "cache.dir", cache], path)
    _run(["dvc", "config", "--local", "cache.type", "symlink"], path)  # read-only use: no copies of the models
    if subprocess.run(["dvc", "checkout", "--with-deps", pipeline], cwd=path, capture_output=True).returncode != 0:
        _run(["dvc", "pull", "--with-deps", pipeline], path)  # what the shared cache lacks comes from the remote
    return path


def remove_worktree(path, root="."):
    subprocess.run(["git", "worktree", "remove", "--force", str(path)], cwd=root, capture_output=True)
    shutil.rmtree(path, ignore_errors=True)


def ratio_interval(base, cand, resamples=1000, seed=0, level=0.95):
    """(ratio of medians cand / base, low, high): per-sentence times, bootstrap resampling sentences."""
    base, cand = np.asarray(base), np.asarray(cand)
    idx = np.random.default_rng(seed).integers(0, len(base), size=(resamples, len(base)))
    ratios = np.median(cand[idx], axis=1) / np.median(base[idx], axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    return float(np.median(cand) / np.median(base)), float(low), float(high)


def verdict(low, high, threshold):
    if low > 1 + threshold:
        return REGRESSED
    if high < 1 / (1 + threshold):
        return IMPROVED
    if low >= 1 / (1 + threshold) and high <= 1 + threshold:
        return UNCHANGED
    return INCONCLUSIVE


def flops_verdict(base, cand):
    """Counted work compared all but exactly (kdbench.bench.gate.FLOPS_TOLERANCE); n/a for the reference."""
    if base is None or cand is None:
        return "n/a"
    if cand > base * (1 + FLOPS_TOLERANCE):
        return REGRESSED
    return IMPROVED if cand < base * (1 - FLOPS_TOLERANCE) else UNCHANGED


@dataclass
class Comparison:
    case: str
    base_p50_ms: float
    cand_p50_ms: float
    ratio: float
    low: float
    high: float
    rounds: int
    verdict: str
    base_flops: float | None
    cand_flops: float | None
    flops_verdict: str


def interleave(base, cand, threshold, seconds, min_rounds=3):
    """Time `base` and `cand` (harness Prepared objects over the same sentences) in A B B A / B A A B order, round
    after round, until the ratio's interval is narrower than the threshold or `seconds` have passed."""
    n = len(cand.sample_inputs)
    if len(base.sample_inputs) != n:
        raise KdbenchError(f"{cand.case.id}: the baseline's sample has {len(base.sample_inputs)} sentences, not {n}")
    for prep in (base, cand):  # warm-up: allocators, thread pools, lazy kernels
        for inputs in prep.sample_inputs[:10]:
            prep.predict(*inputs)
    best = {"a": np.full(n, np.inf), "b": np.full(n, np.inf)}
    start, rounds = time.perf_counter(), 0
    while True:
        for i in range(n):
            # ABBA, then BAAB on the next sentence or round: the first call on a new input pays for it, and
            # always giving that call to the same arm made identical ONNX models read 2-4% apart
            for arm in "abba" if (i + rounds) % 2 == 0 else "baab":
                prep = base if arm == "a" else cand
                t0 = time.perf_counter()
                prep.predict(*prep.sample_inputs[i])
                best[arm][i] = min(best[arm][i], time.perf_counter() - t0)
        rounds += 1
        ratio, low, high = ratio_interval(best["a"], best["b"])
        if rounds >= min_rounds and (high - low < threshold or time.perf_counter() - start > seconds):
            return best, ratio, low, high, rounds


def side_by_side(rev, params_path, threshold=0.05, seconds=20.0, select=None, log=print):
    """A Comparison per case of the study in params_path present in both the candidate (the workspace) and the
    baseline (rev)."""
    from kdbench import config

    top = Path(_run(["git", "rev-parse", "--show-toplevel"], Path(params_path).resolve().parent).strip())
    study = Path(params_path).resolve().relative_to(top)  # studies/<name>/params.yaml
    base_root = baseline_worktree(rev, str(study.with_name("dvc.yaml")), top)
    try:
        cand_h, base_h = Harness(config.load(params_path)), Harness(config.load(base_root / study))
        base_cases = {c.id: c for c in discover(base_h.params)}
        results = []
        for case in discover(cand_h.params):
            if case.id not in base_cases or (select and not any(s in case.id for s in select.split(","))):
                continue
            base, cand = base_h.prepare(base_cases[case.id]), cand_h.prepare(case)  # exports named by their models
            best, ratio, low, high, rounds = interleave(base, cand, threshold, seconds)
            c = Comparison(case.id, float(np.median(best["a"]) * 1e3), float(np.median(best["b"]) * 1e3), ratio,
                           low, high, rounds, verdict(low, high, threshold), base.flops, cand.flops,
                           flops_verdict(base.flops, cand.flops))
            log(f"{c.case}: {c.verdict} (ratio {ratio:.3f}, 95% interval {low:.3f}-{high:.3f}, {rounds} rounds); "
                f"FLOPs {c.flops_verdict}")
            results.append(c)
        if not results:
            raise KdbenchError(f"no case is in both the workspace and {rev} (run `dvc repro` first)")
        return results
    finally:
        remove_worktree(base_root, top)


def format_comparisons(results, threshold):
    head = ("case", "base p50 ms", "cand p50 ms", "ratio", "95% interval", "rounds", "latency", "FLOPs")
    rows = [(c.case, f"{c.base_p50_ms:.3f}", f"{c.cand_p50_ms:.3f}", f"{c.ratio:.3f}", f"{c.low:.3f}-{c.high:.3f}",
             str(c.rounds), c.verdict, c.flops_verdict) for c in results]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in [head, *rows]]
    return "\n".join([f"side by side, threshold {threshold:.0%}:", *lines])
