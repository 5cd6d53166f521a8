"""Atomic writes: every artifact goes to a temporary path first and is renamed into place, so an
interrupted run never leaves a half-written file that DVC would cache."""

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

TMP_MARK = ".tmp-"  # temporary siblings are named .<dest name>.tmp-<pid>-<random> (.dvcignore skips them)


def _remove_stale(dest):
    """Remove temporary siblings of `dest` left by a writer that was killed (SIGKILL skips `finally`)."""
    for tmp in dest.parent.glob(f".{dest.name}{TMP_MARK}*"):
        pid = tmp.name[len(dest.name) + 1 + len(TMP_MARK):].split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def atomic_path(dest, is_dir=False):
    """Yield a temporary path next to `dest`; on success rename it to `dest`, on error remove it.
    With is_dir the yielded path is an empty directory that already exists. Leftovers of a killed earlier
    writer of `dest` are removed first."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(dest)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}{TMP_MARK}{os.getpid()}-", dir=dest.parent))
    target = tmp if is_dir else tmp / dest.name
    try:
        yield target
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        os.replace(target, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path, obj):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_jsonl(path, records):
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def save_logits(path, logits):
    """Per-example logit arrays ((labels,), (aspects, labels) or (words, labels)) as one safetensors file:
    `logits` (rows, labels) float32 and `offsets` (examples + 1) int64: example i owns rows
    offsets[i]:offsets[i+1]. safetensors rather than .npz: no pickle, and no zip timestamps, so the same
    logits give the same bytes. Returns the rows."""
    from safetensors.numpy import save_file

    rows = [np.reshape(x, (-1, x.shape[-1])) for x in logits]
    offsets = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
    rows = np.ascontiguousarray(np.concatenate(rows), dtype=np.float32)
    save_file({"logits": rows, "offsets": offsets}, str(path))
    return rows


def load_logits(path):
    """The per-example logit arrays of a file written by save_logits, each (rows, labels)."""
    from safetensors.numpy import load_file

    z = load_file(str(path))
    logits, offsets = z["logits"], z["offsets"]
    return [logits[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
