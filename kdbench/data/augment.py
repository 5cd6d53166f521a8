"""Transfer-set augmentation after Tang et al. 2019 ("Distilling Task-Specific Knowledge from BERT into Simple
Neural Networks"): new, unlabelled sentences made from labelled ones, which the teacher then labels.

For each word, in order: with probability `p_mask` it becomes the unknown token; else with probability
`p_pos` it becomes another word of the same part of speech (the lexicon comes from the public IndoLEM POS
training data). Then, with probability `p_ngram`, the sentence is cut to a random n-gram, n drawn from
`ngram` (inclusive). Tagging sentences keep one word per tag position, so the teacher labels the new sentence
word by word. Everything is drawn from one seeded generator: the same seed gives the same sentences.
"""

import json
import random
from collections import Counter, defaultdict
from pathlib import Path

from kdbench.io import atomic_path


def build_lexicon(tagged_sentences):
    """{"word": {word: tag}, "tag": {tag: [words]}}: each lower-cased word's most frequent tag (ties: the tag
    seen first), and the words of each tag, sorted, for drawing a replacement."""
    counts = defaultdict(Counter)
    for tokens, tags in tagged_sentences:
        for word, tag in zip(tokens, tags):
            counts[word.lower()][tag.removeprefix("B-").removeprefix("I-")] += 1
    word = {w: c.most_common(1)[0][0] for w, c in sorted(counts.items())}
    by_tag = defaultdict(list)
    for w, t in word.items():
        by_tag[t].append(w)
    return {"word": word, "tag": {t: sorted(ws) for t, ws in sorted(by_tag.items())}}


def write_lexicon(lexicon, path):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(lexicon, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def read_lexicon(path):
    return json.loads(Path(path).read_text(encoding="utf-8")) if path and Path(path).is_file() else None


def augment_words(words, rng, unk, lexicon, p_mask, p_pos, p_ngram, ngram):
    """One augmented copy of a word list."""
    out = []
    for w in words:
        r = rng.random()
        if r < p_mask:
            out.append(unk)
        elif r < p_mask + p_pos and lexicon and w.lower() in lexicon["word"]:
            out.append(rng.choice(lexicon["tag"][lexicon["word"][w.lower()]]))
        else:
            out.append(w)
    if rng.random() < p_ngram and len(out) > ngram[0]:
        n = rng.randint(ngram[0], min(ngram[1], len(out)))
        start = rng.randint(0, len(out) - n)
        out = out[start:start + n]
    return out


def augment(records, copies, seed, unk, lexicon, p_mask=0.1, p_pos=0.1, p_ngram=0.25, ngram=(1, 5)):
    """`copies` augmented, label-free versions of every record, in record order, each with its number `copy`
    (0 to copies - 1: a distill variant may learn from the first few); records whose copy came out identical
    to the original are dropped (nothing new for the teacher to say)."""
    rng = random.Random(seed)
    options = dict(rng=rng, unk=unk, lexicon=lexicon, p_mask=p_mask, p_pos=p_pos, p_ngram=p_ngram,
                   ngram=tuple(ngram))
    out = []
    for r in records:
        for k in range(copies):
            if "tokens" in r:  # tagging: the words (qa-tagging: the passage; the question stays as it is)
                new = {**({"question": r["question"]} if "question" in r else {}),
                       "tokens": augment_words(r["tokens"], **options), "copy": k}
                if new["tokens"] != r["tokens"]:
                    out.append(new)
                continue
            new = {"text": " ".join(augment_words(r["text"].split(), **options)) or r["text"], "copy": k}
            if "text_b" in r:
                new["text_b"] = " ".join(augment_words(r["text_b"].split(), **options)) or r["text_b"]
            if new["text"] != r["text"] or new.get("text_b") != r.get("text_b"):
                out.append(new)
    return out
