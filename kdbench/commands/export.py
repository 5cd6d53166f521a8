"""write a self-contained folder to ship a student: ONNX + int8, vocabulary, a torch-free predict.py, a model card"""


def add_arguments(p):
    p.add_argument("--task", required=True)
    p.add_argument("--student", required=True)
    p.add_argument("--variant", default="kd", help="default: kd")
    p.add_argument("--out", default="", help="default: shipped/<task>-<student>-<variant>")


def main(args):
    from kdbench import config
    from kdbench.ship import export_student
    out = args.out or f"shipped/{args.task}-{args.student}-{args.variant}"
    print(export_student(config.load(args.params), args.task, args.student, args.variant, out))
