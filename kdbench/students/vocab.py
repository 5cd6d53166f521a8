"""Student vocabularies, both with `encode(records, kind, max_length) -> (input_ids, attention_mask, word_pos)`
(shapes in kdbench.encoding):

  WordVocab     whitespace words (for students that do not share the teacher's tokenizer)
  SubwordVocab  the teacher's Hugging Face tokenizer with the vocabulary pruned to the pieces seen in the
                student's texts, so the embedding matrix (and the student) stays small

WordVocab layouts: single, multi-aspect `<cls> text`; pair `<cls> text <sep> text_b`; tagging: the words,
one position each, no <cls>; qa-tagging `<cls> question <sep> passage`.
"""

import json
from collections import Counter
from pathlib import Path

import torch

from kdbench.encoding import hf_encode, load_tokenizer, pad_batch
from kdbench.errors import KdbenchError
from kdbench.io import atomic_path, write_json
from kdbench.tasks import KINDS

SPECIALS = ("<pad>", "<unk>", "<sep>", "<cls>")
SUBWORD_META = "kdbench_vocab.json"


def _check_kind(kind):
    if kind not in KINDS:
        raise KdbenchError(f"unknown task kind {kind!r}; known kinds: {', '.join(KINDS)}")


def _words(item):
    return item.split() if isinstance(item, str) else list(item)


class WordVocab:
    pad_id, unk_id, sep_id, cls_id = range(4)

    def __init__(self, itos, lowercase=True):
        self.itos, self.lowercase = list(itos), lowercase
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    @classmethod
    def build(cls, texts_or_token_lists, min_count=2, lowercase=True, max_size=None):
        """Words seen at least min_count times, by descending count then alphabetically, after the four
        specials; max_size caps the whole vocabulary, specials included."""
        counts = Counter(w.lower() if lowercase else w for item in texts_or_token_lists for w in _words(item))
        words = sorted((w for w, c in counts.items() if c >= min_count and w not in SPECIALS),
                       key=lambda w: (-counts[w], w))
        if max_size is not None:
            words = words[: max(0, max_size - len(SPECIALS))]
        return cls([*SPECIALS, *words], lowercase)

    def __len__(self):
        return len(self.itos)

    @property
    def tokens(self):
        """The string of every id (what FastText vectors are looked up by)."""
        return self.itos

    def ids(self, words):
        return [self.stoi.get(w.lower() if self.lowercase else w, self.unk_id) for w in words]

    def _sequence(self, r, kind):
        """One record -> (ids, word positions or None), before truncation."""
        if kind in ("single", "multi-aspect"):
            return [self.cls_id, *self.ids(r["text"].split())], None
        if kind == "pair":
            return [self.cls_id, *self.ids(r["text"].split()), self.sep_id, *self.ids(r["text_b"].split())], None
        if kind == "tagging":
            return self.ids(r["tokens"]), list(range(len(r["tokens"])))
        head = [self.cls_id, *self.ids(r["question"]), self.sep_id]  # qa-tagging
        return head + self.ids(r["tokens"]), [len(head) + j for j in range(len(r["tokens"]))]

    def encode(self, records, kind, max_length):
        _check_kind(kind)
        seqs, positions = [], []
        for r in records:
            ids, pos = self._sequence(r, kind)
            seqs.append(ids[:max_length])  # cut the end: text_b / the passage lose words first
            positions.append(None if pos is None else [p if p < max_length else -1 for p in pos])
        return pad_batch(seqs, None if positions[0] is None else positions, self.pad_id)

    def save(self, path):
        write_json(path, {"type": "word", "lowercase": self.lowercase, "itos": self.itos})

    @classmethod
    def load(cls, path):
        meta = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(meta["itos"], meta["lowercase"])


class SubwordVocab:
    """A Hugging Face fast tokenizer whose ids are remapped to 0..K-1 (pad first): `kept_ids[i]` is the
    teacher's id of the student's id i, so teacher embedding rows can be copied; other pieces become unk."""
    pad_id = 0

    def __init__(self, tokenizer, kept_ids, prefix=""):
        self.tokenizer, self.kept_ids, self.prefix = tokenizer, list(kept_ids), prefix
        if tokenizer.unk_token_id is None or tokenizer.pad_token_id is None:
            raise KdbenchError("SubwordVocab needs a tokenizer with an unk and a pad token")
        if self.kept_ids[0] != tokenizer.pad_token_id:
            raise KdbenchError("SubwordVocab: kept_ids must start with the pad id")
        self.unk_id = self.kept_ids.index(tokenizer.unk_token_id)
        self.lookup = torch.full((len(tokenizer),), self.unk_id, dtype=torch.long)  # teacher id -> student id
        self.lookup[torch.tensor(self.kept_ids)] = torch.arange(len(self.kept_ids))

    @classmethod
    def build(cls, tokenizer, texts_or_token_lists, prefix="", batch_size=1000):
        """Keep the pieces that tokenizing the texts (strings, with `prefix` as the teacher adds it) or token
        lists (split into words) produces, plus the special tokens; pad, then the other specials, then the
        pieces, each in teacher id order."""
        items = list(texts_or_token_lists)
        seen = set()
        for split, batch in ((False, [prefix + x for x in items if isinstance(x, str)]),
                             (True, [list(x) for x in items if not isinstance(x, str)])):
            for i in range(0, len(batch), batch_size):
                enc = tokenizer(batch[i:i + batch_size], is_split_into_words=split, add_special_tokens=False)
                seen.update(t for ids in enc["input_ids"] for t in ids)
        pad = tokenizer.pad_token_id
        specials = sorted(set(tokenizer.all_special_ids) - {pad})
        return cls(tokenizer, [pad, *specials, *sorted(seen - set(specials) - {pad})], prefix)

    def __len__(self):
        return len(self.kept_ids)

    @property
    def tokens(self):
        return self.tokenizer.convert_ids_to_tokens(self.kept_ids)

    def encode(self, records, kind, max_length):
        """As the teacher encodes (first sub-word of each word), with student ids."""
        _check_kind(kind)
        input_ids, attention_mask, word_pos = hf_encode(self.tokenizer, records, kind, max_length, self.prefix)
        return self.lookup[input_ids], attention_mask, word_pos

    def save(self, path):
        """A directory: the tokenizer itself (save_pretrained) plus the kept ids and prefix."""
        with atomic_path(path, is_dir=True) as tmp:
            self.tokenizer.save_pretrained(tmp)
            write_json(tmp / SUBWORD_META, {"type": "subword", "prefix": self.prefix, "kept_ids": self.kept_ids})

    @classmethod
    def load(cls, path):
        meta = json.loads((Path(path) / SUBWORD_META).read_text(encoding="utf-8"))
        return cls(load_tokenizer(path), meta["kept_ids"], meta["prefix"])


def load_vocab(path):
    """Either kind of saved vocabulary: a directory is a SubwordVocab, a file a WordVocab."""
    return SubwordVocab.load(path) if Path(path).is_dir() else WordVocab.load(path)
