"""Fetch the public raw data files listed in a sha256sum manifest, from upstream or a local mirror.

Every file's sha256 is checked; the files land in a temporary directory that is renamed to out_dir
only when all of them verified, so a failed fetch leaves nothing behind.
"""

import hashlib
import re
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from kdbench.errors import DataError, KdbenchError
from kdbench.io import atomic_path

INDONLU_COMMIT = "ce728f6926a36174b9923dfe49d6a6839b6e9bb7"
INDOLEM_COMMIT = "777fdc680cfa85243f08e60045e3d34ca49756ed"
TIMEOUT_S = 60

_MANIFEST_LINE = re.compile(r"([0-9a-fA-F]{64}) [ *](?:\./)?(\S.*)")


def read_manifest(manifest_path):
    """[(sha256, relpath), ...] from a file in `sha256sum` format (`<sha256>  ./<relpath>`)."""
    entries = []
    for n, line in enumerate(Path(manifest_path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        m = _MANIFEST_LINE.fullmatch(line.rstrip())
        rel = PurePosixPath(m.group(2)) if m else None
        # A manifest names files under out_dir; refuse anything that would escape it.
        if rel is None or rel.is_absolute() or ".." in rel.parts:
            raise DataError(manifest_path, n, f"expected '<sha256>  ./<relative path>', got {line[:80]!r}")
        entries.append((m.group(1).lower(), str(rel)))
    return entries


def upstream_url(relpath, indonlu_commit=INDONLU_COMMIT, indolem_commit=INDOLEM_COMMIT):
    """The raw GitHub URL, at the pinned commit, that `relpath` (as laid out in the mirror) comes from."""
    indolem = f"https://raw.githubusercontent.com/indolem/indolem/{indolem_commit}"
    for prefix, base in (("indonlu/", f"https://raw.githubusercontent.com/IndoNLP/indonlu/{indonlu_commit}/dataset/"),
                         ("indolem/sentiment/", f"{indolem}/sentiment/data/"),
                         ("indolem/pos/", f"{indolem}/pos_tagging/data/")):
        if relpath.startswith(prefix):
            return base + relpath.removeprefix(prefix)
    raise KdbenchError(f"{relpath}: no upstream source known for this path")


def _download(relpath, url):
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return response.read()
    except (urllib.error.URLError, OSError) as e:  # HTTPError and timeouts are both of these
        raise KdbenchError(f"{relpath}: cannot download {url}: {e}") from None


def _copy(relpath, mirror):
    src = Path(mirror) / relpath
    if not src.is_file():
        raise KdbenchError(f"{relpath}: missing from the mirror {mirror}")
    return src.read_bytes()


def fetch(manifest_path, out_dir, mirror=None, indonlu_commit=INDONLU_COMMIT, indolem_commit=INDOLEM_COMMIT):
    """Get every file of the manifest into out_dir (from `mirror`, a local directory, if given) and
    verify its sha256. Raises KdbenchError naming the file on any missing, unreachable or wrong file."""
    entries = read_manifest(manifest_path)
    with atomic_path(out_dir, is_dir=True) as tmp:
        for expected, rel in tqdm(entries, desc="fetching raw data", unit="file", disable=None):
            if mirror is None:
                data = _download(rel, upstream_url(rel, indonlu_commit, indolem_commit))
            else:
                data = _copy(rel, mirror)
            got = hashlib.sha256(data).hexdigest()
            if got != expected:
                raise KdbenchError(f"{rel}: sha256 mismatch (expected {expected}, got {got})")
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
    return Path(out_dir)
