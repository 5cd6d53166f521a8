"""Pair one run of a study with one run of another, on the same test split, each against its own teacher.

A study's report pairs runs that share a setup. Two setups of one task (say, the quick setup's 2,000 labelled SmSA
sentences and the full setup's 11,000) have different teachers but the same test examples, so their runs still
pair: seed with seed, over the seeds both ran (or those --seeds names), over a bootstrap of the test examples
(kdbench.stats.paired). Prints each run against its teacher, the two runs, and the two teachers.

    python scripts/compare_studies.py full:smsa/bilstm/kd augment:smsa/bilstm/kd-aug4
    python scripts/compare_studies.py layers-smsa:smsa/bert-mini/kd-layers augment:smsa/bilstm/kd-aug4 --seeds 0
"""

import argparse
import json
import os
import sys
from pathlib import Path

from kdbench import config, stats
from kdbench.errors import KdbenchError


def load_run(spec):
    """'study:task/student/variant' -> (label, task kind, gold, teacher predictions, {seed: predictions}) of the
    run's seeds that have predictions (a replica not run yet has none)."""
    try:
        study, rest = spec.split(":")
        task, student, variant = rest.split("/")
    except ValueError:
        raise KdbenchError(f"{spec!r}: expected study:task/student/variant") from None
    params = config.load(Path("studies") / study / "params.yaml")
    layout = params.layout
    for key, name, listed in (("tasks", task, params.tasks), ("students", student, params.students),
                              ("variants", variant, params.variants)):
        if name not in listed:
            raise KdbenchError(f"{spec}: {name!r} is not one of study {study}'s {key} ({', '.join(listed)})")
    gold, teacher = _read(layout.teacher_predictions(task), "gold", "teacher")
    extra = params.replicate.seeds if student in params.replicate.students else []
    paths = [layout.student_predictions(task, student, variant, seed) for seed in [None, *extra]]
    # the first seed's file must be there (or its error says to run the study); a replica not run yet is left out
    preds = dict(_read(path, "seed", "pred") for i, path in enumerate(paths) if i == 0 or os.path.isfile(path))
    return f"{study}:{student}/{variant}", params.task_spec(task).kind, gold, teacher, preds


def _read(path, *keys):
    """The values of `keys` in a predictions file."""
    path = Path(os.path.normpath(path))  # studies/x/../../setups/y -> setups/y
    if not path.is_file():
        raise KdbenchError(f"{path}: not found (run the study's `dvc repro`, or `dvc checkout` its outputs)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise KdbenchError(f"{path}: line {e.lineno}: not JSON ({e.msg})") from None
    missing = [k for k in keys if not isinstance(data, dict) or k not in data]
    if missing:
        raise KdbenchError(f"{path}: no {', '.join(missing)} (not a kdbench predictions file?)")
    return [data[k] for k in keys]


def seed_list(text):
    """'0,2' -> [0, 2] (argparse names this function in its error for anything else)."""
    return [int(x) for x in text.split(",")]


def line(name, c):
    seeds = " / ".join(f"{d * 100:+.2f}" for d in c["per_seed"])
    return (f"{name}: {c['diff'] * 100:+.2f} [{c['low'] * 100:+.2f}, {c['high'] * 100:+.2f}], p {c['p']:.3f}, "
            f"{stats.verdict(c)}" + (f" (seeds: {seeds})" if seeds else ""))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", help="study:task/student/variant")
    ap.add_argument("b", help="study:task/student/variant (the same task's test split)")
    ap.add_argument("--seeds", type=seed_list,
                    help="pair only these seeds, comma-separated (default: every seed both runs have)")
    args = ap.parse_args(argv)
    (name_a, kind, gold, teacher_a, a), (name_b, _, gold_b, teacher_b, b) = map(load_run, (args.a, args.b))
    if gold != gold_b:
        raise KdbenchError(f"{args.a} and {args.b}: not the same test examples (their gold labels differ)")
    seeds = args.seeds or sorted(a.keys() & b.keys())
    if not seeds:
        raise KdbenchError(f"{args.a} (seeds {sorted(a)}) and {args.b} (seeds {sorted(b)}): no seed in common")
    for spec, run in ((args.a, a), (args.b, b)):
        missing = [str(s) for s in seeds if s not in run]
        if missing:
            raise KdbenchError(f"{spec}: no predictions for seed {', '.join(missing)} (it has seeds "
                               f"{', '.join(map(str, sorted(run)))})")
    print(f"paired over seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}")
    a, b = [a[s] for s in seeds], [b[s] for s in seeds]
    print(line(f"{name_a} - its teacher", stats.paired(kind, gold, a, [teacher_a])))
    print(line(f"{name_b} - its teacher", stats.paired(kind, gold, b, [teacher_b])))
    print(line(f"{name_a} - {name_b}", stats.paired(kind, gold, a, b)))
    print(line(f"{args.a.split(':')[0]} teacher - {args.b.split(':')[0]} teacher",
               stats.paired(kind, gold, [teacher_a], [teacher_b])))


if __name__ == "__main__":
    try:
        main()
    except KdbenchError as e:
        sys.exit(f"compare_studies: {e}")
