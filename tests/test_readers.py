"""The raw-format readers: every registered task read from the mirror, and malformed input."""

import pytest

from kdbench.data.prepare import prepare_task
from kdbench.data.readers import READERS
from kdbench.errors import DataError
from kdbench.tasks import CUSTOM_FORMATS, SPLITS, custom_task, get_task, list_tasks

# (train, valid, test) records, counted from the upstream files (they match the IndoNLU/IndoLEM papers).
SIZES = {
    "emot": (3521, 440, 440),
    "smsa": (11000, 1260, 500),
    "casa": (810, 90, 180),
    "hoasa": (2283, 285, 286),
    "wrete": (300, 50, 100),
    "posp": (6720, 840, 840),
    "bapos": (8000, 1000, 1029),
    "terma": (3000, 1000, 1000),
    "keps": (800, 200, 247),
    "nergrit": (1672, 209, 209),
    "nerp": (6720, 840, 840),
    "facqa": (2495, 311, 311),
    "indolem_sentiment": (3638, 399, 1011),
    "indolem_pos": (7222, 802, 2006),
}
LABELS = {
    "emot": {"anger", "fear", "happy", "love", "sadness"},
    "smsa": {"negative", "neutral", "positive"},
    "casa": {"negative", "neutral", "positive"},
    "hoasa": {"neg", "neg_pos", "neut", "pos"},
    "wrete": {"Entail_or_Paraphrase", "NotEntail"},
    "indolem_sentiment": {"0", "1"},
    "keps": {"B", "I", "O"},
    "facqa": {"B", "I", "O"},
    "nergrit": {"O"} | {f"{p}-{e}" for p in "BI" for e in ("ORGANISATION", "PERSON", "PLACE")},
    "terma": {"O"} | {f"{p}-{e}" for p in "BI" for e in ("ASPECT", "SENTIMENT")},
}


def test_every_format_has_a_reader_and_every_task_is_sized():
    used = {get_task(t).format for t in list_tasks()} | set(CUSTOM_FORMATS.values())
    assert set(READERS) == used
    assert set(SIZES) == set(list_tasks())


@pytest.mark.parametrize("name", list(SIZES))
def test_registered_task_reads(mirror, name):
    task = get_task(name)
    data = {s: READERS[task.format](mirror / task.files[s], **task.options) for s in SPLITS}
    assert tuple(len(data[s]) for s in SPLITS) == SIZES[name]
    seen = set()
    for recs in data.values():
        lines = [r.pop("_line") for r in recs]
        assert lines == sorted(set(lines)) and lines[0] >= 1
        for r in recs:
            if task.kind in ("single", "pair"):
                assert set(r) == ({"text", "label"} | ({"text_b"} if task.kind == "pair" else set()))
                assert r["text"].strip() and r.get("text_b", "x").strip()
                seen.add(r["label"])
            elif task.kind == "multi-aspect":
                assert set(r) == {"text", "labels"} and len(r["labels"]) == len(task.aspects)
                seen.update(r["labels"])
            else:
                assert len(r["tokens"]) == len(r["tags"]) > 0
                assert set(r) == ({"tokens", "tags"} | ({"question"} if task.kind == "qa-tagging" else set()))
                seen.update(r["tags"])
    if name in LABELS:
        assert seen == LABELS[name]
    if name == "casa":
        assert len(task.aspects) == 6
    if name in ("bapos", "posp"):
        assert all(t[:2] in ("B-", "I-") for t in seen)
    if name == "indolem_pos":  # bare upstream tags, which prepare turns into one-word chunks (scheme plain)
        assert len(seen) == 23 and "NNP" in seen and task.scheme == "plain"


def write(path, content):
    """Write test input: str as UTF-8 (newlines untouched), bytes as they are."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def assert_error(fmt, path, line, match):
    with pytest.raises(DataError, match=match) as exc:
        READERS[fmt](path)
    assert f"{path.name}:{line}:" in str(exc.value)
    assert exc.value.line == line


def test_wrong_column_count(tmp_path):
    # The quoted field spans lines 2-3, so the bad row is physical line 4, not record 3.
    path = write(tmp_path / "emot.csv", 'label,tweet\nhappy,"two\nlines"\nsad,one,extra\n')
    assert_error("indonlu-csv", path, 4, "expected 2 columns, found 3")


def test_multiline_record_keeps_its_first_line(tmp_path):
    path = write(tmp_path / "emot.csv", 'label,tweet\r\nhappy,"a, b\nc"\r\n\r\nsad,d\r\n')
    assert READERS["indonlu-csv"](path) == [{"text": "a, b\nc", "label": "happy", "_line": 2},
                                            {"text": "d", "label": "sad", "_line": 5}]


def test_unclosed_quote(tmp_path):
    path = write(tmp_path / "s.csv", 'sentence,sentiment\nok,1\n"never closed,0\nmore,1\n')
    assert_error("indolem-sentiment-csv", path, 3, "malformed row")


def test_conll_token_without_tag(tmp_path):
    path = write(tmp_path / "pos.txt", "Saya\tPRP\nmakan\tVB\n\nIni\tPR\nbuku\n")
    assert_error("conll", path, 5, "expected 2 columns \\(token ... tag\\), got 1")


def test_conll_crlf_blank_runs_and_no_final_blank_line(tmp_path):
    path = write(tmp_path / "ner.txt", "\r\nA\tO\r\nB\tB-PER\r\n\r\n\r\nC\tO\r\n\r\n\nD\tO\nE\tI-X")
    assert READERS["conll"](path) == [
        {"tokens": ["A", "B"], "tags": ["O", "B-PER"], "_line": 2},
        {"tokens": ["C"], "tags": ["O"], "_line": 6},
        {"tokens": ["D", "E"], "tags": ["O", "I-X"], "_line": 9},
    ]


FACQA_HEADER = "question,passage,seq_label\n"


def test_facqa_token_tag_mismatch(tmp_path):
    ok = "\"['Siapa', '?']\",\"['Ani', 'datang']\",\"['B', 'O']\"\n"
    bad = "\"['Siapa', '?']\",\"['Ani', 'datang']\",\"['B']\"\n"
    path = write(tmp_path / "facqa.csv", FACQA_HEADER + ok + bad)
    assert_error("indonlu-qa-csv", path, 3, "2 passage tokens but 1 tags")


def test_facqa_unparsable_list(tmp_path):
    path = write(tmp_path / "facqa.csv", FACQA_HEADER + "\"['Siapa'\",\"['Ani']\",\"['B']\"\n")
    assert_error("indonlu-qa-csv", path, 2, "'question' is not a list of strings")


def test_facqa_cell_is_never_evaluated(tmp_path):
    path = write(tmp_path / "facqa.csv", FACQA_HEADER + "[__import__('os').getcwd()],\"['Ani']\",\"['B']\"\n")
    assert_error("indonlu-qa-csv", path, 2, "not a list of strings")


def test_empty_text(tmp_path):
    path = write(tmp_path / "smsa.tsv", "bagus\tpositive\n  \tnegative\n")
    assert_error("indonlu-tsv", path, 2, "empty text")


def test_undecodable_bytes(tmp_path):
    path = write(tmp_path / "sent.csv", b"sentence,sentiment\nbagus,1\njelek \xff sekali,0\n")
    assert_error("indolem-sentiment-csv", path, 3, "not valid UTF-8")


@pytest.mark.parametrize("fmt,sep", [("custom-csv", ","), ("custom-tsv", "\t")])
def test_custom_two_and_three_columns(tmp_path, fmt, sep):
    single = write(tmp_path / "single", f"text{sep}label\nbagus{sep}pos\njelek{sep}neg\n")
    pair = write(tmp_path / "pair", f"text{sep}text_b{sep}label\nA{sep}B{sep}yes\n")
    assert READERS[fmt](single) == [{"text": "bagus", "label": "pos", "_line": 2},
                                    {"text": "jelek", "label": "neg", "_line": 3}]
    assert READERS[fmt](pair) == [{"text": "A", "text_b": "B", "label": "yes", "_line": 2}]
    assert_error(fmt, write(tmp_path / "four", f"a{sep}b{sep}c{sep}d\n1{sep}2{sep}3{sep}4\n"), 1,
                 "expected the header row")
    ragged = write(tmp_path / "ragged", f"text{sep}label\nA{sep}x\nB\n")
    assert_error(fmt, ragged, 3, "expected 2 columns, found 1")


def test_unknown_label_in_valid(tmp_path):
    task = custom_task("mine", "csv")
    for split, rows in (("train", "bagus,pos\njelek,neg\n"), ("valid", "oke,pos\nhmm,neutral\n"),
                        ("test", "ya,pos\n")):
        write(tmp_path / "raw" / task.files[split], "text,label\n" + rows)
    with pytest.raises(DataError, match="label 'neutral' is not in the label set") as exc:
        prepare_task(task, tmp_path / "raw", tmp_path / "out")
    assert "valid.csv:3:" in str(exc.value)
    assert not (tmp_path / "out").exists()


# ---- a user's own files: mistakes a new user makes, each one line naming file:line ------------------------
@pytest.mark.parametrize("fmt,sep", [("custom-csv", ","), ("custom-tsv", "\t")])
def test_custom_file_without_header(tmp_path, fmt, sep):
    path = write(tmp_path / "train", f"makanan enak{sep}positive\njelek{sep}negative\n")
    s = "<TAB>" if sep == "\t" else ","
    assert_error(fmt, path, 1, f"expected the header row text{s}label or text{s}text_b{s}label, found "
                               f"'makanan enak{s}positive'")


@pytest.mark.parametrize("fmt,sep", [("custom-csv", ","), ("custom-tsv", "\t")])
def test_custom_file_with_a_second_header(tmp_path, fmt, sep):
    path = write(tmp_path / "train", f"text{sep}label\nbagus{sep}pos\ntext{sep}label\njelek{sep}neg\n")
    assert_error(fmt, path, 3, "the header row again")


def test_tsv_has_no_csv_quoting(tmp_path):
    """A text that starts with a quote is just text in TSV; with CSV quoting it would swallow lines."""
    path = write(tmp_path / "train.tsv", 'text\tlabel\n"kata dia\tpos\nlain\tneg\n')
    assert READERS["custom-tsv"](path) == [{"text": '"kata dia', "label": "pos", "_line": 2},
                                           {"text": "lain", "label": "neg", "_line": 3}]


def test_conll_tag_column_and_docstart(tmp_path):
    path = write(tmp_path / "ner.conll", "-DOCSTART- -X- O O\n\nJoko NNP B-NP B-PER\nke IN B-PP O\n\n"
                                         "-DOCSTART- -X- O O\nBandung NNP B-NP B-LOC\n")
    assert READERS["conll"](path) == [{"tokens": ["Joko", "ke"], "tags": ["B-PER", "O"], "_line": 3},
                                      {"tokens": ["Bandung"], "tags": ["B-LOC"], "_line": 7}]
    assert READERS["conll"](path, tag_column=1)[0]["tags"] == ["NNP", "IN"]
    with pytest.raises(DataError, match="ner.conll:3: tag_column 4 is not a tag column of 4 columns"):
        READERS["conll"](path, tag_column=4)
    ragged = write(tmp_path / "r.conll", "Joko\tNNP\tB-PER\nke\tO\n")
    assert_error("conll", ragged, 2, "expected 3 columns")


def _custom_files(root, task, rows):
    for split, content in rows.items():
        write(root / task.files[split], content)


def test_plain_tags_are_scored_as_one_word_chunks(tmp_path):
    """UPOS-style tags without B-/I-: without the plain scheme every model would score 0.0 in silence."""
    task = custom_task("upos", "conll")
    _custom_files(tmp_path, task, {"train": "Saya\tPRON\nmakan\tVERB\n", "valid": "Dia\tPRON\n",
                                   "test": "makan\tVERB\n"})
    meta = prepare_task(task, tmp_path, tmp_path / "out")
    assert meta["scheme"] == "plain" and meta["labels"] == ["B-PRON", "B-VERB"]
    from kdbench.io import read_jsonl
    from kdbench.metrics import score
    gold = [r["tags"] for r in read_jsonl(tmp_path / "out" / "test.jsonl")]
    assert score("tagging", gold, gold)["macro_f1"] == 1.0
    bio = custom_task("upos2", "conll", scheme="bio")
    _custom_files(tmp_path, bio, {"train": "Saya\tPRON\n", "valid": "Dia\tPRON\n", "test": "Dia\tPRON\n"})
    assert prepare_task(bio, tmp_path, tmp_path / "out2")["labels"] == ["PRON"]  # as asked, unconverted


def test_labels_missing_from_train(tmp_path):
    task = custom_task("mine", "csv")
    rows = {"train": "text,label\nbagus,pos\n", "valid": "text,label\nhmm,neutral\n", "test": "text,label\nya,pos\n"}
    _custom_files(tmp_path, task, rows)
    with pytest.raises(DataError, match="valid.csv:2: label 'neutral' is not in the label set.*tasks.<name>.labels"):
        prepare_task(task, tmp_path, tmp_path / "out")
    declared = custom_task("mine", "csv", labels=["neg", "neutral", "pos"])
    assert prepare_task(declared, tmp_path, tmp_path / "out")["labels"] == ["neg", "neutral", "pos"]


def test_empty_split(tmp_path):
    task = custom_task("mine", "csv")
    _custom_files(tmp_path, task, {"train": "text,label\nbagus,pos\n", "valid": "text,label\n",
                                   "test": "text,label\nya,pos\n"})
    with pytest.raises(DataError, match="valid.csv: no records"):
        prepare_task(task, tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
