#!/usr/bin/env bash
# Packs, on a Debian bookworm machine with apt, what scripts/gpu-check.sh needs and a bare CUDA machine may lack
# into .gpu-deps/ (git-ignored; carry it to the GPU machine with the working tree): the headers and CMake files of
# Catch2 (tests) and zlib (IDX files), and Fashion-MNIST (the data of the CUDA tests and of bench train). ~32 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-deps
work=$(mktemp -d "${TMPDIR:-/tmp}/sslkit-gpu-deps.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q catch2 zlib1g-dev >/dev/null 2>&1) || {
  echo "gpu-deps: apt-get download catch2 zlib1g-dev failed (run apt-get update first?)" >&2
  exit 1
}
mkdir -p "$work/root"
for deb in "$work"/*.deb; do dpkg -x "$deb" "$work/root"; done
# The shared zlib is the machine's own (gpu-check links its libz.so.1); only the headers travel.
rm -rf "$work/root/usr/share" "$work/root/usr/lib/x86_64-linux-gnu"
data=/usr/share/datasets/fashion-mnist
[ -d "$data" ] || { echo "gpu-deps: $data not found; apt-get install dataset-fashion-mnist" >&2; exit 1; }
mkdir -p "$work/root/fashion-mnist"
cp "$data"/*.gz "$work/root/fashion-mnist/"
rm -rf "$out"
mv "$work/root" "$out"
echo "gpu-deps: $(du -sh "$out" | cut -f1) in $out (Catch2, zlib headers, Fashion-MNIST)"
