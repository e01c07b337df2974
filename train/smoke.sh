#!/usr/bin/env bash
# Training smoke test (make train-smoke): 20 steps of the edge config on 8
# synthetic slices at 64x64; the run is SIGKILLed at step 12, resumed from
# the step-10 checkpoint, and must continue at step 11 and reach step 20 with
# the same loss as an uninterrupted run; the loss must fall; then export to
# safetensors, reload it with our reader and evaluate. Must stay < 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
train/setup.sh >/dev/null
PY=train/py
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lsms-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
fail() { echo "train-smoke: FAIL: $*" >&2; exit 1; }

$PY -m train.lsms.data --out "$tmp/data" --n 10 --size 64 --seed 1
common=(--config edge --data "$tmp/data" --levels full --size 64 --batch 8 --epochs 20
        --lr 2e-3 --seed 3 --threads 2 --save-every 5)

echo "train-smoke: run A (killed at step 12)"
set +e
( $PY -m train.train "${common[@]}" --out "$tmp/a" --die-at-step 12; exit $? ) > "$tmp/a.out" 2>&1
rc=$?
set -e
[ "$rc" = 137 ] || { cat "$tmp/a.out"; fail "run A exited $rc, want 137 (SIGKILL)"; }
echo "train-smoke: resume A"
$PY -m train.train "${common[@]}" --out "$tmp/a" --resume > "$tmp/a2.out" 2>&1 || { cat "$tmp/a2.out"; fail "resume failed"; }
echo "train-smoke: run B (uninterrupted)"
$PY -m train.train "${common[@]}" --out "$tmp/b" > "$tmp/b.out" 2>&1 || { cat "$tmp/b.out"; fail "run B failed"; }

/usr/bin/python3 - "$tmp" <<'PYEOF' || fail "log checks"
import json, sys
tmp = sys.argv[1]
def recs(p):
    return [json.loads(l) for l in open(p)]
a, b = recs(f"{tmp}/a/log.jsonl"), recs(f"{tmp}/b/log.jsonl")
res = [i for i, r in enumerate(a) if r.get("event") == "resume"]
assert len(res) == 1, "no resume event"
assert a[res[0]]["step"] == 10, f"resumed at step {a[res[0]]['step']}, want 10 (last checkpoint)"
before = [r["step"] for r in a[:res[0]] if "loss" in r]
after = [r["step"] for r in a[res[0]:] if "loss" in r]
assert before == list(range(1, 13)), f"steps before the kill: {before}"
assert after == list(range(11, 21)), f"steps after resume: {after} (want 11..20)"
la = {r["step"]: r["loss"] for r in a[res[0]:] if "loss" in r}
lb = {r["step"]: r["loss"] for r in b if "loss" in r}
for s in range(11, 21):
    assert abs(la[s] - lb[s]) <= 1e-4 * max(1.0, abs(lb[s])), f"step {s}: resumed loss {la[s]} != uninterrupted {lb[s]}"
first = sum(lb[s] for s in (1, 2, 3)) / 3
last = sum(lb[s] for s in (18, 19, 20)) / 3
print(f"train-smoke: loss {first:.4f} (steps 1-3) -> {last:.4f} (steps 18-20); resumed run matches")
assert last < 0.92 * first, "loss did not fall by 8%"
PYEOF

echo "train-smoke: export + eval"
$PY -m train.export --ckpt "$tmp/a/last.pt" --out "$tmp/export"
/usr/bin/python3 - "$tmp" <<'PYEOF' || fail "export checks"
import json, struct, sys, torch
sys.path.insert(0, ".")
from train.export import load_checkpoint, load_exported
tmp = sys.argv[1]
p = f"{tmp}/export/lsms.safetensors"
raw = open(p, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
assert (8 + n) % 8 == 0, "data buffer not 8-byte aligned"
hdr = json.loads(raw[8:8 + n])
assert any(k.endswith("running_var") for k in hdr), "BN running stats missing"
assert "vision.decoder.hamburger.ham.bases" in hdr, "NMF bases missing"
desc = json.load(open(f"{tmp}/export/lsms.json"))
assert desc["model"]["widths"] and desc["preprocess"]["size"] == 64
ref, ck = load_checkpoint(f"{tmp}/a/last.pt")
assert ck["step"] == 20, ck["step"]
got = load_exported(p)
ref.eval(); got.eval()
torch.manual_seed(0)
img = torch.rand(2, 1, 64, 64); ids = torch.randint(4, 15, (2, 12)); attn = torch.ones(2, 12, dtype=torch.long)
with torch.no_grad():
    a, b = ref(img, ids, attn), got(img, ids, attn)
# LayerScale is folded into the convolutions on export: equal up to float rounding.
err = float((a - b).abs().max())
assert err <= 1e-5 * (1 + float(a.abs().max())), f"exported model differs: max |diff| {err:.3g}"
print(f"train-smoke: export reloads (max |diff| {err:.2g})")
PYEOF
$PY -m train.eval --model "$tmp/export/lsms.safetensors" --data "$tmp/data" --split val --size 64 --out "$tmp/eval.md"
grep -q "| none |" "$tmp/eval.md" || fail "eval table lacks the none level"
echo "train-smoke: ok in $(( $(date +%s) - start )) s"
