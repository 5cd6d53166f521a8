"""validate a study's or a setup's params before any stage that puts a name from them into its command runs"""

# Constant: the stages that depend on this file rerun when what they read changes, not when the check reruns
OK = ("params.yaml passed `kdbench check`. Every stage that puts a name from it into its shell command depends on\n"
      "this file, so DVC runs none of them when the check fails: a task called x';rm -rf ~;' never reaches a shell.\n")

# the blocks setup.dvc.yaml's and study.dvc.yaml's stages read from params.yaml itself (DVC, not kdbench, reads
# them, and DVC knows nothing of kdbench's defaults): each must be written, `{}` for the defaults
SETUP_BLOCKS = ("seed", "tasks", "teacher", "teacher.backbone", "softlabels", "fasttext")
STUDY_BLOCKS = ("tasks", "students", "variants", "distill", "replicate", "replicate.students", "replicate.seeds",
                "bench", "report")


def add_arguments(p):
    p.add_argument("--out", default="params.ok", help="the file written when the params are valid")


def missing_blocks(raw):
    """The blocks of a setup's or a study's params (raw YAML) that its dvc.yaml reads and the file lacks (a
    block's key only where the block is there)."""
    def has(key):
        block, _, sub = key.partition(".")
        return block in raw and (not sub or isinstance(raw[block], dict) and sub in raw[block])
    blocks = STUDY_BLOCKS if "setup" in raw else SETUP_BLOCKS
    return [k for k in blocks if not has(k) and ("." not in k or k.split(".")[0] in raw)]


def main(args):
    from kdbench import config
    from kdbench.errors import KdbenchError
    from kdbench.io import atomic_path
    config.load(args.params)  # every key range-checked, every name matched against registry.NAME
    missing = missing_blocks(config.read_yaml(args.params))
    if missing:
        raise KdbenchError(f"{args.params}: {', '.join(missing)}: missing; the stages in dvc.yaml read these from "
                           "this file, not from kdbench's defaults: write each (`{}` keeps a block's defaults; "
                           "`seed: 0`; `teacher: {backbone: e5-small}`; a study's `tasks: [...]`; `replicate: {students: [], "
                           "seeds: []}` for none)")
    with atomic_path(args.out) as tmp:
        tmp.write_text(OK, encoding="utf-8")
    print(f"{args.params}: valid")
