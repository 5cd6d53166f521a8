"""validate a study's or a setup's params before any stage that puts a name from them into its command runs"""

# Constant: the stages that depend on this file rerun when what they read changes, not when the check reruns
OK = ("params.yaml passed `kdbench check`. Every stage that puts a name from it into its shell command depends on\n"
      "this file, so DVC runs none of them when the check fails: a task called x';rm -rf ~;' never reaches a shell.\n")


def add_arguments(p):
    p.add_argument("--out", default="params.ok", help="the file written when the params are valid")


def main(args):
    from kdbench import config
    from kdbench.io import atomic_path
    config.load(args.params)  # every key range-checked, every name matched against registry.NAME
    with atomic_path(args.out) as tmp:
        tmp.write_text(OK, encoding="utf-8")
    print(f"{args.params}: valid")
