#!/usr/bin/env bash
# Turn a training checkpoint into the shipped bundles and their figures:
#   scripts/release-model.sh CKPT/last.pt [DATA] [WORK]
# 1. export safetensors (train/export.py), 2. lsms export → models/lsms-synth-f32,
# 3. PyTorch-vs-bundle parity on 20 test slices (+ LiteRT), 4. paper-style
# evaluation on the test split (Dice/mIoU per text level, expression swap) →
# docs/eval.md, 5. lsms quantize int8 (200 calibration slices) →
# models/lsms-synth-int8 with docs/quant-report.md, 6. make demo on both.
set -euo pipefail
ckpt=$1
data=${2:-data/refct}
work=$(realpath -m "${3:-/tmp/lsms-release}")
cd "$(dirname "$0")/.."
mkdir -p "$work" docs
make -s build
size=$(/usr/bin/python3 -c "import torch,sys; print(torch.load(sys.argv[1],map_location='cpu')['args']['size'])" "$ckpt")
echo "== export ($ckpt, size $size)"
train/py -m train.export --ckpt "$ckpt" --out "$work"
rm -rf models/lsms-synth-f32
bin/lsms export --weights "$work/lsms.safetensors" --vocab "$data/vocab.txt" --out models/lsms-synth-f32
echo "== parity"
train/py -m train.parity --model "$work/lsms.safetensors" --data "$data" --size "$size" --n 20 --out "$work/parity"
LSMS_REQUIRE_LITERT=1 LSMS_PARITY_DIR="$work/parity" LSMS_PARITY_BUNDLE="$PWD/models/lsms-synth-f32" \
  go test -count=1 -run TestBundleParity -v ./model/ > "$work/parity.txt" 2>&1 || echo "release: PARITY FAILED (see $work/parity.txt)" >&2
tail -3 "$work/parity.txt"
echo "== evaluation"
train/py -m train.eval --model "$work/lsms.safetensors" --data "$data" --split test --size "$size" --swap --threads 2 --out docs/eval.md
echo "== int8"
# Kept float32 (docs/quant-report.md shows why): the masked attention scores
# and their softmax (text and vision: the −10⁴ padding bias would share an
# int8 scale with the real scores), ω_f's instance norm (near-constant input
# scaled by 1/√eps) and the NMF iterations of the Hamburger head.
# Activation ranges by the MSE estimator: with min/max ranges the 288² model
# (run10) lost 4.7 points of full-text Dice in int8 (61.5 → 56.7 % on 300
# test slices); MSE ranges lost none on 100 (53.8 → 54.4 %).
ESTIMATOR=${ESTIMATOR:-mse}
FLOAT_OPS=${FLOAT_OPS:-'text.*.scores.masked,text.*.probs,*.alpha.masked,*.attn.softmax,vision.*.attn.f.1*,vision.decoder.hamburger.ham.*'}
rm -rf models/lsms-synth-int8
bin/lsms quantize models/lsms-synth-f32 --calib "$data/manifest.jsonl" --n 200 --mode int8 \
  --float-ops "$FLOAT_OPS" --estimator "$ESTIMATOR" \
  --out models/lsms-synth-int8 --report docs/quant-report.md --eval-split test ${EVAL_N:+--eval-n $EVAL_N} --quiet
du -b models/lsms-synth-f32 models/lsms-synth-int8
echo "== demo"
MODEL=models/lsms-synth-int8 ./scripts/demo.sh bin/lsms
MODEL=models/lsms-synth-f32 ./scripts/demo.sh bin/lsms
