"""Deployment files of a model: ONNX (run by kdbench.bench.onnxrun) and its int8 dynamic quantisation by
ONNX Runtime, which needs no torch to run either.

Every model is one tensor function, `forward(input_ids, attention_mask[, word_pos]) -> logits` (the teacher
and every student), so one export and one runner serve all.
"""

import contextlib
import logging
import os
import sys
import warnings
from pathlib import Path

import torch

from kdbench.io import atomic_path

INPUTS = ("input_ids", "attention_mask", "word_pos")
OUTPUT = "logits"
# (batch, sequence) for ids and mask, (batch, words) for word_pos
AXES = ({0: "batch", 1: "seq"}, {0: "batch", 1: "seq"}, {0: "batch", 1: "words"})
ONNX_LIMIT = 2 * 1024**3  # protobuf's limit on one file; above it the weights go to a side file


@contextlib.contextmanager
def _quiet():
    """Exporter warnings and info/warning logs off (dozens per export); errors still raise.

    torch's C++ warnings (the TorchScript exporter's "shape inference of prim::PackPadded is missing" for
    the BiLSTM: harmless, ONNX Runtime infers the shapes) bypass Python and write to file descriptor 2,
    so that is pointed at /dev/null meanwhile; C++ errors still reach Python as exceptions."""
    # the root logger too: onnxruntime.quantization advises pre-processing through it on every call
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._export", "onnxscript", None)]
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


def _torchscript(core, args, path):
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


def quantize_onnx(src, dest):
    """The int8 variant: ONNX Runtime's dynamic quantisation of the exported graph (the weights of MatMul/Gemm,
    LSTM, attention, convolutions and the embedding Gather in int8, activations quantised on the fly). A
    deployment of it needs onnxruntime and numpy only, and nothing in it is pickled. Chosen over torch's
    dynamic quantisation, measured on default-size students (1 thread, 8-48 tokens, interleaved calls):
    2-4x smaller files (it also quantises the embedding tables) and faster for the BiLSTM (0.29 vs 1.41 ms)
    and the BERTs (BERT-Small 2.75 vs 4.68 ms), slower for the CNN (3.5 vs 3.1 ms: its ConvInteger kernels
    are slower than fp32 convolutions, 1.0 ms), with the same logit error (2-4% of the logit range)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dest = Path(dest)
    with _quiet(), atomic_path(dest) as tmp:
        quantize_dynamic(Path(src), tmp, weight_type=QuantType.QInt8)
        for side in tmp.parent.iterdir():
            if side != tmp:
                os.replace(side, dest.parent / side.name)


def file_bytes(path):
    """Size on disk of an ONNX model: the graph file plus its external weights (`<name>.data`), if any."""
    path = Path(path)
    side = path.with_name(path.name + ".data")
    return path.stat().st_size + (side.stat().st_size if side.exists() else 0)
