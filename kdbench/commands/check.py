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


def layerwise_students():
    """The students a `+layers` loss can train: those built of layers of attention heads (their config has
    n_layers and n_heads: the BERTs), whose hidden states and attention maps it matches to the teacher's layer by
    layer; the BiLSTM's heads pool one layer, the CNN has no attention. Looked up through config's registry checks,
    which the stages' deps do not count (tests/test_dvc_deps.py): a name check changes no stage's bytes."""
    from kdbench import config
    return [name for name in config._registry("student") if {"n_layers", "n_heads"} <= set(config._student_fields(name))]


def layerwise_mismatch(params):
    """One error line for the first distill run whose loss is layer-wise on a student without layers (refused
    here, not hours later by its distill stage), or None."""
    from kdbench import config
    losses, able = config._registry("loss"), layerwise_students()
    unable = [student for student in params.students if student not in able]
    for variant in params.variants:
        loss = params.distill_for(variant).loss
        if unable and losses.meta(loss, "layers"):
            return (f"variants.{variant}: loss {loss} matches the teacher's hidden states and attention maps, "
                    f"which student {unable[0]} has not: a study with a layer-wise variant lists only "
                    f"{', '.join(able)} under students")
    return None


def main(args):
    from kdbench import config
    from kdbench.errors import KdbenchError
    from kdbench.io import atomic_path
    params = config.load(args.params)  # every key range-checked, every name matched against registry.NAME
    missing = missing_blocks(config.read_yaml(args.params))
    if missing:
        raise KdbenchError(f"{args.params}: {', '.join(missing)}: missing; the stages in dvc.yaml read these from "
                           "this file, not from kdbench's defaults: write each (`{}` keeps a block's defaults; "
                           "`seed: 0`; `teacher: {backbone: e5-small}`; a study's `tasks: [...]`; `replicate: {students: [], "
                           "seeds: []}` for none)")
    mismatch = layerwise_mismatch(params)
    if mismatch:
        raise KdbenchError(f"{args.params}: {mismatch}")
    with atomic_path(args.out) as tmp:
        tmp.write_text(OK, encoding="utf-8")
    print(f"{args.params}: valid")
