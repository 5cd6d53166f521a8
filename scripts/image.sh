#!/usr/bin/env bash
# `make image`: build the kdbench image from the Dockerfile. With a Docker engine: `docker build`, on the
# public python:3.11-slim base. Without one (this project's CI machines): Debian's buildah builds the same
# Dockerfile with --isolation chroot, on a Debian bookworm base made locally with debootstrap (the public
# base image cannot be pulled there), with the machine's pip configuration (CA bundle, local wheel folders,
# the torch constraint) mounted into the build and passed as build arguments, so pip takes the CPU torch
# wheel rather than a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${TAG:-kdbench}
BASE_TAG=localhost/kdbench-base:bookworm

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    exec docker build -t "$TAG" .
fi
command -v buildah >/dev/null || { echo "make image: needs docker or buildah (apt-get install buildah debootstrap)" >&2; exit 2; }

if ! buildah inspect --type image "$BASE_TAG" >/dev/null 2>&1; then
    rootfs=$(mktemp -d /var/tmp/kdbench-rootfs.XXXX)
    packages=python3.11,python3.11-venv,python3-distutils,python3-pip-whl,python3-setuptools-whl,ca-certificates
    debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
    ctr=$(buildah from scratch)
    mnt=$(buildah mount "$ctr")
    cp -a "$rootfs"/. "$mnt"/
    buildah umount "$ctr" >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
    buildah commit -q "$ctr" "$BASE_TAG" >/dev/null
    buildah rm "$ctr" >/dev/null
    rm -rf "$rootfs"
fi

# what pip needs on this machine: its CA bundle and the local folders its configuration names
args=(--isolation chroot --build-arg "BASE=$BASE_TAG" -t "$TAG")
ca=$(pip config get global.cert 2>/dev/null || echo /etc/ssl/certs/ca-certificates.crt)
args+=(-v "$ca:/run/host-ca.crt:ro" --build-arg PIP_CERT=/run/host-ca.crt)
for dir in /opt/wheels /opt/pypi /opt/pypi-more; do
    [ -d "$dir" ] && args+=(-v "$dir:$dir:ro")
done
links=$(pip config get global.find-links 2>/dev/null || true)
index=$(pip config get global.extra-index-url 2>/dev/null || true)
constraint=$(pip config get global.constraint 2>/dev/null || true)
[ -n "$links" ] && args+=(--build-arg "PIP_FIND_LINKS=$links")
[ -n "$index" ] && args+=(--build-arg "PIP_EXTRA_INDEX_URL=$index")
if [ -n "$constraint" ] && [ -f "$constraint" ]; then
    args+=(-v "$constraint:/run/pip-constraints.txt:ro" --build-arg PIP_CONSTRAINT=/run/pip-constraints.txt)
fi
buildah bud "${args[@]}" .
