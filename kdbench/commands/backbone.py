"""materialise the teacher backbone (offline, hub or local)"""


def add_arguments(p):
    p.add_argument("--out", default="models/backbone")


def main(args):
    from kdbench import config
    from kdbench.teacher.backbone import build_backbone
    build_backbone(config.load(args.params).teacher.backbone, args.out)
