"""list the tasks with kind, label count and split sizes"""

import os
from pathlib import Path


def add_arguments(p):
    p.add_argument("--data", help="raw data root (default: data/raw, else $KDBENCH_DATA_MIRROR)")


def _default_raw():
    for candidate in (Path("data/raw"), os.environ.get("KDBENCH_DATA_MIRROR")):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def main(args):
    from kdbench.data.readers import READERS
    from kdbench.tasks import SPLITS, get_task, list_tasks, record_labels
    root = Path(args.data) if args.data else _default_raw()
    print(f"{'task':<18} {'paper':<8} {'kind':<13} {'labels':>6}  {'train':>6} {'valid':>6} {'test':>6}")
    for name in list_tasks():
        task = get_task(name)
        sizes, labels = ["-"] * 3, "-"
        if root and (root / task.files["train"]).exists():
            data = {s: READERS[task.format](root / task.files[s], **task.options) for s in SPLITS}
            sizes = [len(data[s]) for s in SPLITS]
            seen = {x for s in SPLITS for r in data[s] for x in record_labels(task.kind, r)}
            labels = len(task.labels or seen)
        print(f"{name:<18} {task.paper_name or '-':<8} {task.kind:<13} {labels:>6}  "
              + " ".join(f"{s:>6}" for s in sizes))
    if not root:
        print("(split sizes: run `kdbench fetch` or set KDBENCH_DATA_MIRROR)")
