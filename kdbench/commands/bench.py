"""run the benchmark cases (pytest-benchmark) of one task of a study into one JSON file"""

import sys


def add_arguments(p):
    p.add_argument("task", nargs="+", help="the task(s) whose teacher, reference and students are measured")
    p.add_argument("--out", required=True, help="the pytest-benchmark JSON (e.g. reports/bench/smsa.json)")
    p.add_argument("--history", default="", help="append a compact record of the run to this JSONL file")
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments after --, e.g. -- -k bilstm")


def main(args):
    from kdbench import config
    from kdbench.bench.run import run_bench
    params = config.load(args.params)
    for task in args.task:
        params.task(task)  # a task the study does not list: one line, before pytest starts
    sys.exit(run_bench(args.params, args.task, args.out, args.history or None, args.pytest_args))
