"""Your own unlabeled text in a task's transfer set (tasks.<task>.unlabeled): read from data/custom/<task>/,
test texts dropped and counted, first in the pool's share of the transfer set; bad input is one line naming
the file and line."""

import pytest

from kdbench.config import SoftlabelConfig
from kdbench.data.prepare import load_prepared, load_yours, prepare_task
from kdbench.data.unlabeled import read_unlabeled
from kdbench.errors import KdbenchError
from kdbench.tasks import get_task
from kdbench.teacher.softlabels import transfer_set

MINE = ["kopinya enak tapi antreannya panjang sekali", "aplikasinya sering keluar sendiri",
        "kurirnya ramah dan cepat"]


def test_your_texts_come_first_in_the_pool_and_test_texts_are_dropped(mirror, tmp_path):
    prepared = tmp_path / "first"
    prepare_task(get_task("smsa"), mirror, prepared, max_train=48, max_valid=16)
    _, splits = load_prepared(prepared)
    test = [r["text"] for r in splits["test"][:2]]
    (tmp_path / "mine.txt").write_text("\n".join([MINE[0], test[0], "", MINE[1], test[1], MINE[2]]) + "\n")
    meta = prepare_task(get_task("smsa"), mirror, tmp_path / "p", max_train=48, max_valid=16,
                        unlabeled_file=tmp_path / "mine.txt")
    assert meta["yours"] == {"file": "mine.txt", "texts": 3, "test_texts_dropped": 2}  # a test text would leak
    yours = load_yours(tmp_path / "p")
    assert [r["text"] for r in yours] == MINE
    public = [{"text": f"teks publik nomor {i}"} for i in range(10)]
    cfg = SoftlabelConfig(own_train=False, augment=0, transfer_max=5)  # with own_train, the task's own come first
    transfer = transfer_set(cfg, splits, [], public, "single", "<unk>", None, 0, yours)
    assert [r["text"] for r in transfer[:3]] == MINE and all(r["yours"] for r in transfer[:3])
    assert len(transfer) == 5 and all(r["source"] == "pool" for r in transfer)  # the public pool fills the cap
    only = transfer_set(cfg, splits, [], [], "single", "<unk>", None, 0, yours)  # public_pool: false
    assert [r["text"] for r in only] == MINE


def test_a_tagging_task_takes_a_sentence_a_line_split_on_whitespace(tmp_path):
    (tmp_path / "mine.txt").write_text("Joko Widodo ke Bandung\n\n  halo  dunia \n")
    assert [r["tokens"] for r in read_unlabeled(tmp_path / "mine.txt", "tagging")] == [
        ["Joko", "Widodo", "ke", "Bandung"], ["halo", "dunia"]]
    (tmp_path / "mine.csv").write_text('id,review\n1,"enak, murah"\n2,mahal\n')
    assert [r["text"] for r in read_unlabeled(tmp_path / "mine.csv", "single", "review")] == ["enak, murah", "mahal"]


@pytest.mark.parametrize("name, content, message", [
    ("empty.txt", b"", "empty.txt: no texts (every line is blank)"),
    ("blank.txt", b"\n  \n\n", "blank.txt: no texts (every line is blank)"),
    ("latin.txt", "baik\nenak\ncaf\u00e9 murah\n".encode("latin-1"), "latin.txt:3: not UTF-8 text"),
    ("cols.csv", b"id,review\n1,enak\n", "cols.csv:1: no column 'text' in the header (columns: id, review)"),
    ("empty.csv", b"", "empty.csv: no texts (the file is empty)"),
    ("texts.json", b"[]", "texts.json: unlabeled text must be one of .txt, .csv, .tsv"),
])
def test_bad_unlabeled_text_is_one_line_naming_the_file(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(KdbenchError) as e:
        read_unlabeled(tmp_path / name, "single")
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_pair_task_refuses_unlabeled_text(mirror, tmp_path):
    (tmp_path / "mine.txt").write_text("satu\n")
    with pytest.raises(KdbenchError, match="a pair task's inputs are two texts"):
        prepare_task(get_task("wrete"), mirror, tmp_path / "w", unlabeled_file=tmp_path / "mine.txt")
    assert not (tmp_path / "w").exists()  # nothing half-written


def test_the_unlabeled_block_is_read_and_checked_from_params():
    from kdbench.config import parse
    tc = parse({"tasks": {"smsa": {"unlabeled": {"file": "mine.csv", "column": "review", "public_pool": False}}}})
    assert (tc.tasks["smsa"].unlabeled.file, tc.tasks["smsa"].unlabeled.column) == ("mine.csv", "review")
    assert parse({"tasks": {"smsa": {}}}).tasks["smsa"].unlabeled.file == ""  # none by default
    for block, message in (({"fil": "x.txt"}, "tasks.smsa.unlabeled.fil: unknown key"),
                           ({"file": "../x.txt"}, "tasks.smsa.unlabeled.file")):
        with pytest.raises(KdbenchError) as e:
            parse({"tasks": {"smsa": {"unlabeled": block}}})
        assert message in str(e.value) and "\n" not in str(e.value)
