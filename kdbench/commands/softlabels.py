"""teacher logits on the splits and the transfer set"""

from kdbench.commands import add_task, add_timing


def add_arguments(p):
    add_task(p)
    p.add_argument("--teacher", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--pool", default="data/pool")
    p.add_argument("--out", required=True)
    add_timing(p, "the labelling throughput")


def main(args):
    from kdbench import config
    from kdbench.io import write_json
    from kdbench.teacher.softlabels import write_softlabels
    params = config.load(args.params)
    group = params.task_spec(args.task).group
    info, per_s = write_softlabels(args.teacher, args.data, args.pool, group, args.out, params.softlabels,
                                   params.seed, params.task(args.task).unlabeled.public_pool)
    print({k: v for k, v in info.items() if k.endswith("_size") or k == "transfer_sources"})
    if args.timing:
        write_json(args.timing, {"teacher_sentences_per_s": round(per_s, 1) if per_s else None})
    print(f"the teacher labelled {per_s:.0f} sentences/s (forward passes)" if per_s else "")
