#!/usr/bin/env bash
# embed.sh SSLKIT WORK EXPECT: sslkit embed on the tiny run WORK/run (made by cli.pretrain_then_probe), the probe on
# the stored features (equal to the probe on the checkpoint), one-line errors that leave no file, and a data set
# with /masks driving the dense probe.
set -eu
sslkit=$1 work=$2 expect=$3
dir=$work/embed
rm -rf "$dir" && mkdir -p "$dir"
export OMP_WAIT_POLICY=PASSIVE  # two OpenMP threads that spin on 2 busy cores run 2x slower (README: Speed)
"$sslkit" convert --data fashion-mnist --split test --out "$dir/fm-test.h5" -q --masks threshold:128 > /dev/null

# Features of the 10 000 images, then the probe on them and on the checkpoint: the same numbers.
"$expect" 0 '^wrote 10000 x [0-9]+ features and labels of simclr/convnet-w \(.*fm-test.h5, train\) to ' -- \
  "$sslkit" embed --checkpoint "$work/run" --data "$dir/fm-test.h5" --out "$dir/features.h5" --threads 2 -q
common=(--label-fraction 0.2 --validation-size 300 --max-iterations 30 --knn-k 20 --threads 2 --json)
"$sslkit" probe --train-features "$dir/features.h5" --test-features "$dir/features.h5" "${common[@]}" > "$dir/stored.json"
"$sslkit" probe --checkpoint "$work/run/checkpoint.pt" --data "$dir/fm-test.h5" --test-data "$dir/fm-test.h5" \
  "${common[@]}" > "$dir/checkpoint.json"
scores() {  # every score of the headline and of the label-fraction rows, in order
  grep -oE '"(test_accuracy|top5_accuracy|balanced_accuracy|validation_accuracy|weight_decay|knn_accuracy)":[^,}]*|"per_class_accuracy":\[[^]]*\]' "$1"
}
test -n "$(scores "$dir/stored.json")"
[ "$(scores "$dir/stored.json")" = "$(scores "$dir/checkpoint.json")" ] || {
  echo "stored: $(scores "$dir/stored.json")"; echo "checkpoint: $(scores "$dir/checkpoint.json")"; exit 1; }
grep -q '"features":"stored","protocol":"lbfgs","model":"simclr/convnet-w","data":"' "$dir/stored.json"

# Errors are one line, and leave neither an output nor a temporary file.
before=$(cksum < "$dir/features.h5")
"$expect" 1 "^sslkit: error: cannot read '$work/nothing.pt': No such file or directory$" -- \
  "$sslkit" embed --checkpoint "$work/nothing.pt" --data "$dir/fm-test.h5" --out "$dir/features.h5"
[ "$(cksum < "$dir/features.h5")" = "$before" ]
"$expect" 1 "^sslkit: error: cannot write '$dir/missing/f.h5': cannot create '$dir/missing/f.h5.tmp.[0-9]+'$" -- \
  "$sslkit" embed --features raw --data "$dir/fm-test.h5" --out "$dir/missing/f.h5" --threads 2
"$expect" 1 "^sslkit: error: data '$dir/fm-test.h5' is an HDF5 file, which holds one split" -- \
  "$sslkit" embed --features raw --data "$dir/fm-test.h5" --split test --out "$dir/never.h5"
[ "$(ls "$dir")" = "$(printf 'checkpoint.json\nfeatures.h5\nfm-test.h5\nstored.json')" ]
"$expect" 1 "^sslkit: error: '$dir/fm-test.h5': no dataset /features \(expected float32 \[N,D\]\)$" -- \
  "$sslkit" probe --train-features "$dir/features.h5" --test-features "$dir/fm-test.h5"

# The file's /masks (pixel > 128, written by convert) are the segmentation truth, not --mask-threshold.
"$expect" 0 "\"masks\":\"the data's masks\".*\"pixel_accuracy\":(0\.9|1[,}])" -- "$sslkit" probe --features raw \
  --task segmentation --data "$dir/fm-test.h5" --test-data "$dir/fm-test.h5" --seg-train-images 300 \
  --max-iterations 30 --threads 2 --json
