#!/usr/bin/env bash
# The main job until the LSMS bundle lands: inspect the shipped demo model
# and run it on the shipped sample input with the pure-Go interpreter.
set -euo pipefail
lsms=${1:-bin/lsms}
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$lsms" inspect models/demo/demo_f32.tflite
"$lsms" run models/demo/demo_f32.tflite --input image=models/demo/input.npy --output-dir "$out"
