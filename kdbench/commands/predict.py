"""label text with a trained student (one input per line)"""

import sys
from pathlib import Path

from kdbench.errors import KdbenchError


def add_arguments(p):
    p.add_argument("--task", required=True)
    p.add_argument("--student", required=True)
    p.add_argument("--variant", default="kd", help="default: kd")
    p.add_argument("--input", default="-", help="a file, or - for stdin (default)")


def main(args):
    from kdbench import config
    from kdbench.predict import predict_lines
    model_dir = config.load(args.params).layout.student(args.task, args.student, args.variant)
    if args.input != "-" and not Path(args.input).is_file():
        raise KdbenchError(f"{args.input}: no such file (--input)")
    try:
        text = Path(args.input).read_text(encoding="utf-8") if args.input != "-" else sys.stdin.read()
    except UnicodeDecodeError as e:
        raise KdbenchError(f"{args.input}: not valid UTF-8 (byte {e.start})") from None
    for line in predict_lines(model_dir, text.splitlines()):
        print(line)
