#!/usr/bin/env bash
# report_html.sh SSLKIT WORK SOURCE_DIR: a tiny run with every result the HTML report shows (probe, random-init and
# raw baselines, retrieval, the 2-D maps), `sslkit report --html`, and the page checked well-formed and
# self-contained (check_html.py). Leaves WORK/report-html/report.html for cli.report_html_browser.
set -euo pipefail
sslkit=$1 work=$2 src=$3
dir=$work/report-html run=$work/report-html/run
rm -rf "$dir" && mkdir -p "$dir"
export OMP_WAIT_POLICY=PASSIVE
common=(--max-train 2000 --max-iterations 30 --knn-k 20 --threads 2)
"$sslkit" pretrain --max-images 512 --batch-size 128 --max-steps 8 --log-every 2 --device cpu --threads 2 -q --out "$run"
test -s "$run/views.png"
"$sslkit" probe --checkpoint "$run" "${common[@]}" >/dev/null
"$sslkit" probe --checkpoint "$run" --features random-init "${common[@]}" >/dev/null
"$sslkit" probe --checkpoint "$run" --features raw "${common[@]}" >/dev/null
for features in encoder raw; do
  "$sslkit" probe --checkpoint "$run" --task retrieval --features $features --max-train 2000 --threads 2
done
"$sslkit" probe --checkpoint "$run" --task map --tsne-points 300 --threads 2
test -s "$run/map-pca.png" && test -s "$run/map-tsne.png"
grep -q '"task":"retrieval"' "$run/probe-retrieval.json"
"$sslkit" report "$run" --html "$dir/report.html" --title "tiny run"
python3 "$src/tests/cli/check_html.py" "$dir/report.html"
# What the page must show: its sections, the class names and every image inline.
for text in '<h2>Training curves</h2>' 'Training loss by step' 'Learning rate by time' 'Confusion matrix' \
            't-shirt/top' 'ankle boot' 'mAP@R' 'raw pixels' 'PCA map, trained encoder' 't-SNE map, trained encoder' \
            'probe-retrieval-random-init.json (sslkit probe --checkpoint'; do
  grep -qF "$text" "$dir/report.html" || { echo "report.html lacks: $text"; exit 1; }
done
test "$(grep -o 'src="data:image/png;base64,' "$dir/report.html" | wc -l)" -eq 3
echo "report.html: $(wc -c < "$dir/report.html") bytes"
