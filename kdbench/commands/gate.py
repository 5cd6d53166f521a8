"""fail when a benchmark regressed: against the committed baseline, or side by side against a revision"""

import sys


def add_arguments(p):
    p.add_argument("--bench", default="", help="the study's bench JSON files (default: its reports/bench)")
    p.add_argument("--baseline", default="", help="default: the study's baseline.json")
    p.add_argument("--update", action="store_true", help="rewrite the baseline from --bench, on purpose")
    p.add_argument("--against", metavar="REV", help="time each case side by side with REV's model (a git "
                   "revision; its models come from the DVC cache or remote) instead of reading --baseline")
    # 5%: identical models' intervals stayed within +-4% here, idle or loaded (reports/validation/gate.md), so a
    # narrower margin flags noise, and "regressed" needs the whole interval above 1 + margin
    p.add_argument("--threshold", type=float, default=0.05, help="with --against: the margin of a verdict")
    p.add_argument("--seconds", type=float, default=20.0, help="with --against: time cap per case")
    p.add_argument("-k", dest="select", help="with --against: only the cases whose id contains this (or one of "
                   "these, comma-separated)")


def main(args):
    from kdbench import config
    if args.against:
        from kdbench.bench.sidebyside import INCONCLUSIVE, REGRESSED, format_comparisons, side_by_side
        results = side_by_side(args.against, args.params, args.threshold, args.seconds, args.select,
                               log=lambda s: None)
        print(format_comparisons(results, args.threshold))
        verdicts = {v for c in results for v in (c.verdict, c.flops_verdict)}
        if REGRESSED in verdicts:
            sys.exit(1)
        if INCONCLUSIVE in verdicts:  # never a silent pass: too noisy to tell is its own outcome
            print("inconclusive: the intervals straddle the threshold; re-measure on a quieter machine")
            sys.exit(3)
        return
    from kdbench.bench.gate import gate
    params = config.load(args.params)
    bench = args.bench or params.layout.reports / "bench"
    baseline = args.baseline or params.layout.root / "baseline.json"
    sys.exit(gate(bench, baseline, params.gate, update=args.update))
