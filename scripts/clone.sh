# Sourced by the scripts that run a side profile (kinds.sh, bert.sh): a temporary clone of HEAD that shares
# this repository's DVC cache, so this workspace keeps its profile and what the clone trains stays cached here.
# Sets $repo (this repository) and $work (the clone, removed on exit with any "$repo/reports/$1.tmp"), and
# leaves the shell in the clone with its kdbench first on the path.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/.venv/bin:$PATH" HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
export KDBENCH_DATA_MIRROR="${KDBENCH_DATA_MIRROR:-$PWD/../shared/data}"
repo=$PWD
cache=$(dvc cache dir)
work=$(mktemp -d)
trap 'rm -rf "$work" "$repo/reports/'"$1"'.tmp"' EXIT  # a failed run leaves no half-written folder
git clone -q "$repo" "$work/clone"
cd "$work/clone"
printf '[cache]\n    dir = %s\n    type = "reflink,hardlink,symlink,copy"\n' "$cache" > .dvc/config.local
export PYTHONPATH=$PWD  # the clone's kdbench, not the editable install's working tree
kdbench use "$1"
