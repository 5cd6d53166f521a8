"""Initial embedding matrices for students (params.yaml `distill.embeddings`), as in the paper's comparison:

  random    N(0, 0.1^2), pad row 0
  fasttext  rows from a FastText `.vec` file (exact word, else a case-insensitive match); others random;
            PCA-projected or zero-padded like the teacher's when the file's width differs
  teacher   the teacher encoder's input-embedding rows of a SubwordVocab's kept ids, PCA-projected (or
            zero-padded) when the teacher's width differs from the student's
and `train_fasttext`, to make a `.vec` file from the task's own texts when no pretrained one is at hand.
"""

import numpy as np
import torch

from kdbench.errors import KdbenchError
from kdbench.io import atomic_path
from kdbench.registry import Registry

# name -> fn(vocab, dim, *, vec_path, teacher_dir, seed) -> (weight, info); metadata: the vocabulary it needs
EMBEDDINGS = Registry("embedding init")


def _normal(rows, dim, seed, std=0.1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(rows, dim, generator=g) * std


@EMBEDDINGS.register("random", vocab="word")
def _random(vocab, dim, *, vec_path=None, teacher_dir=None, seed=0):
    weight = _normal(len(vocab), dim, seed)
    weight[vocab.pad_id] = 0.0
    return weight, {}


def read_vec(path, words):
    """{word: vector} for the words of `words` in a .vec file, matched exactly, else case-insensitively.
    Only wanted lines are parsed, so a multi-GB pretrained file costs one pass of string splits."""
    wanted, wanted_lower = set(words), {w.lower() for w in words}
    exact, lower = {}, {}
    with open(path, encoding="utf-8", errors="replace") as f:
        header = f.readline().split()
        if len(header) != 2 or not all(x.isdigit() for x in header):
            raise KdbenchError(f"{path}: not a .vec file (first line should be 'count dim')")
        dim = int(header[1])
        for line in f:
            word, _, rest = line.rstrip("\n").partition(" ")
            key = word.lower()
            if (word in wanted and word not in exact) or (key in wanted_lower and key not in lower):
                vec = np.array(rest.split(), dtype=np.float32)
                if len(vec) != dim:
                    raise KdbenchError(f"{path}: vector of {word!r} has {len(vec)} values, not {dim}")
                exact.setdefault(word, vec)
                lower.setdefault(key, vec)
    found = {}
    for w in words:
        vec = exact.get(w)
        found[w] = vec if vec is not None else lower.get(w.lower())
    return {w: v for w, v in found.items() if v is not None}, dim


@EMBEDDINGS.register("fasttext", vocab="word")
def _fasttext(vocab, dim, *, vec_path=None, teacher_dir=None, seed=0):
    if vec_path is None:
        raise KdbenchError("fasttext embeddings need a .vec file (vec_path)")
    # sub-word pieces mark a word start with U+2581; the .vec file has the bare word
    words = [t.removeprefix("\u2581") or t for t in vocab.tokens]
    vectors, file_dim = read_vec(vec_path, words)
    found = [i for i, w in enumerate(words) if w in vectors and i != vocab.pad_id]
    # missing rows get the found vectors' scale, so they neither dominate nor vanish
    std = float(np.std([vectors[words[i]] for i in found])) if found else 0.1
    weight = _normal(len(vocab), file_dim, seed, std)
    for i in found:
        weight[i] = torch.from_numpy(vectors[words[i]])
    weight, info = fit_width(weight, dim)
    weight[vocab.pad_id] = 0.0
    return weight, {"found": len(found), "coverage": len(found) / len(vocab), "vec_path": str(vec_path), **info}


def pca_project(x, dim):
    """(V, H) -> (V, dim) onto the top `dim` principal axes. Exact SVD (no randomness), with each axis' sign
    fixed so that its largest loading is positive: the same input gives the same projection everywhere."""
    centered = x - x.mean(0, keepdim=True)
    _, s, vh = torch.linalg.svd(centered, full_matrices=False)  # vh: (H, H)
    axes = vh[:dim]  # (dim, H)
    signs = torch.sign(axes.gather(1, axes.abs().argmax(1, keepdim=True)))  # (dim, 1)
    axes = axes * signs
    explained = float((s[:dim] ** 2).sum() / (s ** 2).sum().clamp(min=1e-12))
    return centered @ axes.T, explained


def fit_width(rows, dim, width_key="source_dim"):
    """(V, H) -> (V, dim): PCA down when the source is wider than the student, zero-pad when narrower."""
    width = rows.size(1)
    info = {width_key: width, "projection": None}
    if width > dim:
        rows, explained = pca_project(rows, dim)
        info.update(projection="pca", explained_variance=explained)
    elif width < dim:
        rows = torch.cat([rows, rows.new_zeros(len(rows), dim - width)], 1)
        info["projection"] = "zero-pad"
    return rows.contiguous(), info


@EMBEDDINGS.register("teacher", vocab="subword")
def _teacher(vocab, dim, *, vec_path=None, teacher_dir=None, seed=0):
    from kdbench.teacher.model import word_table

    if teacher_dir is None or not hasattr(vocab, "kept_ids"):
        raise KdbenchError("teacher embeddings need the teacher's directory and a SubwordVocab "
                           "(the student must use the teacher's tokenizer)")
    table = word_table(teacher_dir)
    rows = table[torch.tensor(vocab.kept_ids)].float()  # (V, H)
    return fit_width(rows, dim, "teacher_dim")


def init_embeddings(kind, vocab, dim, *, vec_path=None, teacher_dir=None, seed=0):
    """An initial (V, dim) float embedding matrix for `vocab` and a dict saying how it was made."""
    weight, info = EMBEDDINGS.get(kind)(vocab, dim, vec_path=vec_path, teacher_dir=teacher_dir, seed=seed)
    return weight, {"kind": kind, "size": len(vocab), "dim": dim, **info}


def train_fasttext(token_lists, out_path, dim=100, epochs=5, min_count=2, seed=0, workers=1):
    """Train gensim FastText (skip-gram) on token lists and write its word vectors as a .vec file.
    With workers=1 and a seed, two runs give identical files (more workers race on the shared weights).
    Returns the number of words written."""
    from gensim.models import FastText

    sentences = [list(t) for t in token_lists]
    # skip-gram: better vectors for rare words than CBOW on corpora as small as a task's texts
    model = FastText(vector_size=dim, min_count=min_count, epochs=epochs, seed=seed, workers=workers, sg=1)
    model.build_vocab(corpus_iterable=sentences)
    model.train(corpus_iterable=sentences, total_examples=len(sentences), epochs=epochs)
    with atomic_path(out_path) as tmp:
        model.wv.save_word2vec_format(str(tmp))
    return len(model.wv)
