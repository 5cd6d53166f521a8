"""switch params.yaml to a profile (quick, paper, all, smoke)"""

import shutil
from pathlib import Path

from kdbench.errors import KdbenchError

PROFILES = Path(__file__).resolve().parents[2] / "profiles"


def add_arguments(p):
    p.add_argument("name", help="profile name: a file in profiles/")


def main(args):
    from kdbench import config
    src = PROFILES / f"{args.name}.yaml"
    if not src.exists():
        names = sorted(p.stem for p in PROFILES.glob("*.yaml"))
        raise KdbenchError(f"unknown profile {args.name!r} (choose one of {', '.join(names)})")
    config.load(src)  # never install a profile that does not validate
    shutil.copyfile(src, args.params)
    print(f"{args.params} <- {src.relative_to(PROFILES.parent)}; run `dvc repro`")
