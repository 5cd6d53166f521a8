"""The runtimes a model is benchmarked in, one registry entry each. Adding one = one function here.

An entry is `prepare(loaded, example, export_path, threads) -> (predict, runtime_bytes)`: it builds what the
runtime runs (exporting to `export_path` if it needs a file and none is there: the harness names the file by
the model and the export code it comes from, kdbench.bench.harness.artifact_path) and returns
`predict(input_ids, attention_mask, word_pos) -> numpy logits` plus the bytes a deployment of it ships. Metadata: `suffix` of the exported file
(None: the runtime loads the model directory itself), `torch` (whether running it needs torch), the
report's plot `marker`, and `reference`: the runtime of the non-neural reference, whose predict gives labels.
"""

import torch

from kdbench.bench.export import export_onnx, file_bytes, quantize_onnx
from kdbench.bench.onnxrun import OnnxRunner
from kdbench.registry import Registry

RUNTIMES = Registry("runtime")
BASELINE_RUNTIME = "eager"  # the runtime speed-ups are measured against and whose file is the fp32 size (not the
# non-neural "reference" model: kdbench.reference)


@RUNTIMES.register("native", suffix=None, torch=False, marker="D", reference=True)
def native(loaded, example, export_path, threads):
    """The non-neural reference as fitted (scikit-learn or a lookup table): it predicts labels, not logits."""
    return loaded.core.predict, loaded.file_bytes


@RUNTIMES.register("eager", suffix=None, torch=True, marker="o")
def eager(loaded, example, export_path, threads):
    """The trained torch module as it is (fp32)."""
    def run(*inputs):
        with torch.inference_mode():
            return loaded.core(*inputs).numpy()
    return run, loaded.file_bytes


@RUNTIMES.register("onnx", suffix=".onnx", torch=False, marker="s")
def onnx(loaded, example, export_path, threads):
    """The module exported to ONNX (fp32), run by ONNX Runtime on the CPU."""
    if not export_path.exists():
        export_onnx(loaded.core, example, export_path)
    return OnnxRunner(export_path, threads=threads), file_bytes(export_path)


@RUNTIMES.register("int8", suffix=".int8.onnx", torch=False, marker="^")
def int8(loaded, example, export_path, threads):
    """ONNX Runtime dynamic int8 quantisation of the ONNX export (weights int8, activations on the fly)."""
    fp32 = export_path.with_name(export_path.name.replace(".int8.onnx", ".onnx"))  # the onnx runtime's file
    if not export_path.exists():
        if not fp32.exists():
            export_onnx(loaded.core, example, fp32)
        quantize_onnx(fp32, export_path)
    return OnnxRunner(export_path, threads=threads), file_bytes(export_path)
