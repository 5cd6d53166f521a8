"""train one student on one task under one variant"""

import dataclasses
import json
from pathlib import Path

from kdbench.commands import add_task, add_timing, timed
from kdbench.errors import KdbenchError


def add_arguments(p):
    add_task(p)
    p.add_argument("student", help="student name (params.yaml students)")
    p.add_argument("variant", help="variant name (params.yaml variants)")
    p.add_argument("--out", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--predictions", required=True, help="the student's test predictions")
    p.add_argument("--seed", type=int, default=None, help="another seed than the variant's (a replicate)")
    p.add_argument("--lr-from", default="", help="reuse the learning rate recorded in this metrics file (no sweep)")
    add_timing(p)


def chosen_lr(metrics_path):
    """The learning rate a finished run trained with (its sweep's choice, else its setting)."""
    path = Path(metrics_path)
    if not path.is_file():
        raise KdbenchError(f"{path}: not found (--lr-from: the metrics of the run whose learning rate to reuse)")
    m = json.loads(path.read_text())
    return (m.get("lr_sweep") or {}).get("chosen", m["settings"]["lr"])


def main(args):
    from kdbench import config
    from kdbench.distill.train import run_distill
    params = config.load(args.params)
    params.task(args.task)
    setup = params.layout  # the data, teacher and soft labels of the study's setup
    cfg = params.distill_for(args.variant, args.student)
    if args.seed is not None:  # a replicate: the same run with another seed...
        cfg = dataclasses.replace(cfg, seed=args.seed)
    if args.lr_from:  # ...and the learning rate its first seed's sweep chose
        cfg = dataclasses.replace(cfg, lr=chosen_lr(args.lr_from), lr_grid=[])
    report = timed(args.timing, run_distill, args.task, args.student, args.variant, cfg,
                   params.students[args.student].model, setup.prepared(args.task), setup.softlabels(args.task),
                   setup.teacher(args.task), cfg.fasttext_vec or setup.fasttext(args.task), args.out, args.metrics,
                   args.predictions)
    print(f"{args.task} {args.student} {args.variant}: test macro F1 {report['test']['macro_f1']:.4f}, "
          f"{report['params']:,} parameters")
