"""fine-tune the teacher on one task, and fit its non-neural reference"""

from kdbench.commands import add_task, add_timing, timed


def add_arguments(p):
    add_task(p)
    p.add_argument("--data", required=True)
    p.add_argument("--backbone", default="models/backbone")
    p.add_argument("--out", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--predictions", required=True, help="test predictions of the teacher and the reference")
    p.add_argument("--reference", required=True, help="where the fitted non-neural reference is saved")
    add_timing(p)


def main(args):
    from kdbench import config
    from kdbench.teacher.train import run_teacher
    params = config.load(args.params)
    cfg = params.teacher_for(args.task)
    r = timed(args.timing, run_teacher, args.task, cfg, args.data, args.backbone, args.out, args.metrics,
              args.predictions, args.reference, params.layout.checkpoints)
    verdict = "beats" if r["beats_reference"] else "does NOT beat"
    print(f"{args.task}: teacher test macro F1 {r['test']['macro_f1']:.4f} {verdict} "
          f"{r['reference']['name']} {r['reference']['test_macro_f1']:.4f}")
