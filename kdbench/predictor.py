"""Label text with an exported kdbench student (`kdbench export`), with onnxruntime, numpy and tokenizers only:
no torch and no kdbench. `kdbench export` copies this file into the folder as predict.py.

    python predict.py [--int8] [--input FILE] < input.txt

or from Python, beside this file: `from predict import Predictor; Predictor(".")(["makanannya enak"])`
returns one prediction per input (a label; a list of labels for multi-aspect and tagging tasks).

One input per line: a text; `text<TAB>text_b` for sentence pairs; space-separated tokens for tagging;
`question<TAB>passage` for QA tagging. Prints one line per input: the label, `aspect=label ...` for
multi-aspect tasks, `token/tag ...` for tagging. It encodes exactly as the student was trained (the same
layouts, truncation and first-sub-word alignment as kdbench.students.vocab), so its labels are
`kdbench predict`'s.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

UNK, SEP, CLS = 1, 2, 3  # a word vocabulary's special ids (0 is padding, which one input never needs)


class Predictor:
    def __init__(self, folder, int8=False, threads=1):
        folder = Path(folder)
        self.meta = json.loads((folder / "student.json").read_text(encoding="utf-8"))
        self.kind, self.labels, self.max_length = self.meta["kind"], self.meta["labels"], self.meta["max_length"]
        vocab = self.meta["vocab"]
        if vocab["type"] == "word":
            self.itos, self.lowercase = vocab["itos"], vocab["lowercase"]
            self.stoi = {w: i for i, w in enumerate(self.itos)}
            self.tokenizer = None
        else:  # the teacher's tokenizer, its ids remapped to the student's pruned table
            from tokenizers import Tokenizer
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            self.tokenizer.no_padding()
            self.tokenizer.enable_truncation(self.max_length, strategy="longest_first")
            kept = vocab["kept_ids"]
            self.lookup = np.full(max(self.tokenizer.get_vocab_size(), max(kept) + 1), vocab["unk_id"], np.int64)
            self.lookup[kept] = np.arange(len(kept))
            self.prefix = vocab["prefix"]
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        model = folder / ("model.int8.onnx" if int8 else "model.onnx")
        self.session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    # ---- inputs, as kdbench.students.vocab encodes them ---------------------------------------------------
    def _word_ids(self, words):
        return [self.stoi.get(w.lower() if self.lowercase else w, UNK) for w in words]

    def _words(self, record):
        """(ids, word positions or None) with a word vocabulary, cut to max_length."""
        kind = self.kind
        if kind in ("single", "multi-aspect"):
            ids, pos = [CLS, *self._word_ids(record["text"].split())], None
        elif kind == "pair":
            ids, pos = [CLS, *self._word_ids(record["text"].split()), SEP, *self._word_ids(record["text_b"].split())], None
        elif kind == "tagging":
            ids, pos = self._word_ids(record["tokens"]), list(range(len(record["tokens"])))
        else:  # qa-tagging
            head = [CLS, *self._word_ids(record["question"]), SEP]
            ids, pos = head + self._word_ids(record["tokens"]), [len(head) + j for j in range(len(record["tokens"]))]
        pos = None if pos is None else [p if p < self.max_length else -1 for p in pos]
        return ids[: self.max_length], pos

    def _subwords(self, record):
        """(ids, word positions or None) with the teacher's tokenizer: its special tokens, longest-first
        truncation, and each word at its first sub-word."""
        kind, tok = self.kind, self.tokenizer
        if kind not in ("tagging", "qa-tagging"):
            first = self.prefix + record["text"]
            enc = tok.encode(first, record["text_b"]) if kind == "pair" else tok.encode(first)
            return self.lookup[enc.ids].tolist(), None
        words, passage = record["tokens"], 1 if kind == "qa-tagging" else 0
        enc = (tok.encode(record["question"], words, is_pretokenized=True) if kind == "qa-tagging"
               else tok.encode(words, is_pretokenized=True))
        pos, prev = [-1] * len(words), None
        for t, (w, s) in enumerate(zip(enc.word_ids, enc.sequence_ids)):
            if w is not None and s == passage and w != prev:
                pos[w] = t
            prev = w if s == passage else None
        return self.lookup[enc.ids].tolist(), pos

    def encode(self, record):
        ids, pos = (self._words if self.tokenizer is None else self._subwords)(record)
        ids = np.array([ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if pos is not None:
            feed["word_pos"] = np.array([pos], dtype=np.int64)
        return {name: feed[name] for name in self.inputs}, pos

    # ---- labels ---------------------------------------------------------------------------------------
    def __call__(self, inputs):
        """One prediction per input, each given as a line of predict.py's input (a text; text<TAB>text_b for
        pairs; space-separated tokens for tagging; question<TAB>passage for QA tagging)."""
        return [self.predict(parse_line(line, self.kind, n)) for n, line in enumerate(inputs, 1)]

    def predict(self, record):
        """The label (single, pair), one label per aspect, or one tag per word."""
        feed, pos = self.encode(record)
        logits = self.session.run(["logits"], feed)[0][0]
        if self.kind in ("single", "pair"):
            return self.labels[int(logits.argmax())]
        if self.kind == "multi-aspect":
            return [self.labels[int(i)] for i in logits.argmax(-1)]
        tags = [self.labels[int(i)] for i in logits[: len(record["tokens"])].argmax(-1)]
        if "O" in self.labels:  # words cut off by max_length: outside any chunk, as kdbench decodes them
            tags = [t if p >= 0 else "O" for t, p in zip(tags, pos)]
        return tags


def parse_line(line, kind, n):
    """One input line -> a record, as `kdbench predict` reads it."""
    parts = line.rstrip("\n").split("\t")
    if not line.strip() or not all(p.strip() for p in parts):
        raise ValueError(f"line {n}: empty input")
    want = 2 if kind in ("pair", "qa-tagging") else 1
    if len(parts) != want:
        raise ValueError(f"line {n}: expected {want} TAB-separated field(s) for a {kind} task, got {len(parts)}")
    if kind == "pair":
        return {"text": parts[0], "text_b": parts[1]}
    if kind == "qa-tagging":
        return {"question": parts[0].split(), "tokens": parts[1].split()}
    return {"tokens": parts[0].split()} if kind == "tagging" else {"text": parts[0]}


def format_prediction(predictor, record, pred):
    if predictor.kind == "multi-aspect":
        return " ".join(f"{a}={p}" for a, p in zip(predictor.meta["aspects"], pred))
    if predictor.kind in ("tagging", "qa-tagging"):
        return " ".join(f"{t}/{p}" for t, p in zip(record["tokens"], pred))
    return pred


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--int8", action="store_true", help="run the int8 model (smaller, usually faster)")
    parser.add_argument("--input", default="-", help="a file, or - for stdin (default)")
    args = parser.parse_args(argv)
    predictor = Predictor(Path(__file__).resolve().parent, int8=args.int8)
    text = sys.stdin.read() if args.input == "-" else Path(args.input).read_text(encoding="utf-8")
    try:
        for n, line in enumerate(text.splitlines(), 1):
            record = parse_line(line, predictor.kind, n)
            print(format_prediction(predictor, record, predictor.predict(record)))
    except ValueError as e:
        print(f"predict: error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
