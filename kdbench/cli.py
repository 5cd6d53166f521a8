"""`kdbench <command>`: one subcommand per DVC stage, plus `tasks`, `predict`, `gate`, `profile` and `use`.
Thin: parse arguments, load params.yaml, call one module function. User mistakes print one line and exit 2."""

import argparse
import dataclasses
import os
import shutil
import sys
import time
from pathlib import Path

from kdbench import config
from kdbench.errors import KdbenchError
from kdbench.io import write_json

PROFILES = Path(__file__).resolve().parent.parent / "profiles"


def cmd_tasks(args):
    from kdbench.data.readers import READERS
    from kdbench.tasks import SPLITS, get_task, list_tasks, record_labels
    root = Path(args.data) if args.data else _default_raw()
    print(f"{'task':<18} {'paper':<8} {'kind':<13} {'labels':>6}  {'train':>6} {'valid':>6} {'test':>6}")
    for name in list_tasks():
        task = get_task(name)
        sizes, labels = ["-"] * 3, "-"
        if root and (root / task.files["train"]).exists():
            data = {s: READERS[task.format](root / task.files[s], **task.options) for s in SPLITS}
            sizes = [len(data[s]) for s in SPLITS]
            seen = {x for s in SPLITS for r in data[s] for x in record_labels(task.kind, r)}
            labels = len(task.labels or seen)
        print(f"{name:<18} {task.paper_name or '-':<8} {task.kind:<13} {labels:>6}  "
              + " ".join(f"{s:>6}" for s in sizes))
    if not root:
        print("(split sizes: run `kdbench fetch` or set KDBENCH_DATA_MIRROR)")


def _default_raw():
    for candidate in (Path("data/raw"), os.environ.get("KDBENCH_DATA_MIRROR")):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def cmd_fetch(args):
    from kdbench.data.fetch import fetch
    p = config.load(args.params).fetch
    mirror = args.mirror or os.environ.get("KDBENCH_DATA_MIRROR") or None
    fetch(args.manifest, args.out, mirror=mirror, indonlu_commit=p.indonlu_commit, indolem_commit=p.indolem_commit)


def cmd_prepare(args):
    from kdbench.data.prepare import prepare_task
    params = config.load(args.params)
    tc, task = params.task(args.task), params.task_spec(args.task)
    raw = Path(args.custom) if task.custom else Path(args.raw)
    meta = prepare_task(task, raw, args.out, tc.max_train or None, tc.max_valid or None, params.seed)
    scheme = {"plain": ", plain tags scored as one-word chunks"}.get(meta["scheme"], "")
    print(f"{args.task}: {meta['kind']}, {len(meta['labels'])} labels, sizes {meta['sizes']}{scheme}")


def cmd_pool(args):
    from kdbench.data.pool import build_pool
    print(build_pool(args.raw, args.out))


def cmd_backbone(args):
    from kdbench.teacher.backbone import build_backbone
    build_backbone(config.load(args.params).teacher.backbone, args.out)


def _timed(path, fn, *args):
    """fn(*args), with its wall time written to `path` (apart from the metrics, which must be the same
    bytes on a rerun)."""
    t0 = time.time()
    result = fn(*args)
    seconds = round(time.time() - t0, 1)
    if path:
        write_json(path, {"seconds": seconds})
    print(f"took {seconds} s")
    return result


def cmd_teacher(args):
    from kdbench.teacher.train import run_teacher
    cfg = config.load(args.params).teacher_for(args.task)
    r = _timed(args.timing, run_teacher, args.task, cfg, args.data, args.backbone, args.out, args.metrics,
               args.predictions)
    verdict = "beats" if r["beats_reference"] else "does NOT beat"
    print(f"{args.task}: teacher test macro F1 {r['test']['macro_f1']:.4f} {verdict} "
          f"{r['reference']['name']} {r['reference']['test_macro_f1']:.4f}")


def cmd_softlabels(args):
    from kdbench.teacher.softlabels import write_softlabels
    params = config.load(args.params)
    group = params.task_spec(args.task).group
    info, per_s = write_softlabels(args.teacher, args.data, args.pool, group, args.out, params.softlabels,
                                   params.seed)
    print({k: v for k, v in info.items() if k.endswith("_size") or k == "transfer_sources"})
    if args.timing:
        write_json(args.timing, {"teacher_sentences_per_s": round(per_s, 1) if per_s else None})
    print(f"the teacher labelled {per_s:.0f} sentences/s (forward passes)" if per_s else "")


def cmd_fasttext(args):
    from kdbench.data.prepare import load_prepared
    from kdbench.distill.embeddings import train_fasttext
    from kdbench.io import read_jsonl
    from kdbench.tasks import texts_of
    params = config.load(args.params)
    task = params.task_spec(args.task)
    _, splits = load_prepared(args.data)
    pool = read_jsonl(Path(args.pool) / f"{task.group}.jsonl")
    sentences = [t.split() if isinstance(t, str) else t for t in texts_of(splits["train"] + pool)]
    c = params.fasttext
    train_fasttext(sentences, args.out, dim=c.dim, epochs=c.epochs, min_count=c.min_count, seed=params.seed)


def cmd_distill(args):
    from kdbench.distill.train import run_distill
    params = config.load(args.params)
    params.task(args.task)
    cfg = params.distill_for(args.variant, args.student)
    if args.seed is not None:  # a replicate: the same run with another seed
        cfg = dataclasses.replace(cfg, seed=args.seed)
    report = _timed(args.timing, run_distill, args.task, args.student, args.variant, cfg,
                    params.students[args.student].model, args.data, args.softlabels, args.teacher,
                    cfg.fasttext_vec or args.fasttext, args.out, args.metrics, args.predictions)
    print(f"{args.task} {args.student} {args.variant}: test macro F1 {report['test']['macro_f1']:.4f}, "
          f"{report['params']:,} parameters")


def cmd_predict(args):
    from kdbench.predict import predict_lines
    if args.input != "-" and not Path(args.input).is_file():
        raise KdbenchError(f"{args.input}: no such file (--input)")
    try:
        text = Path(args.input).read_text(encoding="utf-8") if args.input != "-" else sys.stdin.read()
    except UnicodeDecodeError as e:
        raise KdbenchError(f"{args.input}: not valid UTF-8 (byte {e.start})") from None
    lines = text.splitlines()
    model_dir = Path(args.models) / args.task / args.student / args.variant
    for line in predict_lines(model_dir, lines):
        print(line)


def cmd_bench(args):
    from kdbench.bench.run import run_bench
    sys.exit(run_bench(args.out, args.pytest_args))


def cmd_gate(args):
    from kdbench.bench.gate import gate
    sys.exit(gate(args.bench, args.baseline, config.load(args.params).gate, update=args.update))


def cmd_report(args):
    from kdbench.bench.rows import bench_rows
    from kdbench.report import build_report
    params = config.load(args.params)
    rows = bench_rows(args.bench) if Path(args.bench).is_file() else []
    summary = build_report(args.metrics, rows, params, args.out, args.predictions, args.replicas)
    for rec in summary["recommendations"].values():
        print(rec["answer"])
    print(f"{Path(args.out) / 'index.html'}: open it in a browser")


def cmd_profile(args):
    from kdbench.bench.profile import profile
    from kdbench.bench.runtimes import RUNTIMES
    RUNTIMES.check(args.runtime, "--runtime")
    for path in profile(args.task, args.model, args.variant, args.runtime, args.out, args.seconds):
        print(path)


def cmd_use(args):
    src = PROFILES / f"{args.name}.yaml"
    if not src.exists():
        names = sorted(p.stem for p in PROFILES.glob("*.yaml"))
        raise KdbenchError(f"unknown profile {args.name!r} (choose one of {', '.join(names)})")
    config.load(src)  # never install a profile that does not validate
    shutil.copyfile(src, args.params)
    print(f"{args.params} <- {src.relative_to(PROFILES.parent)}; run `dvc repro`")


def build_parser():
    p = argparse.ArgumentParser(prog="kdbench", description=__doc__.splitlines()[0])
    p.add_argument("--params", default="params.yaml", help="the params file (default: params.yaml)")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name, fn, help_, *args):
        s = sub.add_parser(name, help=help_)
        for a in args:
            s.add_argument(*a[0], **a[1])
        s.set_defaults(fn=fn)
        return s

    task = (["task"], dict(help="task name (see `kdbench tasks`)"))
    add("tasks", cmd_tasks, "list the tasks with kind, label count and split sizes",
        (["--data"], dict(help="raw data root (default: data/raw, else $KDBENCH_DATA_MIRROR)")))
    add("fetch", cmd_fetch, "download (or copy from $KDBENCH_DATA_MIRROR) and verify the raw data",
        (["--manifest"], dict(default="data/SHA256SUMS")), (["--out"], dict(default="data/raw")),
        (["--mirror"], dict(help="local directory laid out like the upstream files")))
    add("prepare", cmd_prepare, "normalise one task into JSONL + label vocabulary", task,
        (["--raw"], dict(default="data/raw")), (["--custom"], dict(default="data/custom")),
        (["--out"], dict(required=True)))
    add("pool", cmd_pool, "build the unlabeled text pools", (["--raw"], dict(default="data/raw")),
        (["--out"], dict(default="data/pool")))
    add("backbone", cmd_backbone, "materialise the teacher backbone (offline, hub or local)",
        (["--out"], dict(default="models/backbone")))
    add("teacher", cmd_teacher, "fine-tune the teacher on one task", task,
        (["--data"], dict(required=True)), (["--backbone"], dict(default="models/backbone")),
        (["--out"], dict(required=True)), (["--metrics"], dict(required=True)),
        (["--predictions"], dict(required=True, help="test predictions of the teacher and the reference")),
        (["--timing"], dict(default="", help="where to write the wall time (kept apart from the metrics)")))
    add("softlabels", cmd_softlabels, "teacher logits on the splits and the transfer set", task,
        (["--teacher"], dict(required=True)), (["--data"], dict(required=True)),
        (["--pool"], dict(default="data/pool")), (["--out"], dict(required=True)),
        (["--timing"], dict(default="", help="where to write the labelling throughput")))
    add("fasttext", cmd_fasttext, "train FastText vectors on a task's train texts + its group's pool", task,
        (["--data"], dict(required=True)), (["--pool"], dict(default="data/pool")), (["--out"], dict(required=True)))
    add("distill", cmd_distill, "train one student on one task under one variant", task,
        (["student"], dict(help="student name (params.yaml students)")),
        (["variant"], dict(help="variant name (params.yaml variants)")),
        (["--data"], dict(required=True)), (["--softlabels"], dict(required=True)),
        (["--teacher"], dict(required=True)), (["--fasttext"], dict(default="")),
        (["--out"], dict(required=True)), (["--metrics"], dict(required=True)),
        (["--predictions"], dict(required=True, help="the student's test predictions")),
        (["--seed"], dict(type=int, default=None, help="another seed than the variant's (a replicate)")),
        (["--timing"], dict(default="", help="where to write the wall time (kept apart from the metrics)")))
    add("predict", cmd_predict, "label text with a trained student (one input per line)",
        (["--task"], dict(required=True)), (["--student"], dict(required=True)),
        (["--variant"], dict(default="kd", help="default: kd")),
        (["--input"], dict(default="-", help="a file, or - for stdin (default)")),
        (["--models"], dict(default="models")))
    add("bench", cmd_bench, "run the benchmark cases (pytest-benchmark) into one JSON file",
        (["--out"], dict(default="reports/bench/benchmark.json")),
        (["pytest_args"], dict(nargs="*", help="extra pytest arguments after --, e.g. -- -k smsa")))
    add("gate", cmd_gate, "fail when a benchmark regressed against the committed baseline",
        (["--bench"], dict(default="reports/bench/benchmark.json")),
        (["--baseline"], dict(default="reports/baseline/benchmark.json")),
        (["--update"], dict(action="store_true", help="rewrite the baseline from --bench, on purpose")))
    add("report", cmd_report, "tables, plots, recommendation and index.html from the metrics and the bench JSON",
        (["--metrics"], dict(default="reports/metrics")), (["--replicas"], dict(default="reports/replicas")),
        (["--predictions"], dict(default="reports/predictions")),
        (["--bench"], dict(default="reports/bench/benchmark.json")), (["--out"], dict(default="reports")))
    add("profile", cmd_profile, "record one model's inference loop with py-spy (flame graph + speedscope)",
        (["--task"], dict(required=True)), (["--model"], dict(required=True, help="teacher or a student")),
        (["--variant"], dict(default="kd", help="distill variant of a student (default: kd)")),
        (["--runtime"], dict(default="eager", help="a runtime of kdbench/bench/runtimes.py (default: eager)")),
        (["--seconds"], dict(type=float, default=10.0, help="how long to loop over the sample")),
        (["--out"], dict(default="reports/profiles")))
    add("use", cmd_use, "switch params.yaml to a profile (quick, paper, all, smoke)",
        (["name"], dict(help="profile name: a file in profiles/")))
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no load reports for the e5 pooler we never use
    try:
        args.fn(args)
    except KdbenchError as e:
        print(f"kdbench: error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
