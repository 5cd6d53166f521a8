"""tables, plots, recommendation, claims and index.html of a study, from its runs' metrics and its bench"""

from pathlib import Path


def add_arguments(p):
    p.add_argument("--out", default="reports", help="the study's report folder (default: reports)")


def main(args):
    from kdbench import config
    from kdbench.bench import history
    from kdbench.bench.rows import bench_rows
    from kdbench.report import build_report
    params = config.load(args.params)
    layout = params.layout
    rows = [row for task in params.tasks if layout.bench(task).is_file() for row in bench_rows(layout.bench(task))]
    summary = build_report(layout, rows, params, args.out,
                           history={task: history.load(layout.history(task)) for task in params.tasks})
    for rec in summary["recommendations"].values():
        print(rec["answer"])
    print(f"{Path(args.out) / 'index.html'}: open it in a browser")
