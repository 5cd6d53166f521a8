"""The `pool` stage: the unlabeled text pool of each task group, as in the paper (the texts of every dataset
of the same group, labeled later by each task's teacher).

data/pool/classification.jsonl holds {"text"} from the train splits of all public classification tasks
(both sides of a pair); data/pool/labeling.jsonl holds {"tokens"} from the train splits of all public
tagging tasks (facqa: the passages). Only train splits are pooled, and the soft-label stage also drops
any pool text that appears in the target task's own splits, so no valid/test text leaks into training.
data/pool/pos_lexicon.json is the part-of-speech lexicon augmentation draws replacement words from
(kdbench.data.augment), built from the public IndoLEM POS training data.
"""

from pathlib import Path

from tqdm import tqdm

from kdbench.data.augment import build_lexicon, write_lexicon
from kdbench.data.readers import READERS
from kdbench.io import atomic_path, write_jsonl
from kdbench.tasks import GROUPS, get_task, list_tasks, text_key

LEXICON_TASK, LEXICON = "indolem_pos", "pos_lexicon.json"


def build_pool(raw_root, out_dir):
    """Write one deduplicated JSONL pool per task group; returns {group: size}."""
    pools = {g: {} for g in GROUPS}
    lexicon = None
    for name in tqdm(list_tasks(), desc="pool", disable=None):
        task = get_task(name)
        records = READERS[task.format](Path(raw_root) / task.files["train"], **task.options)
        if name == LEXICON_TASK:
            lexicon = build_lexicon((r["tokens"], r["tags"]) for r in records)
        for rec in records:
            if task.is_tagging:
                entries = [{"tokens": rec["tokens"]}]
            else:
                entries = [{"text": rec["text"]}] + ([{"text": rec["text_b"]}] if "text_b" in rec else [])
            for e in entries:
                pools[task.group].setdefault(text_key(e), e)
    with atomic_path(out_dir, is_dir=True) as tmp:
        for group, entries in pools.items():
            write_jsonl(tmp / f"{group}.jsonl", entries.values())
        write_lexicon(lexicon, tmp / LEXICON)
    return {g: len(p) for g, p in pools.items()}
