"""`kdbench grid`: a study's stages, and the setup stages it needs, as Ray tasks, each in a workspace of its
own, then one `dvc repro` of the study here that reruns none of them.

DVC runs the stages of one workspace one at a time (a repository lock), so the grid gives each stage a fresh
clone of this workspace's tracked files and lets DVC's run-cache carry the results between them:

  1. snapshot   the working tree (tracked and untracked, not ignored) as a commit under refs/kdbench/grid,
                without touching your index or HEAD; every workspace checks that commit out
  2. schedule   every stage DVC can restore from its run-cache (all but bench and report, whose outputs are
                not cached: they measure and summarise on this machine) goes to Ray once the stages it
                depends on are done, asking for `grid.<stage>` resources from params.yaml
  3. worker     clone, `dvc repro <stage>`: the upstream stages come back from the run-cache (checked out as
                links), the stage itself runs; with a remote, `--pull` first and `dvc push --run-cache` after
  4. driver     `dvc repro <study>` here: every stage the grid ran is restored from the run-cache (or the remote),
                bench and report run; `--log` records where each stage ran and what the driver reran

One machine: the workspaces share this repository's DVC cache. Many machines (`--address` of a Ray cluster,
`--remote`): each node keeps one cache for its workspaces (`--node-cache`) and they exchange everything
through the repository's default DVC remote (a directory, SSH or S3 through the dvc plugins).
"""

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kdbench.errors import KdbenchError
from kdbench.io import write_json

SNAPSHOT_REF = "refs/kdbench/grid"
REMOTE_NAME = "kdbench-grid"
# what a stage's subprocess needs from the driver's environment (the data mirror, offline hub settings)
ENV_PREFIXES = ("KDBENCH_", "HF_", "TRANSFORMERS_")
RAN = re.compile(r"^Running stage '([^']+)'", re.M)
RESTORED = re.compile(r"^Stage '([^']+)' is cached - skipping run", re.M)


def _git(*args, cwd, env=None):
    out = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise KdbenchError(f"git {' '.join(args)}: {(out.stderr or out.stdout).strip().splitlines()[-1]}")
    return out.stdout.strip()


def snapshot(root):
    """A commit of the working tree as it is (untracked, not ignored files included), made through a
    temporary index so that the user's index and HEAD stay as they are; kept under SNAPSHOT_REF."""
    index = Path(_git("rev-parse", "--git-path", "index", cwd=root))
    index = index if index.is_absolute() else Path(root) / index
    tmp_index = index.with_name("kdbench-grid-index")
    if index.is_file():
        shutil.copy2(index, tmp_index)  # the stat cache makes `add -A` quick
    env = {**os.environ, "GIT_INDEX_FILE": str(tmp_index)}
    try:
        _git("add", "-A", cwd=root, env=env)
        tree = _git("write-tree", cwd=root, env=env)
    finally:
        tmp_index.unlink(missing_ok=True)
    parent = subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD"], cwd=root, capture_output=True, text=True)
    ident = ["-c", "user.name=kdbench grid", "-c", "user.email=grid@kdbench.invalid"]
    commit = _git(*ident, "commit-tree", tree, *(["-p", parent.stdout.strip()] if parent.returncode == 0 else []),
                  "-m", "kdbench grid: snapshot of the working tree", cwd=root)
    _git("update-ref", SNAPSHOT_REF, commit, cwd=root)
    return commit


def stage_name(addressing):
    """`studies/quick/dvc.yaml:distill@smsa-bilstm-kd` -> `distill`: the name grid resources are keyed by."""
    return addressing.split(":")[-1].split("@")[0]


def pipeline(root, target):
    """(the stages of `target` (a dvc.yaml) and of everything it depends on, in DVC's order, {stage: the stages
    it depends on}, {stage: can DVC restore it from its run-cache}). DVC saves no run-cache entry for a stage
    with an uncached output other than a metric or a plot, and then a workspace's result could not come back
    here."""
    import networkx as nx
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        graph = repo.index.graph  # edges point from a stage to the stages it depends on
        target = os.path.abspath(Path(root) / target)  # not resolve(): a study's dvc.yaml links to the template
        wanted = {s for s in graph if os.path.abspath(s.path) == target}
        if not wanted:
            raise KdbenchError(f"{target}: no stages of this pipeline (a study's dvc.yaml)")
        wanted |= {d for s in wanted for d in nx.descendants(graph, s)}
        stages = [s for s in repo.index.stages if s.cmd and s in wanted]
        needs = {s.addressing: sorted(d.addressing for d in graph.successors(s)) for s in stages}
        cacheable = {s.addressing: all(o.use_cache or o.metric or o.plot for o in s.outs) and bool(s.outs)
                     for s in stages}
    return [s.addressing for s in stages], needs, cacheable


def _dvc(args, cwd, env, check=True):
    out = subprocess.run(["dvc", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if check and out.returncode != 0:
        tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-15:])
        raise KdbenchError(f"dvc {' '.join(args)} failed in {cwd}:\n{tail}")
    return out.stdout + out.stderr


def push_run_cache(workspace):
    """`dvc push --run-cache`, plus the objects of the run-cache entries' uncached outputs: DVC 3 pushes the
    entries but only the objects its workspace's dvc.lock caches, so a stage's `cache: false` metrics would
    be missing wherever the entry is restored from the remote (and the stage would run again there).

    Only whole entries go, each once: a node's workers share its cache, and DVC's own push copies every file
    under runs/, the temporary file of an entry another worker is still writing too. In the remote that empty
    `.*.tmp` file is the newest of its stage's entries, so every later restore of the stage read it as a
    corrupted entry and ran the stage again (seen here: a teacher trained three times in one grid).

    DVC writes a stage's entry before it moves the stage's outputs into the cache, so an entry whose directory
    output is not in the cache yet is left for its own worker too (collecting it failed a grid here, under
    load); the objects go before the entries that name them."""
    from dvc.exceptions import CollectCacheError
    from dvc.repo import Repo

    with contextlib.chdir(workspace), Repo(".") as repo:  # DVC places the entries' stages relative to the cwd
        local = Path(repo.cache.legacy.path)
        dest = repo.cloud.get_remote_odb(None, "push --run-cache", hash_name="md5-dos2unix")
        whole, used = [], {}
        for entry in sorted((local / "runs").glob("*/*/*")):
            if entry.name.startswith("."):  # being written: its worker pushes it when it is whole
                continue
            try:
                objs = repo.stage_cache.get_used_objs([(entry.parent.name, entry.name)])
            except CollectCacheError:  # its stage is still committing its outputs: its worker pushes it after
                continue
            whole.append(entry)
            for odb, hashes in objs.items():
                used.setdefault(odb, set()).update(hashes)
        for hashes in used.values():
            repo.cloud.push(hashes)
        for entry in whole:
            target = dest.fs.join(dest.path, *entry.relative_to(local).parts)
            if not dest.fs.exists(target):
                dest.fs.put_file(str(entry), target)  # a temporary file, then a rename: never half there


def run_stage(stage, source, commit, cache_dir, remote_url, env, work_root=None):
    """On a worker: a fresh workspace at `commit`, the stage reproduced there, its results in the shared
    cache (or pushed to the remote). Returns where it ran, what it ran and restored, and its timing files."""
    import ray

    t0 = time.time()
    env = {**os.environ, **env}
    work_root = work_root or tempfile.gettempdir()
    Path(work_root).mkdir(parents=True, exist_ok=True)
    ws = Path(tempfile.mkdtemp(prefix="kdbench-grid-" + re.sub(r"[^A-Za-z0-9_.-]", "-", stage) + "-", dir=work_root))
    env["PYTHONPATH"] = str(ws)  # the snapshot's kdbench, not the one an editable install points at
    try:
        _git("init", "-q", cwd=ws)
        _git("fetch", "-q", "--depth", "1", str(source), SNAPSHOT_REF, cwd=ws)
        _git("checkout", "-q", "--detach", commit, cwd=ws)
        # the shared cache, checked out as links, not copies (a teacher's directory goes to many workspaces),
        # and the remote; written directly: each `dvc config` call would cost a DVC start-up
        local = f"[cache]\n    dir = {cache_dir}\n    type = \"reflink,hardlink,symlink,copy\"\n"
        if remote_url:
            local += f"[core]\n    remote = {REMOTE_NAME}\n['remote \"{REMOTE_NAME}\"']\n    url = {remote_url}\n"
        (ws / ".dvc" / "config.local").write_text(local)
        args = ["repro", stage, *(["--pull"] if remote_url else [])]
        started = time.time()
        log = _dvc(args, ws, env)
        if remote_url:
            push_run_cache(ws)
        # the wall times the stage itself wrote (not DVC outputs, so nothing else brings them back)
        timing = {str(p.relative_to(ws)): p.read_text() for folder in ws.glob("*/*/reports/timing")
                  for p in folder.rglob("*.json") if p.stat().st_mtime >= started}
        context = ray.get_runtime_context()
        return {"stage": stage, "host": socket.gethostname(), "node": context.get_node_id(), "pid": os.getpid(),
                "worker": context.get_worker_id(), "seconds": round(time.time() - t0, 1),
                "ran": RAN.findall(log), "restored": RESTORED.findall(log), "timing": timing}
    finally:
        shutil.rmtree(ws, ignore_errors=True)


def _stage_env(root):
    """The driver's settings a stage reads, with paths made absolute (a workspace lives elsewhere)."""
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}
    for k, v in env.items():
        if k == "KDBENCH_DATA_MIRROR" and not Path(v).is_absolute() and (Path(root) / v).exists():
            env[k] = str((Path(root) / v).resolve())
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    return env


def _default_remote(root):
    """The URL of the repository's default DVC remote (absolute when it is a local directory)."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        name = repo.config["core"].get("remote")
        remote = repo.config["remote"].get(name) if name else None
    if not remote:
        raise KdbenchError("kdbench grid --remote: this repository has no default DVC remote "
                           "(dvc remote add -d NAME URL: a directory, ssh://..., s3://...)")
    return remote["url"]  # DVC's config already gives a local directory as an absolute path


def run_grid(root, target, params, address="", workers=0, remote=False, node_cache="", repo_url="",
             log_path="", progress=True):
    """Run every run-cacheable stage of the study `target` (its dvc.yaml, relative to root) and of what it
    depends on, on Ray, then `dvc repro target` here. Returns the log. `repo_url`: a git URL every worker can
    fetch from (a cluster); the snapshot is pushed there first."""
    try:
        import ray
    except ImportError:
        raise KdbenchError("kdbench grid needs Ray: pip install 'kdbench[grid]' (or ray==2.60.0)") from None
    from tqdm import tqdm

    root = Path(root).resolve()
    env = _stage_env(root)
    stages, needs, cacheable = pipeline(root, target)
    names = {stage_name(s) for s in stages}
    for name in params.grid:
        if name != "default" and name not in names:
            raise KdbenchError(f"params.yaml: grid.{name}: no such stage in the pipeline "
                               f"(stages: {', '.join(sorted(names))})")
    remote_url = _default_remote(root) if remote else ""
    if remote:
        push_run_cache(root)  # what this workspace has already
        cache_dir = node_cache or str(Path(tempfile.gettempdir()) / "kdbench-grid-cache")
    else:
        cache_dir = _dvc(["cache", "dir"], root, env).strip().splitlines()[-1]
    commit = snapshot(root)
    source = repo_url or str(root)
    if repo_url:
        _git("push", "-q", "--force", repo_url, f"{SNAPSHOT_REF}:{SNAPSHOT_REF}", cwd=root)
    grid = [s for s in stages if cacheable[s]]
    t0 = time.time()
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(run_stage)
        done, results, running = set(), {}, {}
        bar = tqdm(total=len(grid), desc="grid", unit="stage", disable=not progress)
        while len(done) < len(grid):
            for s in grid:  # in DVC's order, each stage once what it depends on is done
                if s not in done and s not in running.values() and all(d in done or not cacheable[d] for d in needs[s]):
                    res = params.resources(stage_name(s))
                    ref = task.options(num_cpus=res.num_cpus, num_gpus=res.num_gpus, max_retries=0).remote(
                        s, source, commit, cache_dir, remote_url, env)
                    running[ref] = s
            ready, _ = ray.wait(list(running), num_returns=1)
            stage = running.pop(ready[0])
            try:
                results[stage] = ray.get(ready[0])
            except ray.exceptions.RayError as e:  # the stage failed, or its worker died
                cause = getattr(e, "cause", None) or e
                raise KdbenchError(f"kdbench grid: stage {stage} failed on a worker: {cause}") from None
            done.add(stage)
            bar.update(1)
            bar.set_postfix_str(stage)
        bar.close()
        nodes = len({r["node"] for r in results.values()})
    finally:
        ray.shutdown()
    grid_seconds = round(time.time() - t0, 1)
    for r in results.values():  # the stages' wall times, where a serial run would have left them
        for rel, text in r.pop("timing").items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
    t1 = time.time()
    out = _dvc(["repro", target, *(["--pull"] if remote else [])], root, env)
    log = {"address": address or "local", "workers": workers or None, "nodes": nodes, "remote": remote_url or None,
           "snapshot": commit, "grid_seconds": grid_seconds, "driver_repro_seconds": round(time.time() - t1, 1),
           "stages": [results[s] for s in grid],
           "driver": {"ran": RAN.findall(out), "restored": RESTORED.findall(out)}}
    if log_path:
        write_json(root / log_path, log)
    return log
