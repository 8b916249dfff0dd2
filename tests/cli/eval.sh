#!/usr/bin/env bash
# eval.sh SSLKIT WORK EXPECT: the evaluation suite on the tiny run WORK/run (made by cli.pretrain_then_probe):
# low-label rows and confusion files, the random-init baseline, the dense probe, then sslkit report.
set -eu
sslkit=$1 work=$2 expect=$3
run=$work/run
rm -rf "$work/eval" "$run"/probe-*.json
common=(--max-iterations 30 --threads 2)
export OMP_WAIT_POLICY=PASSIVE  # two OpenMP threads that spin on 2 busy cores run 2x slower (README: Speed)

# Low-label rows (10% of 3000 = 300 images, 30 per class) and the confusion matrix files.
"$expect" 0 '^ +10% +300 ' -- "$sslkit" probe --checkpoint "$run" --max-train 3000 --knn-k 20 \
  --label-fraction 0.1,1 --out "$work/eval" "${common[@]}"
test -s "$work/eval/confusion.png"
head -1 "$work/eval/confusion.csv" | grep -q '^true.predicted,t-shirt/top,trouser,'
grep -q '"label_fractions":\[{"fraction":0.1,"train_size":300,' "$run/probe.json"

# The random-init baseline, saved beside the run's own result.
"$expect" 0 '"features":"random-init".*"test_accuracy":0\.[3-9]' -- "$sslkit" probe --checkpoint "$run" \
  --features random-init --max-train 2000 --knn-k 0 --json "${common[@]}"
test -s "$run/probe-random-init.json"

# The dense probe: threshold masks of Fashion-MNIST.
"$expect" 0 'mask = pixel > 25, .*mIoU [5-9][0-9]\.' -- "$sslkit" probe --checkpoint "$run" --task segmentation \
  --max-train 500 --seg-train-images 300 "${common[@]}"

# One row for the run (with its 10% and mIoU columns) and one for the baseline.
"$expect" 0 "^$run +encoder +simclr +convnet-w +1 +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$" -- "$sslkit" report "$run"
"$expect" 0 "^$run +random-init +simclr +convnet-w +- +- +[0-9.]+ +- +- +-$" -- "$sslkit" report "$run"
"$expect" 0 '^\| run +\| features' -- "$sslkit" report --format markdown "$run"
