#!/usr/bin/env bash
# Runs every ```sh and ```python block of docs/python.md, in order, in a fresh folder holding a tiny run at
# runs/simclr. Exits 77 (CTest: skipped) where Python cannot import torch, h5py and numpy.
# Usage: python_docs.sh SSLKIT WORK_DIR DOC   (SSLKIT_PYTHON: the interpreter, default /usr/bin/python3)
set -euo pipefail
sslkit=$(realpath "$1") work=$(realpath -m "$2") doc=$(realpath "$3")
python=${SSLKIT_PYTHON:-/usr/bin/python3}
if ! "$python" -c 'import torch, h5py, numpy' 2>/dev/null; then
  echo "skipped: $python cannot import torch, h5py and numpy (Debian: apt-get install python3-torch python3-h5py)"
  exit 77
fi
dir=$work/python-docs
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
"$sslkit" pretrain --max-images 256 --batch-size 64 --max-steps 1 --device cpu --threads 1 -q --out runs/simclr >/dev/null
export PATH="$(dirname "$sslkit"):$PATH"
awk -v dir="$dir" '
  /^```(sh|python)$/ { n++; file = sprintf("%s/block%02d.%s", dir, n, substr($0, 4)); inside = 1; next }
  /^```$/ && inside { inside = 0; close(file); next }
  inside { print > file }' "$doc"
blocks=("$dir"/block*)
[ -e "${blocks[0]}" ] || { echo "no sh or python blocks in $doc"; exit 1; }
for block in "${blocks[@]}"; do
  echo "== $(basename "$block")"
  case $block in
    *.sh) bash -euo pipefail "$block" ;;
    *.python) "$python" "$block" ;;
  esac
done
echo "all ${#blocks[@]} blocks of $doc ran"
