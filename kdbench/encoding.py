"""Prepared records -> model inputs, shared by the teacher and every student:
`(input_ids, attention_mask, word_pos)`, (B, T) LongTensors and, for tagging kinds, (B, W) word_pos: the
position of each word's first sub-word (or of the word itself), -1 for padding and for words cut off by
max_length; None for the classification kinds.

Layouts of a Hugging Face tokenizer (`hf_encode`): the tokenizer's own special tokens around
  single, multi-aspect  prefix + text          tagging     words
  pair                  prefix + text, text_b  qa-tagging  question, words (tags are on the passage words)
"""

import hashlib
from pathlib import Path

import torch

TAGGING_KINDS = ("tagging", "qa-tagging")
_TOKENIZERS = {}  # load_tokenizer's: content digest -> tokenizer


def load_tokenizer(folder):
    """The Hugging Face tokenizer saved in a local folder, read once per process for each content of the folder
    (its files but the weights). Each read of the e5 tokenizer's 17 MB tokenizer.json takes about a second, and a
    bench session reads a task's teacher and sub-word students in every runtime, a test worker the same tiny
    backbone in every test. The object is shared: callers pass their settings with each call and change nothing
    on it. local_files_only: transformers writes the flag it was read with into the config a tokenizer saves,
    taking HF_HUB_OFFLINE's value when it is not given, so the same run once gave other bytes with and without
    that variable."""
    from transformers import AutoTokenizer

    key = hashlib.sha256()
    for f in sorted(Path(folder).iterdir()):
        if f.is_file() and f.suffix not in (".safetensors", ".bin"):
            key.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    digest = key.hexdigest()
    if digest not in _TOKENIZERS:
        _TOKENIZERS[digest] = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return _TOKENIZERS[digest]


def first_subword_positions(enc, word_counts, passage):
    """(B, W) position of every word's first sub-word in a batch tokenised with is_split_into_words;
    `passage` is the sequence id that holds the words (1 for qa-tagging, whose question comes first)."""
    word_pos = torch.full((len(word_counts), max(word_counts)), -1, dtype=torch.long)
    for i in range(len(word_counts)):
        seq_ids, prev = enc.sequence_ids(i), None
        for t, w in enumerate(enc.word_ids(i)):
            if w is not None and seq_ids[t] == passage and w != prev:
                word_pos[i, w] = t
            prev = w if seq_ids[t] == passage else None
    return word_pos


def hf_encode(tokenizer, records, kind, max_length, prefix=""):
    """Tokenise a batch of prepared records with a Hugging Face fast tokenizer; truncation cuts the end
    (text_b or the passage loses words first)."""
    tok = dict(truncation=True, max_length=max_length, padding=True, return_tensors="pt")
    if kind not in TAGGING_KINDS:
        first = [prefix + r["text"] for r in records]
        second = [r["text_b"] for r in records] if kind == "pair" else None
        enc = tokenizer(first, second, **tok)
        return enc["input_ids"], enc["attention_mask"], None
    words = [r["tokens"] for r in records]
    if kind == "qa-tagging":  # question first, so truncation cuts the passage's end
        enc = tokenizer([r["question"] for r in records], words, is_split_into_words=True, **tok)
    else:
        enc = tokenizer(words, is_split_into_words=True, **tok)
    word_pos = first_subword_positions(enc, [len(w) for w in words], passage=1 if kind == "qa-tagging" else 0)
    return enc["input_ids"], enc["attention_mask"], word_pos


def pad_batch(seqs, positions, pad_id):
    """Lists of ids (and of word positions, or None) -> padded (B, T) ids, (B, T) mask, (B, W) or None."""
    T = max(1, max(len(s) for s in seqs))
    input_ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(seqs), T), dtype=torch.long)
    for i, s in enumerate(seqs):
        input_ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        attention_mask[i, : len(s)] = 1
    if positions is None:
        return input_ids, attention_mask, None
    word_pos = torch.full((len(seqs), max(len(p) for p in positions)), -1, dtype=torch.long)
    for i, p in enumerate(positions):
        word_pos[i, : len(p)] = torch.tensor(p, dtype=torch.long)
    return input_ids, attention_mask, word_pos


def segment_ids(input_ids, attention_mask, sep_id):
    """BERT's token_type_ids for `[CLS] a [SEP] b [SEP]`: 1 after the first [SEP], 0 before it and at padding.

    Derived from the ids, so a pair model takes only (input_ids, attention_mask), in torch and in ONNX."""
    sep = (input_ids == sep_id).long()
    return ((sep.cumsum(1) - sep) > 0).long() * attention_mask
