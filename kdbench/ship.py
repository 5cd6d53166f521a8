"""`kdbench export`: one self-contained folder to ship a student in, runnable without torch or kdbench.

    model.onnx, model.int8.onnx   the fp32 graph and its ONNX Runtime int8 quantisation
    student.json                  kind, label map, aspects, max_length and the vocabulary (word list, or the
                                  teacher tokenizer's kept ids)
    tokenizer.json                the teacher's tokenizer, for a student on its sub-word pieces
    predict.py                    the predictor (kdbench/predictor.py): onnxruntime, numpy and tokenizers only
    MODEL_CARD.md                 what it scored and cost here: test score with its interval, latency, speed-up,
                                  peak RSS and size from the bench rows
"""

import json
import shutil
from pathlib import Path

from kdbench.errors import KdbenchError
from kdbench.io import atomic_path, write_json

# a batch of two inputs of different lengths per kind: what the graph is traced on (axes stay dynamic)
EXAMPLES = {
    "single": [{"text": "contoh kalimat satu"}, {"text": "dua"}],
    "multi-aspect": [{"text": "contoh kalimat satu"}, {"text": "dua"}],
    "pair": [{"text": "contoh kalimat", "text_b": "satu dua"}, {"text": "tiga", "text_b": "empat"}],
    "tagging": [{"tokens": ["contoh", "kalimat", "satu"]}, {"tokens": ["dua"]}],
    "qa-tagging": [{"question": ["apa", "?"], "tokens": ["contoh", "kalimat"]}, {"question": ["di"], "tokens": ["x"]}],
}


def _vocab_spec(vocab, folder):
    if hasattr(vocab, "itos"):
        return {"type": "word", "itos": vocab.itos, "lowercase": vocab.lowercase}
    vocab.tokenizer.backend_tokenizer.save(str(folder / "tokenizer.json"))
    return {"type": "subword", "kept_ids": vocab.kept_ids, "unk_id": vocab.unk_id, "prefix": vocab.prefix}


def _model_card(task, student, variant, metrics, rows, origin, rerun):
    """The card: its score, where it came from, and only the bench rows measured on these exact weights."""
    test = metrics["test"]
    ci = test.get("interval")
    lines = [f"# {student} ({variant}) for {task}", "",
             f"Test macro F1 {test['macro_f1'] * 100:.2f}"
             + (f" (95% bootstrap interval {ci['low'] * 100:.2f} to {ci['high'] * 100:.2f})" if ci else "")
             + f", {metrics['params']:,} parameters; trained with {json.dumps(metrics.get('settings', {}))}.", "",
             f"Weights: DVC md5 `{origin['weights']}`. Distilled from the teacher {origin['teacher']} (DVC md5 "
             f"`{origin['teacher_md5']}`) on the prepared data `{origin['data_md5']}` and a transfer set of "
             f"{origin['transfer']}"
             + (f", of which this variant learned from {metrics['transfer_size']:,}" if metrics.get("transfer_size")
                else "")
             + f". Outputs, in order: {', '.join(metrics.get('labels', origin['labels']))}.", ""]
    if rows:
        lines += ["Measured by `kdbench bench` on these weights (one sentence at a time, "
                  f"{rows[0].get('threads', 1)} thread(s), {rows[0].get('machine', {}).get('cpu', 'CPU')}):", "",
                  "| runtime | p50 ms | p90 ms | p99 ms | speed-up vs the teacher's fastest runtime | speed-up vs "
                  "the teacher in this runtime | peak RSS MB | size MB | test macro F1 |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in rows:
            lat, rss = r["latency_ms"], r.get("peak_rss_mb")
            up, same = r.get("speedup_vs_fastest_teacher"), r.get("speedup_vs_teacher_same_runtime")
            up = "" if up is None else f"{up:.1f}x ({r['fastest_teacher_runtime']})"
            lines.append(f"| {r['runtime']} | {lat['p50']:.3f} | {lat['p90']:.3f} | {lat['p99']:.3f} | {up} | "
                         f"{'' if same is None else f'{same:.1f}x'} | {'' if rss is None else f'{rss:.0f}'} | "
                         f"{r['file_bytes'] / 2**20:.1f} | {r['test_macro_f1'] * 100:.2f} |")
    else:
        lines.append(f"Not benchmarked: no bench row measured these weights (a bench of other weights is not "
                     f"theirs). Run `{rerun}` and export again.")
    lines += ["", "Run it: `pip install onnxruntime numpy tokenizers`, then `python predict.py < input.txt`"
              " (`--int8` for the int8 graph), or from Python: `from predict import Predictor;"
              " Predictor(\".\")([\"a text\", ...])`."]
    return "\n".join(lines) + "\n"


def _origin(layout, task, config, weights):
    """What the card says the model came from: the teacher (a checkpoint, a logits file or the backbone it was
    fine-tuned from), the DVC md5s of the teacher and the data, and the transfer set's make-up."""
    from kdbench.bench.harness import dvc_md5

    def read(path):
        return json.loads(path.read_text()) if path.is_file() else {}

    teacher = read(layout.teacher_metrics(task))
    given = teacher.get("checkpoint") or teacher.get("logits")  # a model or a logits file the user brought
    kind = "checkpoint" if teacher.get("checkpoint") else "logits file"
    named = (f"{kind} `{given['source']}` (label map {json.dumps(given['label_map'])})" if given
             else f"fine-tuned here from `{teacher.get('backbone', '?')}`")
    meta = read(layout.softlabels(task) / "meta.json")
    sources, yours = meta.get("transfer_sources"), meta.get("transfer_yours")
    transfer = ", ".join(f"{n} {s}" + (f" ({yours['kept']} of them your own texts)" if s == "pool" and yours else "")
                         for s, n in sources.items()) + " texts" if sources else "(no soft labels found)"
    return {"weights": weights, "teacher": named, "teacher_md5": dvc_md5(layout.teacher(task)),
            "data_md5": dvc_md5(layout.prepared(task)), "transfer": transfer, "labels": config["labels"]}


def export_student(params, task, student, variant, out):
    """Write the folder `out` for the study's run of <task> <student> <variant>; returns its path."""
    from kdbench.bench.export import export_onnx, quantize_onnx
    from kdbench.bench.harness import dvc_md5
    from kdbench.bench.rows import bench_rows
    from kdbench.students.artifact import load_student

    layout = params.layout
    model, vocab, config = load_student(layout.student(task, student, variant))
    metrics_path = layout.student_metrics(task, student, variant)
    if not metrics_path.is_file():
        raise KdbenchError(f"{metrics_path}: no metrics for this run (run `dvc repro` first)")
    weights = dvc_md5(layout.student(task, student, variant))
    bench = layout.bench(task)
    rows = [r for r in bench_rows(bench) if (r["task"], r["model"], r["variant"]) == (task, student, variant)
            and (r.get("dvc") or {}).get("student") == weights] if bench.is_file() else []
    origin = _origin(layout, task, config, weights)
    kind = config["kind"]
    with atomic_path(out, is_dir=True) as tmp:
        example = vocab.encode(EXAMPLES[kind], kind, config["max_length"])
        export_onnx(model, example if example[2] is not None else example[:2], tmp / "model.onnx")
        quantize_onnx(tmp / "model.onnx", tmp / "model.int8.onnx")
        write_json(tmp / "student.json", {"task": task, "student": student, "variant": variant, "kind": kind,
                                          "labels": config["labels"], "aspects": config["aspects"],
                                          "max_length": config["max_length"], "vocab": _vocab_spec(vocab, tmp)})
        shutil.copyfile(Path(__file__).with_name("predictor.py"), tmp / "predict.py")
        rerun = f"dvc repro studies/{layout.study.name}/dvc.yaml:bench@{task}"
        (tmp / "MODEL_CARD.md").write_text(_model_card(task, student, variant, json.loads(metrics_path.read_text()),
                                                       rows, origin, rerun), encoding="utf-8")
    return Path(out)
