#!/usr/bin/env bash
# full_disk.sh SSLKIT WORK: convert and embed into a file system with no room left fail in one line naming the
# output (exit 1) and leave neither the output nor its temporary. The full disk is RLIMIT_FSIZE with SIGXFSZ
# ignored: a write past the limit then fails with EFBIG, as one on a full disk fails with ENOSPC. 256 images fit
# HDF5's chunk cache, so they reach the disk only when the file is flushed at the end; 10 000 do while appending.
set -u
sslkit=$1 work=$2
dir=$work/full-disk
fm=${SSLKIT_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
rm -rf "$dir" && mkdir -p "$dir/idx"
fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$dir/stdout"; echo "--- stderr"; cat "$dir/stderr"; exit 1; }
unpack() { if [ -e "$fm/$1" ]; then cat "$fm/$1"; else gzip -dc "$fm/$1.gz"; fi; }

# The first 256 test images and labels of Fashion-MNIST as an IDX pair.
{ printf '\x00\x00\x08\x03\x00\x00\x01\x00\x00\x00\x00\x1c\x00\x00\x00\x1c'
  unpack t10k-images-idx3-ubyte | tail -c +17 | head -c $((256 * 784)); } > "$dir/idx/train-images-idx3-ubyte"
{ printf '\x00\x00\x08\x01\x00\x00\x01\x00'
  unpack t10k-labels-idx1-ubyte | tail -c +9 | head -c 256; } > "$dir/idx/train-labels-idx1-ubyte"
"$sslkit" convert --data "$dir/idx" --out "$dir/small.h5" -q > /dev/null || fail "cannot make the input file"

# full OUT COMMAND...: runs COMMAND with 64 KiB left to write; it must fail as described above.
full() {
  local out=$1
  shift
  (trap '' XFSZ; ulimit -f 64; exec "$@") > "$dir/stdout" 2> "$dir/stderr"
  local rc=$?
  [ "$rc" -eq 1 ] || fail "$*: exit code $rc, expected 1"
  [ "$(wc -l < "$dir/stderr")" -eq 1 ] || fail "$*: stderr has $(wc -l < "$dir/stderr") lines, expected 1"
  grep -Eq "^sslkit: error: cannot write '$out': [a-z]+ .* failed \(File too large\)$" "$dir/stderr" ||
    fail "$*: unexpected message"
  [ ! -e "$out" ] || fail "$*: '$out' was left behind"
  ! ls "$out".tmp.* > /dev/null 2>&1 || fail "$*: a temporary was left behind: $(ls "$out".tmp.*)"
}

full "$dir/convert-small.h5" "$sslkit" convert --data "$dir/idx" --out "$dir/convert-small.h5" -q
full "$dir/convert-large.h5" "$sslkit" convert --data fashion-mnist --split test --out "$dir/convert-large.h5" -q
full "$dir/embed.h5" "$sslkit" embed --features raw --data "$dir/small.h5" --out "$dir/embed.h5" --threads 1 -q
echo ok
