"""Your own unlabeled text (tasks.<task>.unlabeled): texts from your product for the teacher to label, in the
transfer set beside (or instead of) the public pool.

A file in data/custom/<task>/: `.txt`, one text per line (for tagging, one sentence per line, its words split
on whitespace), or `.csv` / `.tsv` with a header row, the texts in one column. Blank lines are skipped. A text
that is also a test text is dropped and counted: in the transfer set it would leak its label through the
teacher. Bad input (not UTF-8, an empty file, a missing column) is one error naming the file and line.
"""

import csv
import io
from pathlib import Path

from kdbench.errors import DataError, KdbenchError
from kdbench.tasks import CLASSIFICATION_KINDS, text_key

FORMATS = (".txt", ".csv", ".tsv")


def read_unlabeled(path, kind, column="text"):
    """Records ({"text"} or {"tokens"}) of an unlabeled-text file, each with its `_line`."""
    path = Path(path)
    if path.suffix not in FORMATS:
        raise KdbenchError(f"{path}: unlabeled text must be one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise KdbenchError(f"{path}: file not found (tasks.<task>.unlabeled.file)")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(path, raw[: e.start].count(b"\n") + 1, "not UTF-8 text")
    if path.suffix == ".txt":
        rows = [(n, line) for n, line in enumerate(text.splitlines(), 1)]
    else:
        reader = csv.reader(io.StringIO(text), delimiter="\t" if path.suffix == ".tsv" else ",")
        header = next(reader, None)
        if header is None:
            raise DataError(path, None, "no texts (the file is empty)")
        if column not in header:
            raise DataError(path, 1, f"no column {column!r} in the header (columns: {', '.join(header)}); "
                                     "set tasks.<task>.unlabeled.column")
        at = header.index(column)
        rows = [(reader.line_num, row[at] if at < len(row) else "") for row in reader]
    tagging = kind not in CLASSIFICATION_KINDS
    records = [{"tokens": line.split(), "_line": n} if tagging else {"text": line.strip(), "_line": n}
               for n, line in rows if line.strip()]
    if not records:
        raise DataError(path, None, "no texts (every line is blank)")
    return records


def drop_test_texts(records, test):
    """(records without the test split's texts, how many were dropped)."""
    seen = {text_key(r) for r in test}
    kept = [r for r in records if text_key(r) not in seen]
    return kept, len(records) - len(kept)
