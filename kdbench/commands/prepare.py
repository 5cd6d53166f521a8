"""normalise one task into JSONL + label vocabulary"""

from pathlib import Path

from kdbench.commands import add_task


def add_arguments(p):
    add_task(p)
    p.add_argument("--raw", default="data/raw")
    p.add_argument("--custom", default="data/custom")
    p.add_argument("--out", required=True)


def main(args):
    from kdbench import config
    from kdbench.data.prepare import prepare_task
    params = config.load(args.params)
    tc, task = params.task(args.task), params.task_spec(args.task)
    raw = Path(args.custom) if task.custom else Path(args.raw)
    yours = Path(args.custom) / args.task / tc.unlabeled.file if tc.unlabeled.file else None
    meta = prepare_task(task, raw, args.out, tc.max_train or None, tc.max_valid or None, params.seed, yours,
                        tc.unlabeled.column)
    scheme = {"plain": ", plain tags scored as one-word chunks"}.get(meta["scheme"], "")
    print(f"{args.task}: {meta['kind']}, {len(meta['labels'])} labels, sizes {meta['sizes']}{scheme}")
    if "yours" in meta:
        y = meta["yours"]
        print(f"{args.task}: {y['texts']} of your unlabeled texts from {y['file']}; {y['test_texts_dropped']} "
              "dropped as test texts (their labels would leak through the teacher)")
