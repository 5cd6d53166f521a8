"""record one model's inference loop with py-spy (flame graph + speedscope)"""


def add_arguments(p):
    p.add_argument("--task", required=True)
    p.add_argument("--model", required=True, help="teacher or a student")
    p.add_argument("--variant", default="kd", help="distill variant of a student (default: kd)")
    p.add_argument("--runtime", default="eager", help="a runtime of kdbench/bench/runtimes.py (default: eager)")
    p.add_argument("--seconds", type=float, default=10.0, help="how long to loop over the sample")
    p.add_argument("--out", default="", help="default: the study's reports/profiles")


def main(args):
    from kdbench.bench.profile import profile
    from kdbench.bench.runtimes import RUNTIMES
    RUNTIMES.check(args.runtime, "--runtime")
    from kdbench import config
    out = args.out or config.load(args.params).layout.reports / "profiles"
    for path in profile(args.params, args.task, args.model, args.variant, args.runtime, out, args.seconds):
        print(path)
