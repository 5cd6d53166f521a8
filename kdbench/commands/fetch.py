"""download (or copy from $KDBENCH_DATA_MIRROR) and verify the raw data"""

import os


def add_arguments(p):
    p.add_argument("--manifest", default="data/SHA256SUMS")
    p.add_argument("--out", default="data/raw")
    p.add_argument("--mirror", help="local directory laid out like the upstream files")


def main(args):
    from kdbench import config
    from kdbench.data.fetch import fetch
    p = config.load(args.params).fetch
    mirror = args.mirror or os.environ.get("KDBENCH_DATA_MIRROR") or None
    fetch(args.manifest, args.out, mirror=mirror, indonlu_commit=p.indonlu_commit, indolem_commit=p.indolem_commit)
