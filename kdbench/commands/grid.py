"""run a study's stages as Ray tasks (teachers, soft labels, students in parallel), then its dvc repro here"""


def add_arguments(p):
    p.add_argument("--address", default="", help="a Ray cluster to join (host:port or ray://...); "
                                                 "default: start a local Ray")
    p.add_argument("--workers", type=int, default=0, help="CPUs of the local Ray (default: this machine's)")
    p.add_argument("--remote", action="store_true",
                   help="exchange results through the repository's default DVC remote (workers on other "
                        "machines); default: the workspaces share this repository's DVC cache")
    p.add_argument("--node-cache", default="", help="with --remote: the DVC cache the workspaces of one node "
                                                    "share (default: kdbench-grid-cache in the temp dir)")
    p.add_argument("--repo", default="", help="a git URL the workers fetch this workspace's snapshot from "
                                              "(a cluster; default: this repository's path)")
    p.add_argument("--log", default="", help="where each stage ran and what dvc repro reran (default: the "
                                            "study's reports/grid.json)")


def main(args):
    from pathlib import Path

    from kdbench import config
    from kdbench.grid import run_grid
    params = config.load(args.params)  # a study's: its dvc.yaml is beside it
    study = Path(args.params).with_name("dvc.yaml")
    log = run_grid(".", str(study), params, address=args.address, workers=args.workers, remote=args.remote,
                   node_cache=args.node_cache, repo_url=args.repo,
                   log_path=args.log or str(params.layout.reports / "grid.json"))
    hosts = {}
    for s in log["stages"]:
        hosts.setdefault(f"{s['host']} pid {s['pid']}", []).append(s["stage"])
    for where, stages in sorted(hosts.items()):
        print(f"{where}: {len(stages)} stages")
    print(f"grid: {len(log['stages'])} stages on {log['nodes']} node(s) in {log['grid_seconds']} s; "
          f"dvc repro here ran {', '.join(log['driver']['ran']) or 'nothing'} and restored "
          f"{len(log['driver']['restored'])} from the run-cache ({log['driver_repro_seconds']} s)")
