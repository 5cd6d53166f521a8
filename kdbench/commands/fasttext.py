"""train FastText vectors on a task's train texts + its group's pool"""

from pathlib import Path

from kdbench.commands import add_task


def add_arguments(p):
    add_task(p)
    p.add_argument("--data", required=True)
    p.add_argument("--pool", default="data/pool")
    p.add_argument("--out", required=True)


def main(args):
    from kdbench import config
    from kdbench.data.prepare import load_prepared
    from kdbench.distill.embeddings import train_fasttext
    from kdbench.io import read_jsonl
    from kdbench.tasks import texts_of
    params = config.load(args.params)
    task = params.task_spec(args.task)
    _, splits = load_prepared(args.data)
    pool = read_jsonl(Path(args.pool) / f"{task.group}.jsonl")
    sentences = [t.split() if isinstance(t, str) else t for t in texts_of(splits["train"] + pool)]
    c = params.fasttext
    train_fasttext(sentences, args.out, dim=c.dim, epochs=c.epochs, min_count=c.min_count, seed=params.seed)
