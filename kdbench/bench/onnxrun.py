"""Running an exported model with ONNX Runtime. Imports numpy and onnxruntime only, never torch, so the
RSS of an ONNX deployment is measured without torch in the process."""

import numpy as np
import onnxruntime as ort

OUTPUT = "logits"


def _int64(x):
    if hasattr(x, "detach"):  # a torch tensor; torch itself is not imported here
        x = x.detach().cpu().numpy()
    return np.ascontiguousarray(x, dtype=np.int64)


class OnnxRunner:
    """An ONNX Runtime CPU session called like the torch model; numpy (or torch) inputs, numpy logits."""

    def __init__(self, path, threads=1):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1  # the graphs are one chain of ops: nothing to run side by side
        opts.log_severity_level = 3  # errors only
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def __call__(self, input_ids, attention_mask, word_pos=None):
        given = {"input_ids": input_ids, "attention_mask": attention_mask, "word_pos": word_pos}
        missing = [name for name in self.inputs if given.get(name) is None]
        if missing:
            raise ValueError(f"the ONNX model needs {', '.join(missing)}")
        # an exporter may drop an input the model never reads: feed only what the graph has
        return self.session.run([OUTPUT], {name: _int64(given[name]) for name in self.inputs})[0]
