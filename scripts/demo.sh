#!/usr/bin/env bash
# The main job (make demo): segment the shipped sample slices (samples/: CT
# slices of the synthetic set's test split, each with a referring expression
# and its ground-truth mask) with the shipped model bundle, on the pure-Go
# runtime. Writes overlays (red: prediction, green outline: ground truth),
# masks and report.json to out/demo, and prints per-slice latency and Dice.
set -euo pipefail
lsms=${1:-bin/lsms}
model=${MODEL:-models/lsms-synth-int8}
cd "$(dirname "$0")/.."
echo "== model bundle $model"
"$lsms" inspect "$model/lsms_vision.tflite" | sed -n '1,/^$/p'
echo "== segmenting samples/manifest.jsonl"
"$lsms" segment --model "$model" --manifest samples/manifest.jsonl --out out/demo --threads "${THREADS:-1}"
