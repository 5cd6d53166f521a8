"""tables, plots, recommendation, claims and index.html from the metrics and the bench JSON"""

from pathlib import Path


def add_arguments(p):
    p.add_argument("--metrics", default="reports/metrics")
    p.add_argument("--replicas", default="reports/replicas")
    p.add_argument("--predictions", default="reports/predictions")
    p.add_argument("--bench", default="reports/bench/benchmark.json")
    p.add_argument("--history", help="recorded bench runs, for the trends (default reports/history/bench.jsonl)")
    p.add_argument("--claims-from", nargs="+", default=[], help="other profiles' report.json on the same data "
                   "and teachers (reports/seeds/, reports/study/), whose verdicts stand in for the claims these "
                   "runs cannot test or test on fewer seeds")
    p.add_argument("--out", default="reports")


def main(args):
    from kdbench import config
    from kdbench.bench import history
    from kdbench.bench.rows import bench_rows
    from kdbench.report import build_report
    params = config.load(args.params)
    rows = bench_rows(args.bench) if Path(args.bench).is_file() else []
    summary = build_report(args.metrics, rows, params, args.out, args.predictions, args.replicas,
                           history=history.load(args.history or history.HISTORY), claims_from=args.claims_from)
    for rec in summary["recommendations"].values():
        print(rec["answer"])
    print(f"{Path(args.out) / 'index.html'}: open it in a browser")
