"""the inputs a teacher given as a logits file must label: every example and transfer text of a task"""


def add_arguments(p):
    p.add_argument("task")
    p.add_argument("--pool", default="../../data/pool", help="the unlabeled pool (dvc.yaml's pool stage), from the "
                                                           "setup's folder")
    p.add_argument("--out", required=True, help="a JSONL file: the logits file's lines without their logits")


def main(args):
    from pathlib import Path

    from kdbench import config
    from kdbench.io import write_jsonl
    from kdbench.teacher.logits import UNK, input_of, key_of
    from kdbench.teacher.softlabels import inputs
    params = config.load(args.params)  # a setup's (kdbench --params setups/NAME/params.yaml texts TASK)
    params.task(args.task)  # a task of this setup, or one line naming the key
    prepared = params.layout.prepared(args.task)
    if not (prepared / "labels.json").is_file():
        from kdbench.errors import KdbenchError
        raise KdbenchError(f"{prepared}: the task is not prepared yet: dvc repro {params.layout.setup}/dvc.yaml:"
                           f"prepare@{args.task} (and the root's pool stage)")
    pool = Path(args.pool) if Path(args.pool).is_absolute() else params.layout.setup / args.pool
    _, splits, transfer, _ = inputs(prepared, pool, params.task_spec(args.task).group, params.softlabels,
                                    params.seed, params.task(args.task).unlabeled.public_pool, UNK)
    seen, lines = set(), []
    for r in [r for s in splits.values() for r in s] + transfer:
        if key_of(r) not in seen:
            seen.add(key_of(r))
            lines.append(input_of(r))
    write_jsonl(args.out, lines)
    print(f"{args.out}: {len(lines)} inputs for the teacher to label ({sum(len(s) for s in splits.values())} "
          f"examples, {len(transfer)} transfer texts, duplicates once); add \"logits\" to each line and a first "
          f"line {{\"labels\": [...]}}, then set teacher.logits")
