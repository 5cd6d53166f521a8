"""Transfer-set augmentation (Tang et al. 2019): masking, part-of-speech replacement, n-gram sampling."""

from kdbench.data.augment import augment, augment_words, build_lexicon
from kdbench.data.readers import READERS
from kdbench.tasks import get_task

LEXICON = build_lexicon([(["Saya", "makan", "nasi"], ["PRP", "VB", "NN"]), (["Dia", "minum", "teh"],
                                                                           ["PRP", "VB", "NN"]),
                         (["makan"], ["NN"]), (["makan"], ["VB"])])


def test_lexicon_keeps_each_words_most_frequent_tag():
    assert LEXICON["word"]["makan"] == "VB" and LEXICON["word"]["saya"] == "PRP"
    assert LEXICON["tag"]["NN"] == ["nasi", "teh"] and LEXICON["tag"]["VB"] == ["makan", "minum"]


def test_each_operation_does_what_it_says():
    import random
    words = ["saya", "makan", "nasi"]
    masked = augment_words(words, random.Random(0), "<unk>", LEXICON, 1.0, 0.0, 0.0, (1, 5))
    assert masked == ["<unk>"] * 3
    swapped = augment_words(words, random.Random(0), "<unk>", LEXICON, 0.0, 1.0, 0.0, (1, 5))
    assert [LEXICON["word"][w] for w in swapped] == ["PRP", "VB", "NN"]  # same part of speech, word by word
    cut = augment_words(words, random.Random(0), "<unk>", LEXICON, 0.0, 0.0, 1.0, (1, 2))
    assert 1 <= len(cut) <= 2 and " ".join(cut) in " ".join(words)


def test_augment_is_seeded_label_free_and_aligned():
    records = [{"text": "saya makan nasi goreng di rumah", "label": "pos"},
               {"text": "dia minum teh", "text_b": "teh manis", "label": "yes"},
               {"tokens": ["Saya", "makan", "nasi"], "tags": ["O", "B-X", "O"]},
               {"question": ["apa", "?"], "tokens": ["nasi", "goreng"], "tags": ["B", "I"]}]
    a = augment(records, 3, seed=1, unk="<unk>", lexicon=LEXICON, p_mask=0.3, p_pos=0.3)
    assert a == augment(records, 3, seed=1, unk="<unk>", lexicon=LEXICON, p_mask=0.3, p_pos=0.3)
    assert a != augment(records, 3, seed=2, unk="<unk>", lexicon=LEXICON, p_mask=0.3, p_pos=0.3)
    assert a and all(not {"label", "labels", "tags"} & set(r) for r in a)
    assert all(r["question"] == ["apa", "?"] for r in a if "question" in r)  # the question stays as asked
    assert all(r["tokens"] for r in a if "tokens" in r) and all(r["text"].strip() for r in a if "text" in r)
    assert not any(r in [{k: v for k, v in x.items() if k not in ("label", "tags")} for x in records] for r in a)


def test_lexicon_from_the_public_pos_data(mirror):
    task = get_task("indolem_pos")
    records = READERS[task.format](mirror / task.files["train"])
    lexicon = build_lexicon((r["tokens"], r["tags"]) for r in records)
    assert len(lexicon["tag"]) == 23 and lexicon["word"]["dan"] == "CC" and len(lexicon["word"]) > 10_000
