"""Student vocabularies (word-level and pruned sub-word) and embedding initialisation, on tiny inputs and the
tiny-random backbone's real tokenizer."""

import pytest
import torch
from transformers import AutoModel

from kdbench.distill.embeddings import init_embeddings, read_vec, train_fasttext
from kdbench.encoding import load_tokenizer
from kdbench.errors import KdbenchError
from kdbench.students.vocab import SubwordVocab, WordVocab, load_vocab
from kdbench.teacher.model import Teacher

RECORDS = {
    "single": [{"text": "makanannya enak sekali", "label": "pos"}, {"text": "buruk", "label": "neg"}],
    "pair": [{"text": "Budi pergi ke pasar", "text_b": "Budi di pasar", "label": "Entail"},
             {"text": "hujan", "text_b": "cerah sekali", "label": "NotEntail"}],
    "multi-aspect": [{"text": "bensin boros tapi mesin halus", "labels": ["neg", "pos"]},
                     {"text": "biasa", "labels": ["neut", "neut"]}],
    "tagging": [{"tokens": ["Joko", "Widodo", "ke", "Bandung"], "tags": ["B", "I", "O", "B"]},
                {"tokens": ["halo"], "tags": ["O"]}],
    "qa-tagging": [{"question": ["Siapa", "presiden", "?"], "tokens": ["Presiden", "Joko", "Widodo"],
                    "tags": ["O", "B", "I"]},
                   {"question": ["Di", "mana", "?"], "tokens": ["Bandung"], "tags": ["B"]}],
}


def texts_of(records):
    """What a stage would pass to build(): strings and token lists, in record order."""
    out = []
    for r in records:
        out += [r[k] for k in ("text", "text_b", "question", "tokens") if k in r]
    return out


ALL_TEXTS = [x for rs in RECORDS.values() for x in texts_of(rs)]


# ---- WordVocab -------------------------------------------------------------------------------------------
def test_word_vocab_min_count_order_and_unk():
    v = WordVocab.build(["a b b c", "B c d", ["z", "y"], ["z", "y"]], min_count=2)
    # counts after lowercasing: b 3, c 2, y 2, z 2, a 1, d 1 -> by count, then alphabetically
    assert v.itos == ["<pad>", "<unk>", "<sep>", "<cls>", "b", "c", "y", "z"]
    assert WordVocab.build(["a b b c", "B c d"], min_count=2, max_size=5).itos[4:] == ["b"]
    assert WordVocab.build(["a A"], min_count=2, lowercase=False).itos[4:] == []
    ids, mask, word_pos = v.encode([{"text": "A b C", "label": "x"}], "single", 16)
    assert ids.tolist() == [[v.cls_id, v.unk_id, 4, 5]] and mask.tolist() == [[1, 1, 1, 1]]
    assert word_pos is None


@pytest.mark.parametrize("kind", list(RECORDS))
def test_word_vocab_encode_shapes(kind):
    v = WordVocab.build(ALL_TEXTS, min_count=1)
    ids, mask, word_pos = v.encode(RECORDS[kind], kind, 64)
    longest = {"single": 4, "pair": 9, "multi-aspect": 6, "tagging": 4, "qa-tagging": 8}[kind]
    assert ids.shape == mask.shape == (2, longest) and ids.dtype == torch.long
    assert (ids[mask == 0] == v.pad_id).all() and (ids[mask == 1] != v.unk_id).all()
    if kind in ("tagging", "qa-tagging"):
        words = [r["tokens"] for r in RECORDS[kind]]
        assert word_pos.shape == (2, len(words[0]))
        for i, ws in enumerate(words):  # each position holds its own word
            assert [v.itos[ids[i, p]] for p in word_pos[i, : len(ws)]] == [w.lower() for w in ws]
        assert (word_pos[1, len(words[1]):] == -1).all()
    else:
        assert word_pos is None and (ids[:, 0] == v.cls_id).all()


def test_word_vocab_layouts_length_one_and_truncation():
    v = WordVocab.build(ALL_TEXTS, min_count=1)
    ids, _, _ = v.encode(RECORDS["pair"][:1], "pair", 64)
    # <cls> budi pergi ke pasar <sep> budi di pasar
    assert ids[0, 5] == v.sep_id and ids[0, 1] == ids[0, 6] == v.stoi["budi"]
    ids, mask, word_pos = v.encode([{"tokens": ["halo"], "tags": ["O"]}], "tagging", 64)
    assert ids.shape == (1, 1) and word_pos.tolist() == [[0]]
    ids, mask, word_pos = v.encode(RECORDS["tagging"][:1], "tagging", 2)
    assert ids.shape == (1, 2) and word_pos.tolist() == [[0, 1, -1, -1]]
    # qa: <cls> siapa presiden ? <sep> | presiden joko widodo -> passage at 5, 6, 7; max_length 6 cuts 2 words
    _, _, word_pos = v.encode(RECORDS["qa-tagging"][:1], "qa-tagging", 6)
    assert word_pos.tolist() == [[5, -1, -1]]
    ids, _, _ = v.encode([{"text": "", "label": "x"}], "single", 8)
    assert ids.tolist() == [[v.cls_id]]
    with pytest.raises(KdbenchError, match="unknown task kind"):
        v.encode(RECORDS["single"], "regression", 8)


def test_word_vocab_save_load(tmp_path):
    v = WordVocab.build(ALL_TEXTS, min_count=1, lowercase=False)
    v.save(tmp_path / "vocab.json")
    w = load_vocab(tmp_path / "vocab.json")
    assert isinstance(w, WordVocab) and w.itos == v.itos and w.lowercase is False
    for a, b in zip(v.encode(RECORDS["qa-tagging"], "qa-tagging", 8), w.encode(RECORDS["qa-tagging"], "qa-tagging", 8)):
        assert torch.equal(a, b)


# ---- SubwordVocab on a real tokenizer --------------------------------------------------------------------
@pytest.fixture(scope="module")
def backbone(tiny_backbone):
    return tiny_backbone


@pytest.fixture(scope="module")
def tokenizer(backbone):
    return load_tokenizer(backbone)


@pytest.fixture(scope="module")
def subword(tokenizer):
    return SubwordVocab.build(tokenizer, ALL_TEXTS)


def test_subword_pruning_keeps_seen_pieces_and_specials(tokenizer, subword):
    seen = set()
    for x in ALL_TEXTS:
        seen.update(tokenizer(x, is_split_into_words=not isinstance(x, str), add_special_tokens=False)["input_ids"])
    assert set(subword.kept_ids) == seen | set(tokenizer.all_special_ids)
    assert len(subword) == len(subword.kept_ids) < 200 < len(tokenizer)
    assert subword.kept_ids[0] == tokenizer.pad_token_id and subword.pad_id == 0
    assert subword.tokens == tokenizer.convert_ids_to_tokens(subword.kept_ids)
    ids, _, _ = subword.encode([{"text": "zzqx", "label": "x"}], "single", 16)  # unseen pieces -> unk
    assert subword.unk_id in ids.tolist()[0]


@pytest.mark.parametrize("kind", list(RECORDS))
def test_subword_encode_matches_teacher(backbone, tokenizer, subword, kind):
    """Same pieces and first-sub-word positions as the teacher's encode, in the student's ids."""
    teacher = Teacher(AutoModel.from_pretrained(backbone), tokenizer, kind, ["a", "b"], aspects=["x"],
                      max_length=6)
    teacher_ids, teacher_mask, teacher_pos = teacher.encode(RECORDS[kind])
    ids, mask, word_pos = subword.encode(RECORDS[kind], kind, 6)
    kept = torch.tensor(subword.kept_ids)
    assert torch.equal(kept[ids], teacher_ids) and torch.equal(mask, teacher_mask)
    if teacher_pos is None:
        assert word_pos is None
    else:
        assert torch.equal(word_pos, teacher_pos) and (word_pos == -1).any()  # max_length 6 cuts words


def test_subword_save_load(tmp_path, subword):
    subword.save(tmp_path / "sub")
    assert (tmp_path / "sub" / "tokenizer.json").is_file()
    loaded = load_vocab(tmp_path / "sub")
    assert isinstance(loaded, SubwordVocab) and loaded.kept_ids == subword.kept_ids
    for a, b in zip(subword.encode(RECORDS["tagging"], "tagging", 8), loaded.encode(RECORDS["tagging"], "tagging", 8)):
        assert torch.equal(a, b)


# ---- embeddings ------------------------------------------------------------------------------------------
def test_random_embeddings_are_seeded():
    v = WordVocab.build(ALL_TEXTS, min_count=1)
    a, info = init_embeddings("random", v, 8, seed=1)
    assert a.shape == (len(v), 8) and a.dtype == torch.float32 and info["kind"] == "random"
    assert torch.equal(a, init_embeddings("random", v, 8, seed=1)[0])
    assert not torch.equal(a, init_embeddings("random", v, 8, seed=2)[0])
    assert (a[v.pad_id] == 0).all() and 0.05 < a[1:].std() < 0.2
    with pytest.raises(KdbenchError, match="random, fasttext, teacher"):
        init_embeddings("glove", v, 8)


def test_fasttext_embeddings_from_vec_file(tmp_path):
    vec = tmp_path / "tiny.vec"
    vec.write_text("3 4\nbudi 1 2 3 4\nMakan 0.5 0.5 0.5 0.5\nxyz 9 9 9 9\n")
    v = WordVocab(["<pad>", "<unk>", "<sep>", "<cls>", "budi", "makan", "pasar"])
    w, info = init_embeddings("fasttext", v, 4, vec_path=vec)
    # budi exact, makan via "Makan", pasar and the specials missing: 2 of 7
    assert info["found"] == 2 and info["coverage"] == pytest.approx(2 / 7)
    assert w[4].tolist() == [1, 2, 3, 4] and w[5].tolist() == [0.5] * 4 and (w[0] == 0).all()
    assert not (w[6] == 0).all()
    wide, info = init_embeddings("fasttext", v, 8, vec_path=vec)  # a narrower file is zero-padded
    assert info["projection"] == "zero-pad" and wide[4].tolist() == [1, 2, 3, 4, 0, 0, 0, 0]
    narrow, info = init_embeddings("fasttext", v, 2, vec_path=vec)  # a wider one is PCA-projected
    assert info["projection"] == "pca" and narrow.shape == (7, 2)


def test_teacher_embeddings(backbone, subword):
    table = AutoModel.from_pretrained(backbone).get_input_embeddings().weight.detach()
    w, info = init_embeddings("teacher", subword, 32, teacher_dir=backbone)
    assert torch.equal(w, table[subword.kept_ids]) and info["projection"] is None
    small, info = init_embeddings("teacher", subword, 8, teacher_dir=backbone)
    assert small.shape == (len(subword), 8) and info["projection"] == "pca" and 0 < info["explained_variance"] < 1
    assert torch.equal(small, init_embeddings("teacher", subword, 8, teacher_dir=backbone)[0])
    wide, info = init_embeddings("teacher", subword, 40, teacher_dir=backbone)
    assert info["projection"] == "zero-pad" and torch.equal(wide[:, :32], w) and (wide[:, 32:] == 0).all()
    with pytest.raises(KdbenchError, match="SubwordVocab"):
        init_embeddings("teacher", WordVocab.build(ALL_TEXTS), 32, teacher_dir=backbone)


def test_train_fasttext_is_deterministic_and_readable(tmp_path):
    words = "saya makan nasi di rumah dia pergi ke pasar kami minum teh".split()
    sentences = [[words[(i * 3 + j) % len(words)] for j in range(5)] for i in range(50)]
    n = train_fasttext(sentences, tmp_path / "a.vec", dim=8, epochs=2, seed=3)
    train_fasttext(sentences, tmp_path / "b.vec", dim=8, epochs=2, seed=3)
    assert n == len(words) and (tmp_path / "a.vec").read_text().splitlines()[0] == f"{n} 8"
    assert (tmp_path / "a.vec").read_bytes() == (tmp_path / "b.vec").read_bytes()
    assert read_vec(tmp_path / "a.vec", words)[0].keys() == set(words)
    v = WordVocab.build(sentences, min_count=1)
    w, info = init_embeddings("fasttext", v, 8, vec_path=tmp_path / "a.vec")
    assert info["found"] == len(words) and torch.isfinite(w).all()
