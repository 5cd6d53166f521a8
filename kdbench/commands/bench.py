"""run the benchmark cases (pytest-benchmark) into one JSON file"""

import sys


def add_arguments(p):
    p.add_argument("--out", default="reports/bench/benchmark.json")
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments after --, e.g. -- -k smsa")


def main(args):
    from kdbench.bench.run import run_bench
    sys.exit(run_bench(args.out, args.pytest_args))
