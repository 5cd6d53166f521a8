#!/usr/bin/env bash
# Run the smoke pipeline inside the kdbench image (built by `make image`): `kdbench tasks`, then the smoke
# study's `dvc repro` from fetch through bench and report, the raw data from the mirror mounted read-only.
set -euo pipefail
TAG=${TAG:-kdbench}
mirror=$(realpath "${KDBENCH_DATA_MIRROR:-../shared/data}")
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    exec docker run --rm -v "$mirror:/mirror:ro" -e KDBENCH_DATA_MIRROR=/mirror -e HF_HUB_OFFLINE=1 "$TAG" \
        sh -c 'kdbench tasks && dvc repro studies/smoke/dvc.yaml && test -s studies/smoke/reports/index.html'
fi
ctr=$(buildah from "localhost/$TAG")
trap 'buildah rm "$ctr" >/dev/null' EXIT
buildah run --isolation chroot -v "$mirror:/mirror:ro" --env KDBENCH_DATA_MIRROR=/mirror --env HF_HUB_OFFLINE=1 \
    "$ctr" -- sh -c 'kdbench tasks && dvc repro studies/smoke/dvc.yaml && test -s studies/smoke/reports/index.html'
