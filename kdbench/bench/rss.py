"""`python -m kdbench.bench.rss LOADER ARTIFACT SAMPLE.npz THREADS`: load one model the way a deployment
would, run the tokenised sample through it, print {"peak_rss_mb": ...}. Runs in a fresh process so the
peak belongs to this model alone. LOADER is `torch` (ARTIFACT: a model directory), `onnx` (an ONNX file:
the process imports onnxruntime and numpy only, never torch) or `reference` (the reference's directory;
SAMPLE is then a JSON list of records)."""

import json
import resource
import sys

import numpy as np


def inputs_of(npz):
    data = np.load(npz, allow_pickle=False)
    for i in range(sum(1 for k in data.files if k.startswith("ids"))):
        yield data[f"ids{i}"], data[f"mask{i}"], (data[f"pos{i}"] if f"pos{i}" in data.files else None)


def main(loader, artifact, sample, threads):
    if loader == "reference":  # scikit-learn or a lookup table over the records, no torch
        from kdbench.reference import load_reference
        model = load_reference(artifact)
        for records in json.loads(open(sample, encoding="utf-8").read()):  # one sentence's input: [record]
            model.predict(records)
        print(json.dumps({"peak_rss_mb": peak_rss_kib() / 1024}))
        return
    if loader == "torch":
        import torch

        from kdbench.bench.models import load
        torch.set_num_threads(threads)
        model = load(artifact).core

        def run(*inputs):
            with torch.inference_mode():
                return model(*(None if x is None else torch.from_numpy(x) for x in inputs))
    else:  # an exported ONNX file
        from kdbench.bench.onnxrun import OnnxRunner
        run = OnnxRunner(artifact, threads=threads)
    for inputs in inputs_of(sample):
        run(*inputs)
    print(json.dumps({"peak_rss_mb": peak_rss_kib() / 1024}))


def peak_rss_kib():
    """This process's RSS high-water mark. VmHWM belongs to the address space that exec made; getrusage's
    ru_maxrss does not do: it keeps the forking parent's peak across exec (a loaded harness: 1.2 GB)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):  # not Linux: fall back (KiB on Linux, bytes on macOS)
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
