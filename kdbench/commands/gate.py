"""fail when a benchmark regressed against the committed baseline"""

import sys


def add_arguments(p):
    p.add_argument("--bench", default="reports/bench/benchmark.json")
    p.add_argument("--baseline", default="reports/baseline/benchmark.json")
    p.add_argument("--update", action="store_true", help="rewrite the baseline from --bench, on purpose")


def main(args):
    from kdbench import config
    from kdbench.bench.gate import gate
    sys.exit(gate(args.bench, args.baseline, config.load(args.params).gate, update=args.update))
