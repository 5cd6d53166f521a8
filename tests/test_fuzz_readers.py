"""Every raw-file reader on thousands of generated files: random bytes, and text made of the pieces that
break parsers (quotes, separators, tabs, brackets, CR, -DOCSTART-, non-ASCII). Each file either parses into
records that carry their line, or raises kdbench's own error naming the file (and the line where there is
one); never another exception."""

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kdbench.data.readers import READERS
from kdbench.errors import DataError

PIECES = ["text", "label", "text_b", "a", "B-PER", "I-PER", "O", "NN", "0", "1", ",", "\t", " ", '"', "'", "[", "]",
          "['a', 'b']", "[\"x\"]", "-DOCSTART-", "\r", "\n", "\n\n", "\\", "é", "\ufeff", "\x00", ",,", "\t\t"]
TEXT = st.lists(st.sampled_from(PIECES), max_size=60).map("".join).map(lambda s: s.encode("utf-8"))
NOISY_CELL = st.lists(st.sampled_from([p for p in PIECES if p not in ("\n", "\n\n", ",", "\t")]), max_size=4).map("".join)
CLEAN_CELL = st.sampled_from(["bagus", "makan enak", "pos", "neg", "B-PER", "O", "['Ani', 'datang']", "['B', 'O']"])
CELL = st.one_of(CLEAN_CELL, CLEAN_CELL, CLEAN_CELL, NOISY_CELL)
HEADERS = {"custom-csv": "text,label", "custom-tsv": "text\tlabel", "indonlu-csv": "label,tweet",
           "indonlu-tsv": "bagus\tpos", "indolem-sentiment-csv": "sentence,sentiment",
           "indonlu-pair-csv": "sent_A,sent_B,category,label", "indonlu-qa-csv": "question,passage,seq_label",
           "indonlu-aspect-csv": "text,fuel,machine", "conll": "Ani\tB-PER"}


@st.composite
def tables(draw, fmt):
    """Mostly well-formed tables for `fmt`: its header (or another's), rows mostly as wide as the header."""
    head = draw(st.sampled_from([HEADERS[fmt]] * 3 + list(HEADERS.values())))
    sep = "\t" if "\t" in head else ","
    width = head.count(sep) + 1
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        n = draw(st.sampled_from([width] * 7 + [1, 2, 3, 4, 5]))
        rows.append(sep.join(draw(st.lists(CELL, min_size=n, max_size=n))))
    return "\n".join([head, *rows]).encode("utf-8")


@st.composite
def conll_files(draw):
    """Token/tag lines of 1-4 columns, blank lines between sentences, now and then a -DOCSTART- line."""
    lines = draw(st.lists(st.one_of(st.just(""), st.just("-DOCSTART- -X- O"),
                                    st.lists(CELL, min_size=1, max_size=4).map("\t".join)), max_size=12))
    return "\n".join(lines).encode("utf-8")


def files(fmt):
    return st.one_of(st.binary(max_size=300), TEXT, tables(fmt), tables(fmt), conll_files())
FUZZ = settings(max_examples=400, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def read(fmt, data, **options):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "split.txt"
        path.write_bytes(data)
        try:
            records = READERS[fmt](path, **options)
        except DataError as e:  # kdbench's own error: it names the file, and the line when it has one
            assert str(e).startswith(str(path)) and (e.line is None or e.line >= 1), str(e)
            return None
    assert isinstance(records, list)
    for r in records:
        assert isinstance(r["_line"], int) and r["_line"] >= 1
        if "tokens" in r:
            assert len(r["tokens"]) == len(r["tags"]) > 0
    return records


@pytest.mark.parametrize("fmt", [f for f in READERS if f != "conll"])
@FUZZ
@given(data=st.data())
def test_reader_parses_or_names_the_file(fmt, data):
    read(fmt, data.draw(files(fmt)))


@FUZZ
@given(data=files("conll"), tag_column=st.integers(-4, 4))
def test_conll_reader_parses_or_names_the_file(data, tag_column):
    read("conll", data, tag_column=tag_column)
