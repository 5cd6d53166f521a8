"""Deployment variants of a model: ONNX (run by kdbench.bench.onnxrun) and int8 dynamic quantisation (torch).

Every model is first one tensor function, `forward(input_ids, attention_mask[, word_pos]) -> logits`:
the students already are, and `TeacherCore` makes a Teacher one, so one export and one runner serve all.
"""

import contextlib
import io
import logging
import os
import sys
import warnings
from pathlib import Path

import torch
from torch import nn

from kdbench.io import atomic_path

INPUTS = ("input_ids", "attention_mask", "word_pos")
OUTPUT = "logits"
# (batch, sequence) for ids and mask, (batch, words) for word_pos
AXES = ({0: "batch", 1: "seq"}, {0: "batch", 1: "seq"}, {0: "batch", 1: "words"})
ONNX_LIMIT = 2 * 1024**3  # protobuf's limit on one file; above it the weights go to a side file


def segment_ids(input_ids, attention_mask, sep_id):
    """BERT's token_type_ids for `[CLS] a [SEP] b [SEP]`: 1 after the first [SEP], 0 before it and at padding.

    Derived from the ids so that an exported pair model still takes only (input_ids, attention_mask)."""
    sep = (input_ids == sep_id).long()
    return ((sep.cumsum(1) - sep) > 0).long() * attention_mask


class TeacherCore(nn.Module):
    """A Teacher as `forward(input_ids, attention_mask, word_pos=None, token_type_ids=None) -> logits`,
    with the same values as `Teacher.forward(tokenizer output, word_pos)`."""

    def __init__(self, teacher):
        super().__init__()
        self.teacher = teacher
        self.train(teacher.training)
        tok = teacher.tokenizer
        # BERT-style tokenizers give the second text of a pair token_type_ids 1; XLM-R style ones (e5) give
        # none, and one-text inputs are all 0, which is what the encoder assumes when it gets none.
        self.pairs = "token_type_ids" in tok.model_input_names and teacher.kind in ("pair", "qa-tagging")
        self.sep_id = tok.sep_token_id

    def forward(self, input_ids, attention_mask, word_pos=None, token_type_ids=None):
        enc = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is None and self.pairs:
            token_type_ids = segment_ids(input_ids, attention_mask, self.sep_id)
        if token_type_ids is not None:
            enc["token_type_ids"] = token_type_ids
        return self.teacher(enc, word_pos)


@contextlib.contextmanager
def _quiet():
    """Exporter warnings and info/warning logs off (dozens per export); errors still raise.

    torch's C++ warnings (the TorchScript exporter's "shape inference of prim::PackPadded is missing" for
    the BiLSTM: harmless, ONNX Runtime infers the shapes) bypass Python and write to file descriptor 2,
    so that is pointed at /dev/null meanwhile; C++ errors still reach Python as exceptions."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._export", "onnxscript")]
    levels = [lg.level for lg in loggers]
    sys.stderr.flush()
    stderr = os.dup(2)
    try:
        with warnings.catch_warnings(), open(os.devnull, "w") as null:
            warnings.simplefilter("ignore")
            for lg in loggers:
                lg.setLevel(logging.ERROR)
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(stderr, 2)
        os.close(stderr)
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


class _FlatAspects(nn.Module):
    """Multi-aspect logits for the TorchScript tracer. The students' Head and the Teacher shape them with
    `view(len(logits), aspects, labels)`, and the tracer records len() as the example's batch size, so the
    graph would fail on any other batch. Run the model as single-label (B, aspects * labels), as the same
    Linear gives, and reshape here with -1. Not needed once both use logits.size(0), which is traced."""

    def __init__(self, core, shape):
        super().__init__()
        self.core, self.shape = core, tuple(shape)
        self.owners = [m for m in core.modules() if getattr(m, "kind", None) == "multi-aspect"]

    def forward(self, input_ids, attention_mask):
        for m in self.owners:
            m.kind = "single"
        try:
            return self.core(input_ids, attention_mask).reshape(-1, *self.shape)
        finally:
            for m in self.owners:
                m.kind = "multi-aspect"


def _torchscript(core, args, path):
    with torch.no_grad():
        out = core(*args)
    if len(args) == 2 and out.dim() == 3:  # (B, aspects, labels)
        core = _FlatAspects(core, out.shape[1:]).eval()  # the exporter restores its mode on all of core
    axes = dict(zip(INPUTS, AXES[:len(args)]))
    axes[OUTPUT] = {0: "batch", 1: "words"} if len(args) == 3 else {0: "batch"}
    # (over 2GB this exporter moves the weights to side files by itself)
    torch.onnx.export(core, args, path, input_names=list(INPUTS[:len(args)]), output_names=[OUTPUT],
                      dynamo=False, dynamic_axes=axes)


def _dynamo(core, args, path):
    external = sum(t.numel() * t.element_size() for t in [*core.parameters(), *core.buffers()]) > ONNX_LIMIT
    torch.onnx.export(core, args, path, input_names=list(INPUTS[:len(args)]), output_names=[OUTPUT],
                      dynamo=True, dynamic_shapes=AXES[:len(args)], external_data=external, verbose=False)


def export_onnx(core, example_inputs, path, dynamo=False):
    """Export `core(input_ids, attention_mask[, word_pos])` to the ONNX file `path`, with dynamic batch,
    sequence and word axes; `core` is left in eval mode. `example_inputs`: a tuple of int64 tensors (with
    dynamo, batch and length >= 2: torch.export treats a size of 1 as a constant).

    The TorchScript exporter is the default because it is right for every model: torch.export (dynamo=True)
    cannot capture the BiLSTM (pack_padded_sequence makes shapes depend on the lengths' values), while
    TorchScript maps packing onto ONNX LSTM's sequence_lens. One exporter for all models keeps their ONNX
    Runtime timings comparable, and it exports 3-30x faster, with graphs that run as fast or faster (measured
    on the CNN, BERT-Small and the e5 teacher). It is deprecated in torch but present in the pinned 2.13;
    dynamo=True is the switch for when it goes (correct for all models but the BiLSTM)."""
    path = Path(path)
    args = tuple(example_inputs)
    core.eval()  # no dropout in the graph
    with _quiet(), atomic_path(path) as tmp:
        if dynamo:
            _dynamo(core, args, tmp)
        else:
            _torchscript(core, args, tmp)
        for side in tmp.parent.iterdir():  # external weights sit next to the graph, named relative to it
            if side != tmp:
                os.replace(side, path.parent / side.name)


def quantize_int8(core):
    """A copy of `core` with nn.Linear and nn.LSTM weights in int8 (activations quantised on the fly).

    Embedding tables stay float, and so does nn.MultiheadAttention's output projection (torch leaves it
    out of dynamic quantisation)."""
    with warnings.catch_warnings():
        # the eager-mode API works in this torch; its successor (torchao) is not a dependency. Both notices
        # are about that deprecation: one for the API, one for the qint8 tensors it makes.
        warnings.filterwarnings("ignore", "torch.ao.quantization is deprecated", DeprecationWarning)
        warnings.filterwarnings("ignore", "torch.quantize_per_tensor, .* are deprecated", UserWarning)
        return torch.ao.quantization.quantize_dynamic(core, {nn.Linear, nn.LSTM}, dtype=torch.qint8,
                                                      inplace=False)


def file_bytes(path):
    """Size on disk of an ONNX model: the graph file plus its external weights (`<name>.data`), if any."""
    path = Path(path)
    side = path.with_name(path.name + ".data")
    return path.stat().st_size + (side.stat().st_size if side.exists() else 0)


def state_bytes(module):
    """Bytes of `torch.save(module.state_dict())`: the weights as a deployment would ship them."""
    buf = io.BytesIO()
    torch.save(module.state_dict(), buf)
    return buf.tell()
