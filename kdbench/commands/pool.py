"""build the unlabeled text pools and the part-of-speech lexicon"""


def add_arguments(p):
    p.add_argument("--raw", default="data/raw")
    p.add_argument("--out", default="data/pool")


def main(args):
    from kdbench.data.pool import build_pool
    print(build_pool(args.raw, args.out))
