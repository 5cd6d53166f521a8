"""reports/history/<task>.jsonl: one compact record per benchmark run of a task, kept in git so main shows the trend.

`kdbench bench` appends a record after each run: the commit it ran on (plus "dirty" when the workspace had
uncommitted changes), the date, the machine, and per case the score, FLOPs, file bytes, p50 latency and
speed-up vs the teacher: a few kB where the full JSON is hundreds. The report draws each case's trend from it.
It is the bench stage's output with `persist: true` (DVC keeps it in place when the stage reruns), so it only
ever grows, one line a run."""

import json
import subprocess
from pathlib import Path

from kdbench.errors import KdbenchError
from kdbench.io import atomic_path

FIELDS = {  # record key -> bench row path
    "score": ("test_macro_f1",),
    "flops": ("flops_per_sentence",),
    "bytes": ("file_bytes",),
    "p50_ms": ("latency_ms", "p50"),
    "speedup": ("speedup_vs_fastest_teacher",),  # records before it (against the eager teacher) have none
}


def _get(row, path):
    for key in path:
        row = row.get(key) if isinstance(row, dict) else None
    return row


def _commit(root):
    """The commit the workspace is on, or None; '<sha>+dirty' when tracked files other than the pipelines' own
    results (dvc.lock files, reports/ folders: a `dvc repro` rewrites them before the bench runs) have
    uncommitted changes."""
    def git(*args):
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else None
    sha = git("rev-parse", "--short=12", "HEAD")
    if sha and git("status", "--porcelain", "--untracked-files=no", "--", ":/", ":(top,exclude,glob)**/dvc.lock",
                   ":(top,exclude,glob)**/reports/**"):
        sha += "+dirty"
    return sha


def make_record(rows, date, root="."):
    """A compact record of one run from its bench rows (kdbench.bench.rows.bench_rows)."""
    machine = rows[0].get("machine", {}) if rows else {}
    return {"commit": _commit(root), "date": date, "machine": {k: machine.get(k) for k in ("cpu", "cores")},
            "cases": {r["id"]: {k: _get(r, path) for k, path in FIELDS.items()} for r in rows}}


def append(record, path):
    """Add one line: the old lines and the new one go to a temporary file that replaces the history."""
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    with atomic_path(path) as tmp:
        tmp.write_text(old + json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def load(path):
    """The records, oldest first; [] when there is no history yet."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            raise KdbenchError(f"{path}: line {n}: not valid JSON") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("cases"), dict):
            raise KdbenchError(f"{path}: line {n}: not a history record (no `cases` mapping)")
        records.append(rec)
    return records
