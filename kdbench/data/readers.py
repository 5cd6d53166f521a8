"""One reader per raw file format, registered in READERS (a task's `format` names one).

`READERS[fmt](path, **task.options)` returns a list of records in the prepared record format of kdbench.tasks, each with
an extra `_line` key: the 1-based physical line where the record starts, so that later checks (labels,
in prepare) can name file:line. Malformed input raises DataError naming the file and line; nothing is
skipped except blank lines.
"""

import ast
import csv
import io
from pathlib import Path

from kdbench.errors import DataError


def _decode(path):
    """The file's text; undecodable bytes are reported with their line number."""
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(path, data.count(b"\n", 0, e.start) + 1,
                        f"not valid UTF-8 (byte {data[e.start]:#04x})") from None
    return text.removeprefix("\ufeff")  # a BOM, as spreadsheet exports write it


def _table(path, ncols=None, delimiter=",", header=True):
    """(header row or None, [(line, row), ...]) of a CSV or TSV file; blank lines are skipped.

    `line` is the row's first physical line (a quoted CSV field may span lines). Every row, the header
    included, must have `ncols` columns; with ncols=None, as many as the first row. TSV has no quoting: a
    text that starts with `"` is just text (CSV quoting would swallow the lines after it).
    """
    # newline="\n": split physical lines on \n only, so line_num counts what an editor shows
    # (csv itself still accepts \r\n endings).
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(_decode(path), newline="\n"), delimiter=delimiter, strict=True,
                        quoting=quoting)
    head, rows, start = None, [], 1
    try:
        for row in reader:
            if row:
                ncols = ncols or len(row)
                if len(row) != ncols:
                    raise DataError(path, start, f"expected {ncols} columns, found {len(row)}")
                if header and head is None:
                    head = row
                else:
                    rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as e:
        raise DataError(path, start, f"malformed row: {e}") from None
    return head, rows


def _nonempty(path, line, value, what):
    if not value.strip():
        raise DataError(path, line, f"empty {what}")
    return value


def _classification(path, rows, text_col, label_col, text_b_col=None):
    """Records {text, [text_b,] label} from (line, row) pairs."""
    records = []
    for line, row in rows:
        rec = {"text": _nonempty(path, line, row[text_col], "text")}
        if text_b_col is not None:
            rec["text_b"] = _nonempty(path, line, row[text_b_col], "second text")
        rec["label"] = _nonempty(path, line, row[label_col], "label").strip()
        rec["_line"] = line
        records.append(rec)
    return records


def read_indonlu_csv(path):
    """`label,tweet` with a header (EmoT)."""
    return _classification(path, _table(path, 2)[1], text_col=1, label_col=0)


def read_indonlu_tsv(path):
    """`text<TAB>label`, no header (SmSA)."""
    return _classification(path, _table(path, 2, "\t", header=False)[1], text_col=0, label_col=1)


def read_indolem_sentiment_csv(path):
    """`sentence,sentiment` with a header; labels 0/1."""
    return _classification(path, _table(path, 2)[1], text_col=0, label_col=1)


def read_indonlu_pair_csv(path):
    """`sent_A,sent_B,category,label` with a header (WReTE); the category column is not used."""
    return _classification(path, _table(path, 4)[1], text_col=0, label_col=3, text_b_col=1)


def read_indonlu_aspect_csv(path):
    """`text,<aspect>,<aspect>,...` with a header (CASA, HoASA): one label per aspect column."""
    head, rows = _table(path)
    if head is not None and len(head) < 2:
        raise DataError(path, 1, "expected a text column and at least one aspect column")
    return [{"text": _nonempty(path, line, row[0], "text"),
             "labels": [_nonempty(path, line, x, f"label for aspect {a!r}").strip()
                        for a, x in zip(head[1:], row[1:], strict=True)],
             "_line": line}
            for line, row in rows]


def _token_list(path, line, cell, column):
    """A cell holding a Python-literal list of strings; literal_eval, never eval."""
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        value = None
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise DataError(path, line, f"column {column!r} is not a list of strings: {cell[:60]!r}")
    if not value:
        raise DataError(path, line, f"empty {column}")
    return value


_QA_COLUMNS = ("question", "passage", "seq_label")


def read_indonlu_qa_csv(path):
    """`question,passage,seq_label` with a header (FacQA); cells are list literals, tags on the passage."""
    records = []
    for line, row in _table(path, 3)[1]:
        question, tokens, tags = (_token_list(path, line, cell, col)
                                  for cell, col in zip(row, _QA_COLUMNS, strict=True))
        if len(tokens) != len(tags):
            raise DataError(path, line, f"{len(tokens)} passage tokens but {len(tags)} tags")
        records.append({"tokens": tokens, "question": question, "tags": tags, "_line": line})
    return records


DOCSTART = "-DOCSTART-"  # CoNLL-2003's document separator line: not a sentence


def read_conll(path, tag_column=-1):
    """`token<TAB>...<TAB>tag` lines (whitespace-separated when a line has no TAB), a blank line between
    sentences (the last may lack it); CRLF is fine, `-DOCSTART-` lines are skipped. The token is the first
    column, the tag column `tag_column` (default the last); every line must have as many columns as the
    first."""
    records, tokens, tags, start, ncols = [], [], [], None, None

    def flush():
        if tokens:
            records.append({"tokens": tokens, "tags": tags, "_line": start})

    for n, line in enumerate(_decode(path).split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip() or line.split()[0] == DOCSTART:
            flush()
            tokens, tags = [], []
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        ncols = ncols or len(parts)
        if len(parts) < 2 or len(parts) != ncols:
            raise DataError(path, n, f"expected {max(ncols, 2)} columns (token ... tag), got {len(parts)}: "
                                     f"{line[:60]!r}")
        if not -ncols <= tag_column < ncols or tag_column in (0, -ncols):
            raise DataError(path, n, f"tag_column {tag_column} is not a tag column of {ncols} columns "
                                     "(the token is column 0; set tasks.<name>.tag_column)")
        token, tag = parts[0], parts[tag_column].strip()
        if not token.strip() or not tag:
            raise DataError(path, n, f"empty {'token' if not token.strip() else 'tag'}: {line[:60]!r}")
        if not tokens:
            start = n
        tokens.append(token)
        tags.append(tag)
    flush()
    return records


CUSTOM_HEADERS = (("text", "label"), ("text", "text_b", "label"))


def _read_custom(path, delimiter):
    """A user's table with a header row: `text,label` (single) or `text,text_b,label` (pair)."""
    head, rows = _table(path, delimiter=delimiter)
    if head is None:
        raise DataError(path, None, "empty file")
    expected = " or ".join(delimiter.join(h).replace("\t", "<TAB>") for h in CUSTOM_HEADERS)
    names = tuple(c.strip().lower() for c in head)
    if names not in CUSTOM_HEADERS:
        shown = delimiter.join(head).replace("\t", "<TAB>")[:60]
        raise DataError(path, 1, f"expected the header row {expected}, found {shown!r} "
                                 "(without a header the first example would be taken for one)")
    for line, row in rows:
        if tuple(c.strip().lower() for c in row) == names:
            raise DataError(path, line, "the header row again (files joined together?)")
    if len(head) == 2:
        return _classification(path, rows, text_col=0, label_col=1)
    return _classification(path, rows, text_col=0, label_col=2, text_b_col=1)


def read_custom_csv(path):
    return _read_custom(path, ",")


def read_custom_tsv(path):
    return _read_custom(path, "\t")


READERS = {
    "indonlu-csv": read_indonlu_csv,
    "indonlu-tsv": read_indonlu_tsv,
    "indonlu-aspect-csv": read_indonlu_aspect_csv,
    "indonlu-pair-csv": read_indonlu_pair_csv,
    "indonlu-qa-csv": read_indonlu_qa_csv,
    "conll": read_conll,
    "indolem-sentiment-csv": read_indolem_sentiment_csv,
    "custom-csv": read_custom_csv,
    "custom-tsv": read_custom_tsv,
}
